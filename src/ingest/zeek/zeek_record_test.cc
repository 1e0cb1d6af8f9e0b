#include "ingest/zeek/zeek_record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace vigil::ingest::zeek {
namespace {

// The result of a parser on `s`, held in a buffer of exactly s.size() bytes, so a sanitizer
// build catches a fast path reading past the end of its field.
template <typename T, typename Parse>
std::pair<bool, T> Run(Parse parse, const std::string& s) {
  std::vector<char> exact(s.begin(), s.end());
  exact.shrink_to_fit();
  T out{};
  bool ok = parse(std::string_view(exact.data(), exact.size()), out);
  return {ok, out};
}

// Fast and general parsers agree on `s`: both accept with the same value, or both reject.
void ExpectSame(const std::string& s) {
  SCOPED_TRACE("input \"" + s + "\"");
  EXPECT_EQ((Run<uint64_t>(ParseU64, s)), (Run<uint64_t>(ParseU64General, s)));
  EXPECT_EQ((Run<uint16_t>(ParsePort, s)), (Run<uint16_t>(ParsePortGeneral, s)));
  EXPECT_EQ((Run<IpAddr>(ParseAddr, s)), (Run<IpAddr>(ParseAddrGeneral, s)));
  EXPECT_EQ((Run<Micros>(ParseSeconds, s)), (Run<Micros>(ParseSecondsGeneral, s)));
}

const char* const kTricky[] = {
    "",
    " ",
    "0",
    "00",
    "1",
    "9",
    "10",
    "65535",
    "65536",
    "99999",
    "065535",
    "000001",
    "-1",
    "+1",
    " 1",
    "1 ",
    "1a",
    "a1",
    "12345678",
    "123456789",
    "1234567890123456",
    "12345678901234567",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
    "000000000000000000001",
    "1/",
    ":1",
    "1:",
    "\xff"
    "1",
    "1\xff",
    "1\x00",
    // addresses
    "1.2.3.4",
    "0.0.0.0",
    "255.255.255.255",
    "256.255.255.255",
    "255.255.255.256",
    "10.0.0.1",
    "192.168.100.200",
    "01.02.03.04",
    "001.002.003.004",
    "0001.2.3.4",
    "1.2.3.0004",
    "1.2.3",
    "1.2.3.4.5",
    "1..3.4",
    ".1.2.3.4",
    "1.2.3.4.",
    "1.2.3.-4",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.4a",
    "1.2.3.a",
    "999.1.1.1",
    "1.2.3.40",
    "12.34.56.78",
    "123.45.67.8",
    "1.2.34.5",
    "1.2.3.4/24",
    "1.2.3.4\t",
    "100.100.100.100",
    "1000.1.1.1",
    "1.1.1.1000",
    "...",
    "1.2.3.",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "2001:db8::1",
    "::ffff:1.2.3.4",
    "::ffff:10.0.0.1",
    "::1.2.3.4",
    "1::",
    "1:2:3:4:5:6:7:8",
    "1.2.3.4::",
    "::ffff:256.1.1.1",
    "[::1]",
    ":::",
    // times and intervals
    "1700000000.123456",
    "1704067200.000000",
    "1599755438.238535",
    "0.012744",
    "0.000000",
    "3.5",
    "3.",
    ".5",
    "-0.5",
    "-1700000000.123456",
    "1.5e9",
    "1.5E9",
    "1e3",
    "1.5e",
    "1e+3",
    "1.5e-3",
    "1700000000.1234567",
    "1700000000.12345",
    "1700000000.1234560",
    "123456789012.123456",
    "1234567890123.123456",
    "999999999999.999999",
    "0000000001.000001",
    "1.000001",
    "12.123456",
    "1.12345a",
    "1.1234567",
    "a.123456",
    "1 .123456",
    "1. 23456",
    "1.-23456",
    "1,123456",
    "1700000000",
    "1700000000.",
    "0x10",
    "inf",
    "nan",
    "1e400",
    "-1e400",
    "1.000000 ",
    " 1.000000",
    "00000000000000000.1",
    "1.2.3456",
    "1.234.56",
};

TEST(ZeekRecord, FastParsersAgreeWithTheGeneralOnesOnTrickyInputs) {
  for (const char* s : kTricky) ExpectSame(s);
  ExpectSame(std::string("1.2.3.4\0", 8));
  ExpectSame(
      std::string("12\0"
                  "4",
                  4));
}

TEST(ZeekRecord, FastParsersGiveTheExpectedValues) {
  uint64_t u = 7;
  EXPECT_TRUE(ParseU64("1234567890123456", u));
  EXPECT_EQ(u, 1234567890123456u);
  EXPECT_TRUE(ParseU64("18446744073709551615", u));
  EXPECT_EQ(u, UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616", u));
  EXPECT_TRUE(ParseU64("007", u));
  EXPECT_EQ(u, 7u);
  EXPECT_FALSE(ParseU64("", u));
  EXPECT_FALSE(ParseU64("-1", u));
  EXPECT_FALSE(ParseU64("1 ", u));
  EXPECT_EQ(u, 7u);  // unchanged by a failure

  uint16_t port = 0;
  EXPECT_TRUE(ParsePort("65535", port));
  EXPECT_EQ(port, 65535);
  EXPECT_FALSE(ParsePort("65536", port));
  EXPECT_FALSE(ParsePort("100000", port));
  EXPECT_TRUE(ParsePort("443", port));
  EXPECT_EQ(port, 443);

  IpAddr a;
  EXPECT_TRUE(ParseAddr("192.168.100.200", a));
  EXPECT_EQ(a, IpAddr::V4(0xC0A864C8));
  EXPECT_TRUE(ParseAddr("01.02.003.4", a));  // leading zeros: as the general parser
  EXPECT_EQ(a, IpAddr::V4(0x01020304));
  EXPECT_FALSE(ParseAddr("256.1.1.1", a));
  EXPECT_FALSE(ParseAddr("1.2.3.4.5", a));
  EXPECT_TRUE(ParseAddr("::ffff:1.2.3.4", a));
  EXPECT_EQ(a, IpAddr::V4(0x01020304));
  EXPECT_TRUE(ParseAddr("2001:db8::1", a));
  EXPECT_FALSE(a.is_v4());

  Micros t = 0;
  EXPECT_TRUE(ParseSeconds("1700000000.123456", t));
  EXPECT_EQ(t, 1700000000123456);
  EXPECT_TRUE(ParseSeconds("999999999999.999999", t));
  EXPECT_EQ(t, 999999999999999999);
  EXPECT_TRUE(ParseSeconds("0.000001", t));
  EXPECT_EQ(t, 1);
  EXPECT_TRUE(ParseSeconds("-0.5", t));
  EXPECT_EQ(t, -500000);
  EXPECT_TRUE(ParseSeconds("1.5e3", t));
  EXPECT_EQ(t, 1500000000);
  EXPECT_FALSE(ParseSeconds("1.12345a", t));
  EXPECT_FALSE(ParseSeconds("", t));
}

// Random strings over the bytes the parsers care about, and random near-valid values.
TEST(ZeekRecord, FastParsersAgreeWithTheGeneralOnesOnRandomInputs) {
  std::mt19937_64 rng(12345);
  const std::string alphabet = "0123456789.....::-eE+ a\xff";
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    size_t len = rng() % 22;
    for (size_t k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    ExpectSame(s);
    if (HasFailure()) return;
  }
  for (int i = 0; i < 100000; ++i) {
    std::string s;
    for (int k = 0; k < 4; ++k) {
      if (k) s.push_back('.');
      std::string octet = std::to_string(rng() % (rng() % 2 ? 300 : 1000));
      s += std::string(rng() % 4 == 0 ? rng() % 3 : 0, '0') + octet;
    }
    ExpectSame(s);
    std::string t = std::to_string(rng() % 2000000000000ULL) + "." +
                    std::to_string(1000000 + rng() % 1000000).substr(1, 1 + rng() % 7);
    ExpectSame(t);
    ExpectSame(std::to_string(rng() >> (rng() % 64)));
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace vigil::ingest::zeek
