// Unit tests for network/rare-external-destination and network/new-user-agent-to-internal-
// server on small synthetic histories: the model, the entity, the peer and the time of what
// fires, and the benign look-alikes that must not (a browsing workstation meeting one more
// site nobody else visits; a browser that updated itself).
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

std::string Ws(int i) { return "10.0.1." + std::to_string(i); }

// Four days: thirty workstations browse shared sites, send a vendor heartbeat every ten
// minutes and, each day, visit two sites nobody else does; the web server 10.0.5.21
// answers the internet and fetches from two mirrors.
void History(Model& m, TestContext& ctx, EventFactory& f) {
  for (int day = 0; day < 4; ++day) {
    Micros d0 = kTestEpoch + day * kMicrosPerDay;
    for (int w = 1; w <= 30; ++w) {
      for (int k = 0; k < 144; ++k)
        Feed(m, ctx, f.Flow(d0 + (k * 600 + w) * kMicrosPerSecond, Ws(w), 50000, "20.190.160.5", 443,
                            Proto::kTcp, Exchanged(600, 4000)));
      for (int k = 0; k < 40; ++k)
        Feed(m, ctx, f.Flow(d0 + (8 * 3600 + w * 60 + k * 600) * kMicrosPerSecond, Ws(w), 50000,
                            "93.184.0." + std::to_string(k % 20 + 1), 443, Proto::kTcp, Exchanged(600, 4000)));
      for (int k = 0; k < 2; ++k)
        Feed(m, ctx, f.Flow(d0 + (12 * 3600 + w * 60 + k) * kMicrosPerSecond, Ws(w), 50000,
                            "198.18." + std::to_string(w * 10 + day) + "." + std::to_string(k + 1), 443, Proto::kTcp,
                            Exchanged(600, 4000)));
    }
    for (int k = 0; k < 200; ++k)
      Feed(m, ctx, f.Flow(d0 + k * 400 * kMicrosPerSecond, "45.33." + std::to_string(k % 200) + ".9", 40000,
                          "10.0.5.21", 443, Proto::kTcp, Exchanged(600, 4000)));
    Feed(m, ctx, f.Flow(d0 + 3 * kMicrosPerHour, "10.0.5.21", 41000, "151.101.2.132", 443, Proto::kTcp, Exchanged(600, 4000)));
    Feed(m, ctx, f.Flow(d0 + 3 * kMicrosPerHour + kMicrosPerMinute, "10.0.5.21", 41001, "104.16.24.35", 443,
                        Proto::kTcp, Exchanged(600, 4000)));
  }
}

TEST(RareExternalDestination, AServerReachingANewRareAddressBreachesOnItAtThatTime) {
  auto m = MakeModel("network/rare-external-destination");
  ASSERT_NE(m, nullptr);
  EventFactory f;
  TestContext ctx(m->info());
  ctx.set_learning_until(kTestEpoch + 3 * kMicrosPerDay);
  History(*m, ctx, f);
  Micros t = kTestEpoch + 4 * kMicrosPerDay + 10 * kMicrosPerHour;
  Feed(*m, ctx, f.Flow(t, "10.0.5.21", 42000, "146.70.192.180", 4444, Proto::kTcp, Exchanged(600, 4000)));
  auto b = ctx.BreachesFor("10.0.5.21");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "network/rare-external-destination");
  EXPECT_EQ(b[0].peer->id, "146.70.192.180");
  EXPECT_EQ(b[0].time, t);
  EXPECT_GE(b[0].score, 60);
  EXPECT_EQ(b[0].details["server"], true);
  // Its two mirrors were rare first contacts too (no other device uses them), so it keeps
  // 5 / (5 + 2) of the network-rarity evidence, far more than a browsing workstation.
  EXPECT_NEAR(b[0].details["rarity_weight"].get<double>(), 5.0 / 7.0, 1e-9);
  EXPECT_TRUE(ctx.undeclared_params().empty());
}

