// The event log's segment files (event_files.h): what the Store-level tests in store_test.cc
// cannot see. A crash's torn last row, a bad index, a second process reading while one
// writes, and a prune cut that must survive a reopen.
#include "store/event_files.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "store/store_internal.h"

namespace vigil::store {
namespace {

constexpr Micros kT0 = 1'767'225'600LL * kMicrosPerSecond;  // 2026-01-01

EventRecord Row(int i, const std::string& entity = "10.0.0.5", const std::string& peer = "203.0.113.7") {
  return EventRecord{kT0 + i * kMicrosPerMinute, entity, peer, "flow",
                     entity + " -> " + peer + ":443/tcp #" + std::to_string(i), "C" + std::to_string(i),
                     "conn.log", static_cast<uint64_t>(i + 1), static_cast<uint64_t>(100 * i), 10};
}

std::vector<EventRecord> Rows(int from, int to) {
  std::vector<EventRecord> v;
  for (int i = from; i < to; ++i) v.push_back(Row(i));
  return v;
}

class EventFilesTest : public ::testing::Test {
 protected:
  EventFilesTest() {
    dir_ = (std::filesystem::path(::testing::TempDir()) /
            ("vigil-event-files-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
             "-" + std::to_string(getpid())))
               .string();
    std::filesystem::remove_all(dir_);
  }
  ~EventFilesTest() override {
    SetEventSegmentRowsForTest(0);
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<EventFiles> OpenOrDie() {
    auto f = EventFiles::Open(dir_);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }
  static std::vector<EventRecord> All(EventFiles& f, const std::string& who = "10.0.0.5") {
    EventQuery q;
    q.entity = who;
    q.limit = 0;
    auto r = f.Query(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<EventRecord>{};
  }
  std::string events() const { return dir_ + "/events"; }
  std::string dir_;
};

TEST_F(EventFilesTest, ATornLastRowIsCutOffAndAppendingGoesOn) {
  {
    auto f = OpenOrDie();
    ASSERT_TRUE(f->Put(Rows(0, 5)).ok());
  }
  // A crash mid-write: half of a sixth row, then zeros a delayed allocation leaves.
  std::string rows = events() + "/1.rows";
  auto intact = std::filesystem::file_size(rows);
  {
    std::ofstream out(rows, std::ios::app | std::ios::binary);
    out << std::string("\x40\x00\x00\x00garbage", 11) << std::string(64, '\0');
  }
  auto f = OpenOrDie();
  EXPECT_EQ(All(*f).size(), 5u);  // a reader sees the intact rows only
  ASSERT_TRUE(f->Put(Rows(5, 8)).ok());  // the writer cuts the torn tail and appends
  auto all = All(*f);
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all.front().summary, Row(7).summary);
  EXPECT_GT(std::filesystem::file_size(rows), intact);
  f.reset();
  EXPECT_EQ(All(*OpenOrDie()).size(), 8u);
}

TEST_F(EventFilesTest, ASecondInstanceReadsWhatTheWriterAppendsButCannotWrite) {
  SetEventSegmentRowsForTest(4);
  auto writer = OpenOrDie();
  auto reader = OpenOrDie();
  ASSERT_TRUE(writer->Put(Rows(0, 6)).ok());  // one sealed segment, one open
  EXPECT_EQ(All(*reader).size(), 6u);
  ASSERT_TRUE(writer->Put(Rows(6, 11)).ok());  // the open one seals, another opens
  auto all = All(*reader);
  ASSERT_EQ(all.size(), 11u);
  EXPECT_EQ(all.front().time, Row(10).time);
  Status st = reader->Put(Rows(11, 12));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  ASSERT_TRUE(writer->Prune(Row(9).time).ok());
  EXPECT_EQ(All(*reader).size(), 2u);  // whole segments gone, the cut seen in place
  writer.reset();  // the lock goes with the writer
  EXPECT_TRUE(reader->Put(Rows(11, 12)).ok());
  EXPECT_EQ(All(*reader).size(), 3u);
}

TEST_F(EventFilesTest, AReaderNoticesASegmentIdUsedAgainAfterEverythingWasPruned) {
  SetEventSegmentRowsForTest(4);
  auto writer = OpenOrDie();
  auto reader = OpenOrDie();
  ASSERT_TRUE(writer->Put(Rows(0, 6)).ok());  // segments 1 (sealed) and 2
  EXPECT_EQ(All(*reader).size(), 6u);
  ASSERT_TRUE(writer->Prune(Row(100).time).ok());  // all gone; the next segment is 1 again
  std::vector<EventRecord> fresh = {Row(200, "10.0.0.5", "198.51.100.9")};
  ASSERT_TRUE(writer->Put(fresh).ok());
  ASSERT_TRUE(std::filesystem::exists(events() + "/1.rows"));
  auto all = All(*reader);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].peer, "198.51.100.9");
}

TEST_F(EventFilesTest, APruneCutSurvivesAReopen) {
  auto f = OpenOrDie();
  ASSERT_TRUE(f->Put(Rows(0, 10)).ok());  // one open segment, straddling the cut
  auto removed = f->Prune(Row(4).time);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 4u);
  EXPECT_EQ(*f->Prune(Row(4).time), 0u);  // nothing more to cut
  f.reset();
  f = OpenOrDie();
  auto all = All(*f);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back().time, Row(4).time);
  auto counts = f->Counts("10.0.0.5", kMicrosPerDay, 0, 0);
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ(counts->front().second, 6u);
}

