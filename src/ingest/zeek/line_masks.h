// A Zeek log line as bitmasks, one bit per byte, made 64 bytes at a time with SIMD
// compares: the first pass of both Zeek decoders. ClassifyLine gives ZeekJsonDecoder's
// flat-line scanner the line's commas outside strings, quotes and digits, so it finds every
// field's extent up front and checks strings and plain numbers with bit arithmetic;
// SplitLine gives ZeekTsvDecoder the line's separators.
//
// Three kernels give the same masks: AVX-512BW (one compare per class and 64 bytes, chosen
// at run time when the CPU has it), AVX2 (the build's baseline on x86-64) and portable C++
// (for the tests that compare them).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vigil::ingest::zeek {

struct LineMasks {
  static constexpr size_t kMaxWords = 32;  // lines up to 2 KiB; longer ones are not classified
  // Bit i of word i / 64 is byte begin[i].
  uint64_t comma[kMaxWords];      // ',' outside strings
  uint64_t quote[kMaxWords + 1];  // '"'; the spare word is zero (BitsAt reads 8 bytes)
  uint64_t digit[kMaxWords + 1];  // '0'..'9'; likewise
  size_t words = 0;               // words filled
};

// Classifies the line that starts at `begin` and ends at the first '\n' before `end` (the
// chunk's end; kReadPadding readable bytes follow it). Returns the line's last byte (before
// the newline) with `m` filled, or nullptr when the flat scanner cannot take the line:
// no newline before `end`, longer than kMaxWords blocks, an escape, a control byte or a
// non-ASCII byte in it, or quotes that do not pair up.
using ClassifyLineFn = const char* (*)(const char* begin, const char* end, LineMasks& m);

// The fastest SIMD kernel this CPU runs, or null when it has none (a build below AVX2):
// the byte-by-byte kernel is slower than the scanners it would feed, which then work alone.
ClassifyLineFn SimdClassifyLine();
// Each kernel, for tests that compare them. Avx512/Avx2 are null when the CPU lacks them.
ClassifyLineFn PortableClassifyLine();
ClassifyLineFn Avx2ClassifyLine();
ClassifyLineFn Avx512ClassifyLine();

// Marks the separator bytes of the line that starts at `begin`, up to its newline: bit i of
// seps[i / 64] is begin[i] == sep, for the bytes before the newline (LineMasks::kMaxWords
// words at most; `end` as for ClassifyLineFn). Returns the newline's position, or nullptr
// when no newline comes before `end` within those words. The Zeek TSV decoder's splitter.
using SplitLineFn = const char* (*)(const char* begin, const char* end, char sep, uint64_t* seps);
SplitLineFn SimdSplitLine();  // as SimdClassifyLine
SplitLineFn PortableSplitLine();
SplitLineFn Avx2SplitLine();
SplitLineFn Avx512SplitLine();

// Bits pos, pos+1, ... of `words` from bit 0 on; at least 57 of them are valid. pos must be
// inside the words filled (the spare zero word covers the read past the last one).
inline uint64_t BitsAt(const uint64_t* words, size_t pos) {
  static_assert(std::endian::native == std::endian::little, "byte order of the mask words");
  uint64_t w;
  std::memcpy(&w, reinterpret_cast<const unsigned char*>(words) + pos / 8, sizeof w);
  return w >> (pos % 8);
}

}  // namespace vigil::ingest::zeek
