#include "learn/novelty.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace vigil::learn {

NoveltySet::NoveltySet(const NoveltySet& other) { *this = other; }

NoveltySet& NoveltySet::operator=(const NoveltySet& other) {
  if (this == &other) return *this;
  slots_.reset();
  if (other.slots_) {
    slots_ = std::make_unique_for_overwrite<Slot[]>(other.capacity());
    std::memcpy(slots_.get(), other.slots_.get(), other.capacity() * sizeof(Slot));
  }
  size_ = other.size_;
  shift_ = other.shift_;
  observations_ = other.observations_;
  singletons_ = other.singletons_;
  forgotten_singletons_ = other.forgotten_singletons_;
  first_seen_ = other.first_seen_;
  last_seen_ = other.last_seen_;
  max_values_ = other.max_values_;
  return *this;
}

NoveltySet& NoveltySet::operator=(NoveltySet&& other) noexcept {
  if (this == &other) return *this;
  slots_ = std::move(other.slots_);
  size_ = std::exchange(other.size_, 0);
  shift_ = std::exchange(other.shift_, uint8_t{64});
  observations_ = std::exchange(other.observations_, 0);
  singletons_ = std::exchange(other.singletons_, 0);
  forgotten_singletons_ = std::exchange(other.forgotten_singletons_, 0);
  first_seen_ = std::exchange(other.first_seen_, 0);
  last_seen_ = std::exchange(other.last_seen_, 0);
  max_values_ = other.max_values_;
  return *this;
}

const NoveltySet::Slot* NoveltySet::Find(uint64_t value) const {
  if (!slots_) return nullptr;
  const size_t mask = capacity() - 1;
  for (size_t i = Home(value);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.count == 0) return nullptr;  // the table is never full, so an empty slot ends it
    if (s.value == value) return &s;
  }
}

NoveltySet::Slot& NoveltySet::Probe(uint64_t value) {
  const size_t mask = capacity() - 1;
  for (size_t i = Home(value);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.count == 0 || s.value == value) return s;
  }
}

void NoveltySet::Rehash(unsigned log2) {
  std::unique_ptr<Slot[]> old = std::move(slots_);
  const uint32_t old_capacity = old ? 1u << (64 - shift_) : 0;
  slots_ = std::make_unique<Slot[]>(size_t{1} << log2);  // zeroed: every slot empty
  shift_ = static_cast<uint8_t>(64 - log2);
  for (uint32_t i = 0; i < old_capacity; ++i)
    if (old[i].count != 0) Probe(old[i].value) = old[i];
}

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
  const Slot* s = Find(value);
  if (!s) return Verdict(0, true, size_);
  return Verdict(s->count, false, size_);
}

NoveltyVerdict NoveltySet::Observe(uint64_t value, Micros t) {
  // One probe for the verdict and the update: Peek's answer, from the same slot. A new
  // value that would fill the table past 3/4 doubles it first (4 slots to start).
  Slot* found = slots_ ? &Probe(value) : nullptr;
  if (!found || (found->count == 0 && (size_ + 1) * 4 > capacity() * 3)) {
    Rehash(slots_ ? 65u - shift_ : 2u);
    found = &Probe(value);
  }
  Slot& s = *found;
  const bool inserted = s.count == 0;
  const NoveltyVerdict v = Verdict(s.count, inserted, size_);
  if (inserted) {
    s.value = value;
    ++size_;
  }
  if (observations_ == 0) first_seen_ = t;
  last_seen_ = std::max(last_seen_, t);
  ++observations_;
  uint32_t& c = s.count;
  if (c == 1) --singletons_;
  if (c < UINT32_MAX) ++c;
  if (c == 1) ++singletons_;
  if (inserted && size_ > max_values_) Evict();
  return v;
}

void NoveltySet::Evict() {
  // Forget the least-seen values until a quarter of the capacity is free again. The
  // cutoff is the count at the 25th percentile, so eviction is O(n) and rare.
  const uint32_t cap = capacity();
  const size_t mask = cap - 1;
  std::vector<uint32_t> cs(cap);
  size_t held = 0;
  for (uint32_t i = 0; i < cap; ++i) {  // without a branch: half the slots are empty, at random
    cs[held] = slots_[i].count;
    held += slots_[i].count != 0;
  }
  cs.resize(held);
  const size_t target = held / 4;
  std::nth_element(cs.begin(), cs.begin() + static_cast<long>(target), cs.end());
  const uint32_t cutoff = cs[target];
  // The values to forget are looked for all over the table, not in one stretch of it: the
  // scan steps by an odd stride near capacity / golden ratio (so it visits every slot,
  // each step landing far from the last), from somewhere new each time. Forgetting a
  // stretch would leave the rest of the table crowded, and crowded runs of slots make
  // every look-up long.
  std::vector<uint64_t> forget;
  forget.reserve(target + 1);
  const size_t stride = static_cast<size_t>(0x9E3779B97F4A7C15ull >> shift_) | 1;
  for (size_t n = 0, i = Home(observations_); n < cap && forget.size() < target + 1;
       ++n, i = (i + stride) & mask) {
    const Slot& s = slots_[i];
    if (s.count != 0 && s.count <= cutoff) forget.push_back(s.value);
  }
  for (uint64_t value : forget) Erase(value);
}

void NoveltySet::Erase(uint64_t value) {
  const Slot* found = Find(value);
  if (!found) return;
  const size_t mask = capacity() - 1;
  size_t hole = static_cast<size_t>(found - slots_.get());
  if (found->count == 1) {
    --singletons_;
    ++forgotten_singletons_;
  }
  --size_;
  // Backward shift: each value after the hole in its run moves into it unless its home
  // lies between the hole and where it is (then the hole is not on its way), so that no
  // look-up meets an empty slot before the value it is after.
  for (size_t j = hole;;) {
    j = (j + 1) & mask;
    if (slots_[j].count == 0) break;
    if (((j - Home(slots_[j].value)) & mask) < ((j - hole) & mask)) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole].count = 0;
}

size_t NoveltySet::MemoryUsage() const { return sizeof(*this) + size_t{capacity()} * sizeof(Slot); }

void NoveltySet::Save(StateWriter& w) const {
  w.U32(max_values_);
  w.U64(observations_);
  w.U64(forgotten_singletons_);
  w.I64(first_seen_);
  w.I64(last_seen_);
  // Sorted so that the same state always writes the same bytes.
  std::vector<std::pair<uint64_t, uint32_t>> items;
  items.reserve(size_);
  for (uint32_t i = 0; i < capacity(); ++i)
    if (slots_[i].count != 0) items.emplace_back(slots_[i].value, slots_[i].count);
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
  uint64_t n = r.Count(max_values_ + 1ull, sizeof(uint64_t) + sizeof(uint32_t));
  slots_.reset();
  shift_ = 64;
  size_ = 0;
  singletons_ = 0;
  if (n == 0) return;
  unsigned log2 = 2;
  while ((n + 1) * 4 > (uint64_t{1} << log2) * 3) ++log2;  // room for n and one more
  Rehash(log2);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    uint64_t k = r.U64();
    uint32_t c = r.U32();
    if (c == 0) c = 1;
    Slot& s = Probe(k);
    if (s.count == 0) {
      s.value = k;
      ++size_;
    } else if (s.count == 1) {
      --singletons_;  // a value written twice: the last count stands
    }
    s.count = c;
    if (c == 1) ++singletons_;
  }
}

}  // namespace vigil::learn
