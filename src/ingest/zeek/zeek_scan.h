// Byte scanning helpers for the Zeek decoders' hot loops. They rely on the decoder contract
// that every chunk is followed by kReadPadding readable bytes (ingest/decoder.h): a scan
// may read up to 31 bytes past `end`, never acts on them, and clamps its result to `end`.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil::ingest::zeek {

// The first `c` in [p, end), or end.
inline const char* FindByte(const char* p, const char* end, char c) {
#if defined(__SSE2__)
  const __m128i needle = _mm_set1_epi8(c);
  while (p < end) {
    __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, needle)));
    if (mask) {
      const char* hit = p + __builtin_ctz(mask);
      return hit < end ? hit : end;
    }
    p += 16;
  }
  return end;
#else
  const void* hit = std::memchr(p, c, static_cast<size_t>(end - p));
  return hit ? static_cast<const char*>(hit) : end;
#endif
}

// The first byte in [p, end) that ends a plain JSON string run: '"', '\\', a control
// character (< 0x20) or a non-ASCII byte (>= 0x80, which needs UTF-8 validation); or end.
inline const char* FindJsonStringSpecial(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (p < end) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too.
    __m128i hits =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, quote), _mm_cmpeq_epi8(b, backslash)),
                     _mm_cmplt_epi8(b, space));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if (mask) {
      const char* hit = p + __builtin_ctz(mask);
      return hit < end ? hit : end;
    }
    p += 16;
  }
  return end;
#else
  for (; p < end; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
  return end;
#endif
}

// The closing quote of a plain string whose text starts at p: the first '"' in [p, end) when no
// '\\', control or non-ASCII byte comes before it; otherwise nullptr (as when
// FindJsonStringSpecial's hit is not a '"' or is end). The hot path waits only on the
// quote's position (one compare, movemask, tzcnt); the other bytes are checked beside it.
inline const char* FindPlainStringEnd(const char* p, const char* end) {
#if defined(__AVX2__)
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i space = _mm256_set1_epi8(0x20);
  while (p < end) {
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    uint32_t q = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(b, quote)));
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too.
    uint32_t other = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_or_si256(_mm256_cmpeq_epi8(b, backslash), _mm256_cmpgt_epi8(space, b))));
    // Bits up to and including the first quote (all 32 when there is none).
    if (other & (q ^ (q - 1))) return nullptr;
    if (q) {
      const char* hit = p + __builtin_ctz(q);
      return hit < end ? hit : nullptr;
    }
    p += 32;
  }
  return nullptr;
#else
  p = FindJsonStringSpecial(p, end);
  return p < end && *p == '"' ? p : nullptr;
#endif
}

}  // namespace vigil::ingest::zeek
