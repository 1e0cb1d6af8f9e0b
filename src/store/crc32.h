// CRC-32 (the gzip/zlib polynomial, reflected): Crc32(p, n) == zlib's crc32(0, p, n).
//
// The event log checks every row with it (event_files.h), and rows are short (about 190
// bytes), where zlib's table code runs about 2 cycles a byte. On CPUs with PCLMULQDQ the
// bulk of a row is folded 16 bytes at a time with carry-less multiplies (Intel, "Fast CRC
// Computation for Generic Polynomials Using PCLMULQDQ Instruction", 2009), and the tail
// of fewer than 16 bytes goes to zlib. crc32_test.cc compares it with zlib byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::store {

uint32_t Crc32(const void* data, size_t size);

// zlib only, for tests and benchmarks.
uint32_t Crc32Zlib(const void* data, size_t size);

}  // namespace vigil::store
