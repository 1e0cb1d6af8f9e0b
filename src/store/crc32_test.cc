// Crc32 must be zlib's CRC-32 exactly: event-log rows written by either are read by both.
#include "store/crc32.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace vigil::store {
namespace {

TEST(Crc32, KnownValues) {
  EXPECT_EQ(Crc32("", 0), 0u);
  EXPECT_EQ(Crc32("123456789", 9), 0xCBF43926u);  // the CRC-32 check value
  const std::string a(64, 'a');
  EXPECT_EQ(Crc32(a.data(), a.size()), Crc32Zlib(a.data(), a.size()));
}

// Every length up to 1 KiB and beyond, at every alignment of the first byte, on random bytes
// and on runs of one byte (all zeros, all ones): the folding paths (64-byte rounds, 16-byte
// blocks, the zlib tail) all meet.
TEST(Crc32, EqualsZlibForEveryLengthAndAlignment) {
  std::mt19937_64 rng(7);
  std::vector<unsigned char> buf(4096 + 64);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  size_t checked = 0;
  for (size_t len = 0; len <= 1100; ++len) {
    for (size_t off = 0; off < 16; ++off) {
      ASSERT_EQ(Crc32(buf.data() + off, len), Crc32Zlib(buf.data() + off, len)) << len << " at +" << off;
      ++checked;
    }
  }
  for (int fill : {0x00, 0xff}) {
    std::vector<unsigned char> same(4096, static_cast<unsigned char>(fill));
    for (size_t len : {64u, 65u, 127u, 128u, 200u, 4096u})
      ASSERT_EQ(Crc32(same.data(), len), Crc32Zlib(same.data(), len)) << fill << " " << len;
  }
  for (int i = 0; i < 2000; ++i) {
    size_t len = rng() % 4096;
    size_t off = rng() % 64;
    ASSERT_EQ(Crc32(buf.data() + off, len), Crc32Zlib(buf.data() + off, len)) << len << " at +" << off;
  }
  EXPECT_GT(checked, 17000u);
}

// One flipped bit anywhere in a row-sized buffer changes the CRC (what the event log relies
// on to find a torn or damaged row).
TEST(Crc32, AnyFlippedBitChangesIt) {
  std::vector<unsigned char> row(190);
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<unsigned char>(i * 7 + 3);
  const uint32_t good = Crc32(row.data(), row.size());
  for (size_t bit = 0; bit < row.size() * 8; ++bit) {
    row[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
    ASSERT_NE(Crc32(row.data(), row.size()), good) << bit;
    row[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
  }
}

}  // namespace
}  // namespace vigil::store
