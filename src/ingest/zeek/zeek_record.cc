#include "ingest/zeek/zeek_record.h"

#include <array>
#include <charconv>
#include <cstring>

#if defined(__SSSE3__)
#include <tmmintrin.h>
#endif

namespace vigil::ingest::zeek {

const char* LogTypeName(LogType t) {
  switch (t) {
    case LogType::kConn:
      return "conn";
    case LogType::kHttp:
      return "http";
    case LogType::kDns:
      return "dns";
    case LogType::kSsl:
      return "ssl";
    case LogType::kFiles:
      return "files";
    case LogType::kOther:
      return "other";
    case LogType::kUnknown:
      break;
  }
  return "unknown";
}

LogType LogTypeFromPath(std::string_view path) {
  if (path == "conn") return LogType::kConn;
  if (path == "http") return LogType::kHttp;
  if (path == "dns") return LogType::kDns;
  if (path == "ssl") return LogType::kSsl;
  if (path == "files") return LogType::kFiles;
  return LogType::kOther;
}

Field LookupField(std::string_view n) {
  // Compare against a literal of the same length (the switch already checked the length).
#define VIGIL_IS(lit) (std::memcmp(n.data(), lit, sizeof(lit) - 1) == 0)
  switch (n.size()) {
    case 2:
      if (VIGIL_IS("ts")) return Field::kTs;
      break;
    case 3:
      if (VIGIL_IS("uid")) return Field::kUid;
      if (VIGIL_IS("uri")) return Field::kUri;
      if (VIGIL_IS("md5")) return Field::kMd5;
      break;
    case 4:
      if (VIGIL_IS("host")) return Field::kHost;
      if (VIGIL_IS("fuid")) return Field::kFuid;
      if (VIGIL_IS("sha1")) return Field::kSha1;
      if (VIGIL_IS("ja3s")) return Field::kIgnore;
      break;
    case 5:
      if (VIGIL_IS("proto")) return Field::kProto;
      if (VIGIL_IS("query")) return Field::kQuery;
      break;
    case 6:
      if (VIGIL_IS("method")) return Field::kMethod;
      if (VIGIL_IS("sha256")) return Field::kSha256;
      if (VIGIL_IS("cipher")) return Field::kCipher;
      if (VIGIL_IS("issuer")) return Field::kIssuer;
      if (VIGIL_IS("source")) return Field::kSource;
      break;
    case 7:
      if (VIGIL_IS("history")) return Field::kHistory;
      if (VIGIL_IS("service")) return Field::kService;
      if (VIGIL_IS("answers")) return Field::kAnswers;
      if (VIGIL_IS("version")) return Field::kVersion;
      if (VIGIL_IS("subject")) return Field::kSubject;
      if (VIGIL_IS("is_orig")) return Field::kIsOrig;
      if (VIGIL_IS("call_id")) return Field::kSipMarker;
      break;
    case 8:
      if (VIGIL_IS("duration")) return Field::kDuration;
      if (VIGIL_IS("referrer")) return Field::kReferrer;
      if (VIGIL_IS("rejected")) return Field::kRejected;
      if (VIGIL_IS("tx_hosts")) return Field::kTxHosts;
      if (VIGIL_IS("rx_hosts")) return Field::kRxHosts;
      if (VIGIL_IS("filename")) return Field::kFilename;
      break;
    case 9:
      if (VIGIL_IS("id.orig_h")) return Field::kOrigH;
      if (VIGIL_IS("id.orig_p")) return Field::kOrigP;
      if (VIGIL_IS("id.resp_h")) return Field::kRespH;
      if (VIGIL_IS("id.resp_p")) return Field::kRespP;
      if (VIGIL_IS("orig_pkts")) return Field::kOrigPkts;
      if (VIGIL_IS("resp_pkts")) return Field::kRespPkts;
      if (VIGIL_IS("conn_uids")) return Field::kConnUids;
      if (VIGIL_IS("mime_type")) return Field::kMimeType;
      break;
    case 10:
      if (VIGIL_IS("orig_bytes")) return Field::kOrigBytes;
      if (VIGIL_IS("resp_bytes")) return Field::kRespBytes;
      if (VIGIL_IS("conn_state")) return Field::kConnState;
      if (VIGIL_IS("user_agent")) return Field::kUserAgent;
      if (VIGIL_IS("qtype_name")) return Field::kQtypeName;
      if (VIGIL_IS("rcode_name")) return Field::kRcodeName;
      if (VIGIL_IS("seen_bytes")) return Field::kSeenBytes;
      if (VIGIL_IS("resp_fuids")) return Field::kRespFuids;
      break;
    case 11:
      if (VIGIL_IS("status_code")) return Field::kStatusCode;
      if (VIGIL_IS("server_name")) return Field::kServerName;
      if (VIGIL_IS("established")) return Field::kEstablished;
      if (VIGIL_IS("total_bytes")) return Field::kTotalBytes;
      break;
    case 14:
      if (VIGIL_IS("resp_filenames")) return Field::kRespFilenames;
      break;
    case 15:
      if (VIGIL_IS("resp_mime_types")) return Field::kRespMimeTypes;
      break;
    case 16:
      if (VIGIL_IS("request_body_len")) return Field::kRequestBodyLen;
      break;
    case 17:
      if (VIGIL_IS("response_body_len")) return Field::kResponseBodyLen;
      break;
    case 19:
      if (VIGIL_IS("client_initial_dcid")) return Field::kQuicMarker;
      break;
    default:
      break;
  }
  if (n == "ja3") return Field::kJa3;
  return Field::kIgnore;
#undef VIGIL_IS
}

LogType InferLogType(const RecordFields& f) {
  using F = Field;
  if (f.Has(F::kFuid) && (f.Has(F::kMimeType) || f.Has(F::kSeenBytes) || f.Has(F::kTotalBytes) ||
                          f.Has(F::kSource) || f.Has(F::kTxHosts)))
    return LogType::kFiles;
  if (f.Has(F::kQuery) || f.Has(F::kQtypeName)) return LogType::kDns;
  if ((f.Has(F::kMethod) || f.Has(F::kUserAgent) || f.Has(F::kStatusCode)) && !f.Has(F::kSipMarker))
    return LogType::kHttp;
  if ((f.Has(F::kServerName) || f.Has(F::kCipher) || f.Has(F::kEstablished)) &&
      !f.Has(F::kQuicMarker))
    return LogType::kSsl;
  if (f.Has(F::kConnState) || (f.Has(F::kProto) && f.Has(F::kOrigPkts))) return LogType::kConn;
  return LogType::kOther;
}

__attribute__((noinline)) bool ParseU64General(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    unsigned d = static_cast<unsigned char>(c) - '0';
    if (d > 9) return false;
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

__attribute__((noinline)) bool ParsePortGeneral(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    unsigned d = static_cast<unsigned char>(c) - '0';
    if (d > 9) return false;
    v = v * 10 + d;
  }
  if (v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

__attribute__((noinline)) bool ParseAddrGeneral(std::string_view s, IpAddr& out) {
  // IPv4 fast path: the common case in every log, parsed without IpAddr::Parse's search.
  if (s.size() >= 7 && s.size() <= 15) {
    uint32_t addr = 0, part = 0;
    int parts = 0, digits = 0;
    bool ok = true;
    for (char c : s) {
      if (c == '.') {
        if (digits == 0 || ++parts > 3) {
          ok = false;
          break;
        }
        addr = (addr << 8) | part;
        part = 0;
        digits = 0;
        continue;
      }
      unsigned d = static_cast<unsigned char>(c) - '0';
      if (d > 9 || ++digits > 3) {
        ok = false;
        break;
      }
      part = part * 10 + d;
      if (part > 255) {
        ok = false;
        break;
      }
    }
    if (ok && parts == 3 && digits > 0) {
      out = IpAddr::V4((addr << 8) | part);
      return true;
    }
    if (s.find(':') == std::string_view::npos) return false;
  }
  auto a = IpAddr::Parse(s);
  if (!a) return false;
  out = *a;
  return true;
}

namespace {

// The common shape, inline: up to 12 integer digits, '.', up to 6 fraction digits (what
// Zeek writes for time and interval). Anything else goes to the general parsers below.
inline bool ParseSecondsFast(std::string_view s, Micros& out) {
  const char* p = s.data();
  const char* end = p + s.size();
  if (s.empty() || s.size() > 19) return false;
  int64_t secs = 0;
  const char* int_start = p;
  while (p < end && static_cast<unsigned char>(*p - '0') <= 9) secs = secs * 10 + (*p++ - '0');
  if (p == int_start || p - int_start > 12) return false;
  if (p == end) {
    out = secs * kMicrosPerSecond;
    return true;
  }
  if (*p++ != '.' || end - p > 6) return false;
  int64_t frac = 0;
  int digits = 0;
  while (p < end && static_cast<unsigned char>(*p - '0') <= 9) {
    frac = frac * 10 + (*p++ - '0');
    ++digits;
  }
  if (p != end) return false;
  static constexpr int64_t kScale[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
  out = secs * kMicrosPerSecond + frac * kScale[digits];
  return true;
}

}  // namespace

__attribute__((noinline)) bool ParseSecondsGeneral(std::string_view s, Micros& out) {
  if (ParseSecondsFast(s, out)) return true;
  if (auto v = ParseEpochSeconds(s)) {
    out = *v;
    return true;
  }
  if (s.find_first_of("eE") == std::string_view::npos) return false;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  if (!(d > -9.2e12 && d < 9.2e12)) return false;  // NaN and beyond +-292,000 years
  out = static_cast<Micros>(d * 1e6);
  return true;
}

// The fast parsers: word-at-a-time (SWAR) digit conversion and an SSSE3 (pshufb) dotted-quad parser
// for the shapes Zeek writes. They read only the bytes of `s` (overlapping in-bounds loads,
// never past the end, since a field may be any view a caller holds) and accept exactly
// what the general parsers accept for those shapes; any other text, valid or not, goes to
// the general parser, so each pair gives the same result for every input.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define VIGIL_ZEEK_SWAR 1
#endif

// The fast paths are inlined into BuildEvent, where each runs once or more per record.
#define VIGIL_HOT inline __attribute__((always_inline))

#if defined(VIGIL_ZEEK_SWAR)
namespace {

VIGIL_HOT uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// The n (1..8) bytes at p in the low n bytes of a word (p[0] lowest), zero above. Reads
// only [p, p + n): two overlapping 4-byte loads, or three single bytes when n < 4.
VIGIL_HOT uint64_t LoadUpTo8(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return lo | (uint64_t{hi} << ((n - 4) * 8));
  }
  const auto b = [p](size_t i) { return uint64_t{static_cast<unsigned char>(p[i])} << (8 * i); };
  return b(0) | b(n >> 1) | b(n - 1);
}

// The value of the n (1..8) decimal digits in the low n bytes of x (first digit lowest);
// false when any of them is not a digit. Bytes above n are ignored.
VIGIL_HOT bool DigitsValue(uint64_t x, size_t n, uint64_t& v) {
  const unsigned pad = static_cast<unsigned>(8 * (8 - n));  // leading '0' bytes: 0..56 bits
  x = (x << pad) | (0x3030303030303030ULL & ~(~0ULL << pad));
  if ((((x & 0xF0F0F0F0F0F0F0F0ULL) |
        (((x + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL))
    return false;
  // Eight digits to a number in three multiplies (fast_float's parse_eight_digits).
  x -= 0x3030303030303030ULL;
  x = x * 10 + (x >> 8);
  x = (((x & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
       (((x >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >>
      32;
  v = static_cast<uint32_t>(x);
  return true;
}

// 1 to 16 digits; anything else (or any non-digit) is false.
VIGIL_HOT bool ParseDigits16(const char* p, size_t n, uint64_t& v) {
  if (n - 1 < 8) return DigitsValue(LoadUpTo8(p, n), n, v);
  if (n - 1 >= 16) return false;
  uint64_t hi, lo;
  if (!DigitsValue(LoadUpTo8(p, n - 8), n - 8, hi) || !DigitsValue(Load64(p + n - 8), 8, lo))
    return false;
  v = hi * 100000000 + lo;
  return true;
}

#if defined(__SSSE3__)
// For each split of a dotted quad into octets of 1-3 digits (81 of them, index
// (l1-1)*27 + (l2-1)*9 + (l3-1)*3 + (l4-1)), the pshufb pattern that moves octet k's digits
// to the end of 32-bit lane k (hundreds, tens, units in bytes 1-3; -1 gives a zero byte).
struct QuadShuffles {
  alignas(16) int8_t m[81][16];
};
constexpr QuadShuffles MakeQuadShuffles() {
  QuadShuffles t{};
  for (int i = 0; i < 81; ++i) {
    const int len[4] = {i / 27 + 1, i / 9 % 3 + 1, i / 3 % 3 + 1, i % 3 + 1};
    int start = 0;
    for (int k = 0; k < 4; ++k) {
      for (int j = 0; j < 4; ++j) t.m[i][4 * k + j] = -1;
      for (int j = 0; j < len[k]; ++j)
        t.m[i][4 * k + 4 - len[k] + j] = static_cast<int8_t>(start + j);
      start += len[k] + 1;
    }
  }
  return t;
}
constexpr QuadShuffles kQuadShuffles = MakeQuadShuffles();
#endif

}  // namespace
#endif

namespace {

VIGIL_HOT bool U64Fast(std::string_view s, uint64_t& out) {
#if defined(VIGIL_ZEEK_SWAR)
  uint64_t v;
  if (ParseDigits16(s.data(), s.size(), v)) {  // up to 16 digits cannot overflow
    out = v;
    return true;
  }
#endif
  return ParseU64General(s, out);
}

VIGIL_HOT bool PortFast(std::string_view s, uint16_t& out) {
#if defined(VIGIL_ZEEK_SWAR)
  uint64_t v;
  if (s.size() - 1 < 5 && DigitsValue(LoadUpTo8(s.data(), s.size()), s.size(), v) && v <= 65535) {
    out = static_cast<uint16_t>(v);
    return true;
  }
#endif
  return ParsePortGeneral(s, out);
}

VIGIL_HOT bool AddrFast(std::string_view s, IpAddr& out) {
#if defined(VIGIL_ZEEK_SWAR) && defined(__SSSE3__)
  // "a.b.c.d": 7 to 15 bytes, held in one vector. Bytes 8.. come from an in-bounds load
  // ending at the last byte, shifted down (nothing for n == 8, n == 7 takes two 4-byte loads).
  const size_t n = s.size();
  if (n - 7 < 9) {
    const char* p = s.data();
    uint64_t w0, w1 = 0;
    if (n >= 8) {
      w0 = Load64(p);
      w1 = (Load64(p + n - 8) >> (8 * (15 - n))) >> 8;
    } else {
      w0 = LoadUpTo8(p, n);
    }
    const __m128i v = _mm_set_epi64x(static_cast<long long>(w1), static_cast<long long>(w0));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const unsigned dots =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
    const unsigned digits = static_cast<unsigned>(_mm_movemask_epi8(digit));
    // Bytes past n are zero: neither digits nor dots, so this also says every byte is one.
    if ((dots | digits) == (1u << n) - 1 && __builtin_popcount(dots) == 3) {
      const unsigned d1 = static_cast<unsigned>(__builtin_ctz(dots));
      const unsigned rest = dots & (dots - 1);
      const unsigned d2 = static_cast<unsigned>(__builtin_ctz(rest));
      const unsigned d3 = static_cast<unsigned>(__builtin_ctz(rest & (rest - 1)));
      const unsigned l1 = d1, l2 = d2 - d1 - 1, l3 = d3 - d2 - 1,
                     l4 = static_cast<unsigned>(n) - d3 - 1;
      if (l1 - 1 < 3 && l2 - 1 < 3 && l3 - 1 < 3 && l4 - 1 < 3) {
        // Each octet's digits to the end of its own 32-bit lane, then 100h + 10t + u per lane
        // in two multiply-adds.
        const __m128i shuffle = _mm_load_si128(reinterpret_cast<const __m128i*>(
            kQuadShuffles.m[(l1 - 1) * 27 + (l2 - 1) * 9 + (l3 - 1) * 3 + (l4 - 1)]));
        const __m128i lanes = _mm_shuffle_epi8(_mm_sub_epi8(v, _mm_set1_epi8('0')), shuffle);
        const __m128i octets = _mm_madd_epi16(
            _mm_maddubs_epi16(lanes, _mm_set1_epi32(0x010A6400)),  // bytes 0, 100, 10, 1
            _mm_set1_epi16(1));
        if (_mm_movemask_epi8(_mm_cmpgt_epi32(octets, _mm_set1_epi32(255))) == 0) {
          // ::ffff:a.b.c.d, as IpAddr::V4.
          const __m128i mapped =
              _mm_or_si128(_mm_shuffle_epi8(octets, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1,
                                                                  -1, -1, -1, -1, 0, 4, 8, 12)),
                           _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0));
          std::array<uint8_t, 16> bytes;
          _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes.data()), mapped);
          out = IpAddr::FromBytes(bytes);
          return true;
        }
      }
    }
  }
#endif
  return ParseAddrGeneral(s, out);
}

VIGIL_HOT bool SecondsFast(std::string_view s, Micros& out) {
#if defined(VIGIL_ZEEK_SWAR)
  // "<1 to 12 digits>.<6 digits>", what Zeek writes for every time and interval.
  const size_t n = s.size();
  if (n - 8 < 12 && s[n - 7] == '.') {
    const char* p = s.data();
    const size_t m = n - 7;  // integer digits
    uint64_t frac, secs;
    if (DigitsValue(Load64(p + n - 8) >> 16, 6, frac) && ParseDigits16(p, m, secs)) {
      out = static_cast<Micros>(secs) * kMicrosPerSecond + static_cast<Micros>(frac);
      return true;
    }
  }
#endif
  return ParseSecondsGeneral(s, out);
}

}  // namespace

bool ParseU64(std::string_view s, uint64_t& out) { return U64Fast(s, out); }
bool ParsePort(std::string_view s, uint16_t& out) { return PortFast(s, out); }
bool ParseAddr(std::string_view s, IpAddr& out) { return AddrFast(s, out); }
bool ParseSeconds(std::string_view s, Micros& out) { return SecondsFast(s, out); }

namespace {

// The first element of a Zeek set/vector as written ("a,b" -> "a"); the whole value for a
// JSON array joined by the decoder, which uses ',' too.
std::string_view FirstElement(std::string_view s) {
  size_t c = s.find(',');
  return c == std::string_view::npos ? s : s.substr(0, c);
}

bool IsTrue(std::string_view s) { return s == "T" || s == "true"; }

#define VIGIL_NUM(field, dst)                                               \
  do {                                                                      \
    if (f.Has(field) && !U64Fast(f.Get(field), dst))                        \
      return {"bad-number", "a count field is not a non-negative integer"}; \
  } while (0)

BuildError FillTuple(const RecordFields& f, Event& ev, bool required) {
  NetTuple& n = ev.net;
  if (!f.Has(Field::kOrigH) || !f.Has(Field::kRespH)) {
    if (required) return {"bad-address", "the record has no id.orig_h/id.resp_h address"};
    return {};
  }
  n.orig_h_text = f.Get(Field::kOrigH);
  n.resp_h_text = f.Get(Field::kRespH);
  if (!AddrFast(n.orig_h_text, n.orig_h)) return {"bad-address", "id.orig_h is not an IP address"};
  if (!AddrFast(n.resp_h_text, n.resp_h)) return {"bad-address", "id.resp_h is not an IP address"};
  if (f.Has(Field::kOrigP) && !PortFast(f.Get(Field::kOrigP), n.orig_p))
    return {"bad-number", "id.orig_p is not a port number"};
  if (f.Has(Field::kRespP) && !PortFast(f.Get(Field::kRespP), n.resp_p))
    return {"bad-number", "id.resp_p is not a port number"};
  n.valid = true;
  return {};
}

Proto ProtoFromText(std::string_view p) {
  if (p == "tcp") return Proto::kTcp;
  if (p == "udp") return Proto::kUdp;
  if (p == "icmp") return Proto::kIcmp;
  return Proto::kUnknown;
}

}  // namespace

BuildError BuildEvent(LogType type, const RecordFields& f, Event& ev) {
  if (!f.Has(Field::kTs)) return {"bad-timestamp", "the record has no ts"};
  std::string_view ts = f.Get(Field::kTs);
  std::optional<Micros> t;
  if (f.ts_is_string && (ts.find('T') != std::string_view::npos)) {
    t = ParseIso8601(ts);
  } else {
    Micros m;
    if (SecondsFast(ts, m)) t = m;
  }
  if (!t) return {"bad-timestamp", "ts is not epoch seconds or an ISO 8601 time"};
  ev.time = *t;
  ev.uid = f.Get(Field::kUid);

  switch (type) {
    case LogType::kConn: {
      ev.kind = EventKind::kFlow;
      if (auto e = FillTuple(f, ev, true)) return e;
      ev.net.proto = ProtoFromText(f.Get(Field::kProto));
      FlowBody& b = ev.Set<FlowBody>();
      b.service = f.Get(Field::kService);
      b.conn_state = f.Get(Field::kConnState);
      b.history = f.Get(Field::kHistory);
      if (f.Has(Field::kDuration)) {
        if (!SecondsFast(f.Get(Field::kDuration), b.duration))
          return {"bad-number", "duration is not a number of seconds"};
        b.has_duration = true;
      }
      VIGIL_NUM(Field::kOrigBytes, b.orig_bytes);
      VIGIL_NUM(Field::kRespBytes, b.resp_bytes);
      VIGIL_NUM(Field::kOrigPkts, b.orig_pkts);
      VIGIL_NUM(Field::kRespPkts, b.resp_pkts);
      return {};
    }
    case LogType::kHttp: {
      ev.kind = EventKind::kHttp;
      if (auto e = FillTuple(f, ev, true)) return e;
      ev.net.proto = Proto::kTcp;
      HttpBody& b = ev.Set<HttpBody>();
      b.method = f.Get(Field::kMethod);
      b.host = f.Get(Field::kHost);
      b.uri = f.Get(Field::kUri);
      b.user_agent = f.Get(Field::kUserAgent);
      b.referrer = f.Get(Field::kReferrer);
      if (f.Has(Field::kStatusCode) && !PortFast(f.Get(Field::kStatusCode), b.status_code))
        return {"bad-number", "status_code is not a number"};
      VIGIL_NUM(Field::kRequestBodyLen, b.request_body_len);
      VIGIL_NUM(Field::kResponseBodyLen, b.response_body_len);
      b.resp_mime_types = f.Get(Field::kRespMimeTypes);
      b.resp_fuids = f.Get(Field::kRespFuids);
      b.resp_filenames = f.Get(Field::kRespFilenames);
      return {};
    }
    case LogType::kDns: {
      ev.kind = EventKind::kDns;
      if (auto e = FillTuple(f, ev, true)) return e;
      ev.net.proto = ProtoFromText(f.Get(Field::kProto));
      DnsBody& b = ev.Set<DnsBody>();
      b.query = f.Get(Field::kQuery);
      b.qtype_name = f.Get(Field::kQtypeName);
      b.rcode_name = f.Get(Field::kRcodeName);
      b.answers = f.Get(Field::kAnswers);
      b.rejected = IsTrue(f.Get(Field::kRejected));
      return {};
    }
    case LogType::kSsl: {
      ev.kind = EventKind::kTls;
      if (auto e = FillTuple(f, ev, true)) return e;
      ev.net.proto = Proto::kTcp;
      TlsBody& b = ev.Set<TlsBody>();
      b.server_name = f.Get(Field::kServerName);
      b.version = f.Get(Field::kVersion);
      b.subject = f.Get(Field::kSubject);
      b.issuer = f.Get(Field::kIssuer);
      b.ja3 = f.Get(Field::kJa3);
      b.established = IsTrue(f.Get(Field::kEstablished));
      return {};
    }
    case LogType::kFiles: {
      ev.kind = EventKind::kFile;
      FileBody& b = ev.Set<FileBody>();
      b.fuid = f.Get(Field::kFuid);
      b.source = f.Get(Field::kSource);
      b.mime_type = f.Get(Field::kMimeType);
      b.filename = f.Get(Field::kFilename);
      b.md5 = f.Get(Field::kMd5);
      b.sha1 = f.Get(Field::kSha1);
      b.sha256 = f.Get(Field::kSha256);
      b.is_orig = IsTrue(f.Get(Field::kIsOrig));
      VIGIL_NUM(Field::kSeenBytes, b.seen_bytes);
      VIGIL_NUM(Field::kTotalBytes, b.total_bytes);
      if (!f.Has(Field::kUid)) ev.uid = FirstElement(f.Get(Field::kConnUids));
      if (f.Has(Field::kOrigH) || f.Has(Field::kRespH)) {
        if (auto e = FillTuple(f, ev, true)) return e;
        ev.net.proto = Proto::kTcp;
        return {};
      }
      if (f.Has(Field::kTxHosts) && f.Has(Field::kRxHosts)) {
        std::string_view tx = FirstElement(f.Get(Field::kTxHosts));
        std::string_view rx = FirstElement(f.Get(Field::kRxHosts));
        if (tx.empty() || rx.empty()) return {};  // "(empty)" sets: no tuple
        IpAddr txa, rxa;
        if (!AddrFast(tx, txa)) return {"bad-address", "tx_hosts is not an IP address"};
        if (!AddrFast(rx, rxa)) return {"bad-address", "rx_hosts is not an IP address"};
        NetTuple& n = ev.net;
        n.orig_h = b.is_orig ? txa : rxa;
        n.orig_h_text = b.is_orig ? tx : rx;
        n.resp_h = b.is_orig ? rxa : txa;
        n.resp_h_text = b.is_orig ? rx : tx;
        n.proto = Proto::kTcp;
        n.valid = true;
      }
      return {};
    }
    case LogType::kOther:
    case LogType::kUnknown:
      break;
  }
  return {"unsupported-log", "this Zeek log type produces no events"};
}

#undef VIGIL_NUM
#undef VIGIL_HOT

}  // namespace vigil::ingest::zeek