TEST_F(EventFilesTest, AnIndexThatDoesNotFitItsRowsIsIgnoredAndRebuilt) {
  SetEventSegmentRowsForTest(4);
  {
    auto f = OpenOrDie();
    ASSERT_TRUE(f->Put(Rows(0, 6)).ok());
  }
  std::filesystem::resize_file(events() + "/1.idx", 100);  // cut short
  auto f = OpenOrDie();
  EXPECT_EQ(All(*f).size(), 6u);  // the rows answer without it
  ASSERT_TRUE(f->Put(Rows(6, 7)).ok());  // becoming the writer seals segment 1 again
  EXPECT_GT(std::filesystem::file_size(events() + "/1.idx"), 100u);
  f.reset();
  EXPECT_EQ(All(*OpenOrDie()).size(), 7u);
}

TEST_F(EventFilesTest, IdsThatShareAHashAreToldApartByTheirText) {
  // Not a real collision (those are 1 in 2^64) but the same path: rows of other entities in
  // the same key ranges must never answer for this one, on either side.
  auto f = OpenOrDie();
  std::vector<EventRecord> v = {Row(0, "10.0.0.5", "10.0.0.6"), Row(1, "10.0.0.6", "10.0.0.5"),
                                Row(2, "10.0.0.6", "10.0.0.7"), Row(3, "10.0.0.5", "10.0.0.5")};
  ASSERT_TRUE(f->Put(v).ok());
  EXPECT_EQ(All(*f, "10.0.0.5").size(), 3u);  // the self-talk row once
  EXPECT_EQ(All(*f, "10.0.0.7").size(), 1u);
  auto counts = f->Counts("10.0.0.5", kMicrosPerDay, 0, 0);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->front().second, 3u);
}

// A sealed segment big enough for the bucketed key sort (SortKeys: 16,384 keys and more),
// with one busy device, many quiet ones, and rows out of time order: every entity's and
// every peer's rows come back, newest first, exactly as a scan of what was written says.
TEST_F(EventFilesTest, ABigSealedSegmentAnswersEveryEntityAndPeerExactly) {
  SetEventSegmentRowsForTest(40'000);
  auto f = OpenOrDie();
  std::vector<EventRecord> all;
  uint64_t lcg = 12345;
  for (int i = 0; i < 40'000; ++i) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    const int device = i % 3 == 0 ? 0 : static_cast<int>((lcg >> 33) % 2000) + 1;  // device 0 is busy
    const int peer = static_cast<int>((lcg >> 20) % 500);
    EventRecord r = Row(i, "10.0." + std::to_string(device / 250) + "." + std::to_string(device % 250),
                        "198.51." + std::to_string(peer / 250) + "." + std::to_string(peer % 250));
    r.time -= static_cast<Micros>((lcg >> 50) % 30) * kMicrosPerMinute;  // up to 30 min late
    all.push_back(r);
  }
  for (size_t at = 0; at < all.size(); at += 5000)
    ASSERT_TRUE(f->Put(std::vector<EventRecord>(all.begin() + at, all.begin() + at + 5000)).ok());
  ASSERT_TRUE(std::filesystem::exists(events() + "/1.idx"));  // sealed at 40,000
  auto expect = [&](const std::string& who) {
    std::vector<std::pair<Micros, std::string>> want;
    for (const auto& r : all)
      if (r.entity == who || r.peer == who) want.emplace_back(r.time, r.uid);
    std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    return want;
  };
  for (const std::string who : {"10.0.0.0", "10.0.0.7", "10.0.7.249", "198.51.0.3", "198.51.1.249"}) {
    auto got = All(*f, who);
    auto want = expect(who);
    ASSERT_EQ(got.size(), want.size()) << who;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].time, want[i].first) << who << " #" << i;
    std::multiset<std::string> got_uids, want_uids;
    for (const auto& g : got) got_uids.insert(g.uid);
    for (const auto& w : want) want_uids.insert(w.second);
    EXPECT_EQ(got_uids, want_uids) << who;
  }
}

TEST_F(EventFilesTest, AFailedWriteLeavesNoKeysBehindAndTheNextBatchGoesOn) {
  auto f = OpenOrDie();
  ASSERT_TRUE(f->Put(Rows(0, 3)).ok());
  // A full disk, as the file size limit makes it: write fails with EFBIG (SIGXFSZ ignored).
  auto size = std::filesystem::file_size(events() + "/1.rows");
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = size + 100;  // room for part of one row
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status st = f->Put(Rows(3, 50));
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_EQ(All(*f).size(), 3u);
  ASSERT_TRUE(f->Put(Rows(50, 52)).ok());  // over the torn bytes
  auto all = All(*f);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].summary, Row(51).summary);
  EXPECT_EQ(all[2].summary, Row(2).summary);
  f.reset();
  EXPECT_EQ(All(*OpenOrDie()).size(), 5u);  // and a reader scanning the file agrees
}

TEST_F(EventFilesTest, LongFieldsAreCutNotRejected) {
  auto f = OpenOrDie();
  EventRecord big = Row(0);
  big.summary = std::string(100'000, 'x');
  ASSERT_TRUE(f->Put({big}).ok());
  auto all = All(*f);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].summary.size(), 65535u);
  EXPECT_EQ(all[0].uid, big.uid);
}

}  // namespace
}  // namespace vigil::store
