// Registers zeek-tsv and zeek-json with the format registry, and their sniff functions.
#include <memory>

#include "ingest/registry.h"
#include "ingest/zeek/zeek_json.h"
#include "ingest/zeek/zeek_sniff.h"
#include "ingest/zeek/zeek_tsv.h"

namespace vigil::ingest::zeek {

namespace {

bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

}  // namespace

int SniffZeekTsv(std::string_view head, std::string_view /*path*/) {
  if (head.size() >= 3 && static_cast<unsigned char>(head[0]) == 0xEF &&
      static_cast<unsigned char>(head[1]) == 0xBB && static_cast<unsigned char>(head[2]) == 0xBF)
    head.remove_prefix(3);  // a UTF-8 byte order mark from an editor
  return head.substr(0, 10) == "#separator" ? 100 : 0;
}

int SniffZeekJson(std::string_view head, std::string_view /*path*/) {
  size_t i = 0;
  while (i < head.size() &&
         (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
    ++i;
  if (i >= head.size() || head[i] != '{') return 0;
  size_t nl = head.find('\n', i);
  std::string_view line = head.substr(i, nl == std::string_view::npos ? head.size() - i : nl - i);
  if (Contains(line, "\"event_type\"") || Contains(line, "\"eventVersion\"") ||
      Contains(line, "\"Records\"") || Contains(line, "\"eventSource\""))
    return 0;
  if (!Contains(line, "\"ts\"")) return 0;
  bool conn_like =
      Contains(line, "\"uid\"") && (Contains(line, "\"id.orig_h\"") || Contains(line, "\"id\":{") ||
                                    Contains(line, "\"id\": {"));
  bool files_like = Contains(line, "\"fuid\"");
  return conn_like || files_like ? 90 : 0;
}

VIGIL_REGISTER_FORMAT(FormatInfo{
    "zeek-tsv",
    "Zeek ASCII (TSV) logs: conn, http, dns, ssl, files",
    [] { return std::unique_ptr<Decoder>(new ZeekTsvDecoder()); },
    SniffZeekTsv,
});

VIGIL_REGISTER_FORMAT(FormatInfo{
    "zeek-json",
    "Zeek JSON logs (one object a line): conn, http, dns, ssl, files",
    [] { return std::unique_ptr<Decoder>(new ZeekJsonDecoder()); },
    SniffZeekJson,
});

}  // namespace vigil::ingest::zeek
