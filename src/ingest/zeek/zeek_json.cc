#include "ingest/zeek/zeek_json.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "ingest/zeek/built_strings.h"
#include "ingest/zeek/line_masks.h"
#include "ingest/zeek/zeek_scan.h"

namespace vigil::ingest::zeek {

namespace od = simdjson::ondemand;

namespace {

constexpr size_t kMaxJoined = 32;  // array elements joined with ','; longer arrays stay raw

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The text between the quotes of a raw string token ("abc"  -> abc).
bool StripQuotes(std::string_view tok, std::string_view& out) {
  tok = TrimRight(tok);
  if (tok.size() < 2 || tok.front() != '"' || tok.back() != '"') return false;
  out = tok.substr(1, tok.size() - 2);
  return true;
}

}  // namespace

size_t JsonNestingDepth(std::string_view json) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) max_depth = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

class ZeekJsonDecoder::Impl {
 public:
  explicit Impl(bool fast_path)
      : parser_(kMaxRecordBytes + kReadPadding), fast_path_(fast_path), layout_{kLayoutEnd} {}
  // Decodes the lines of `data` (ZeekJsonDecoder::Decode's contract).
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects);
  ZeekJsonDecoder::PathCounts paths() const { return paths_; }

 private:
  struct KeyGuess;
  // One line as ForEachLine hands it over. `capacity`: readable bytes from line.data() on
  // (at least line.size() + kReadPadding).
  void DecodeLine(std::string_view line, size_t capacity, const SourcePos& pos,
                  std::vector<Event>& events, std::vector<Reject>& rejects);
  // The event (or reject) of a line whose fields are in fields_.
  void Emit(std::string_view line, const SourcePos& pos, std::vector<Event>& events,
            std::vector<Reject>& rejects);
  // The canonical-form scanner: reads one JSON object from `begin` on, and when it is valid
  // JSON in Zeek's own subset returns its closing '}' with fields_ holding its fields;
  // otherwise nullptr, and the line goes to simdjson. No canonical token holds a newline (a
  // control byte), so a scan that succeeds never crosses one: given the chunk's end as
  // `end`, it also finds where a canonical line ends.
  const char* FastScan(const char* begin, const char* end);
  // The flat-line scanner, tried before FastScan: for a line of only flat keys and scalar
  // or array values, with no escapes, control or non-ASCII bytes (nearly every line Zeek
  // writes), that starts at `begin` and ends with a newline before `end`. One SIMD pass
  // classifies the line 64 bytes at a time and marks the commas outside strings (the quotes'
  // prefix XOR tells inside from outside), so every field's extent is known before any
  // field is read: the fields are then checked and read independently of each other
  // rather than one after the other as FastScan must. Returns the line's closing '}' with
  // fields_ set, or nullptr (nothing is decided: FastScan then reads the line).
  const char* FlatScan(const char* begin, const char* end);
  // The field of the key at `p` when it is one of the kLookahead layout entries from `next`
  // on (`layout`, `size`: layout_'s), advancing p past the `"key":` bytes and next past the
  // entry; or false. The layout is passed in registers: FastScan keeps its state out of
  // memory so that one field's end does not wait on the last field's stores.
  static inline __attribute__((always_inline)) bool GuessKey(const char*& p, bool in_id,
                                                             const KeyGuess* layout, size_t size,
                                                             size_t& next, Field& f);
  // Adds the key just read the long way to the layout at `next` (before the next predicted
  // key); returns the entry after it, the new next.
  [[nodiscard]] size_t LearnKey(std::string_view key, bool in_id, Field f, size_t next);
  // An array value at p: its end, with its elements set in fields_ (unless f is kIgnore),
  // or nullptr.
  const char* FastArray(Field f, const char* p, const char* end);
  inline __attribute__((always_inline)) bool FastScalar(const char*& p, const char* end,
                                                        std::string_view& out, bool& is_null,
                                                        bool& is_string);
  // The simdjson path: fills fields_, or returns a reject code.
  const char* ParseWithSimdjson(std::string_view line, size_t capacity);
  // Joins parts with ',' in stable storage; the raw span from first to last when it cannot.
  std::string_view Join(const std::string_view* parts, size_t count, const char* first_begin,
                        const char* last_end);
  // Reads one value into fields_; returns a reject code or nullptr.
  const char* ReadValue(Field f, od::value v);
  const char* ReadIdObject(od::value v);
  // A nested array/object Vigil does not read: checks the nesting depth of the rest of the
  // line once (On-Demand skips nested values without a depth limit of its own).
  // `level`: the nesting level of the value's container (1 for a top-level field).
  const char* CheckNested(const char* at, size_t level);
  // `s` (an unescaped string) in stable storage, or `raw` past the storage cap.
  static std::string_view Stable(std::string_view s, std::string_view raw) {
    auto v = InternBuiltString(s);
    return v ? *v : raw;
  }

  // A key the scanner expects: its bytes `"name":` as earlier lines wrote them. Zeek writes
  // the keys of a log in one fixed order and leaves unset fields out, so the keys of the
  // lines seen so far, merged in order, predict the next line's keys; a predicted key is
  // matched by one compare instead of a scan and a lookup. A wrong guess costs only the
  // compare: the key is then read the long way, so predictions never change a result.
  struct KeyGuess {
    alignas(16) char text[32];  // `"name":`, zero-filled
    uint32_t mask;              // one bit per byte of text that is used
    uint8_t len;                // bytes of text used
    Field field;
    bool in_id;  // a key inside the "id" object
  };
  static constexpr size_t kMaxLayout = 96;  // keys remembered; more restarts the layout
  // The layout's last entry: matches no key (every key starts with '"', never a 0 byte).
  static constexpr KeyGuess kLayoutEnd{{}, 1, 0, Field::kIgnore, false};
  static constexpr size_t kLookahead = 8;  // predicted keys tried at each key

  od::parser parser_;
  bool fast_path_ = true;
  // Ends with kLayoutEnd, so the expected entry always exists.
  std::vector<KeyGuess> layout_;
  RecordFields fields_;
  std::string_view line_;
  bool depth_checked_ = false;
  bool unsupported_reported_ = false;
  std::string scratch_;  // reused to join arrays before they are interned
  ZeekJsonDecoder::PathCounts paths_;
  ClassifyLineFn classify_ = SimdClassifyLine();  // FlatScan's first pass (null: no FlatScan)
  LineMasks masks_;                                // and what it found, reused line to line
};

