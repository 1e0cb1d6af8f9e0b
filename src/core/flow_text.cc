#include "core/flow_text.h"

#include <charconv>
#include <cstring>

namespace vigil {
namespace {

// Bounds for AppendInPlace: the most PutHumanBytes writes (20 digits, ".d", a unit), and
// what PutEndpoints adds to the two address texts (two ports, " -> ", colons, "/proto").
constexpr size_t kMaxHumanBytes = 32;
constexpr size_t kEndpointsBesidesAddresses = 32;

char* PutUint(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }

char* PutText(char* p, std::string_view t) {
  std::memcpy(p, t.data(), t.size());
  return p + t.size();
}

// "512 B", "1.2 KB", "3.4 MB", "5.6 GB": the count over 1024, 1024^2 or 1024^3 to one
// decimal, as printf's "%.1f" writes the quotient: rounded to nearest, ties to even. Below
// 2^53 bytes the quotient is exact in a double, and so is this integer arithmetic; above it
// (no flow moves 9 PB) the double is rounded first, as before, and to_chars writes it.
char* PutHumanBytes(char* p, uint64_t b) {
  if (b < 1024) return PutText(PutUint(p, b), " B");
  int shift;
  const char* unit;
  if (b < (uint64_t{1} << 20)) {
    shift = 10;
    unit = " KB";
  } else if (b < (uint64_t{1} << 30)) {
    shift = 20;
    unit = " MB";
  } else {
    shift = 30;
    unit = " GB";
  }
  if (b >= (uint64_t{1} << 53)) {
    const double v = static_cast<double>(b) / static_cast<double>(uint64_t{1} << shift);
    return PutText(std::to_chars(p, p + 40, v, std::chars_format::fixed, 1).ptr, unit);
  }
  const uint64_t tenths_exact = b * 10;  // below 2^57: no overflow
  uint64_t tenths = tenths_exact >> shift;
  const uint64_t rest = tenths_exact & ((uint64_t{1} << shift) - 1);
  const uint64_t half = uint64_t{1} << (shift - 1);
  if (rest > half || (rest == half && (tenths & 1))) ++tenths;
  p = PutUint(p, tenths / 10);
  *p++ = '.';
  *p++ = static_cast<char>('0' + tenths % 10);
  return PutText(p, unit);
}

// "10.0.0.5:51234 -> 1.2.3.4:443/tcp"
char* PutEndpoints(char* p, std::string_view orig_h, uint16_t orig_p, std::string_view resp_h,
                   uint16_t resp_p, Proto proto) {
  p = PutText(p, orig_h);
  *p++ = ':';
  p = PutUint(p, orig_p);
  p = PutText(p, " -> ");
  p = PutText(p, resp_h);
  *p++ = ':';
  p = PutUint(p, resp_p);
  if (proto != Proto::kUnknown) {
    *p++ = '/';
    p = PutText(p, ProtoName(proto));
  }
  return p;
}

// Appends what `write` writes, at most `bound` bytes: the string grows once, the pieces are
// copied in without a capacity check each, and it is cut back to what was written.
template <typename Write>
void AppendInPlace(std::string& s, size_t bound, Write&& write) {
  const size_t at = s.size();
  s.resize(at + bound);
  char* end = write(s.data() + at);
  s.resize(static_cast<size_t>(end - s.data()));
}

}  // namespace

void AppendEndpoints(std::string& s, std::string_view orig_h, uint16_t orig_p,
                     std::string_view resp_h, uint16_t resp_p, Proto proto) {
  AppendInPlace(s, orig_h.size() + resp_h.size() + kEndpointsBesidesAddresses,
                [&](char* p) { return PutEndpoints(p, orig_h, orig_p, resp_h, resp_p, proto); });
}

void AppendFlowCounts(std::string& s, uint64_t orig_bytes, uint64_t resp_bytes,
                      std::string_view conn_state) {
  AppendInPlace(s, 2 * kMaxHumanBytes + 16 + conn_state.size(), [&](char* p) {
    *p++ = ' ';
    p = PutHumanBytes(p, orig_bytes);
    p = PutText(p, " out, ");
    p = PutHumanBytes(p, resp_bytes);
    p = PutText(p, " in");
    if (!conn_state.empty()) p = PutText(PutText(p, ", "), conn_state);
    return p;
  });
}

void AppendHumanBytes(std::string& s, uint64_t b) {
  char buf[kMaxHumanBytes];
  s.append(buf, PutHumanBytes(buf, b));
}

}  // namespace vigil
