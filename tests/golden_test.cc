// Golden tests: replay each tests/golden/<case>/input with the flags in <case>/args and
// compare the breaches (and the devices the store knows) with the reviewed expectations.
// VIGIL_UPDATE_GOLDEN=1 rewrites the expectations instead (review the diff!).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "store/store.h"
#include "test_util.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// The fields compared: everything that identifies what fired, where and when.
std::string Canonical(const nlohmann::json& b) {
  nlohmann::json c;
  for (const char* k : {"id", "time", "model", "score", "entity", "peer", "mitre"})
    if (b.contains(k)) c[k] = b[k];
  return c.dump();
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, ReplayMatchesReviewedBreachesAndEntities) {
  fs::path dir = fs::path(VIGIL_SOURCE_DIR) / "tests/golden" / GetParam();
  std::string args;
  {
    std::ifstream in(dir / "args");
    std::getline(in, args);
  }
  testutil::TempDir tmp;
  std::string out = tmp.path() + "/breaches.jsonl";
  std::string stats_path = tmp.path() + "/stats.json";
  auto r = testutil::RunVigil("replay --quiet --state " + tmp.path() + "/state --breaches " + out +
                              " --stats " + stats_path + " " + args + " " + (dir / "input").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> got;
  for (const auto& line : testutil::ReadLines(out)) got.push_back(Canonical(nlohmann::json::parse(line)));

  auto st = store::OpenSqliteStore(tmp.path() + "/state");
  ASSERT_TRUE(st.ok());
  auto devices = st.value()->ListEntities("device", 100000, 0);
  ASSERT_TRUE(devices.ok());
  std::vector<std::string> ents;
  for (const auto& e : devices.value())
    ents.push_back(e.id + " " + FormatRfc3339(e.first_seen) + " " + FormatRfc3339(e.last_seen));
  std::sort(ents.begin(), ents.end());

  // The counts that say what was read and what fired, weak signals included.
  nlohmann::json stats;
  {
    std::ifstream in(stats_path);
    nlohmann::json full = nlohmann::json::parse(in);
    for (const char* k : {"events", "events_by_format", "rejects_by_code", "breaches_by_model",
                          "weak_signals_by_model", "late_events", "first_event", "last_event"})
      stats[k] = full[k];
  }

  if (std::getenv("VIGIL_UPDATE_GOLDEN")) {
    std::ofstream sf(dir / "expected_stats.json");
    sf << stats.dump(2) << "\n";
    std::ofstream b(dir / "expected.jsonl");
    for (const auto& g : got) b << g << "\n";
    std::ofstream e(dir / "expected_entities.txt");
    for (const auto& x : ents) e << x << "\n";
    GTEST_SKIP() << "expectations rewritten; review the diff";
  }
  std::vector<std::string> want;
  for (const auto& line : testutil::ReadLines((dir / "expected.jsonl").string()))
    want.push_back(Canonical(nlohmann::json::parse(line)));
  EXPECT_EQ(got, want);
  std::ifstream sf(dir / "expected_stats.json");
  EXPECT_EQ(stats, nlohmann::json::parse(sf));
  EXPECT_EQ(ents, testutil::ReadLines((dir / "expected_entities.txt").string()));
}

std::vector<std::string> Cases() {
  std::vector<std::string> out;
  for (const auto& d : fs::directory_iterator(fs::path(VIGIL_SOURCE_DIR) / "tests/golden"))
    if (d.is_directory()) out.push_back(d.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace vigil
