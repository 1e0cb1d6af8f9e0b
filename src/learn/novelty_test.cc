#include "learn/novelty.h"

#include <gtest/gtest.h>

namespace vigil::learn {
namespace {

TEST(Novelty, AnEmptyHistoryFindsNothingSurprising) {
  NoveltySet s;
  auto v = s.Observe(HashValue("a"), 0);
  EXPECT_TRUE(v.is_new);
  EXPECT_DOUBLE_EQ(v.p_new, 1.0);
}

TEST(Novelty, GoodTuringEstimateFollowsSingletons) {
  NoveltySet steady, churny;
  for (int i = 0; i < 1000; ++i) steady.Observe(HashValue(i % 3 == 0 ? "a" : "b"), i);
  for (int i = 0; i < 1000; ++i) churny.Observe(HashValue("v" + std::to_string(i % 500)), i);
  auto vs = steady.Peek(HashValue("new"));
  EXPECT_TRUE(vs.is_new);
  EXPECT_EQ(vs.observations, 1000u);
  EXPECT_EQ(vs.singletons, 0u);
  EXPECT_NEAR(vs.p_new, 1.0 / 1001, 1e-12);
  // 500 values seen twice each: no singletons either, but a fresh set with 500 singletons:
  NoveltySet once;
  for (int i = 0; i < 500; ++i) once.Observe(HashValue("u" + std::to_string(i)), i);
  EXPECT_NEAR(once.Peek(HashValue("x")).p_new, 501.0 / 501, 1e-12);
  EXPECT_FALSE(steady.Peek(HashValue("a")).is_new);
  EXPECT_EQ(steady.Peek(HashValue("a")).value_count, 334u);
}

TEST(Novelty, MemoryIsCappedAndForgottenSingletonsStillCount) {
  NoveltySet s(64);
  for (int i = 0; i < 10000; ++i) s.Observe(HashValue("v" + std::to_string(i)), i);
  EXPECT_LE(s.distinct(), 65u);
  auto v = s.Peek(HashValue("fresh"));
  EXPECT_EQ(v.observations, 10000u);
  EXPECT_GT(v.p_new, 0.99);  // every value was a one-off: a new one is no surprise
}

TEST(Novelty, SaveAndLoadRestoreTheSameVerdicts) {
  NoveltySet s(128);
  for (int i = 0; i < 300; ++i) s.Observe(HashValue("v" + std::to_string(i % 40)), i * 10);
  StateWriter w;
  s.Save(w);
  NoveltySet t;
  StateReader r(w.data());
  t.Load(r);
  ASSERT_TRUE(r.ok());
  for (const char* k : {"v1", "v39", "nope"}) {
    auto a = s.Peek(HashValue(k)), b = t.Peek(HashValue(k));
    EXPECT_EQ(a.is_new, b.is_new);
    EXPECT_EQ(a.value_count, b.value_count);
    EXPECT_DOUBLE_EQ(a.p_new, b.p_new);
  }
  EXPECT_EQ(t.first_seen(), 0);
}

TEST(Novelty, LoadRejectsTruncatedOrHostileBytes) {
  NoveltySet s;
  for (int i = 0; i < 10; ++i) s.Observe(i, i);
  StateWriter w;
  s.Save(w);
  std::string bytes = w.data();
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    NoveltySet t;
    StateReader r(std::string_view(bytes).substr(0, cut));
    t.Load(r);
    EXPECT_FALSE(r.ok()) << cut;
  }
  // A huge count is refused rather than allocated.
  StateWriter h;
  h.U32(16);
  h.U64(1);
  h.U64(0);
  h.I64(0);
  h.I64(0);
  h.U64(1ull << 60);
  NoveltySet t;
  StateReader r(h.data());
  t.Load(r);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace vigil::learn

namespace vigil::learn {
namespace {

// Observe answers in one probe what Peek would have answered just before it, field by
// field, through growth and evictions (a cap of 64 values over 300 distinct ones).
TEST(Novelty, ObserveGivesPeeksVerdictThenLearns) {
  NoveltySet set(64);
  uint64_t lcg = 99;
  for (int i = 0; i < 20000; ++i) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t value = HashValue("v" + std::to_string((lcg >> 33) % ((lcg >> 60) < 4 ? 300 : 20)));
    const NoveltyVerdict before = set.Peek(value);
    const NoveltyVerdict got = set.Observe(value, kMicrosPerSecond * i);
    ASSERT_EQ(got.is_new, before.is_new) << i;
    ASSERT_EQ(got.value_count, before.value_count) << i;
    ASSERT_EQ(got.observations, before.observations) << i;
    ASSERT_EQ(got.distinct, before.distinct) << i;
    ASSERT_EQ(got.singletons, before.singletons) << i;
    ASSERT_EQ(got.p_new, before.p_new) << i;
    ASSERT_EQ(got.first_seen, before.first_seen) << i;
  }
  EXPECT_LE(set.distinct(), 64u);
  EXPECT_EQ(set.observations(), 20000u);
}

}  // namespace
}  // namespace vigil::learn
