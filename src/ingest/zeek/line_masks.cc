// The kernels of ClassifyLine (line_masks.h). One loop, ClassifyWith, walks the line 64
// bytes at a time; a kernel supplies the per-block compares. The AVX-512 kernel's wrapper
// carries the target attribute and flattens the loop and its block into itself, so the
// rest of the build stays at its baseline and the wrapper is only called on CPUs that
// have AVX-512BW (SimdClassifyLine checks at run time).
#include "ingest/zeek/line_masks.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace vigil::ingest::zeek {
namespace {

// One 64-byte block's byte classes, bit i for byte i.
struct BlockBits {
  uint64_t quote, comma, digit, newline;
  uint64_t special;  // '\\', a control byte (< 0x20) or a non-ASCII byte (>= 0x80)
};

struct PortableBlock {
  static BlockBits Load(const char* p) {
    BlockBits b{};
    for (int i = 0; i < 64; ++i) {
      const auto c = static_cast<unsigned char>(p[i]);
      const uint64_t bit = uint64_t{1} << i;
      if (c == '"') b.quote |= bit;
      if (c == ',') b.comma |= bit;
      if (c >= '0' && c <= '9') b.digit |= bit;
      if (c == '\n') b.newline |= bit;
      if (c == '\\' || c < 0x20 || c >= 0x80) b.special |= bit;
    }
    return b;
  }
  static uint64_t PrefixXor(uint64_t x) {
    for (int s = 1; s < 64; s *= 2) x ^= x << s;
    return x;
  }
  static void Split(const char* p, char sep, uint64_t& seps, uint64_t& newline) {
    seps = newline = 0;
    for (int i = 0; i < 64; ++i) {
      if (p[i] == sep) seps |= uint64_t{1} << i;
      if (p[i] == '\n') newline |= uint64_t{1} << i;
    }
  }
};

#if defined(__AVX2__)
struct Avx2Block {
  static void Half(const char* p, BlockBits& b, int shift) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    auto mask = [&](__m256i m) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(m))) << shift;
    };
    b.quote |= mask(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')));
    b.comma |= mask(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(',')));
    b.newline |= mask(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n')));
    // Signed compares: bytes >= 0x80 are negative, so "< 0x20" catches them, and they are
    // never digits.
    b.digit |= mask(_mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('0' - 1)),
                                     _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), v)));
    b.special |= mask(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\')),
                                      _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v)));
  }
  static BlockBits Load(const char* p) {
    BlockBits b{};
    Half(p, b, 0);
    Half(p + 32, b, 32);
    return b;
  }
  static uint64_t PrefixXor(uint64_t x) { return PortableBlock::PrefixXor(x); }
  static void Split(const char* p, char sep, uint64_t& seps, uint64_t& newline) {
    auto mask = [](const char* at, char c) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)))));
    };
    seps = mask(p, sep) | mask(p + 32, sep) << 32;
    newline = mask(p, '\n') | mask(p + 32, '\n') << 32;
  }
};

struct Avx512Block {
  __attribute__((target("avx512bw,avx512f"))) static BlockBits Load(const char* p) {
    const __m512i v = _mm512_loadu_si512(p);
    BlockBits b;
    b.quote = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"'));
    b.comma = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(','));
    b.newline = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
    b.digit = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(9));
    b.special = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\')) |
                _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(0x20));  // signed, as above
    return b;
  }
  // Bit i of the result is the XOR of bits 0..i: a carry-less multiply by all ones.
  __attribute__((target("pclmul,sse2"))) static uint64_t PrefixXor(uint64_t x) {
    const __m128i r = _mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<int64_t>(x)), _mm_set1_epi8(-1), 0);
    return static_cast<uint64_t>(_mm_cvtsi128_si64(r));
  }
  __attribute__((target("avx512bw,avx512f"))) static void Split(const char* p, char sep, uint64_t& seps,
                                                              uint64_t& newline) {
    const __m512i v = _mm512_loadu_si512(p);
    seps = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(sep));
    newline = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
  }
};
#endif

