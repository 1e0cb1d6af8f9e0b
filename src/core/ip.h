// IP addresses and CIDR sets. An IpAddr is 16 bytes: IPv4 is stored as an IPv4-mapped
// IPv6 address (::ffff:a.b.c.d) so one type covers both families and hashes cheaply.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

class IpAddr {
 public:
  IpAddr() { bytes_.fill(0); }
  static IpAddr V4(uint32_t host_order);
  static IpAddr FromBytes(const std::array<uint8_t, 16>& b) {
    IpAddr a;
    a.bytes_ = b;
    return a;
  }
  // Parses dotted IPv4 or RFC 4291 text IPv6 (with "::", embedded IPv4, and an optional
  // "%zone" suffix, which is dropped). Never throws; nullopt for anything else.
  static std::optional<IpAddr> Parse(std::string_view text);

  bool is_v4() const;
  uint32_t v4() const;  // host order; only meaningful when is_v4()
  bool is_unspecified() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string ToString() const;

  uint64_t Hash() const;
  bool operator==(const IpAddr& o) const { return bytes_ == o.bytes_; }
  bool operator!=(const IpAddr& o) const { return bytes_ != o.bytes_; }
  bool operator<(const IpAddr& o) const { return bytes_ < o.bytes_; }

 private:
  std::array<uint8_t, 16> bytes_;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const { return static_cast<size_t>(a.Hash()); }
};

// A network prefix: "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128).
class Cidr {
 public:
  static std::optional<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddr& a) const;
  std::string ToString() const;
  const IpAddr& network() const { return network_; }
  int prefix_len() const { return prefix_len_; }  // over the 128-bit (mapped) space

 private:
  IpAddr network_;
  int prefix_len_ = 0;
};

// An ordered list of prefixes; Contains is a linear scan, fine for the tens of prefixes a
// site configures. Not thread-safe for writes; concurrent reads are fine.
class CidrSet {
 public:
  void Add(const Cidr& c) { cidrs_.push_back(c); }
  bool Contains(const IpAddr& a) const;
  bool empty() const { return cidrs_.empty(); }
  const std::vector<Cidr>& cidrs() const { return cidrs_; }

 private:
  std::vector<Cidr> cidrs_;
};

// RFC 1918, RFC 6598 (CGNAT), loopback, link-local (v4 and v6) and IPv6 ULA: the default
// "internal" networks when config names none.
CidrSet DefaultInternalNetworks();

}  // namespace vigil
