#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::Exchanged;
using harness::MakeModel;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

constexpr Micros kMin = kMicrosPerMinute;

TEST(Callback, ServerCallingBackToTheAddressThatExploitedItFires) {
  auto m = MakeModel("network/callback-to-inbound-source");
  ASSERT_NE(m, nullptr);
  EventFactory f;
  TestContext ctx(m->info());
  // The web server answers many external clients.
  for (int i = 1; i <= 10; ++i)
    Feed(*m, ctx, f.Flow(kTestEpoch + i * kMin, "198.51.100." + std::to_string(i), 50000,
                         "10.0.0.80", 443, Proto::kTcp, Exchanged(900, 3000)));
  // The exploit POST from a VPN exit address, then the server connects back out to it.
  Feed(*m, ctx, f.Flow(kTestEpoch + 20 * kMin, "185.220.101.4", 51515, "10.0.0.80", 443,
                       Proto::kTcp, Exchanged(900, 3000)));
  Event back = f.Flow(kTestEpoch + 23 * kMin, "10.0.0.80", 40404, "185.220.101.4", 4444,
                      Proto::kTcp, Exchanged(900, 3000));
  Feed(*m, ctx, back);
  // A second outbound connection to it is not a new callback.
  Feed(*m, ctx, f.Flow(kTestEpoch + 24 * kMin, "10.0.0.80", 40405, "185.220.101.4", 80,
                       Proto::kTcp, Exchanged(900, 3000)));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "network/callback-to-inbound-source");
  EXPECT_EQ(b[0].entity.id, "10.0.0.80");
  EXPECT_EQ(b[0].peer->id, "185.220.101.4");
  EXPECT_EQ(b[0].time, back.time);
  EXPECT_TRUE(b[0].details["server"].get<bool>());
  EXPECT_EQ(b[0].details["delay_s"], 180);
  EXPECT_GE(b[0].score, 80);
}

TEST(Callback, ClientThatCalledOutFirstDoesNotFireWhenThePeerConnectsBack) {
  auto m = MakeModel("network/callback-to-inbound-source");
  EventFactory f;
  TestContext ctx(m->info());
  // Active FTP / P2P shape: the workstation calls out, the peer connects in, more outbound.
  Feed(*m, ctx, f.Flow(kTestEpoch, "10.0.1.5", 50000, "203.0.113.21", 21, Proto::kTcp, Exchanged(900, 3000)));
  Feed(*m, ctx, f.Flow(kTestEpoch + kMin, "203.0.113.21", 20, "10.0.1.5", 50001, Proto::kTcp,
                       Exchanged(900, 3000)));
  Feed(*m, ctx, f.Flow(kTestEpoch + 2 * kMin, "10.0.1.5", 50002, "203.0.113.21", 21,
                       Proto::kTcp, Exchanged(900, 3000)));
  EXPECT_TRUE(ctx.emitted().empty());
}

TEST(Callback, UnansweredInboundScanDoesNotArmACallback) {
  auto m = MakeModel("network/callback-to-inbound-source");
  EventFactory f;
  TestContext ctx(m->info());
  FlowBody syn;
  syn.orig_pkts = 1;
  syn.conn_state = "S0";
  Feed(*m, ctx, f.Flow(kTestEpoch, "45.143.200.10", 50000, "10.0.1.5", 23, Proto::kTcp, syn));
  Feed(*m, ctx, f.Flow(kTestEpoch + kMin, "10.0.1.5", 50002, "45.143.200.10", 443, Proto::kTcp,
                       Exchanged(900, 3000)));
  EXPECT_TRUE(ctx.emitted().empty());
}

TEST(Callback, NothingIsEmittedDuringLearning) {
  auto m = MakeModel("network/callback-to-inbound-source");
  EventFactory f;
  TestContext ctx(m->info());
  ctx.set_learning(true);
  Feed(*m, ctx, f.Flow(kTestEpoch, "185.220.101.4", 51515, "10.0.0.80", 443, Proto::kTcp, Exchanged(900, 3000)));
  Feed(*m, ctx, f.Flow(kTestEpoch + kMin, "10.0.0.80", 40404, "185.220.101.4", 4444, Proto::kTcp,
                       Exchanged(900, 3000)));
  EXPECT_TRUE(ctx.emitted().empty());
}

}  // namespace
}  // namespace vigil::detect