ZeekJsonDecoder::ZeekJsonDecoder(bool fast_path) : impl_(std::make_unique<Impl>(fast_path)) {}
ZeekJsonDecoder::~ZeekJsonDecoder() = default;
ZeekJsonDecoder::PathCounts ZeekJsonDecoder::paths() const { return impl_->paths(); }

const char* ZeekJsonDecoder::Impl::CheckNested(const char* at, size_t level) {
  if (depth_checked_) return nullptr;
  depth_checked_ = true;
  const char* end = line_.data() + line_.size();
  if (at < line_.data() || at > end) at = line_.data();
  if (JsonNestingDepth(std::string_view(at, static_cast<size_t>(end - at))) + level > kMaxJsonDepth)
    return "too-deep";
  return nullptr;
}

const char* ZeekJsonDecoder::Impl::ReadIdObject(od::value v) {
  std::string_view line = line_;
  od::object obj;
  if (v.get_object().get(obj)) return "bad-json";
  for (auto fr : obj) {
    od::field fld;
    if (std::move(fr).get(fld)) return "bad-json";
    const char* k = fld.key().raw();
    const char* end = line.data() + line.size();
    const char* q = static_cast<const char*>(std::memchr(k, '"', static_cast<size_t>(end - k)));
    if (q == nullptr) return "bad-json";
    std::string_view key(k, static_cast<size_t>(q - k));
    Field f = Field::kIgnore;
    if (key == "orig_h")
      f = Field::kOrigH;
    else if (key == "orig_p")
      f = Field::kOrigP;
    else if (key == "resp_h")
      f = Field::kRespH;
    else if (key == "resp_p")
      f = Field::kRespP;
    od::value inner = fld.value();
    if (f == Field::kIgnore) {
      od::json_type t;
      if (inner.type().get(t)) return "bad-json";
      if (t == od::json_type::array || t == od::json_type::object) {
        if (const char* e = CheckNested(inner.raw_json_token().data(), 2)) return e;
      }
      continue;
    }
    if (const char* e = ReadValue(f, inner)) return e;
  }
  return nullptr;
}

