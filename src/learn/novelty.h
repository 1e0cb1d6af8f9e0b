// Novelty: how surprising is this value for this key, given every value seen before?
//
// One NoveltySet serves one (entity, attribute) key: the user agents a server has been
// sent, the external hosts a device has talked to. Values are kept as 64-bit hashes
// (learn::HashValue) with a count each, so memory per key is about 16 bytes a value.
//
// The estimator is Good-Turing: the probability that the next observation is a value
// never seen before is about N1 / N, where N is the number of observations and N1 the
// number of values seen exactly once. With add-one smoothing we report
//     p_new = (N1 + 1) / (N + 1)
// so a key with no history gives p_new = 1 (nothing is surprising yet) and a key that saw
// 14,203 observations of a handful of values, none of them singletons, gives 1 / 14,204.
// The intuition for an analyst: "how often, historically, has this entity shown us
// something new?" A server whose clients keep bringing new user agents (N1 large) is not
// surprised by one more; a server that has seen the same three for a week is.
//
// Memory is capped per key (max_values). When full, the least-seen values are forgotten;
// forgotten singletons still count in N1 so p_new stays honest, and a forgotten value
// seen again is reported as new (with the estimate saying how surprising that is).
//
// The values live in a table of our own rather than a general hash map: one allocation of
// 16-byte (value, count) slots, open addressing with linear probing, at most 3/4 full,
// and a slot with count 0 is empty. A look-up reads one cache line where a Swiss table
// reads two (its control bytes, then the slot), so Prefetch can fetch all of it (a Swiss
// table's prefetch fetches the control bytes and the group's first slot, which is where
// the value is only by chance). A model holds one set per entity and
// touches one per event, mostly a small one (a device's few external peers, a server's
// handful of user agents) far from the last: its miss is the one this hides.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "core/hash.h"
#include "core/prefetch.h"
#include "core/status.h"
#include "core/time.h"
#include "learn/state_io.h"

namespace vigil::learn {

// The stable hashes values are kept as (core/hash.h), under learn:: for the models.
using ::vigil::HashBytes;
using ::vigil::HashValue;
using ::vigil::MixHash;

struct NoveltyVerdict {
  bool is_new = false;        // never seen for this key (or forgotten)
  uint64_t value_count = 0;   // times this value was seen before now
  uint64_t observations = 0;  // N before now
  uint32_t distinct = 0;      // distinct values held before now
  uint64_t singletons = 0;    // N1 before now (including forgotten singletons)
  double p_new = 1.0;         // Good-Turing probability that the next value is new
  Micros first_seen = 0;      // first observation of the key
};

class NoveltySet {
 public:
  static constexpr uint32_t kDefaultMaxValues = 1024;

  explicit NoveltySet(uint32_t max_values = kDefaultMaxValues) : max_values_(max_values) {}
  NoveltySet(const NoveltySet& other);
  NoveltySet& operator=(const NoveltySet& other);
  // A set moved from is left empty.
  NoveltySet(NoveltySet&& other) noexcept { *this = std::move(other); }
  NoveltySet& operator=(NoveltySet&& other) noexcept;

  // The verdict on `value` given the history, without learning it.
  NoveltyVerdict Peek(uint64_t value) const;
  // The verdict on `value` given the history so far, then learns it.
  NoveltyVerdict Observe(uint64_t value, Micros t);
  bool Contains(uint64_t value) const { return Find(value) != nullptr; }
  // Fetches into the cache the slot Observe(value) will read first (a hint; changes
  // nothing).
  void Prefetch(uint64_t value) const {
    if (slots_) PrefetchRead(&slots_[Home(value)]);
  }

  uint64_t observations() const { return observations_; }
  uint32_t distinct() const { return size_; }
  Micros first_seen() const { return first_seen_; }
  Micros last_seen() const { return last_seen_; }
  size_t MemoryUsage() const;

  void Save(StateWriter& w) const;
  // Restores a set written by Save; on bad bytes leaves the reader !ok().
  void Load(StateReader& r);

 private:
  // The verdict for a value seen `value_count` times among `distinct` held values, before
  // this observation.
  NoveltyVerdict Verdict(uint32_t value_count, bool is_new, size_t distinct) const;
  void Evict();

  struct Slot {
    uint64_t value;
    uint32_t count;  // 0: the slot is empty
    uint32_t unused;
  };
  static_assert(sizeof(Slot) == 16);
  uint32_t capacity() const { return slots_ ? 1u << (64 - shift_) : 0; }
  // Where value's probe sequence starts (Fibonacci hashing: the values are hashes
  // already, but not all of them mix their low bits, e.g. IPv4 addresses).
  size_t Home(uint64_t value) const {
    return static_cast<size_t>((value * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  const Slot* Find(uint64_t value) const;
  // The slot holding value, or the empty slot where it belongs (the table has room).
  Slot& Probe(uint64_t value);
  // Forgets value (held), keeping every other value findable.
  void Erase(uint64_t value);
  // Re-creates the table with 2^log2 slots, holding what it held.
  void Rehash(unsigned log2);

  std::unique_ptr<Slot[]> slots_;  // capacity() slots, a power of two
  uint32_t size_ = 0;              // values held
  uint8_t shift_ = 64;             // 64 - log2(capacity)
  uint64_t observations_ = 0;
  uint64_t singletons_ = 0;  // values with count 1 now held
  uint64_t forgotten_singletons_ = 0;
  Micros first_seen_ = 0;
  Micros last_seen_ = 0;
  uint32_t max_values_;
};

}  // namespace vigil::learn