TEST(RareExternalDestination, AWorkstationThatMeetsUniqueSitesDailyDoesNotBreachOnOneMore) {
  auto m = MakeModel("network/rare-external-destination");
  EventFactory f;
  TestContext ctx(m->info());
  ctx.set_learning_until(kTestEpoch + 3 * kMicrosPerDay);
  History(*m, ctx, f);
  Micros t = kTestEpoch + 4 * kMicrosPerDay + 14 * kMicrosPerHour;
  Feed(*m, ctx, f.Flow(t, Ws(3), 50000, "203.0.113.77", 443, Proto::kTcp, Exchanged(600, 4000)));
  EXPECT_TRUE(ctx.BreachesFor(Ws(3)).empty());
  // It is still seen, as a weak signal that says why it counts less.
  ASSERT_FALSE(ctx.emitted().empty());
  const Breach& weak = ctx.emitted().back().breach;
  EXPECT_EQ(weak.entity.id, Ws(3));
  EXPECT_LT(weak.score, 60);
  EXPECT_LT(weak.details["rarity_weight"].get<double>(), 0.5);
  EXPECT_NE(weak.reasons.back().find("first contacts with rare addresses before"), std::string::npos)
      << weak.reasons.back();
  // With the habit discount off (habit_contacts 0) the same contact breaches, and so does
  // each of its daily unique sites after the learning period: the noise the habit removes.
  auto m2 = MakeModel("network/rare-external-destination");
  EventFactory f2;
  TestContext ctx2(m2->info());
  ctx2.set_learning_until(kTestEpoch + 3 * kMicrosPerDay);
  ctx2.set_param("habit_contacts", 0);
  History(*m2, ctx2, f2);
  Feed(*m2, ctx2, f2.Flow(t, Ws(3), 50000, "203.0.113.77", 443, Proto::kTcp, Exchanged(600, 4000)));
  auto noisy = ctx2.BreachesFor(Ws(3));
  ASSERT_EQ(noisy.size(), 3u);  // the last day's two unique sites and the new one
  EXPECT_EQ(noisy.back().peer->id, "203.0.113.77");
}

HttpBody Get(std::string_view ua) {
  HttpBody h;
  h.method = "GET";
  h.host = "intranet.corp";
  h.uri = "/app";
  h.user_agent = ua;
  h.status_code = 200;
  return h;
}

class NewUserAgent : public ::testing::Test {
 protected:
  void SetUp() override {
    m_ = MakeModel("network/new-user-agent-to-internal-server");
    ASSERT_NE(m_, nullptr);
    ctx_ = std::make_unique<TestContext>(m_->info());
    ctx_->set_learning_until(kTestEpoch + 3 * kMicrosPerDay);
    for (int i = 0; i < 4000; ++i)
      Feed(*m_, *ctx_, f_.Http(kTestEpoch + i * 90 * kMicrosPerSecond, Ws(1 + i % 6), "10.0.5.22", 80,
                               Get(i % 3 ? kChrome131 : kFirefox)));
  }
  static constexpr std::string_view kChrome131 =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
  static constexpr std::string_view kFirefox =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
  std::unique_ptr<Model> m_;
  std::unique_ptr<TestContext> ctx_;
  EventFactory f_;
};

TEST_F(NewUserAgent, AScriptedClientBreachesOnTheClientWithTheServerAsPeer) {
  Micros t = kTestEpoch + 5 * kMicrosPerDay;
  Feed(*m_, *ctx_, f_.Http(t, Ws(4), "10.0.5.22", 80, Get("python-requests/2.31.0")));
  auto b = ctx_->Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].entity.id, Ws(4));
  EXPECT_EQ(b[0].peer->id, "10.0.5.22");
  EXPECT_EQ(b[0].time, t);
  EXPECT_GE(b[0].score, 60);
  EXPECT_EQ(b[0].details["new_version_of_known_agent"], false);
}

TEST_F(NewUserAgent, ABrowserThatUpdatedItselfIsAWeakSignalNotABreach) {
  Micros t = kTestEpoch + 5 * kMicrosPerDay;
  Feed(*m_, *ctx_, f_.Http(t, Ws(2), "10.0.5.22", 80,
                           Get("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                               "Chrome/132.0.6834.83 Safari/537.36")));
  EXPECT_TRUE(ctx_->Breaches().empty());
  ASSERT_EQ(ctx_->emitted().size(), 1u);
  const Breach& weak = ctx_->emitted()[0].breach;
  EXPECT_TRUE(weak.weak);
  EXPECT_EQ(weak.details["new_version_of_known_agent"], true);
  EXPECT_GE(weak.score, 30);  // still kept for the analyst
  // A known agent from a brand-new client says nothing at all.
  Feed(*m_, *ctx_, f_.Http(t + kMicrosPerMinute, "10.0.1.99", "10.0.5.22", 80, Get(kFirefox)));
  EXPECT_EQ(ctx_->emitted().size(), 1u);
}

}  // namespace
}  // namespace vigil::detect