const char* ZeekJsonDecoder::Impl::ReadValue(Field f, od::value v) {
  od::json_type t;
  if (v.type().get(t)) return "bad-json";
  switch (t) {
    case od::json_type::string: {
      std::string_view tok, s;
      tok = v.raw_json_token();
      if (!StripQuotes(tok, s)) return "bad-json";
      if (std::memchr(s.data(), '\\', s.size()) != nullptr) {
        std::string_view u;
        if (v.get_string().get(u)) return "bad-json";
        s = Stable(u, s);
      }
      if (f == Field::kTs) fields_.ts_is_string = true;
      fields_.Set(f, s);
      return nullptr;
    }
    case od::json_type::number:
    case od::json_type::boolean: {
      fields_.Set(f, TrimRight(v.raw_json_token()));
      return nullptr;
    }
    case od::json_type::null:
      return nullptr;  // unset
    case od::json_type::array: {
      od::array arr;
      if (v.get_array().get(arr)) return "bad-json";
      // Zeek sets/vectors are arrays of scalars. One element (the usual case) is a view into
      // the input; several are joined with ',' like a TSV set (Join).
      std::string_view parts[kMaxJoined];
      const char* first_begin = nullptr;
      const char* last_end = nullptr;
      size_t count = 0, total = 0;
      for (auto er : arr) {
        od::value ev;
        if (std::move(er).get(ev)) return "bad-json";
        od::json_type et;
        if (ev.type().get(et)) return "bad-json";
        std::string_view tok, s;
        if (et == od::json_type::array || et == od::json_type::object) {
          // A nested value inside a set: kept as its first token only (never seen in Zeek).
          if (const char* e = CheckNested(ev.raw_json_token().data(), 2)) return e;
          s = TrimRight(ev.raw_json_token()).substr(0, 1);
        } else {
          tok = ev.raw_json_token();
          if (et == od::json_type::string) {
            if (!StripQuotes(tok, s)) return "bad-json";
          } else {
            s = TrimRight(tok);
          }
        }
        if (count == 0) first_begin = s.data();
        last_end = s.data() + s.size();
        if (et == od::json_type::string && std::memchr(s.data(), '\\', s.size()) != nullptr) {
          std::string_view u;
          if (ev.get_string().get(u)) return "bad-json";
          s = Stable(u, s);
        }
        if (count < kMaxJoined) parts[count] = s;
        total += s.size() + 1;
        ++count;
      }
      if (count <= 1) {
        fields_.Set(f, count == 1 ? parts[0] : std::string_view());
        return nullptr;
      }
      (void)total;
      fields_.Set(f, Join(parts, count, first_begin, last_end));
      return nullptr;
    }
    case od::json_type::object: {
      return CheckNested(v.raw_json_token().data(), 1);
    }
  }
  return nullptr;
}

