// Whole-pipeline tests of incidents: `vigil demo` (the seed attack on a synthetic network)
// stores incidents that `vigil incidents` lists and `vigil incident ID` reports; the attack
// on the internet-facing server is one incident holding every breach on that server, in
// time order, and no breach is told by two incidents.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/time.h"
#include "test_util.h"

namespace vigil {
namespace {

using testutil::ReadLines;
using testutil::RunVigil;
using testutil::TempDir;

// The demo's victim (pipeline/synth.h, docs/demo.md).
const char* kVictim = "10.20.5.21";

class AnalystDemo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    auto r = RunVigil("demo --state " + tmp_->path());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static std::string State() { return tmp_->path(); }
  static nlohmann::json ListJson() {
    auto r = RunVigil("incidents --json --state " + State());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.output;
    return j.is_array() ? j : nlohmann::json::array();
  }
  static TempDir* tmp_;
};
TempDir* AnalystDemo::tmp_ = nullptr;

TEST_F(AnalystDemo, IncidentsListedFromTheStoreCarryTheContractFields) {
  auto list = ListJson();
  ASSERT_FALSE(list.empty());
  for (const auto& inc : list) {
    for (const char* k : {"id", "title", "score", "start", "end", "entities", "breaches",
                          "tactics", "summary", "timeline"}) {
      EXPECT_TRUE(inc.contains(k)) << k << " in " << inc.dump();
    }
    EXPECT_TRUE(ParseIso8601(inc["start"].get<std::string>()).has_value());
    EXPECT_TRUE(ParseIso8601(inc["end"].get<std::string>()).has_value());
    for (const auto& e : inc["timeline"]) {
      EXPECT_TRUE(e.contains("time") && e.contains("text") && e.contains("breach"));
    }
  }
}

TEST_F(AnalystDemo, TheAttackOnTheServerIsOneIncidentWithItsStagesInOrder) {
  std::set<std::string> victim_breaches;
  for (const auto& line : ReadLines(State() + "/breaches.jsonl")) {
    auto b = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(b.is_discarded());
    if (b["entity"]["id"] == kVictim) victim_breaches.insert(b["id"].get<std::string>());
  }
  ASSERT_GE(victim_breaches.size(), 3u) << "the demo attack should breach on the server";

  std::vector<nlohmann::json> holding;
  for (const auto& inc : ListJson()) {
    for (const auto& id : inc["breaches"]) {
      if (victim_breaches.count(id.get<std::string>())) {
        holding.push_back(inc);
        break;
      }
    }
  }
  ASSERT_EQ(holding.size(), 1u);
  const auto& inc = holding[0];
  std::set<std::string> ids;
  for (const auto& id : inc["breaches"]) ids.insert(id.get<std::string>());
  for (const auto& id : victim_breaches) EXPECT_TRUE(ids.count(id)) << id;
  EXPECT_EQ(inc["entities"][0]["id"], kVictim);
  std::string last;
  for (const auto& e : inc["timeline"]) {
    std::string t = e["time"].get<std::string>();
    EXPECT_LE(ParseIso8601(last).value_or(0), ParseIso8601(t).value_or(0));
    last = t;
  }
  std::vector<std::string> tactics = inc["tactics"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(tactics.begin(), tactics.end(), "command-and-control"), tactics.end());
  EXPECT_NE(std::find(tactics.begin(), tactics.end(), "impact"), tactics.end());
  EXPECT_EQ(tactics.back(), "impact");  // kill-chain order
  EXPECT_GE(inc["score"].get<int>(), 80);
  std::string summary = inc["summary"];
  EXPECT_EQ(summary.rfind(std::string("Internet-facing server ") + kVictim, 0), 0u) << summary;
  EXPECT_NE(summary.find("beaconed to"), std::string::npos) << summary;
  EXPECT_NE(summary.find("crypto-mining"), std::string::npos) << summary;
}

TEST_F(AnalystDemo, NoBreachIsToldByTwoIncidents) {
  std::map<std::string, std::string> owner;
  for (const auto& inc : ListJson()) {
    for (const auto& id : inc["breaches"]) {
      auto [it, fresh] = owner.emplace(id.get<std::string>(), inc["id"].get<std::string>());
      EXPECT_TRUE(fresh) << id << " in " << it->second << " and " << inc["id"];
    }
  }
}

TEST_F(AnalystDemo, IncidentReportShowsTitleSummaryAndTimeline) {
  auto list = ListJson();
  ASSERT_FALSE(list.empty());
  std::string id = list[0]["id"];
  auto r = RunVigil("incident " + id + " --state " + State());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind(list[0]["title"].get<std::string>(), 0), 0u) << r.output;
  EXPECT_NE(r.output.find("Timeline"), std::string::npos);
  EXPECT_NE(r.output.find(list[0]["timeline"][0]["breach"].get<std::string>()),
            std::string::npos);
  auto j = RunVigil("incident " + id + " --json --state " + State());
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(j.output, nullptr, false)["id"], id);
}

TEST_F(AnalystDemo, UnknownIncidentIsAnErrorNotAnEmptyReport) {
  auto r = RunVigil("incident inc-does-not-exist --state " + State());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no incident"), std::string::npos) << r.output;
}

TEST(AnalystCli, EmptyStoreListsNoIncidents) {
  TempDir tmp;
  auto r = RunVigil("incidents --state " + tmp.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no incidents"), std::string::npos) << r.output;
  auto j = RunVigil("incidents --json --state " + tmp.path());
  EXPECT_EQ(nlohmann::json::parse(j.output, nullptr, false), nlohmann::json::array());
}

}  // namespace
}  // namespace vigil
