// The one-line summaries of events (the event log's and a breach's evidence): what a flow's
// says, and that its byte counts read exactly as printf's "%.1f" would write them.
#include "detect/breach.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "detect/testing.h"

namespace vigil::detect {
namespace {

std::string FlowSummary(uint64_t out, uint64_t in, std::string_view state = "SF") {
  harness::EventFactory f;
  FlowBody b;
  b.orig_bytes = out;
  b.resp_bytes = in;
  b.conn_state = state;
  Event e = f.Flow(1000, "10.1.2.3", 40000, "93.4.5.7", 443, Proto::kTcp, b);
  std::string s;
  AppendEventSummary(s, e);
  return s;
}

// The reference: the count over 1024^k written with printf's "%.1f".
std::string Printf(uint64_t b) {
  if (b < 1024) return std::to_string(b) + " B";
  const char* unit = b < (1ull << 20) ? " KB" : b < (1ull << 30) ? " MB" : " GB";
  const double div = b < (1ull << 20) ? 1024.0 : b < (1ull << 30) ? 1048576.0 : 1073741824.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(b) / div);
  return std::string(buf) + unit;
}

TEST(EventSummary, AFlowReadsAsItsEndpointsBytesEachWayAndState) {
  EXPECT_EQ(FlowSummary(1229, 14950),
            "10.1.2.3:40000 -> 93.4.5.7:443/tcp 1.2 KB out, 14.6 KB in, SF");
  EXPECT_EQ(FlowSummary(0, 512, ""), "10.1.2.3:40000 -> 93.4.5.7:443/tcp 0 B out, 512 B in");
}

TEST(EventSummary, ByteCountsRoundAsPrintfWritesThem) {
  // Ties (x.x5 exactly) go to the even digit, as printf rounds the exact quotient.
  EXPECT_NE(FlowSummary(1280, 1792).find("1.2 KB out, 1.8 KB in"), std::string::npos)
      << FlowSummary(1280, 1792);
  std::vector<uint64_t> values = {0,
                                  1,
                                  1023,
                                  1024,
                                  1075,
                                  1076,
                                  1280,
                                  1331,
                                  1792,
                                  3584,
                                  1048575,
                                  1048576,
                                  1101004,
                                  1073741823,
                                  1073741824,
                                  1ull << 40,
                                  (1ull << 53) - 1,
                                  1ull << 53,
                                  UINT64_MAX};
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 20000; ++i) values.push_back(rng() >> (rng() % 64));
  for (uint64_t tie = 1024; tie < 1ull << 31; tie = tie * 3 + 512) values.push_back(tie);
  for (uint64_t b : values) {
    const std::string s = FlowSummary(b, 1);
    const std::string want = " " + Printf(b) + " out, ";
    ASSERT_NE(s.find(want), std::string::npos) << b << ": " << s << " (want" << want << ")";
  }
}

TEST(EventSummary, LongFieldsAreWrittenWhole) {
  const std::string state(500, 'S');
  const std::string s = FlowSummary(2048, 4096, state);
  EXPECT_EQ(s, "10.1.2.3:40000 -> 93.4.5.7:443/tcp 2.0 KB out, 4.0 KB in, " + state);
}

// The event log appends each summary to a batch of rows: what the string held before stays,
// also for the kinds whose summary leaves the endpoints out (a cloud call with a tuple: its
// summary names the caller and source, not the endpoints).
TEST(EventSummary, IsAppendedAfterWhatTheStringHeld) {
  harness::EventFactory f;
  CloudApiBody c;
  c.event_source = "iam.amazonaws.com";
  c.event_name = "AttachUserPolicy";
  c.principal_arn = "arn:aws:iam::1:user/alice";
  c.source_ip = "198.51.100.7";
  Event cloud = f.Other(1000, EventKind::kCloudApi, c,
                        {EntityType::kIdentity, "arn:aws:iam::1:user/alice", {}});
  cloud.net.valid = true;  // as if the call carried a tuple: its endpoints must not stay
  cloud.net.orig_h_text = "198.51.100.7";
  cloud.net.resp_h_text = "10.0.0.1";
  std::string s = "earlier row|";
  AppendEventSummary(s, cloud);
  EXPECT_EQ(s,
            "earlier row|iam.amazonaws.com AttachUserPolicy by arn:aws:iam::1:user/alice from "
            "198.51.100.7");
  std::string t = "x";
  AppendEventSummary(t, f.Flow(1000, "10.1.2.3", 40000, "93.4.5.7", 443, Proto::kTcp, FlowBody{}));
  EXPECT_EQ(t, "x" + FlowSummary(0, 0, ""));
}

}  // namespace
}  // namespace vigil::detect