const char* ZeekJsonDecoder::Impl::ParseWithSimdjson(std::string_view line, size_t capacity) {
  auto json_error = [&](const char* code) -> const char* {
    if (std::strcmp(code, "too-deep") == 0 || JsonNestingDepth(line) > kMaxJsonDepth)
      return "too-deep";
    return "bad-json";
  };
  line_ = line;
  depth_checked_ = false;
  od::document doc;
  if (parser_.iterate(line.data(), line.size(), capacity).get(doc)) return json_error("bad-json");
  od::object obj;
  if (doc.get_object().get(obj)) return json_error("bad-json");
  fields_.Clear();
  const char* end = line.data() + line.size();
  for (auto fr : obj) {
    od::field fld;
    if (std::move(fr).get(fld)) return json_error("bad-json");
    const char* k = fld.key().raw();
    const char* q = static_cast<const char*>(std::memchr(k, '"', static_cast<size_t>(end - k)));
    if (q == nullptr) return json_error("bad-json");
    std::string_view key(k, static_cast<size_t>(q - k));
    Field f = LookupField(key);
    od::value v = fld.value();
    if (f == Field::kIgnore) {
      od::json_type t;
      if (v.type().get(t)) return json_error("bad-json");
      if (t == od::json_type::object && key == "id") {
        if (const char* e = ReadIdObject(v)) return json_error(e);
      } else if (t == od::json_type::array || t == od::json_type::object) {
        if (const char* e = CheckNested(v.raw_json_token().data(), 1)) return json_error(e);
      }
      continue;
    }
    if (const char* e = ReadValue(f, v)) return json_error(e);
  }
  // Anything after the object ("{...} x", "{...}{...}") makes the line malformed.
  const char* trailing = nullptr;
  if (!doc.current_location().get(trailing)) return json_error("bad-json");
  return nullptr;
}

void ZeekJsonDecoder::Impl::DecodeLine(std::string_view line, size_t capacity, const SourcePos& pos,
                                       std::vector<Event>& events, std::vector<Reject>& rejects) {
  auto reject = [&](const char* code, const char* reason) {
    rejects.push_back(MakeReject(pos, code, reason, line));
  };
  const char* end = line.data() + line.size();
  if (fast_path_ && FastScan(line.data(), end) == end - 1) {
    ++paths_.canonical;
  } else {
    ++paths_.simdjson;
    if (const char* e = ParseWithSimdjson(line, capacity)) {
      if (std::strcmp(e, "too-deep") == 0)
        reject("too-deep", "JSON nested deeper than the 64-level cap");
      else
        reject("bad-json", "not a well-formed JSON object");
      return;
    }
  }
  Emit(line, pos, events, rejects);
}

void ZeekJsonDecoder::Impl::Emit(std::string_view line, const SourcePos& pos,
                                 std::vector<Event>& events, std::vector<Reject>& rejects) {
  auto reject = [&](const char* code, const char* reason) {
    rejects.push_back(MakeReject(pos, code, reason, line));
  };
  LogType type = InferLogType(fields_);
  if (type == LogType::kOther) {
    if (!unsupported_reported_) {
      unsupported_reported_ = true;
      reject("unsupported-log", "this Zeek log type produces no events; such records are skipped");
    }
    return;
  }
  Event& ev = events.emplace_back();
  ev.pos = pos;
  ev.raw = line;
  if (BuildError e = BuildEvent(type, fields_, ev)) {
    events.pop_back();
    reject(e.code, e.reason);
  }
}

std::string_view ZeekJsonDecoder::Impl::Join(const std::string_view* parts, size_t count,
                                             const char* first_begin, const char* last_end) {
  std::string_view raw(first_begin, static_cast<size_t>(last_end - first_begin));
  if (count > kMaxJoined) return raw;  // a very long list: the raw JSON text
  scratch_.clear();
  for (size_t i = 0; i < count; ++i) {
    if (i) scratch_.push_back(',');
    scratch_.append(parts[i]);
  }
  return Stable(scratch_, raw);
}

namespace {

inline bool IsDigitChar(char c) { return c >= '0' && c <= '9'; }

// A JSON number, strictly: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
// Byte by byte: the general case behind ScanNumber.
inline bool ScanNumberSlow(const char*& p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p >= end) return false;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && IsDigitChar(*p)) ++p;
  } else {
    return false;
  }
  if (p < end && *p == '.') {
    ++p;
    const char* d = p;
    while (p < end && IsDigitChar(*p)) ++p;
    if (p == d) return false;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* d = p;
    while (p < end && IsDigitChar(*p)) ++p;
    if (p == d) return false;
  }
  return true;
}

