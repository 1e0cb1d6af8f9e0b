#include "ingest/defender/json_text.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace vigil::ingest::defender {

bool StringArena::Intern(std::string_view s, std::string_view& out) {
  if (auto it = set_.find(s); it != set_.end()) {
    out = *it;
    return true;
  }
  if (bytes_ + s.size() > max_bytes_) {
    full_ = true;
    return false;
  }
  if (block_used_ + s.size() > block_size_) {
    block_size_ = std::max(kBlockBytes, s.size());
    blocks_.push_back(std::make_unique<char[]>(block_size_));
    block_used_ = 0;
  }
  char* p = blocks_.back().get() + block_used_;
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  block_used_ += s.size();
  bytes_ += s.size();
  out = std::string_view(p, s.size());
  set_.insert(out);
  return true;
}

namespace {


std::string_view Intern(StringArena& arena, std::string_view unescaped, std::string_view raw) {
  std::string_view out;
  return arena.Intern(unescaped, out) ? out : raw;
}

}  // namespace


std::string_view TextOf(simdjson::ondemand::value v, StringArena& arena) {
  simdjson::ondemand::json_type t;
  if (v.type().get(t)) return {};
  switch (t) {
    case simdjson::ondemand::json_type::null:
      return {};
    case simdjson::ondemand::json_type::string: {
      std::string_view tok;
      tok = v.raw_json_token();
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' ||
                              tok.back() == '\t'))
        tok.remove_suffix(1);
      if (tok.size() < 2 || tok.front() != '"' || tok.back() != '"') return {};
      std::string_view inner = tok.substr(1, tok.size() - 2);
      if (inner.find('\\') == std::string_view::npos) return inner;
      thread_local std::string scratch;
      if (!UnescapeJson(inner, scratch)) return inner;
      return Intern(arena, scratch, inner);
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array a;
      std::string_view raw;
      if (v.get_array().get(a) || a.raw_json().get(raw)) return {};
      return raw;
    }
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object o;
      std::string_view raw;
      if (v.get_object().get(o) || o.raw_json().get(raw)) return {};
      return raw;
    }
    default: {
      std::string_view tok;
      tok = v.raw_json_token();
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' ||
                              tok.back() == '\t'))
        tok.remove_suffix(1);
      return tok;
    }
  }
}

std::string_view JoinArray(simdjson::ondemand::value v, StringArena& arena) {
  simdjson::ondemand::json_type t;
  if (v.type().get(t)) return {};
  if (t != simdjson::ondemand::json_type::array) return TextOf(v, arena);
  simdjson::ondemand::array a;
  if (v.get_array().get(a)) return {};
  thread_local std::string joined;
  joined.clear();
  size_t n = 0;
  std::string_view only;
  for (auto el : a) {
    simdjson::ondemand::value ev;
    if (el.get(ev)) return {};
    std::string_view s = TextOf(ev, arena);
    if (s.empty()) continue;
    if (n++) joined.push_back(',');
    joined.append(s);
    only = s;
  }
  if (n == 0) return {};
  if (n == 1) return only;  // already a stable view
  return Intern(arena, joined, {});
}

