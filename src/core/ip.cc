#include "core/ip.h"

#include <arpa/inet.h>

#include <cstdio>

namespace vigil {

IpAddr IpAddr::V4(uint32_t host_order) {
  IpAddr a;
  a.bytes_[10] = 0xff;
  a.bytes_[11] = 0xff;
  a.bytes_[12] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[13] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[14] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[15] = static_cast<uint8_t>(host_order);
  return a;
}

namespace {

std::optional<uint32_t> ParseV4(std::string_view s) {
  if (s.size() < 7 || s.size() > 15) return std::nullopt;
  uint32_t out = 0;
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    uint32_t v = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + static_cast<uint32_t>(s[i] - '0');
      if (++digits > 3) return std::nullopt;
      ++i;
    }
    if (digits == 0 || v > 255) return std::nullopt;
    out = (out << 8) | v;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return std::nullopt;
    ++i;
  }
  if (parts != 4) return std::nullopt;
  return out;
}

}  // namespace

std::optional<IpAddr> IpAddr::Parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.find(':') == std::string_view::npos) {
    auto v4 = ParseV4(text);
    if (!v4) return std::nullopt;
    return V4(*v4);
  }
  size_t pct = text.find('%');
  if (pct != std::string_view::npos) text = text.substr(0, pct);
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
  return a;
}

bool IpAddr::is_v4() const {
  for (int i = 0; i < 10; ++i)
    if (bytes_[i] != 0) return false;
  return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

uint32_t IpAddr::v4() const {
  return (uint32_t{bytes_[12]} << 24) | (uint32_t{bytes_[13]} << 16) | (uint32_t{bytes_[14]} << 8) |
         uint32_t{bytes_[15]};
}

bool IpAddr::is_unspecified() const {
  for (auto b : bytes_)
    if (b) return false;
  return true;
}

std::string IpAddr::ToString() const {
  if (is_v4()) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", bytes_[12], bytes_[13], bytes_[14], bytes_[15]);
    return buf;
  }
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf)) return "?";
  return buf;
}

uint64_t IpAddr::Hash() const {
  uint64_t a, b;
  std::memcpy(&a, bytes_.data(), 8);
  std::memcpy(&b, bytes_.data() + 8, 8);
  uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6));
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return h;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = IpAddr::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  int max_len = addr->is_v4() ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    std::string_view l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3) return std::nullopt;
    len = 0;
    for (char c : l) {
      if (c < '0' || c > '9') return std::nullopt;
      len = len * 10 + (c - '0');
    }
    if (len > max_len) return std::nullopt;
  }
  Cidr c;
  c.prefix_len_ = addr->is_v4() ? len + 96 : len;
  auto bytes = addr->bytes();
  for (int i = 0; i < 16; ++i) {
    int bits = c.prefix_len_ - i * 8;
    uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    bytes[i] &= mask;
  }
  c.network_ = IpAddr::FromBytes(bytes);
  return c;
}

bool Cidr::Contains(const IpAddr& a) const {
  const auto& x = a.bytes();
  const auto& n = network_.bytes();
  int full = prefix_len_ / 8;
  if (std::memcmp(x.data(), n.data(), full) != 0) return false;
  int rem = prefix_len_ % 8;
  if (rem == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rem));
  return (x[full] & mask) == n[full];
}

std::string Cidr::ToString() const {
  if (network_.is_v4()) return network_.ToString() + "/" + std::to_string(prefix_len_ - 96);
  return network_.ToString() + "/" + std::to_string(prefix_len_);
}

bool CidrSet::Contains(const IpAddr& a) const {
  for (const auto& c : cidrs_)
    if (c.Contains(a)) return true;
  return false;
}

CidrSet DefaultInternalNetworks() {
  CidrSet s;
  for (const char* c : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                        "127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7"}) {
    s.Add(*Cidr::Parse(c));
  }
  return s;
}

}  // namespace vigil