#if defined(__SSE2__)
// One bit per byte of the 32 bytes at p that is a decimal digit (p + 32 must be readable).
inline uint32_t DigitMask32(const char* p) {
  const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
  __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
  // Signed compares: bytes >= 0x80 are negative, so never digits.
  __m128i da = _mm_and_si128(_mm_cmpgt_epi8(a, lo), _mm_cmplt_epi8(a, hi));
  __m128i db = _mm_and_si128(_mm_cmpgt_epi8(b, lo), _mm_cmplt_epi8(b, hi));
  return static_cast<uint32_t>(_mm_movemask_epi8(da)) |
         (static_cast<uint32_t>(_mm_movemask_epi8(db)) << 16);
}

// The number of digits at bit `i` on of `digits` (at most 32 - i).
inline unsigned DigitRun(uint32_t digits, unsigned i) {
  return static_cast<unsigned>(__builtin_ctzll(~static_cast<uint64_t>(digits >> i)));
}
#endif

// ScanNumberSlow's grammar and result. The usual shape (digits, maybe a fraction, within
// 32 bytes and ending inside the line) is measured on a digit mask, without a loop whose
// exit mispredicts once per number; exponents, long numbers and numbers running into the
// line's end take the byte loop. Reads up to 32 bytes at p (within kReadPadding).
inline bool ScanNumber(const char*& p, const char* end) {
#if defined(__SSE2__)
  const uint32_t digits = DigitMask32(p);
  unsigned i = *p == '-';
  unsigned n = DigitRun(digits, i);
  if (n == 0) return false;
  if (p[i] == '0') n = 1;  // a leading zero stands alone, as in the byte loop
  i += n;
  if (i >= 31) return ScanNumberSlow(p, end);  // the digits may go on past the mask
  if (p[i] == '.') {
    unsigned f = DigitRun(digits, i + 1);
    if (f == 0) return ScanNumberSlow(p, end);  // "1." and the like
    i += 1 + f;
    if (i >= 32) return ScanNumberSlow(p, end);
  }
  // The number must end inside the line (the mask also saw bytes past it).
  if (p + i < end && p[i] != 'e' && p[i] != 'E') {
    p += i;
    return true;
  }
#endif
  return ScanNumberSlow(p, end);
}

}  // namespace

bool ZeekJsonDecoder::Impl::FastScalar(const char*& p, const char* end, std::string_view& out,
                                       bool& is_null, bool& is_string) {
  is_null = false;
  is_string = false;
  const char c = *p;
  if (c == '-' || IsDigitChar(c)) {
    const char* s = p;
    if (!ScanNumber(p, end)) return false;
    out = std::string_view(s, static_cast<size_t>(p - s));
    return true;
  }
  if (c == '"') {
    const char* s = p + 1;
    const char* q = FindPlainStringEnd(s, end);
    if (q == nullptr) return false;  // escapes, control or non-ASCII bytes, or no end
    out = std::string_view(s, static_cast<size_t>(q - s));
    p = q + 1;
    is_string = true;
    return true;
  }
  if (c == 't' && end - p >= 4 && std::memcmp(p, "true", 4) == 0) {
    out = std::string_view(p, 4);
    p += 4;
    return true;
  }
  if (c == 'f' && end - p >= 5 && std::memcmp(p, "false", 5) == 0) {
    out = std::string_view(p, 5);
    p += 5;
    return true;
  }
  if (c == 'n' && end - p >= 4 && std::memcmp(p, "null", 4) == 0) {
    p += 4;
    is_null = true;
    return true;
  }
  return false;
}

__attribute__((noinline)) const char* ZeekJsonDecoder::Impl::FastArray(Field f, const char* p,
                                                                       const char* end) {
  ++p;
  std::string_view parts[kMaxJoined];
  const char* first_begin = p;
  const char* last_end = p;
  size_t count = 0;
  if (p < end && *p == ']') {
    ++p;
  } else {
    for (;;) {
      if (p >= end) return nullptr;
      std::string_view v;
      bool is_null, is_string;
      if (!FastScalar(p, end, v, is_null, is_string) || is_null) return nullptr;
      if (count == 0) first_begin = v.data();
      last_end = v.data() + v.size();
      if (count < kMaxJoined) parts[count] = v;
      ++count;
      if (p >= end) return nullptr;
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == ']') {
        ++p;
        break;
      }
      return nullptr;
    }
  }
  if (f != Field::kIgnore) {
    if (count <= 1)
      fields_.Set(f, count == 1 ? parts[0] : std::string_view());
    else
      fields_.Set(f, Join(parts, count, first_begin, last_end));
  }
  return p;
}

