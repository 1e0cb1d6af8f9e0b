#include "detect/testing.h"

#include <gtest/gtest.h>

namespace vigil::detect::harness {
namespace {

// A tiny model that emits one breach per flow with score = responder port % 101.
class EchoModel : public Model {
 public:
  const ModelInfo& info() const override {
    static const ModelInfo kInfo{"test/echo", "echoes flows", {EventKind::kFlow}, {}, 60,
                                 {{"bonus", 5, "added to the score"}}};
    return kInfo;
  }
  void Observe(const Event& e, ModelContext& ctx) override {
    Breach b;
    b.time = e.time;
    b.model = info().name;
    b.score = static_cast<int>(e.net.resp_p % 101 + ctx.param("bonus"));
    b.entity = ToEntityInfo(e.entity);
    b.peer = ToEntityInfo(e.peer);
    b.events.push_back(MakeEventRef(e));
    ctx.Emit(std::move(b));
  }
  void Tick(ModelContext&, bool final) override { ticks++, finals += final; }
  void Save(learn::StateWriter&) const override {}
  Status Load(learn::StateReader&) override { return Status::Ok(); }
  size_t MemoryUsage() const override { return 0; }
  int ticks = 0;
  int finals = 0;
};

TEST(Harness, FactoryEnrichesLikeTheNetworkStep) {
  EventFactory f;
  Event out = f.Flow(kTestEpoch, "10.0.0.5", 50000, "203.0.113.7", 443);
  EXPECT_TRUE(out.orig_internal);
  EXPECT_FALSE(out.resp_internal);
  EXPECT_EQ(out.entity.id, "10.0.0.5");
  EXPECT_EQ(out.peer.type, EntityType::kExternal);
  Event in = f.Flow(kTestEpoch, "198.51.100.9", 50000, "10.0.0.5", 22);
  EXPECT_EQ(in.entity.id, "10.0.0.5");
  EXPECT_EQ(in.peer.id, "198.51.100.9");
}

TEST(Harness, BodyStringsFromTemporariesStayValid) {
  EventFactory f;
  Event e;
  {
    std::string host = "example.org";
    HttpBody h;
    h.host = host;
    e = f.Http(kTestEpoch, "10.0.0.5", "203.0.113.7", 80, h);
    host.assign("XXXXXXXXXXX");
  }
  EXPECT_EQ(e.As<HttpBody>()->host, "example.org");
}

TEST(Harness, RecordsBreachesAboveThresholdOutsideLearningOnly) {
  EventFactory f;
  EchoModel m;
  TestContext ctx(m.info());
  ctx.set_learning_until(kTestEpoch + kMicrosPerHour);
  Feed(m, ctx, f.Flow(kTestEpoch, "10.0.0.5", 1, "203.0.113.7", 80));  // learning
  Feed(m, ctx, f.Flow(kTestEpoch + 2 * kMicrosPerHour, "10.0.0.5", 1, "203.0.113.7", 20));
  Feed(m, ctx, f.Flow(kTestEpoch + 3 * kMicrosPerHour, "10.0.0.6", 1, "203.0.113.7", 90));
  ASSERT_EQ(ctx.emitted().size(), 3u);
  EXPECT_TRUE(ctx.emitted()[0].during_learning);
  EXPECT_TRUE(ctx.emitted()[1].breach.weak);  // 25 < 60
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].score, 95);
  EXPECT_EQ(b[0].entity.id, "10.0.0.6");
  EXPECT_FALSE(b[0].id.empty());
  EXPECT_EQ(ctx.history_start(), kTestEpoch);
  EXPECT_TRUE(ctx.undeclared_params().empty());
  ctx.set_param("bonus", 0);
  ctx.set_threshold(90);
  ctx.Clear();
  Feed(m, ctx, f.Flow(kTestEpoch + 4 * kMicrosPerHour, "10.0.0.6", 1, "203.0.113.7", 90));
  ASSERT_EQ(ctx.Breaches().size(), 1u);
  EXPECT_EQ(ctx.Breaches()[0].score, 90);
}

TEST(Harness, FeedAllTicksEveryMinuteAndOnceFinally) {
  EventFactory f;
  EchoModel m;
  TestContext ctx(m.info());
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i)
    events.push_back(f.Flow(kTestEpoch + i * 30 * kMicrosPerSecond, "10.0.0.5", 1, "1.1.1.1", 1));
  FeedAll(m, ctx, events);
  EXPECT_EQ(m.ticks, 4 + 1);  // minute boundaries at +60,+120,+180,+240 s, then final
  EXPECT_EQ(m.finals, 1);
  EXPECT_EQ(ctx.network().DevicesContacting(*IpAddr::Parse("1.1.1.1")), 1u);
}

TEST(Harness, UndeclaredParamIsReported) {
  EchoModel m;
  TestContext ctx(m.info());
  EXPECT_EQ(ctx.param("nope"), 0);
  ASSERT_EQ(ctx.undeclared_params().size(), 1u);
  EXPECT_EQ(ctx.undeclared_params()[0], "nope");
}

}  // namespace
}  // namespace vigil::detect::harness
