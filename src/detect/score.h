// Scoring: one way to turn surprise into a 0-100 score that means the same in every model.
//
// A model estimates how probable the observed behaviour is under what it learned for the
// entity (p, 0 < p <= 1). Surprise is measured in bits, s = -log2(p): a value a server
// has seen once in 1,000 requests is ~10 bits; one in a million is ~20 bits. The score is
//     score = 100 * (1 - 2^(-s / s_half))
// where s_half (default 8 bits) is the surprise that scores 50: 8 bits halfway, 16 bits 75,
// 24 bits 87.5. Evidence multipliers (how rare the peer is network-wide, whether the entity
// is a server) add bits rather than points, so every model stays on the same curve.
// Models whose clues are never normal rather than rare (a mining-pool domain, a server
// calling back to its attacker) add fixed, documented amounts of bits per clue instead of
// a learned -log2(p); docs/models/network.md tables every model's amounts and typical scores.
// The mapping and the default thresholds (a breach at 60) are calibrated so that on the
// benign baselines in tests/ a score above 70 is rarer than once per device per month.
#pragma once

#include <algorithm>
#include <cmath>

namespace vigil::detect {

inline constexpr double kHalfScoreBits = 8.0;

// Bits of surprise of an event of probability p (clamped to [1e-12, 1]).
inline double SurpriseBits(double p) {
  p = std::clamp(p, 1e-12, 1.0);
  return -std::log2(p);
}

// Score 0-100 from bits of surprise.
inline int ScoreFromBits(double bits, double half_bits = kHalfScoreBits) {
  if (bits <= 0) return 0;
  double s = 100.0 * (1.0 - std::exp2(-bits / half_bits));
  return static_cast<int>(std::clamp(std::lround(s), 0L, 100L));
}

inline int ScoreFromProbability(double p, double half_bits = kHalfScoreBits) {
  return ScoreFromBits(SurpriseBits(p), half_bits);
}

}  // namespace vigil::detect
