// SmallDistinct: exactly how many distinct sources did X, up to a small cap.
//
// Network-wide rarity ("how many devices have talked to this external host?") only needs
// exact answers for small numbers: whether 0, 1, 2 or 3 devices did matters; whether 40 or
// 400 did does not. So each key keeps up to kCap 32-bit source fingerprints inline and
// saturates at kCap: 36 bytes a key at the default cap of 8, no allocation. A smaller cap
// serves a question that stops earlier (the engine's "server" role needs 3 clients).
#pragma once

#include <algorithm>
#include <cstdint>

#include "learn/state_io.h"

namespace vigil::learn {

template <uint32_t Cap>
class BasicSmallDistinct {
 public:
  static constexpr uint32_t kCap = Cap;

  // Adds a source fingerprint; returns true when it was not counted before.
  bool Add(uint32_t source) {
    for (uint32_t i = 0; i < std::min<uint32_t>(n_, kCap); ++i)
      if (ids_[i] == source) return false;
    if (n_ < kCap) {
      ids_[n_++] = source;
      return true;
    }
    return false;  // saturated: "kCap or more"
  }
  bool Contains(uint32_t source) const {
    for (uint32_t i = 0; i < std::min<uint32_t>(n_, kCap); ++i)
      if (ids_[i] == source) return true;
    return false;
  }
  // Distinct sources, exact below kCap; kCap means "kCap or more".
  uint32_t count() const { return n_; }
  bool saturated() const { return n_ >= kCap; }

  void Save(StateWriter& w) const {
    w.U32(n_);
    for (uint32_t i = 0; i < n_; ++i) w.U32(ids_[i]);
  }
  void Load(StateReader& r) {
    n_ = r.U32();
    if (n_ > kCap) {
      n_ = 0;
      r.Count(0);  // marks the reader bad
      return;
    }
    for (uint32_t i = 0; i < n_; ++i) ids_[i] = r.U32();
  }

 private:
  uint32_t ids_[kCap] = {};
  uint32_t n_ = 0;
};

using SmallDistinct = BasicSmallDistinct<8>;

}  // namespace vigil::learn