bool ZeekJsonDecoder::Impl::GuessKey(const char*& p, bool in_id, const KeyGuess* layout,
                                     size_t size, size_t& next, Field& f) {
  const size_t stop = std::min(size, next + kLookahead);
  // The 32 bytes at p (readable: kReadPadding) against each guess. A guess may match bytes
  // past the line's end; FastScan's end check after the key then gives up on the line.
#if defined(__AVX2__)
  const __m256i text = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
#elif defined(__SSE2__)
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
#endif
  // layout[next] always exists (at worst the end marker, which matches no key), so the
  // usual case, the first guess, needs no bounds check.
  for (size_t j = next; j == next || j < stop; ++j) {
    const KeyGuess& g = layout[j];
    if (g.in_id != in_id) continue;
#if defined(__AVX2__)
    uint32_t eq = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(text, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.text)))));
    if ((eq & g.mask) != g.mask) continue;
#elif defined(__SSE2__)
    const __m128i* t = reinterpret_cast<const __m128i*>(g.text);
    uint32_t eq =
        static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(lo, _mm_load_si128(t)))) |
        (static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(hi, _mm_load_si128(t + 1)))) << 16);
    if ((eq & g.mask) != g.mask) continue;
#else
    if (std::memcmp(p, g.text, g.len) != 0) continue;
#endif
    p += g.len;
    f = g.field;
    next = j + 1;
    return true;
  }
  return false;
}

size_t ZeekJsonDecoder::Impl::LearnKey(std::string_view key, bool in_id, Field f, size_t next) {
  KeyGuess g{};
  if (key.size() + 3 > sizeof(g.text)) return next;
  if (layout_.size() > kMaxLayout) {
    layout_.resize(1, kLayoutEnd);
    next = 0;
  }
  g.text[0] = '"';
  std::memcpy(g.text + 1, key.data(), key.size());
  g.text[key.size() + 1] = '"';
  g.text[key.size() + 2] = ':';
  g.len = static_cast<uint8_t>(key.size() + 3);
  g.mask = g.len == 32 ? ~0u : (1u << g.len) - 1;
  g.field = f;
  g.in_id = in_id;
  layout_.insert(layout_.begin() + static_cast<ptrdiff_t>(next), g);
  return next + 1;
}

