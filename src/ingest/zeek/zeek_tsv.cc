#include "ingest/zeek/zeek_tsv.h"

#include <cstring>

#include "ingest/zeek/zeek_scan.h"

namespace vigil::ingest::zeek {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "\x09" -> "\t"; other text is kept as is.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && HexDigit(s[i + 2]) >= 0 &&
        HexDigit(s[i + 3]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 2]) * 16 + HexDigit(s[i + 3])));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && std::memcmp(s.data(), p.data(), p.size()) == 0;
}

}  // namespace

ZeekTsvDecoder::ZeekTsvDecoder() { columns_.reserve(64); }

void ZeekTsvDecoder::ResetHeader() {
  sep_ = '\t';
  set_sep_ = ',';
  empty_field_ = "(empty)";
  unset_field_ = "-";
  path_type_ = LogType::kUnknown;
  type_ = LogType::kUnknown;
  columns_.clear();
  have_fields_ = false;
}

void ZeekTsvDecoder::OnHeaderLine(std::string_view line) {
  if (StartsWith(line, "#separator")) {
    // A #separator line opens a header block: logs concatenated with cat start over here.
    ResetHeader();
    std::string_view v = line.substr(10);
    if (!v.empty() && (v[0] == ' ' || v[0] == '\t')) v.remove_prefix(1);
    std::string s = Unescape(v);
    if (!s.empty()) sep_ = s[0];
    return;
  }
  // "#name<sep>value<sep>value..."
  const char* p = static_cast<const char*>(std::memchr(line.data(), sep_, line.size()));
  if (p == nullptr) return;  // "#close" without a value, or a comment: nothing to learn
  std::string_view name = line.substr(1, static_cast<size_t>(p - line.data()) - 1);
  std::string_view rest = line.substr(static_cast<size_t>(p - line.data()) + 1);
  if (name == "set_separator") {
    std::string s = Unescape(rest);
    if (!s.empty()) set_sep_ = s[0];
  } else if (name == "empty_field") {
    empty_field_ = Unescape(rest);
  } else if (name == "unset_field") {
    unset_field_ = Unescape(rest);
  } else if (name == "path") {
    path_type_ = LogTypeFromPath(rest);
    if (have_fields_) type_ = path_type_;
  } else if (name == "fields") {
    columns_.clear();
    RecordFields seen;
    seen.Clear();
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t e = rest.find(sep_, pos);
      if (e == std::string_view::npos) e = rest.size();
      Field f = LookupField(rest.substr(pos, e - pos));
      columns_.push_back(f);
      if (f != Field::kIgnore) seen.Set(f, {});
      pos = e + 1;
    }
    have_fields_ = true;
    // No #path (hand-made or trimmed logs): guess from the columns, as for JSON.
    type_ = path_type_ != LogType::kUnknown ? path_type_ : InferLogType(seen);
  }
  // #types, #open, #close and anything else: nothing the decoder needs.
}

bool ZeekTsvDecoder::TakesDataLines(std::string_view line, const SourcePos& pos, std::vector<Reject>& rejects) {
  if (!have_fields_) {
    rejects.push_back(MakeReject(pos, "no-header", "data line before any #fields header", line));
    return false;
  }
  if (type_ == LogType::kOther || type_ == LogType::kUnknown) {
    if (!unsupported_reported_) {
      unsupported_reported_ = true;
      rejects.push_back(MakeReject(pos, "unsupported-log",
                                   "this Zeek log type produces no events; its lines are skipped",
                                   line));
    }
    return false;
  }
  return true;
}

inline void ZeekTsvDecoder::TakeColumn(size_t col, const char* p, const char* q) {
  if (col >= columns_.size()) return;
  const Field f = columns_[col];
  if (f == Field::kIgnore) return;
  std::string_view v(p, static_cast<size_t>(q - p));
  const bool unset = unset_field_.size() == 1 ? (v.size() == 1 && v[0] == unset_field_[0]) : v == unset_field_;
  if (unset) return;
  if (v.size() == empty_field_.size() && v == empty_field_) v = {};
  fields_.Set(f, v);
}

void ZeekTsvDecoder::Finish(std::string_view line, const SourcePos& pos, size_t cols, std::vector<Event>& events,
                            std::vector<Reject>& rejects) {
  if (cols < columns_.size()) {
    rejects.push_back(
        MakeReject(pos, "short-line", "fewer columns than the #fields header names", line));
    return;
  }
  Event& ev = events.emplace_back();
  ev.pos = pos;
  ev.raw = line;
  if (BuildError e = BuildEvent(type_, fields_, ev)) {
    events.pop_back();
    rejects.push_back(MakeReject(pos, e.code, e.reason, line));
  }
}

void ZeekTsvDecoder::DecodeLine(std::string_view line, const SourcePos& pos,
                                std::vector<Event>& events, std::vector<Reject>& rejects) {
  if (line[0] == '#') {
    OnHeaderLine(line);
    return;
  }
  if (!TakesDataLines(line, pos, rejects)) return;
  // Split once, keeping the columns Vigil reads.
  fields_.Clear();
  const char* p = line.data();
  const char* end = p + line.size();
  size_t col = 0;
  for (;;) {
    const char* q = FindByte(p, end, sep_);
    TakeColumn(col++, p, q);
    if (q == end) break;
    p = q + 1;
  }
  Finish(line, pos, col, events, rejects);
}

void ZeekTsvDecoder::DecodeSplitLine(std::string_view line, const SourcePos& pos, std::vector<Event>& events,
                                     std::vector<Reject>& rejects) {
  if (!TakesDataLines(line, pos, rejects)) return;
  fields_.Clear();
  const char* const begin = line.data();
  const char* const end = begin + line.size();
  const size_t words = (line.size() + 63) / 64;
  const char* p = begin;
  size_t col = 0;
  for (size_t w = 0; w < words; ++w) {
    // A '\r' before the newline is not in the line: its bit (never a separator) is off.
    for (uint64_t bits = seps_[w]; bits != 0; bits &= bits - 1) {
      const char* q = begin + 64 * w + __builtin_ctzll(bits);
      if (q >= end) break;
      TakeColumn(col++, p, q);
      p = q + 1;
    }
  }
  TakeColumn(col++, p, end);
  Finish(line, pos, col, events, rejects);
}

size_t ZeekTsvDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                              std::vector<Event>& events, std::vector<Reject>& rejects) {
  const char* const data_end = data.data() + data.size();
  auto decode_line = [&](std::string_view line, const SourcePos& pos) { DecodeLine(line, pos, events, rejects); };
  // A data line once the header is known, up to 2 KiB (nearly all): split in one pass.
  // Headers, long lines and the last, incomplete line go to decode_line.
  auto split_line = [&](size_t pos, const SourcePos& at) -> size_t {
    const char* p = data.data() + pos;
    if (!split_ || !have_fields_ || *p == '#') return 0;
    const char* nl = split_(p, data_end, sep_, seps_);
    if (nl == nullptr) return 0;
    const char* e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    if (e > p) DecodeSplitLine(std::string_view(p, static_cast<size_t>(e - p)), at, events, rejects);
    return static_cast<size_t>(nl + 1 - p);
  };
  return ForEachLineWithFastPath(data, start, at_end, rejects, split_line, decode_line);
}

}  // namespace vigil::ingest::zeek
