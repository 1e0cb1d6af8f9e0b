#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::MakeModel;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

FlowBody Flow(Micros dur, uint64_t ob, uint64_t rb, uint64_t op, uint64_t rp) {
  FlowBody f;
  f.duration = dur;
  f.has_duration = true;
  f.orig_bytes = ob;
  f.resp_bytes = rb;
  f.orig_pkts = op;
  f.resp_pkts = rp;
  return f;
}

TEST(CryptoMining, PoolDomainLookupFiresOncePerDayOnTheDevice) {
  auto m = MakeModel("network/crypto-mining");
  ASSERT_NE(m, nullptr);
  EventFactory f;
  TestContext ctx(m->info());
  Event q = f.Dns(kTestEpoch, "10.0.0.80", "10.0.0.2", "pool.supportXMR.com");
  Feed(*m, ctx, q);
  Feed(*m, ctx, f.Dns(kTestEpoch + kMicrosPerMinute, "10.0.0.80", "10.0.0.2", "pool.supportxmr.com"));
  Feed(*m, ctx, f.Dns(kTestEpoch, "10.0.1.5", "10.0.0.2", "www.example.com"));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "network/crypto-mining");
  EXPECT_EQ(b[0].entity.id, "10.0.0.80");
  EXPECT_EQ(b[0].time, q.time);
  EXPECT_EQ(b[0].details["pattern"], "supportxmr.com");
  EXPECT_GE(b[0].score, 80);
}

TEST(CryptoMining, LongLivedSmallPacketStratumConnectionFiresAndAShortOneIsOnlyWeak) {
  auto m = MakeModel("network/crypto-mining");
  EventFactory f;
  TestContext ctx(m->info());
  Feed(*m, ctx, f.Flow(kTestEpoch, "10.0.1.9", 40000, "198.51.100.200", 3333, Proto::kTcp,
                       Flow(5 * kMicrosPerSecond, 300, 200, 3, 3)));
  ASSERT_EQ(ctx.emitted().size(), 1u);
  EXPECT_TRUE(ctx.emitted()[0].breach.weak);
  Event miner = f.Flow(kTestEpoch + kMicrosPerHour, "10.0.0.80", 40001, "94.130.12.27", 14444,
                       Proto::kTcp, Flow(2 * kMicrosPerHour, 60'000, 90'000, 400, 420));
  Feed(*m, ctx, miner);
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].entity.id, "10.0.0.80");
  EXPECT_EQ(b[0].peer->id, "94.130.12.27");
  EXPECT_TRUE(b[0].details["stratum_shape"].get<bool>());
}

TEST(CryptoMining, MiningSignatureAlertIsEvidence) {
  auto m = MakeModel("network/crypto-mining");
  EventFactory f;
  TestContext ctx(m->info());
  IdsAlertBody a;
  a.signature = "ET POLICY Cryptocurrency Miner Checkin";
  a.category = "Crypto Currency Mining Activity Detected";
  a.signature_id = 2024792;
  a.severity = 1;
  Feed(*m, ctx, f.Alert(kTestEpoch, "10.0.0.80", 40000, "94.130.12.27", 3333, a));
  IdsAlertBody benign;
  benign.signature = "ET INFO Observed DNS Query to .cloud TLD";
  benign.category = "Potentially Bad Traffic";
  Feed(*m, ctx, f.Alert(kTestEpoch, "10.0.1.5", 40000, "94.130.12.28", 53, benign));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].entity.id, "10.0.0.80");
  EXPECT_EQ(b[0].details["sid"], 2024792);
}

TEST(CryptoMining, LongHttpsSessionsOfAWorkstationToAPopularHostDoNotFire) {
  auto m = MakeModel("network/crypto-mining");
  EventFactory f;
  TestContext ctx(m->info());
  for (int i = 1; i <= 8; ++i)
    Feed(*m, ctx, f.Flow(kTestEpoch + i, "10.0.1." + std::to_string(i), 40000, "52.114.128.9", 443,
                         Proto::kTcp, Flow(3 * kMicrosPerHour, 50'000, 900'000, 300, 900)));
  // A workstation (no inbound) with a long session to a rare host: not a server, no breach.
  Feed(*m, ctx, f.Flow(kTestEpoch + 10, "10.0.1.3", 40000, "203.0.113.50", 443, Proto::kTcp,
                       Flow(3 * kMicrosPerHour, 50'000, 900'000, 300, 900)));
  EXPECT_TRUE(ctx.emitted().empty());
}

TEST(CryptoMining, ServerNewLongLivedConnectionToRareHostIsAWeakSignal) {
  auto m = MakeModel("network/crypto-mining");
  EventFactory f;
  TestContext ctx(m->info());
  FlowBody answered = Flow(kMicrosPerSecond, 500, 5000, 5, 5);
  for (int i = 1; i <= 4; ++i)
    Feed(*m, ctx, f.Flow(kTestEpoch + i, "198.51.100." + std::to_string(i), 50000, "10.0.0.80",
                         443, Proto::kTcp, answered));
  Feed(*m, ctx, f.Flow(kTestEpoch + kMicrosPerMinute, "10.0.0.80", 40000, "203.0.113.50", 10128,
                       Proto::kTcp, Flow(2 * kMicrosPerHour, 80'000, 90'000, 900, 900)));
  ASSERT_EQ(ctx.emitted().size(), 1u);
  EXPECT_EQ(ctx.emitted()[0].breach.entity.id, "10.0.0.80");
  EXPECT_TRUE(ctx.emitted()[0].breach.details["server"].get<bool>());
  EXPECT_TRUE(ctx.emitted()[0].breach.weak);
}

}  // namespace
}  // namespace vigil::detect
