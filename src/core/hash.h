// Stable 64-bit hashes (FNV-1a folded with a murmur-style finaliser) for values kept only as
// hashes: user agents, destinations, source keys. Stable across runs and machines because
// they are stored in checkpoints. Not for security.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil {

inline uint64_t HashBytes(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

inline uint64_t HashValue(std::string_view s) { return HashBytes(s.data(), s.size()); }

// Combines two hashes into one (order matters).
inline uint64_t MixHash(uint64_t a, uint64_t b) {
  uint64_t h = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  return h;
}

}  // namespace vigil
