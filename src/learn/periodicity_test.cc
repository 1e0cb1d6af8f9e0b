#include "learn/periodicity.h"

#include <random>

#include <gtest/gtest.h>

namespace vigil::learn {
namespace {

TEST(Periodicity, MedianAndMadIgnoreOneOutlier) {
  double v[] = {60, 61, 59, 60, 600, 60, 62};
  RobustSummary s = MedianMad(v, 7);
  EXPECT_DOUBLE_EQ(s.median, 60);
  EXPECT_DOUBLE_EQ(s.mad, 1);
}

TEST(Periodicity, BinomialTailMatchesHandComputedValues) {
  EXPECT_NEAR(BinomialTailBits(1, 1, 0.5), 1.0, 1e-9);
  EXPECT_NEAR(BinomialTailBits(3, 3, 0.5), 3.0, 1e-9);
  EXPECT_NEAR(BinomialTailBits(2, 3, 0.5), 1.0, 1e-9);  // P(K>=2) = 4/8
  EXPECT_EQ(BinomialTailBits(0, 10, 0.3), 0.0);
}

TEST(Periodicity, JitteredBeaconIsRegularAndSurprising) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> jit(-6, 6);  // 60 s +- 10 %
  double gaps[16];
  for (double& g : gaps) g = 60 + jit(rng);
  PeriodicityStats s = AnalyzeGaps(gaps, 16);
  EXPECT_NEAR(s.median_s, 60, 3);
  EXPECT_LT(s.jitter, 0.08);
  EXPECT_EQ(s.in_band, 16u);
  EXPECT_GT(s.band_bits, 30);
}

TEST(Periodicity, MemorylessArrivalsAreNotSurprising) {
  std::mt19937 rng(11);
  std::exponential_distribution<double> ex(1.0 / 60);
  double gaps[16];
  for (double& g : gaps) g = ex(rng);
  PeriodicityStats s = AnalyzeGaps(gaps, 16);
  EXPECT_GT(s.jitter, 0.3);
  EXPECT_LT(s.band_bits, 6);
}

TEST(Periodicity, RingFoldsCloseArrivalsAndKeepsTheLastSixteenGaps) {
  ArrivalRing r;
  Micros t = 1'000'000'000;
  for (int i = 0; i < 40; ++i) {
    r.Add(t + i * 30 * kMicrosPerSecond, 100, kMicrosPerSecond);
    r.Add(t + i * 30 * kMicrosPerSecond + 200'000, 50, kMicrosPerSecond);  // folded
  }
  EXPECT_EQ(r.count(), 40u);
  double g[ArrivalRing::kGaps], sz[ArrivalRing::kGaps];
  ASSERT_EQ(r.Gaps(g), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_DOUBLE_EQ(g[i], 30.0);
  ASSERT_EQ(r.Sizes(sz), 16u);
  EXPECT_DOUBLE_EQ(sz[15], 150);
  EXPECT_EQ(r.first_seen(), t);
}

TEST(Periodicity, RingRoundTripsAndRejectsForeignBytes) {
  ArrivalRing r;
  for (int i = 0; i < 5; ++i) r.Add(i * 10 * kMicrosPerSecond, 7, kMicrosPerSecond);
  StateWriter w;
  r.Save(w);
  ArrivalRing back;
  StateReader rd(w.data());
  ASSERT_TRUE(back.Load(rd));
  double a[16], b[16];
  ASSERT_EQ(back.Gaps(b), r.Gaps(a));
  EXPECT_EQ(back.count(), 5u);
  std::string junk(w.data().size(), '\xff');
  StateReader bad(junk);
  ArrivalRing x;
  EXPECT_FALSE(x.Load(bad));
  StateReader shortr(std::string_view(w.data()).substr(0, 10));
  EXPECT_FALSE(x.Load(shortr));
}

}  // namespace
}  // namespace vigil::learn
