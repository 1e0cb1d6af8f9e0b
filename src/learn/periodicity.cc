#include "learn/periodicity.h"

#include <algorithm>
#include <cmath>

namespace vigil::learn {

RobustSummary MedianMad(double* v, size_t n) {
  RobustSummary s;
  if (n == 0) return s;
  auto median_of = [](double* a, size_t m) {
    std::nth_element(a, a + m / 2, a + m);
    double hi = a[m / 2];
    if (m % 2 == 1) return hi;
    double lo = *std::max_element(a, a + m / 2);
    return (lo + hi) / 2;
  };
  s.median = median_of(v, n);
  for (size_t i = 0; i < n; ++i) v[i] = std::fabs(v[i] - s.median);
  s.mad = median_of(v, n);
  return s;
}

double BinomialTailBits(uint32_t k, uint32_t n, double p) {
  if (k == 0 || n == 0) return 0;
  if (k > n) k = n;
  p = std::clamp(p, 1e-12, 1 - 1e-12);
  // Sum P(K = i) for i >= k in log space.
  double lp = std::log(p), lq = std::log1p(-p);
  double max_term = -1e300;
  double terms[512];
  uint32_t m = std::min<uint32_t>(n, 511);
  uint32_t cnt = 0;
  for (uint32_t i = k; i <= m; ++i) {
    double t = std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + i * lp +
               (n - i) * lq;
    terms[cnt++] = t;
    max_term = std::max(max_term, t);
  }
  double sum = 0;
  for (uint32_t i = 0; i < cnt; ++i) sum += std::exp(terms[i] - max_term);
  double ln_tail = max_term + std::log(sum);
  return std::max(0.0, -ln_tail / std::log(2.0));
}

PeriodicityStats AnalyzeGaps(const double* gaps, size_t n, double tolerance) {
  PeriodicityStats s;
  s.gaps = static_cast<uint32_t>(n);
  if (n == 0) return s;
  double buf[256];
  n = std::min<size_t>(n, 256);
  std::copy(gaps, gaps + n, buf);
  std::sort(buf, buf + n);
  auto quantile = [&](double q) {
    double pos = q * static_cast<double>(n - 1);
    size_t lo = static_cast<size_t>(pos);
    size_t hi = std::min(lo + 1, n - 1);
    return buf[lo] + (buf[hi] - buf[lo]) * (pos - static_cast<double>(lo));
  };
  double q1 = quantile(0.25), q2 = quantile(0.5), q3 = quantile(0.75);
  s.median_s = q2;
  s.skew = (q3 - q1) > 0 ? (q3 + q1 - 2 * q2) / (q3 - q1) : 0;
  double dev[256];
  for (size_t i = 0; i < n; ++i) dev[i] = std::fabs(buf[i] - q2);
  RobustSummary d = MedianMad(dev, n);  // median of deviations = MAD
  s.mad_s = d.median;
  s.jitter = q2 > 0 ? s.mad_s / q2 : 0;
  double lo = q2 * (1 - tolerance), hi = q2 * (1 + tolerance);
  for (size_t i = 0; i < n; ++i) s.in_band += (buf[i] >= lo && buf[i] <= hi);
  double p = std::exp(-(1 - tolerance)) - std::exp(-(1 + tolerance));
  s.band_bits = BinomialTailBits(s.in_band, s.gaps, p);
  return s;
}

bool ArrivalRing::Add(Micros t, uint64_t size, Micros min_gap) {
  uint32_t sz = static_cast<uint32_t>(std::min<uint64_t>(size, UINT32_MAX));
  if (count_ == 0) {
    first_ = last_ = t;
    count_ = 1;
    last_size_ = sz;
    sizes_[0] = sz;
    return false;
  }
  if (t - last_ < min_gap) {  // folded into the previous beat (also out-of-order arrivals)
    uint64_t s = static_cast<uint64_t>(last_size_) + sz;
    last_size_ = static_cast<uint32_t>(std::min<uint64_t>(s, UINT32_MAX));
    sizes_[(head_ + kGaps - 1) % kGaps] = last_size_;
    return false;
  }
  Micros gap = t - last_;
  gaps_ms_[head_] = static_cast<uint32_t>(std::min<Micros>(gap / 1000, UINT32_MAX));
  sizes_[head_] = sz;
  head_ = static_cast<uint8_t>((head_ + 1) % kGaps);
  if (n_gaps_ < kGaps) ++n_gaps_;
  last_ = t;
  last_size_ = sz;
  ++count_;
  return true;
}

size_t ArrivalRing::Gaps(double* out) const {
  for (uint32_t i = 0; i < n_gaps_; ++i)
    out[i] = gaps_ms_[(head_ + kGaps - n_gaps_ + i) % kGaps] / 1000.0;
  return n_gaps_;
}

size_t ArrivalRing::Sizes(double* out) const {
  for (uint32_t i = 0; i < n_gaps_; ++i)
    out[i] = sizes_[(head_ + kGaps - n_gaps_ + i) % kGaps];
  return n_gaps_;
}

void ArrivalRing::Save(StateWriter& w) const {
  for (uint32_t g : gaps_ms_) w.U32(g);
  for (uint32_t s : sizes_) w.U32(s);
  w.I64(first_);
  w.I64(last_);
  w.U64(count_);
  w.U32(last_size_);
  w.U8(head_);
  w.U8(n_gaps_);
}

bool ArrivalRing::Load(StateReader& r) {
  for (uint32_t& g : gaps_ms_) g = r.U32();
  for (uint32_t& s : sizes_) s = r.U32();
  first_ = r.I64();
  last_ = r.I64();
  count_ = r.U64();
  last_size_ = r.U32();
  head_ = r.U8();
  n_gaps_ = r.U8();
  if (head_ >= kGaps || n_gaps_ > kGaps) {
    head_ = n_gaps_ = 0;
    return false;  // bytes we did not write
  }
  return r.ok();
}

}  // namespace vigil::learn
