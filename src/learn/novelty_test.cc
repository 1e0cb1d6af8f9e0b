#include "learn/novelty.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

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
  // So is a count within the cap that the bytes left cannot hold, before any table is
  // made for it.
  StateWriter big;
  big.U32(1u << 24);
  big.U64(1);
  big.U64(0);
  big.I64(0);
  big.I64(0);
  big.U64(1u << 23);
  big.U64(42);
  big.U32(1);
  NoveltySet u;
  StateReader rb(big.data());
  u.Load(rb);
  EXPECT_FALSE(rb.ok());
  EXPECT_LT(u.MemoryUsage(), 4096u);
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

namespace vigil::learn {
namespace {

// Any 64-bit value can be held, 0 included, and values differing only in their high bits
// (addresses that share their low bits) are told apart, through growth and a copy.
TEST(Novelty, HoldsAnyValueThroughGrowthCopiesAndMoves) {
  NoveltySet set;
  std::vector<uint64_t> values = {0, 1, ~uint64_t{0}};
  for (uint64_t i = 1; i <= 200; ++i) values.push_back(i << 40);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_TRUE(set.Observe(values[i], static_cast<Micros>(i)).is_new) << i;
    EXPECT_FALSE(set.Observe(values[i], static_cast<Micros>(i)).is_new) << i;
  }
  EXPECT_EQ(set.distinct(), values.size());
  EXPECT_FALSE(set.Contains(2));
  NoveltySet copy = set;
  NoveltySet moved = std::move(set);
  EXPECT_EQ(set.distinct(), 0u);  // NOLINT(bugprone-use-after-move): moved from is empty
  EXPECT_TRUE(set.Peek(0).is_new);
  for (uint64_t v : values) {
    EXPECT_EQ(copy.Peek(v).value_count, 2u) << v;
    EXPECT_EQ(moved.Peek(v).value_count, 2u) << v;
  }
  copy.Observe(7, 1000);
  EXPECT_FALSE(copy.Peek(7).is_new);
  EXPECT_TRUE(moved.Peek(7).is_new);  // the copy has its own table
  EXPECT_GE(moved.MemoryUsage(), values.size() * 16);
}

// Eviction keeps the most-seen values and the table answers for each value afterwards.
TEST(Novelty, EvictionKeepsTheMostSeenValues) {
  NoveltySet set(32);
  for (int round = 0; round < 10; ++round)
    for (uint64_t v = 0; v < 8; ++v) set.Observe(v * 1000, round);  // 8 habitual values
  for (uint64_t v = 0; v < 100; ++v) set.Observe(MixHash(v, 5), 20);  // 100 one-offs
  EXPECT_LE(set.distinct(), 33u);
  for (uint64_t v = 0; v < 8; ++v) EXPECT_EQ(set.Peek(v * 1000).value_count, 10u) << v;
  uint32_t held = 0;
  for (uint64_t v = 0; v < 100; ++v) held += set.Contains(MixHash(v, 5)) ? 1 : 0;
  EXPECT_EQ(held + 8, set.distinct());
}

// Through thousands of evictions every value the set holds stays findable: counting the
// observed values it says it contains gives exactly how many it holds.
TEST(Novelty, EveryHeldValueStaysFindableThroughEvictions) {
  NoveltySet set(48);
  std::vector<uint64_t> seen;
  uint64_t lcg = 7;
  for (int i = 0; i < 30000; ++i) {
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    // Some values come back (a few hundred), most are one-offs; high and low bits both vary.
    const uint64_t v = (lcg >> 62) == 0 ? (lcg >> 40) % 300 : lcg;
    if (set.Observe(v, i).is_new) seen.push_back(v);
    if (i % 997 == 0) {
      uint32_t found = 0;
      std::sort(seen.begin(), seen.end());
      seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
      for (uint64_t s : seen) found += set.Contains(s) ? 1 : 0;
      ASSERT_EQ(found, set.distinct()) << i;
      ASSERT_LE(set.distinct(), 49u);
    }
  }
}

}  // namespace
}  // namespace vigil::learn
