#include "learn/novelty.h"

#include <algorithm>
#include <vector>

namespace vigil::learn {

NoveltyVerdict NoveltySet::Verdict(uint32_t value_count, bool is_new, size_t distinct) const {
  NoveltyVerdict v;
  v.is_new = is_new;
  v.value_count = value_count;
  v.observations = observations_;
  v.distinct = static_cast<uint32_t>(distinct);
  v.singletons = singletons_ + forgotten_singletons_;
  v.p_new = static_cast<double>(v.singletons + 1) / static_cast<double>(observations_ + 1);
  if (v.p_new > 1.0) v.p_new = 1.0;
  v.first_seen = first_seen_;
  return v;
}

NoveltyVerdict NoveltySet::Peek(uint64_t value) const {
  auto it = counts_.find(value);
  if (it == counts_.end()) return Verdict(0, true, counts_.size());
  return Verdict(it->second, false, counts_.size());
}

NoveltyVerdict NoveltySet::Observe(uint64_t value, Micros t) {
  // One probe for the verdict and the update: Peek's answer, from the same slot.
  auto [it, inserted] = counts_.try_emplace(value, 0);
  const NoveltyVerdict v = Verdict(it->second, inserted, counts_.size() - (inserted ? 1 : 0));
  if (observations_ == 0) first_seen_ = t;
  last_seen_ = std::max(last_seen_, t);
  ++observations_;
  uint32_t& c = it->second;
  if (c == 1) --singletons_;
  if (c < UINT32_MAX) ++c;
  if (c == 1) ++singletons_;
  if (inserted && counts_.size() > max_values_) Evict();
  return v;
}

void NoveltySet::Evict() {
  // Forget the least-seen values until a quarter of the capacity is free again. The
  // cutoff is the count at the 25th percentile, so eviction is O(n) and rare.
  std::vector<uint32_t> cs;
  cs.reserve(counts_.size());
  for (const auto& [k, c] : counts_) cs.push_back(c);
  size_t target = counts_.size() / 4;
  std::nth_element(cs.begin(), cs.begin() + static_cast<long>(target), cs.end());
  uint32_t cutoff = cs[target];
  size_t removed = 0;
  for (auto it = counts_.begin(); it != counts_.end() && removed < target + 1;) {
    if (it->second <= cutoff) {
      if (it->second == 1) {
        --singletons_;
        ++forgotten_singletons_;
      }
      counts_.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
}

size_t NoveltySet::MemoryUsage() const {
  return sizeof(*this) + counts_.capacity() * (sizeof(uint64_t) + sizeof(uint32_t) + 1);
}

void NoveltySet::Save(StateWriter& w) const {
  w.U32(max_values_);
  w.U64(observations_);
  w.U64(forgotten_singletons_);
  w.I64(first_seen_);
  w.I64(last_seen_);
  // Sorted so that the same state always writes the same bytes.
  std::vector<std::pair<uint64_t, uint32_t>> items(counts_.begin(), counts_.end());
  std::sort(items.begin(), items.end());
  w.U64(items.size());
  for (const auto& [k, c] : items) {
    w.U64(k);
    w.U32(c);
  }
}

void NoveltySet::Load(StateReader& r) {
  max_values_ = r.U32();
  if (max_values_ == 0 || max_values_ > (1u << 24)) max_values_ = kDefaultMaxValues;
  observations_ = r.U64();
  forgotten_singletons_ = r.U64();
  first_seen_ = r.I64();
  last_seen_ = r.I64();
  uint64_t n = r.Count(max_values_ + 1ull);
  counts_.clear();
  singletons_ = 0;
  counts_.reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    uint64_t k = r.U64();
    uint32_t c = r.U32();
    if (c == 0) c = 1;
    counts_[k] = c;
    if (c == 1) ++singletons_;
  }
}

}  // namespace vigil::learn