const char* ZeekJsonDecoder::Impl::FastScan(const char* begin, const char* end) {
  fields_.Clear();
  const char* p = begin;
  bool in_id = false;  // inside the "id":{...} object
  if (p >= end || *p != '{') return nullptr;
  ++p;
  if (p < end && *p == '}') return p;
  // The scanner's state stays in registers for the whole line: p never has its address
  // taken, and the layout is re-read only after LearnKey changes it. Kept in memory, each
  // field's key and value waited on the previous field's stores.
  const KeyGuess* layout = layout_.data();
  size_t layout_size = layout_.size();
  size_t next = 0;       // the layout entry expected at the next key
  uint64_t present = 0;  // fields_.present, written back before FastArray and at the end
  for (;;) {
    if (p >= end || *p != '"') return nullptr;
    const char* ks = p + 1;
    Field f;
    if (!GuessKey(p, in_id, layout, layout_size, next, f)) {
      p = FindJsonStringSpecial(ks, end);
      if (p >= end || *p != '"') return nullptr;
      std::string_view key(ks, static_cast<size_t>(p - ks));
      if (++p >= end || *p != ':') return nullptr;
      ++p;
      if (in_id) {
        f = key == "orig_h"   ? Field::kOrigH
            : key == "orig_p" ? Field::kOrigP
            : key == "resp_h" ? Field::kRespH
            : key == "resp_p" ? Field::kRespP
                              : Field::kIgnore;
      } else {
        f = LookupField(key);
      }
      next = LearnKey(key, in_id, f, next);
      layout = layout_.data();
      layout_size = layout_.size();
    }
    if (p >= end) return nullptr;
    // Scalars first: they are most values. FastScalar moves p only for a string or number.
    const char c = *p;
    std::string_view v;
    bool is_null, is_string;
    if (FastScalar(p, end, v, is_null, is_string)) {
      if (f != Field::kIgnore && !is_null) {
        if (f == Field::kTs && is_string) fields_.ts_is_string = true;
        fields_.text[static_cast<int>(f)] = v;
        present |= RecordFields::Bit(f);
      }
    } else if (c == '[') {
      fields_.present = present;
      p = FastArray(f, p, end);
      if (p == nullptr) return nullptr;
      present = fields_.present;
    } else if (c == '{') {
      // The key ends 2 bytes before the '{' (its closing quote, then ':').
      if (in_id || f != Field::kIgnore ||
          std::string_view(ks, static_cast<size_t>(p - 2 - ks)) != "id")
        return nullptr;
      in_id = true;
      ++p;
      if (p < end && *p == '}') {
        in_id = false;
        ++p;
      } else {
        continue;
      }
    } else {
      return nullptr;
    }
    for (;;) {
      if (p >= end) return nullptr;
      if (*p == ',') {
        ++p;
        break;
      }
      if (*p != '}') return nullptr;
      if (!in_id) {
        fields_.present = present;
        return p;
      }
      ++p;
      in_id = false;
    }
  }
}

namespace {

// Whether the `len` bytes at v (at offset `at` of the line `m` classifies) are a plain JSON
// number, read off the digit mask: digits with at most one '.' that has digits on both
// sides, and no leading zero before more digits ("0", "0.5", "12.25"). False is "not
// decided here": signs, exponents and numbers over 56 bytes go to ScanNumber.
bool PlainNumber(const LineMasks& m, const char* v, size_t at, size_t len) {
  if (len == 0 || len > 56) return false;
  const uint64_t all = (uint64_t{1} << len) - 1;
  const uint64_t other = ~BitsAt(m.digit, at) & all;  // the bytes that are not digits
  const size_t dot = static_cast<size_t>(__builtin_ctzll(other | (uint64_t{1} << len)));
  return (other & (other - 1)) == 0 &&                                  // one at most
         (other == 0 || (v[dot] == '.' && dot > 0 && dot + 1 < len)) &&  // a '.' inside
         (*v != '0' || len == 1 || dot == 1);                            // "0", "0.5"
}

}  // namespace