// The loop every kernel shares (line_masks.h has the contract).
template <typename Block>
inline __attribute__((always_inline)) const char* ClassifyWith(const char* begin, const char* end,
                                                               LineMasks& m) {
  uint64_t inside_carry = 0;  // all ones while the previous block ended inside a string
  for (size_t w = 0;; ++w) {
    const char* p = begin + 64 * w;
    if (w == LineMasks::kMaxWords || p >= end) return nullptr;
    const BlockBits b = Block::Load(p);
    const size_t left = static_cast<size_t>(end - p);
    const uint64_t valid = left >= 64 ? ~uint64_t{0} : (uint64_t{1} << left) - 1;
    const uint64_t nl = b.newline & valid;
    const uint64_t line = nl ? (nl & (0 - nl)) - 1 : valid;  // the bytes before the newline
    if (b.special & line) return nullptr;
    const uint64_t quote = b.quote & line;
    const uint64_t inside = Block::PrefixXor(quote) ^ inside_carry;
    inside_carry = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
    m.comma[w] = b.comma & ~inside & line;
    m.quote[w] = quote;
    m.digit[w] = b.digit & line;
    if (nl) {
      m.words = w + 1;
      m.quote[w + 1] = 0;
      m.digit[w + 1] = 0;
      // A line that ends inside a string has quotes that do not pair up.
      return inside_carry ? nullptr : p + __builtin_ctzll(nl) - 1;
    }
    if (left <= 64) return nullptr;  // no newline before the chunk's end
  }
}

// The loop every splitter shares (SplitLineFn's contract).
template <typename Block>
inline __attribute__((always_inline)) const char* SplitWith(const char* begin, const char* end, char sep,
                                                            uint64_t* seps) {
  for (size_t w = 0;; ++w) {
    const char* p = begin + 64 * w;
    if (w == LineMasks::kMaxWords || p >= end) return nullptr;
    uint64_t sep_bits, nl_bits;
    Block::Split(p, sep, sep_bits, nl_bits);
    const size_t left = static_cast<size_t>(end - p);
    const uint64_t valid = left >= 64 ? ~uint64_t{0} : (uint64_t{1} << left) - 1;
    const uint64_t nl = nl_bits & valid;
    if (nl) {
      seps[w] = sep_bits & ((nl & (0 - nl)) - 1);
      return p + __builtin_ctzll(nl);
    }
    seps[w] = sep_bits & valid;
    if (left <= 64) return nullptr;
  }
}

const char* PortableKernel(const char* begin, const char* end, LineMasks& m) {
  return ClassifyWith<PortableBlock>(begin, end, m);
}

const char* PortableSplit(const char* begin, const char* end, char sep, uint64_t* seps) {
  return SplitWith<PortableBlock>(begin, end, sep, seps);
}

#if defined(__AVX2__)
const char* Avx2Split(const char* begin, const char* end, char sep, uint64_t* seps) {
  return SplitWith<Avx2Block>(begin, end, sep, seps);
}

__attribute__((target("avx512bw,avx512f"), flatten)) const char* Avx512Split(const char* begin, const char* end,
                                                                             char sep, uint64_t* seps) {
  return SplitWith<Avx512Block>(begin, end, sep, seps);
}

const char* Avx2Kernel(const char* begin, const char* end, LineMasks& m) {
  return ClassifyWith<Avx2Block>(begin, end, m);
}

__attribute__((target("avx512bw,avx512f,pclmul"), flatten)) const char* Avx512Kernel(const char* begin,
                                                                                     const char* end,
                                                                                     LineMasks& m) {
  return ClassifyWith<Avx512Block>(begin, end, m);
}

bool HasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("pclmul");
}
#endif

}  // namespace

ClassifyLineFn PortableClassifyLine() { return &PortableKernel; }
SplitLineFn PortableSplitLine() { return &PortableSplit; }

#if defined(__AVX2__)
ClassifyLineFn Avx2ClassifyLine() { return &Avx2Kernel; }
SplitLineFn Avx2SplitLine() { return &Avx2Split; }
ClassifyLineFn Avx512ClassifyLine() {
  static const bool has = HasAvx512();
  return has ? &Avx512Kernel : nullptr;
}
SplitLineFn Avx512SplitLine() { return Avx512ClassifyLine() ? &Avx512Split : nullptr; }
#else
ClassifyLineFn Avx2ClassifyLine() { return nullptr; }
SplitLineFn Avx2SplitLine() { return nullptr; }
ClassifyLineFn Avx512ClassifyLine() { return nullptr; }
SplitLineFn Avx512SplitLine() { return nullptr; }
#endif

SplitLineFn SimdSplitLine() {
  if (SplitLineFn f = Avx512SplitLine()) return f;
  return Avx2SplitLine();
}

ClassifyLineFn SimdClassifyLine() {
  if (ClassifyLineFn f = Avx512ClassifyLine()) return f;
  return Avx2ClassifyLine();
}

}  // namespace vigil::ingest::zeek
