// Sniff functions for the two Zeek formats (see FormatInfo::sniff in ingest/registry.h).
#pragma once

#include <string_view>

namespace vigil::ingest::zeek {

// 100 when the input starts with Zeek's "#separator" header line, else 0.
int SniffZeekTsv(std::string_view head, std::string_view path);

// 90 when the first non-empty line is a JSON object with "ts" and either "uid" with an
// "id.orig_h" key or an "id" object, or "fuid" (files.log); 0 for anything else, and always
// 0 for Suricata eve.json ("event_type") and CloudTrail ("eventVersion", "Records").
// Looks at keys textually (no JSON parse): cheap, and it only has to tell formats apart.
int SniffZeekJson(std::string_view head, std::string_view path);

}  // namespace vigil::ingest::zeek