const char* ZeekJsonDecoder::Impl::FlatScan(const char* begin, const char* end) {
  // Pass 1: the line's byte classes, and its commas outside strings.
  LineMasks& m = masks_;
  const char* const close = classify_(begin, end, m);
  if (close == nullptr || close <= begin || *begin != '{' || *close != '}') return nullptr;

  // Pass 2: each field, between two commas (or the braces), must be exactly "key":value.
  fields_.Clear();
  const KeyGuess* layout = layout_.data();
  size_t layout_size = layout_.size();
  size_t next = 0;
  uint64_t present = 0;
  size_t word = 0;
  uint64_t bits = m.comma[0];
  // The next comma outside strings, or the closing brace after the last one.
  auto next_comma = [&]() -> const char* {
    while (bits == 0) {
      if (++word == m.words) return close;
      bits = m.comma[word];
    }
    const char* c = begin + 64 * word + __builtin_ctzll(bits);
    bits &= bits - 1;
    return c;
  };
  // The low n bits (n <= 56: BitsAt's guarantee).
  auto low = [](size_t n) { return (uint64_t{1} << n) - 1; };
  const char* s = begin + 1;
  for (;;) {
    const char* c = next_comma();
    if (*s != '"') return nullptr;
    const char* v = s;
    Field f;
    if (!GuessKey(v, false, layout, layout_size, next, f)) {
      const char* q = FindJsonStringSpecial(s + 1, c);
      if (q >= c || *q != '"' || q + 1 >= c || q[1] != ':') return nullptr;
      f = LookupField(std::string_view(s + 1, static_cast<size_t>(q - s - 1)));
      next = LearnKey(std::string_view(s + 1, static_cast<size_t>(q - s - 1)), false, f, next);
      layout = layout_.data();
      layout_size = layout_.size();
      v = q + 2;
    }
    // The key holds no quote, so its closing quote and ':' lie before c; a guess cannot
    // reach past it. An empty value is not JSON.
    if (v >= c) return nullptr;
    const size_t len = static_cast<size_t>(c - v);
    const size_t at = static_cast<size_t>(v - begin);
    if (*v == '[') {
      // Its commas split it into several "fields": FastArray reads it, and the commas up
      // to its end are skipped.
      fields_.present = present;
      const char* after = FastArray(f, v, close);
      if (after == nullptr) return nullptr;
      present = fields_.present;
      while (c < after) c = next_comma();
      if (c != after) return nullptr;
      if (c == close) {
        fields_.present = present;
        return close;
      }
      s = c + 1;
      continue;
    }
    std::string_view value;
    bool is_string = false, is_null = false;
    if (*v == '"') {
      // A string: it closes at the field's last byte, and no quote comes before that (pass
      // 1 saw no escape on the line).
      if (len < 2 || c[-1] != '"') return nullptr;
      const bool inner_quote = len - 2 <= 56 ? (BitsAt(m.quote, at + 1) & low(len - 2)) != 0
                                             : FindByte(v + 1, c, '"') != c - 1;
      if (inner_quote) return nullptr;
      value = std::string_view(v + 1, len - 2);
      is_string = true;
    } else if (PlainNumber(m, v, at, len)) {
      value = std::string_view(v, len);
    } else {
      // true, false, null, and numbers with a sign or an exponent: FastScalar, which must
      // end exactly at c (c + 1: ScanNumber reads the byte after a number).
      const char* e = v;
      if (!FastScalar(e, c + 1, value, is_null, is_string) || e != c) return nullptr;
    }
    if (f != Field::kIgnore && !is_null) {
      if (f == Field::kTs && is_string) fields_.ts_is_string = true;
      fields_.text[static_cast<int>(f)] = value;
      present |= RecordFields::Bit(f);
    }
    if (c == close) {
      fields_.present = present;
      return close;
    }
    s = c + 1;
  }
}

size_t ZeekJsonDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                               std::vector<Event>& events, std::vector<Reject>& rejects) {
  return impl_->Decode(data, start, at_end, events, rejects);
}

size_t ZeekJsonDecoder::Impl::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                                     std::vector<Event>& events, std::vector<Reject>& rejects) {
  const char* const data_end = data.data() + data.size();
  const char* const readable_end = data_end + kReadPadding;
  auto decode_line = [&](std::string_view line, const SourcePos& pos) {
    DecodeLine(line, static_cast<size_t>(readable_end - line.data()), pos, events, rejects);
  };
  // A canonical line: the scanner finds its end, so it is not searched for first. Any
  // other line goes to decode_line through ForNextLine, which also keeps the reader's
  // contract for the incomplete last line, over-long lines and CR LF endings.
  auto scan_line = [&](size_t pos, const SourcePos& at) -> size_t {
    if (!fast_path_) return 0;
    const char* p = data.data() + pos;
    const char* close = classify_ ? FlatScan(p, data_end) : nullptr;
    if (close != nullptr) {
      ++paths_.flat;
    } else {
      close = FastScan(p, data_end);
      if (close == nullptr || close + 1 >= data_end || close[1] != '\n' ||
          static_cast<size_t>(close + 1 - p) > kMaxRecordBytes)
        return 0;
      ++paths_.canonical;
    }
    const std::string_view l(p, static_cast<size_t>(close + 1 - p));
    Emit(l, at, events, rejects);
    return l.size() + 1;
  };
  return ForEachLineWithFastPath(data, start, at_end, rejects, scan_line, decode_line);
}

}  // namespace vigil::ingest::zeek
