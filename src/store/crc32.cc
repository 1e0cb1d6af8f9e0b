#include "store/crc32.h"

#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace vigil::store {

uint32_t Crc32Zlib(const void* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(0, static_cast<const Bytef*>(data), size));
}

#if defined(__x86_64__)
namespace {

// Folding constants for the reflected CRC-32 polynomial P = 0x104C11DB7 (the paper's
// section 4, bit-reflected): k1/k2 fold 512 bits, k3/k4 fold 128 bits, k5 reduces 96 to
// 64 bits, and (P', mu) are Barrett's reduction to 32 bits.
alignas(16) constexpr uint64_t kK1K2[2] = {0x0154442bd4, 0x01c6e41596};
alignas(16) constexpr uint64_t kK3K4[2] = {0x01751997d0, 0x00ccaa009e};
alignas(16) constexpr uint64_t kK5K0[2] = {0x0163cd6124, 0x0000000000};
alignas(16) constexpr uint64_t kPoly[2] = {0x01db710641, 0x01f7011641};

// `acc` folded 128 bits forward with the constants in `k`, plus the next block.
__attribute__((target("pclmul,sse4.1"))) inline __m128i Fold(__m128i acc, __m128i next, __m128i k) {
  __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00);
  __m128i hi = _mm_clmulepi64_si128(acc, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(hi, lo), next);
}

// The running (pre-inverted) CRC `crc` over `len` bytes, len >= 64 and a multiple of 16.
__attribute__((target("pclmul,sse4.1"))) uint32_t FoldPclmul(const unsigned char* buf, size_t len,
                                                              uint32_t crc) {
  __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x00));
  __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x10));
  __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x20));
  __m128i x4 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x30));
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(kK1K2));
  buf += 64;
  len -= 64;
  // Four lanes of 128 bits, each folded 512 bits forward per round.
  while (len >= 64) {
    __m128i x5 = _mm_clmulepi64_si128(x1, k, 0x00);
    __m128i x6 = _mm_clmulepi64_si128(x2, k, 0x00);
    __m128i x7 = _mm_clmulepi64_si128(x3, k, 0x00);
    __m128i x8 = _mm_clmulepi64_si128(x4, k, 0x00);
    x1 = _mm_clmulepi64_si128(x1, k, 0x11);
    x2 = _mm_clmulepi64_si128(x2, k, 0x11);
    x3 = _mm_clmulepi64_si128(x3, k, 0x11);
    x4 = _mm_clmulepi64_si128(x4, k, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x00)));
    x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x10)));
    x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x20)));
    x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + 0x30)));
    buf += 64;
    len -= 64;
  }
  // The four lanes into one.
  k = _mm_load_si128(reinterpret_cast<const __m128i*>(kK3K4));
  x1 = Fold(x1, x2, k);
  x1 = Fold(x1, x3, k);
  x1 = Fold(x1, x4, k);
  // Whole 16-byte blocks left.
  while (len >= 16) {
    x1 = Fold(x1, _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf)), k);
    buf += 16;
    len -= 16;
  }
  // 128 bits to 64.
  const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  x2 = _mm_clmulepi64_si128(x1, k, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
  k = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(kK5K0));
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_and_si128(x1, mask32);
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, k, 0x00), x2);
  // Barrett reduction to 32 bits.
  k = _mm_load_si128(reinterpret_cast<const __m128i*>(kPoly));
  x2 = _mm_and_si128(x1, mask32);
  x2 = _mm_clmulepi64_si128(x2, k, 0x10);
  x2 = _mm_and_si128(x2, mask32);
  x2 = _mm_clmulepi64_si128(x2, k, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

const bool kHavePclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");

}  // namespace
#endif

uint32_t Crc32(const void* data, size_t size) {
#if defined(__x86_64__)
  if (kHavePclmul && size >= 64) {
    const auto* p = static_cast<const unsigned char*>(data);
    const size_t bulk = size & ~static_cast<size_t>(15);
    uint32_t crc = ~FoldPclmul(p, bulk, ~0u);
    if (bulk == size) return crc;
    return static_cast<uint32_t>(crc32_z(crc, p + bulk, size - bulk));
  }
#endif
  return Crc32Zlib(data, size);
}

}  // namespace vigil::store
