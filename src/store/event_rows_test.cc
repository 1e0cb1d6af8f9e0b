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

// A flow's summary goes into its row packed (the engine's event log) and reads back as the
// text the console shows; what does not fit the packing is written as text instead, and
// packed bytes cut short read as "" rather than past the row.
TEST(EventRows, AFlowsSummaryIsStoredPackedAndReadAsItsText) {
  const std::string text = "10.0.0.5:51234 -> 203.0.113.7:443/tcp 1.2 KB out, 3.4 KB in, SF";
  EventRows rows;
  rows.Add(1000, "10.0.0.5", "203.0.113.7", "flow", "C1", "conn.log", 1, 0, 4710,
           [](std::string& out) {
             EXPECT_TRUE(PackFlowSummary(out, "10.0.0.5", 51234, "203.0.113.7", 443, Proto::kTcp,
                                         1229, 3482, "SF"));
           });
  rows.Add(2000, "10.0.0.6", "", "flow", "C2", "conn.log", 2, 0, 0, [](std::string& out) {
    EXPECT_TRUE(
        PackFlowSummary(out, "10.0.0.6", 0, "198.51.100.1", 7, Proto::kUnknown, 0, 512, ""));
  });
  std::vector<RowView> views;
  rows.ForEach([&views](const RowView& r) { views.push_back(r); });
  ASSERT_EQ(views.size(), 2u);
  ASSERT_FALSE(views[0].summary.empty());
  EXPECT_EQ(views[0].summary[0], rows::kPackedFlow);
  EXPECT_LT(views[0].summary.size(), text.size());
  std::string scratch;
  EXPECT_EQ(SummaryText(views[0].summary, scratch), text);
  EXPECT_EQ(views[0].ToRecord().summary, text);
  EXPECT_EQ(views[1].ToRecord().summary, "10.0.0.6:0 -> 198.51.100.1:7 0 B out, 512 B in");
  // Cut short anywhere, the packed bytes read as nothing.
  for (size_t n = 1; n < views[0].summary.size(); ++n)
    EXPECT_EQ(SummaryText(views[0].summary.substr(0, n), scratch), "") << n;
  // A text summary is read as it is.
  EXPECT_EQ(SummaryText("iam AttachUserPolicy", scratch), "iam AttachUserPolicy");
  // A name over 255 bytes does not pack.
  std::string out = "x";
  EXPECT_FALSE(PackFlowSummary(out, std::string(256, 'a'), 1, "b", 2, Proto::kTcp, 0, 0, ""));
  EXPECT_EQ(out, "x");
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