size_t ForEachJsonValue(std::string_view data, const ChunkStart& start, bool at_end,
                        size_t max_value_bytes, std::vector<Reject>& rejects,
                        const std::function<void(const JsonValueSpan&)>& on_value) {
  size_t pos = 0;
  uint64_t line = start.line;
  const size_t n = data.size();
  while (pos < n) {
    // Skip whitespace between values, counting lines.
    char c = data[pos];
    if (c == '\n') {
      ++line;
      ++pos;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
      ++pos;
      continue;
    }
    SourcePos vpos{start.input, line, start.offset + pos};
    if (c != '{' && c != '[') {
      // Garbage between values: reject up to the end of the line.
      const char* nl = static_cast<const char*>(std::memchr(data.data() + pos, '\n', n - pos));
      if (nl == nullptr && !at_end) return pos;
      size_t end = nl ? static_cast<size_t>(nl - data.data()) : n;
      rejects.push_back(MakeReject(vpos, "not-json",
                                   "text that is not a JSON object between records",
                                   data.substr(pos, end - pos)));
      pos = end;
      continue;
    }
    // Scan to the matching bracket, outside strings.
    size_t i = pos;
    int depth = 0;
    bool in_string = false;
    uint64_t lines_inside = 0;
    size_t end = std::string_view::npos;
    bool broken_string = false;
    for (; i < n; ++i) {
      if (i - pos >= max_value_bytes) break;
      char d = data[i];
      if (in_string) {
        if (d == '\\') {
          ++i;
        } else if (d == '"') {
          in_string = false;
        } else if (d == '\n') {
          // A raw newline cannot be inside a JSON string: the record is broken here.
          broken_string = true;
          end = i;
          break;
        }
        continue;
      }
      if (d == '"') {
        in_string = true;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) {
          end = i + 1;
          break;
        }
      } else if (d == '\n') {
        ++lines_inside;
      }
    }
    if (broken_string) {
      rejects.push_back(MakeReject(vpos, "bad-json", "a string runs past the end of its line",
                                   data.substr(pos, end - pos)));
      line += lines_inside + 1;
      pos = end + 1;
      continue;
    }
    if (end == std::string_view::npos) {
      if (i - pos >= max_value_bytes) {
        // Too long: reject and resynchronise at the next line that starts a value.
        rejects.push_back(MakeReject(vpos, "too-long",
                                     "JSON value longer than the cap of " +
                                         std::to_string(max_value_bytes) + " bytes",
                                     data.substr(pos, kMaxSnippetBytes)));
        size_t skip = pos + 1;
        while (true) {
          const char* nl = static_cast<const char*>(std::memchr(data.data() + skip, '\n', n - skip));
          if (nl == nullptr) {
            if (!at_end) return pos;  // wait for more; the reader enforces its own caps
            skip = n;
            break;
          }
          skip = static_cast<size_t>(nl - data.data()) + 1;
          ++line;
          if (skip < n && (data[skip] == '{' || data[skip] == '[')) break;
        }
        pos = skip;
        continue;
      }
      if (!at_end) return pos;  // not yet complete
      rejects.push_back(MakeReject(vpos, "truncated",
                                   "the input ends inside a JSON value", data.substr(pos)));
      return n;
    }
    on_value(JsonValueSpan{data.substr(pos, end - pos), vpos});
    line += lines_inside;
    pos = end;
  }
  return pos;
}

size_t ValueExtent(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char d = text[i];
    if (in_string) {
      if (d == '\\') ++i;
      else if (d == '"') in_string = false;
      continue;
    }
    if (d == '"') {
      in_string = true;
    } else if (d == '{' || d == '[') {
      ++depth;
    } else if ((d == '}' || d == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return text.size();
}

SourcePos PosWithin(std::string_view outer, const SourcePos& outer_pos, const char* inner) {
  SourcePos p = outer_pos;
  if (inner < outer.data() || inner > outer.data() + outer.size()) return p;
  size_t off = static_cast<size_t>(inner - outer.data());
  p.offset += off;
  p.line += static_cast<uint64_t>(std::count(outer.data(), inner, '\n'));
  return p;
}

const char* JsonErrorCode(simdjson::error_code e) {
  switch (e) {
    case simdjson::DEPTH_ERROR:
      return "too-deep";
    case simdjson::INCORRECT_TYPE:
      return "wrong-type";
    case simdjson::NO_SUCH_FIELD:
      return "missing-field";
    case simdjson::UTF8_ERROR:
      return "bad-utf8";
    case simdjson::CAPACITY:
      return "too-long";
    default:
      return "bad-json";
  }
}

}  // namespace vigil::ingest::defender
