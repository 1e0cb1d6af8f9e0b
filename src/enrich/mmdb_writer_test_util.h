// A minimal writer of MaxMind DB files (format 2.0, IPv4 tree, 24-bit records), for tests:
// Debian ships libmaxminddb to read GeoLite2/GeoIP2 databases but no database and no
// writer, and the real databases may not be redistributed. The layout follows the
// MaxMind DB spec (https://maxmind.github.io/MaxMind-DB/): a binary search tree of
// node_count nodes (two 24-bit records each), 16 zero bytes, the data section, then
// "\xAB\xCD\xEFMaxMind.com" and the metadata map.
#pragma once

// GCC 12 at -O2 reports braced lists of std::string pairs as "maybe uninitialized" (a known
// false positive); this header is for tests only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace vigil::enrich::testing {

class MmdbWriter {
 public:
  // Data section values (MaxMind DB types). Each returns the encoded bytes.
  static std::string Str(const std::string& s) { return Ctrl(2, s.size()) + s; }
  static std::string U16(uint16_t v) { return UInt(5, v); }
  static std::string U32(uint32_t v) { return UInt(6, v); }
  static std::string U64(uint64_t v) { return UInt(9, v); }
  static std::string Map(const std::vector<std::pair<std::string, std::string>>& kv) {
    std::string out = Ctrl(7, kv.size());
    for (const auto& [k, v] : kv) out += Str(k) + v;
    return out;
  }
  static std::string Array(const std::vector<std::string>& items) {
    std::string out = Ctrl(11, items.size());
    for (const auto& i : items) out += i;
    return out;
  }

  // Maps every IPv4 address in a.b.c.d/len to `value` (an encoded data section value).
  void Add(uint32_t ip, int len, const std::string& value) {
    int64_t data = static_cast<int64_t>(data_.size());
    data_ += value;
    size_t node = 0;
    for (int depth = 0; depth < len; ++depth) {
      int bit = (ip >> (31 - depth)) & 1;
      if (depth == len - 1) {
        nodes_[node].rec[bit] = kData + data;
        break;
      }
      int64_t r = nodes_[node].rec[bit];
      if (r < 0 || r >= kData) {
        r = static_cast<int64_t>(nodes_.size());
        nodes_[node].rec[bit] = r;
        nodes_.push_back({});  // invalidates references into nodes_, so none are held
      }
      node = static_cast<size_t>(r);
    }
  }

  bool Write(const std::string& path, const std::string& database_type) const {
    const uint32_t n = static_cast<uint32_t>(nodes_.size());
    std::string out;
    for (const auto& nd : nodes_) {
      for (int64_t r : nd.rec) {
        uint32_t v = r < 0 ? n : r >= kData ? n + 16 + static_cast<uint32_t>(r - kData) : static_cast<uint32_t>(r);
        out.push_back(static_cast<char>(v >> 16));
        out.push_back(static_cast<char>(v >> 8));
        out.push_back(static_cast<char>(v));
      }
    }
    out += std::string(16, '\0');
    out += data_;
    out += "\xAB\xCD\xEFMaxMind.com";
    out += Map({{"binary_format_major_version", U16(2)},
                {"binary_format_minor_version", U16(0)},
                {"build_epoch", U64(1700000000)},
                {"database_type", Str(database_type)},
                {"description", Map({{"en", Str("Vigil test database")}})},
                {"ip_version", U16(4)},
                {"languages", Array({Str("en")})},
                {"node_count", U32(n)},
                {"record_size", U16(24)}});
    std::ofstream f(path, std::ios::binary);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    return static_cast<bool>(f);
  }

 private:
  static constexpr int64_t kData = int64_t{1} << 40;  // records >= this point into data_
  struct Node {
    int64_t rec[2] = {-1, -1};  // -1 empty, < kData a node index, >= kData kData + data offset
  };

  // A control byte (and extended type byte) for `type` with payload `size` (< 285 here).
  static std::string Ctrl(int type, size_t size) {
    std::string out;
    int t = type <= 7 ? type : 0;
    if (size < 29) {
      out.push_back(static_cast<char>((t << 5) | static_cast<int>(size)));
    } else {
      out.push_back(static_cast<char>((t << 5) | 29));
    }
    if (type > 7) out.push_back(static_cast<char>(type - 7));
    if (size >= 29) out.push_back(static_cast<char>(size - 29));
    return out;
  }
  static std::string UInt(int type, uint64_t v) {
    std::string bytes;
    for (; v; v >>= 8) bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
    return Ctrl(type, bytes.size()) + bytes;
  }

  std::vector<Node> nodes_{Node{}};
  std::string data_;
};

// a.b.c.d as a host-order integer.
inline uint32_t Ipv4(int a, int b, int c, int d) {
  return (static_cast<uint32_t>(a) << 24) | (static_cast<uint32_t>(b) << 16) | (static_cast<uint32_t>(c) << 8) |
         static_cast<uint32_t>(d);
}

}  // namespace vigil::enrich::testing
