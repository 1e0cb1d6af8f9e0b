// Stable storage for the few strings a decoder has to build rather than view in its input:
// a JSON string with escapes, unescaped, and a JSON array of several elements joined with
// ','. Event strings must outlive the decoder (the pipeline drops a file's decoder when it
// opens the next file, while that file's events may still wait in the reorder window), so
// the storage lives for the process and is shared by every decoder. Equal strings are
// stored once (the same escaped user agent or answer list recurs all day).
//
// Bounded: at most kMaxBuiltStringBytes in all; past it Intern returns nullopt and the
// caller hands on the raw JSON text instead (documented in zeek_json.h). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::ingest::zeek {

inline constexpr size_t kMaxBuiltStringBytes = 64u << 20;  // 64 MiB per process

// A view of a process-lifetime copy of `s` (the same view for equal strings), or nullopt
// once kMaxBuiltStringBytes are used.
std::optional<std::string_view> InternBuiltString(std::string_view s);

struct BuiltStringStats {
  size_t bytes = 0;        // stored so far
  uint64_t fallbacks = 0;  // strings refused because of the cap
};
BuiltStringStats GetBuiltStringStats();

}  // namespace vigil::ingest::zeek
