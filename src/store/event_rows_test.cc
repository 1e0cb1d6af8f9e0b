// EventRows: events packed in the event log's row format, as the engine's event log builds
// them and the SQLite store writes them.
#include "store/event_rows.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::store {
namespace {

TEST(EventRows, RowsDecodeToWhatWasAddedInOrderWithTheSummaryWrittenInPlace) {
  EventRows rows;
  rows.Add(1000, "10.0.0.5", "203.0.113.7", "flow", "C1", "/logs/conn.log", 7, 640, 3000,
           [](std::string& out) { out += "10.0.0.5:1 -> 203.0.113.7:443/tcp"; });
  rows.Add(EventRecord{2000, "arn:aws:iam::1:user/a", "", "cloud_api", "iam AttachUserPolicy",
                       "e-1", "ct.jsonl", 1, 0, 0});
  ASSERT_EQ(rows.size(), 2u);
  std::vector<EventRecord> got;
  rows.ForEach([&got](const RowView& r) { got.push_back(r.ToRecord()); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].time, 1000);
  EXPECT_EQ(got[0].entity, "10.0.0.5");
  EXPECT_EQ(got[0].peer, "203.0.113.7");
  EXPECT_EQ(got[0].kind, "flow");
  EXPECT_EQ(got[0].summary, "10.0.0.5:1 -> 203.0.113.7:443/tcp");
  EXPECT_EQ(got[0].uid, "C1");
  EXPECT_EQ(got[0].input, "/logs/conn.log");
  EXPECT_EQ(got[0].line, 7u);
  EXPECT_EQ(got[0].offset, 640u);
  EXPECT_EQ(got[0].bytes, 3000u);
  EXPECT_EQ(got[1].entity, "arn:aws:iam::1:user/a");
  EXPECT_EQ(got[1].summary, "iam AttachUserPolicy");
  EXPECT_EQ(got[1].input, "ct.jsonl");
}

TEST(EventRows, ARowIsIntactOnlyOnceItsChecksumIsSet) {
  EventRows rows;
  rows.Add(EventRecord{1, "a", "b", "flow", "s", "u", "i", 1, 2, 3});
  const std::string& d = rows.data();
  EXPECT_EQ(RowSize(d.data(), d.size(), false), d.size());
  EXPECT_EQ(RowSize(d.data(), d.size(), true), 0u);  // not checked yet
  EXPECT_EQ(rows.SetChecksum(0), d.size());
  EXPECT_EQ(RowSize(d.data(), d.size(), true), d.size());
  EXPECT_EQ(RowSize(d.data(), d.size() - 1, true), 0u);  // torn
}

TEST(EventRows, ALongTextIsCutAndClearKeepsTheBuffer) {
  EventRows rows;
  const std::string huge(rows::kMaxField + 10, 's');
  rows.Add(5, "e", "", "flow", "u", "i", 0, 0, 0, [&huge](std::string& out) { out += huge; });
  rows.Add(EventRecord{6, huge, "", "flow", "x", "u", "i", 0, 0, 0});
  std::vector<RowView> got;
  rows.ForEach([&got](const RowView& r) { got.push_back(r); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].summary.size(), rows::kMaxField);
  EXPECT_EQ(got[0].uid, "u");  // the fields after the cut summary are intact
  EXPECT_EQ(got[1].entity.size(), rows::kMaxField);
  EXPECT_EQ(got[1].summary, "x");
  const size_t capacity = rows.data().capacity();
  rows.clear();
  EXPECT_TRUE(rows.empty());
  EXPECT_EQ(rows.data().capacity(), capacity);
}

TEST(EventRows, ABatchMovedFromIsEmptyAndRecordsPackInOrder) {
  EventRows rows(std::vector<EventRecord>{EventRecord{1, "a", "", "flow", "s1", "u", "i", 0, 0, 0},
                                          EventRecord{2, "b", "", "dns", "s2", "u", "i", 0, 0, 0}});
  ASSERT_EQ(rows.size(), 2u);
  EventRows taken(std::move(rows));
  EXPECT_TRUE(rows.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_TRUE(rows.data().empty());
  std::vector<std::string> entities;
  taken.ForEach([&entities](const RowView& r) { entities.emplace_back(r.entity); });
  EXPECT_EQ(entities, (std::vector<std::string>{"a", "b"}));
  rows = std::move(taken);
  EXPECT_TRUE(taken.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(rows.size(), 2u);
}

}  // namespace
}  // namespace vigil::store
