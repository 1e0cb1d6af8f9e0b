// Periodicity: is a series of arrivals (connections from one device to one endpoint) clock
// driven, and how sure are we?
//
// ArrivalRing keeps, for one series, the last kGaps inter-arrival gaps and the last kGaps
// sizes in fixed arrays (no allocation; ~170 bytes), plus first/last arrival and a count.
// Arrivals closer than a minimum gap to the previous one are folded into it (a beacon that
// opens two connections per check-in is one beat, not two).
//
// AnalyzeGaps computes robust statistics of the gaps:
//   - median m and MAD (median absolute deviation); jitter = MAD / m. A 60 s beacon with
//     uniform +-10 % jitter has jitter ~0.05; human browsing to one site has jitter > 0.5;
//   - Bowley (quartile) skew, for the report: missed beats skew gaps to the right;
//   - in_band: how many gaps lie within +-tolerance of m;
//   - band_bits: the surprise, in bits, of that many gaps in the band if the arrivals were
//     memoryless (a Poisson process with the same typical gap): under that null a gap lands
//     within +-t of m with probability p = e^-(1-t) - e^-(1+t) (m taken as the mean), and the
//     binomial tail P(K >= in_band | n, p) is how likely the regularity is by chance.
// Why these: median and MAD ignore the occasional missed or doubled beat that breaks means
// and standard deviations; the binomial tail turns "k of n gaps are regular" into bits that
// grow with evidence (more beats, more certainty), the way detect/score.h expects.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/time.h"
#include "learn/state_io.h"

namespace vigil::learn {

struct RobustSummary {
  double median = 0;
  double mad = 0;
};
// Median and MAD of values[0..n); reorders `values`. n == 0 gives zeros.
RobustSummary MedianMad(double* values, size_t n);

// log2 of the binomial upper tail P(K >= k) for K ~ Binomial(n, p), as positive bits of
// surprise (0 when k == 0). Exact summation; n is small (<= a few hundred).
double BinomialTailBits(uint32_t k, uint32_t n, double p);

struct PeriodicityStats {
  uint32_t gaps = 0;
  double median_s = 0;   // typical period, seconds
  double mad_s = 0;
  double jitter = 0;     // MAD / median (0 = perfectly regular)
  double skew = 0;       // Bowley skew of the gaps, -1..1
  uint32_t in_band = 0;  // gaps within +-tolerance of the median
  double band_bits = 0;  // surprise of in_band under a memoryless null
};

// Statistics of gaps[0..n) in seconds. `tolerance` is relative (0.25 = +-25 %).
PeriodicityStats AnalyzeGaps(const double* gaps, size_t n, double tolerance = 0.25);

class ArrivalRing {
 public:
  static constexpr uint32_t kGaps = 16;

  // Records an arrival at t carrying `size` bytes. An arrival less than `min_gap` after the
  // previous one is folded into it (its size added); returns true when it made a new gap.
  // Arrivals earlier than the last one (out of order) are folded too.
  bool Add(Micros t, uint64_t size, Micros min_gap);

  uint64_t count() const { return count_; }  // beats since first_seen (folded ones excluded)
  Micros first_seen() const { return first_; }
  Micros last_seen() const { return last_; }
  // Copies the held gaps (seconds) into out[0..kGaps); returns how many.
  size_t Gaps(double* out) const;
  // Copies the held sizes of the last beats (bytes) into out[0..kGaps); returns how many.
  size_t Sizes(double* out) const;

  void Save(StateWriter& w) const;
  // Restores a ring written by Save; false on bytes Save could not have written.
  bool Load(StateReader& r);

 private:
  uint32_t gaps_ms_[kGaps] = {};  // capped at ~49 days
  uint32_t sizes_[kGaps] = {};    // capped at 4 GiB
  Micros first_ = 0;
  Micros last_ = 0;
  uint64_t count_ = 0;
  uint32_t last_size_ = 0;
  uint8_t head_ = 0;     // next gap slot
  uint8_t n_gaps_ = 0;   // gaps held, <= kGaps
};

}  // namespace vigil::learn
