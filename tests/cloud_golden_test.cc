// Golden tests of the cloud path through `vigil replay`: decode (sniffed), enrich, the
// seven cloud models, the engine's thresholds and learning period, breaches as JSON lines.
//
// 1. The OTRF CloudGoat recording (tests/data/cloudtrail/otrf_cloud_breach_s3.jsonl,
//    SDAWS-200914011940): 103 records over 29 minutes, a console user and an EC2 instance
//    role whose stolen credentials list and read a bucket. Expected cloud breaches: none.
//    Every identity in it is seen for the first time and for less than an hour, and the
//    models judge identities against their own history (days of it; credential source and
//    CLI models need 5 and 3 active days). The test pins that: all 103 records decoded, no
//    rejects, and no cloud breach — a model that starts alerting on identities without
//    history (a false-positive machine on day one of every deployment) fails it.
// 2. The synthetic account (src/detect/cloud_synthetic.h) written as CloudTrail JSON lines:
//    four weeks of baseline and the seven-step takeover of dev-bob. Expected: each of the
//    seven cloud models raises a breach on arn:aws:iam::111122223333:user/dev-bob inside
//    its step's time window, and no cloud breach falls on any other identity.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/time.h"
#include "detect/cloud_synthetic.h"
#include "test_util.h"

namespace vigil {
namespace {

using testutil::ReadLines;
using testutil::RunVigil;
using testutil::TempDir;
using testutil::WriteFile;

std::vector<nlohmann::json> CloudBreaches(const std::string& path) {
  std::vector<nlohmann::json> out;
  for (const auto& line : ReadLines(path)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("model", "").rfind("cloud/", 0) == 0) out.push_back(j);
  }
  return out;
}

TEST(CloudGolden, OtrfCloudBreachS3DecodesWholeAndRaisesNoCloudBreachWithoutHistory) {
  TempDir tmp;
  auto r = RunVigil("replay --quiet --learning-period 0s --state " + tmp.path() + "/state --stats " +
                    tmp.path() + "/stats.json --breaches " + tmp.path() + "/breaches.jsonl " +
                    VIGIL_SOURCE_DIR "/tests/data/cloudtrail/otrf_cloud_breach_s3.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(tmp.path() + "/stats.json");
  nlohmann::json stats = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(stats.is_discarded());
  EXPECT_EQ(stats["events"], 103);
  EXPECT_EQ(stats["events_by_format"]["cloudtrail-jsonl"], 103);
  EXPECT_EQ(stats["rejects"], 0);
  EXPECT_EQ(stats["first_event"], "2020-09-14T00:44:20Z");
  EXPECT_EQ(stats["last_event"], "2020-09-14T01:13:20Z");
  auto breaches = CloudBreaches(tmp.path() + "/breaches.jsonl");
  EXPECT_TRUE(breaches.empty()) << breaches.front().dump(2);
}

TEST(CloudGolden, SyntheticTakeoverRaisesSevenBreachesOnTheVictimThroughReplay) {
  TempDir tmp;
  auto acct = detect::cloud::GenerateAccount(28, /*with_attack=*/true);
  WriteFile(tmp.path() + "/cloudtrail.jsonl", detect::cloud::ToCloudTrailJsonl(*acct));
  WriteFile(tmp.path() + "/vigil.yaml",
            "cloud:\n  corporate_networks: [198.51.100.0/24]\n  aws_networks: [3.80.0.0/12]\n");
  auto r = RunVigil("replay --quiet --config " + tmp.path() + "/vigil.yaml --state " + tmp.path() +
                    "/state --stats " + tmp.path() + "/stats.json --breaches " + tmp.path() +
                    "/breaches.jsonl " + tmp.path() + "/cloudtrail.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(tmp.path() + "/stats.json");
  nlohmann::json stats = nlohmann::json::parse(in, nullptr, false);
  EXPECT_EQ(stats["events"], acct->events.size());
  EXPECT_EQ(stats["rejects"], 0);
  auto breaches = CloudBreaches(tmp.path() + "/breaches.jsonl");
  std::string all;
  for (const auto& b : breaches) all += b.dump() + "\n";
  for (const auto& b : breaches) {
    EXPECT_EQ(b["entity"]["id"], detect::cloud::SyntheticAccount::kVictim) << all;
    EXPECT_GE(*ParseIso8601(b["time"].get<std::string>()), acct->attack_start) << all;
  }
  for (const auto& step : acct->steps) {
    bool hit = false;
    for (const auto& b : breaches) {
      Micros t = *ParseIso8601(b["time"].get<std::string>());
      if (b["model"] != step.model || t < step.begin || t > step.end) continue;
      hit = true;
      EXPECT_EQ(b["peer"]["id"], detect::cloud::SyntheticAccount::kAttackerIp);
      EXPECT_GE(b["score"].get<int>(), 60);
      EXPECT_FALSE(b["mitre"].empty());
    }
    EXPECT_TRUE(hit) << step.model << " did not fire in its window; breaches:\n" << all;
  }
}

}  // namespace
}  // namespace vigil
