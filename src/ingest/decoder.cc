#include "ingest/decoder.h"

#include <cstring>

namespace vigil::ingest {

Reject MakeReject(const SourcePos& pos, std::string code, std::string reason,
                  std::string_view record) {
  Reject r;
  r.input = pos.input;
  r.line = pos.line;
  r.offset = pos.offset;
  r.code = std::move(code);
  r.reason = std::move(reason);
  std::string_view s = record.substr(0, kMaxSnippetBytes);
  r.snippet.reserve(s.size());
  for (char c : s) r.snippet.push_back((c >= 0x20 && c < 0x7f) || c == '\t' ? c : '?');
  return r;
}

size_t ForEachLine(std::string_view data, const ChunkStart& start, bool at_end,
                   std::vector<Reject>& rejects,
                   const std::function<void(std::string_view, const SourcePos&)>& on_line) {
  size_t pos = 0;
  uint64_t line = start.line;
  while (pos < data.size()) {
    const char* nl = static_cast<const char*>(std::memchr(data.data() + pos, '\n', data.size() - pos));
    size_t end;
    if (nl == nullptr) {
      // An incomplete last line is "not yet complete", not corruption (STYLE.md rule 13).
      // A line that never ends is the reader's to cut: it knows how much is buffered.
      if (!at_end) return pos;
      end = data.size();
    } else {
      end = static_cast<size_t>(nl - data.data());
    }
    std::string_view l = data.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    SourcePos sp{start.input, line, start.offset + pos};
    if (l.size() > kMaxRecordBytes) {
      rejects.push_back(MakeReject(sp, "too-long", "line longer than the 1 MiB cap", l));
    } else if (!l.empty()) {
      on_line(l, sp);
    }
    pos = nl ? end + 1 : end;
    ++line;
  }
  return pos;
}

size_t ForNextLine(std::string_view data, size_t pos, const ChunkStart& start, uint64_t line, bool at_end,
                   std::vector<Reject>& rejects,
                   const std::function<void(std::string_view, const SourcePos&)>& on_line) {
  const char* p = data.data() + pos;
  const void* nl = std::memchr(p, '\n', data.size() - pos);
  const size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) + 1 - p) : data.size() - pos;
  return ForEachLine(std::string_view(p, len), ChunkStart{start.input, line, start.offset + pos},
                     nl != nullptr || at_end, rejects, on_line);
}

}  // namespace vigil::ingest
