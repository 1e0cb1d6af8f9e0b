#include "ingest/zeek/zeek_json.h"

#include <simdjson.h>

#include <cstring>

namespace vigil::ingest::zeek {

namespace od = simdjson::ondemand;

namespace {

constexpr size_t kArenaBlockBytes = 64 * 1024;

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
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
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
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
  Impl() : parser_(kMaxRecordBytes + kReadPadding) {}
  // `capacity`: readable bytes from line.data() on (at least line.size() + kReadPadding).
  void DecodeLine(std::string_view line, size_t capacity, const SourcePos& pos,
                  std::vector<Event>& events, std::vector<Reject>& rejects);
  size_t arena_total_ = 0;
  uint64_t arena_fallbacks_ = 0;

 private:
  // Reads one value into fields_; returns a reject code or nullptr.
  const char* ReadValue(Field f, od::value v);
  const char* ReadIdObject(od::value v);
  // A nested array/object Vigil does not read: checks the nesting depth of the rest of the
  // line once (On-Demand skips nested values without a depth limit of its own).
  // `level`: the nesting level of the value's container (1 for a top-level field).
  const char* CheckNested(const char* at, size_t level);
  // Room for n bytes in the arena; nullptr past kMaxArenaBytes.
  char* ArenaAlloc(size_t n);

  od::parser parser_;
  RecordFields fields_;
  std::string_view line_;
  bool depth_checked_ = false;
  bool unsupported_reported_ = false;
  std::vector<std::unique_ptr<char[]>> arena_blocks_;
  size_t arena_used_ = 0;  // bytes used in the last block
  size_t arena_block_size_ = 0;
};

ZeekJsonDecoder::ZeekJsonDecoder() : impl_(std::make_unique<Impl>()) {}
ZeekJsonDecoder::~ZeekJsonDecoder() = default;
size_t ZeekJsonDecoder::arena_bytes() const { return impl_->arena_total_; }
uint64_t ZeekJsonDecoder::arena_fallbacks() const { return impl_->arena_fallbacks_; }

const char* ZeekJsonDecoder::Impl::CheckNested(const char* at, size_t level) {
  if (depth_checked_) return nullptr;
  depth_checked_ = true;
  const char* end = line_.data() + line_.size();
  if (at < line_.data() || at > end) at = line_.data();
  if (JsonNestingDepth(std::string_view(at, static_cast<size_t>(end - at))) + level > kMaxJsonDepth)
    return "too-deep";
  return nullptr;
}

char* ZeekJsonDecoder::Impl::ArenaAlloc(size_t n) {
  if (arena_total_ + n > kMaxArenaBytes) {
    ++arena_fallbacks_;
    return nullptr;
  }
  if (arena_blocks_.empty() || arena_used_ + n > arena_block_size_) {
    size_t size = n > kArenaBlockBytes ? n : kArenaBlockBytes;
    arena_blocks_.push_back(std::make_unique<char[]>(size));
    arena_block_size_ = size;
    arena_used_ = 0;
  }
  char* p = arena_blocks_.back().get() + arena_used_;
  arena_used_ += n;
  arena_total_ += n;
  return p;
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
    if (key == "orig_h") f = Field::kOrigH;
    else if (key == "orig_p") f = Field::kOrigP;
    else if (key == "resp_h") f = Field::kRespH;
    else if (key == "resp_p") f = Field::kRespP;
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
        if (char* p = ArenaAlloc(u.size())) {
          std::memcpy(p, u.data(), u.size());
          s = std::string_view(p, u.size());
        }
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
      // the input; several are joined with ',' like a TSV set, in the arena.
      constexpr size_t kMaxJoined = 32;
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
          if (char* p = ArenaAlloc(u.size())) {
            std::memcpy(p, u.data(), u.size());
            s = std::string_view(p, u.size());
          }
        }
        if (count < kMaxJoined) parts[count] = s;
        total += s.size() + 1;
        ++count;
      }
      if (count <= 1) {
        fields_.Set(f, count == 1 ? parts[0] : std::string_view());
        return nullptr;
      }
      char* p = count <= kMaxJoined ? ArenaAlloc(total - 1) : nullptr;
      if (p == nullptr) {  // past the arena cap, or a very long list: the raw JSON text
        fields_.Set(f, std::string_view(first_begin, static_cast<size_t>(last_end - first_begin)));
        return nullptr;
      }
      size_t n = 0;
      for (size_t i = 0; i < count; ++i) {
        if (i) p[n++] = ',';
        std::memcpy(p + n, parts[i].data(), parts[i].size());
        n += parts[i].size();
      }
      fields_.Set(f, std::string_view(p, n));
      return nullptr;
    }
    case od::json_type::object: {
      return CheckNested(v.raw_json_token().data(), 1);
    }
  }
  return nullptr;
}

void ZeekJsonDecoder::Impl::DecodeLine(std::string_view line, size_t capacity, const SourcePos& pos,
                                 std::vector<Event>& events, std::vector<Reject>& rejects) {
  auto reject = [&](const char* code, const char* reason) {
    rejects.push_back(MakeReject(pos, code, reason, line));
  };
  auto json_error = [&](const char* code) {
    if (std::strcmp(code, "too-deep") == 0 || JsonNestingDepth(line) > kMaxJsonDepth)
      reject("too-deep", "JSON nested deeper than the 64-level cap");
    else
      reject("bad-json", "not a well-formed JSON object");
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

size_t ZeekJsonDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                               std::vector<Event>& events, std::vector<Reject>& rejects) {
  const char* readable_end = data.data() + data.size() + kReadPadding;
  return ForEachLine(data, start, at_end, rejects,
                     [&](std::string_view line, const SourcePos& pos) {
                       impl_->DecodeLine(line, static_cast<size_t>(readable_end - line.data()), pos,
                                  events, rejects);
                     });
}

}  // namespace vigil::ingest::zeek
