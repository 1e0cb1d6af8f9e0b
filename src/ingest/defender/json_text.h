// Shared plumbing of the Defender decoders: splitting a byte stream into top-level JSON
// values, and turning JSON string tokens into string_views that outlive the simdjson parser.
//
// Events hold string_views (core/event.h). A JSON string without escapes is handed out as a
// view into the input itself (zero copy). A string with escapes (every Windows path:
// "C:\\Windows") must be unescaped somewhere; it is interned in the decoder's StringArena,
// which lives as long as the decoder. The arena is capped (kMaxArenaBytes): past the cap an
// escaped string is handed out in its raw, still-escaped form rather than growing memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_set.h>
#include <simdjson.h>

#include "ingest/decoder.h"
#include "ingest/json_unescape.h"

namespace vigil::ingest::defender {

inline constexpr size_t kMaxArenaBytes = 64u << 20;  // interned strings per decoder: 64 MiB

// An append-only, deduplicating store of strings with stable addresses.
// Not thread-safe; owned by one decoder.
class StringArena {
 public:
  explicit StringArena(size_t max_bytes = kMaxArenaBytes) : max_bytes_(max_bytes) {}
  StringArena(const StringArena&) = delete;
  StringArena& operator=(const StringArena&) = delete;

  // A view of a copy of `s` that lives as long as the arena, or nullopt-like empty view
  // with ok=false when the cap is reached.
  bool Intern(std::string_view s, std::string_view& out);
  size_t bytes() const { return bytes_; }
  bool full() const { return full_; }

 private:
  static constexpr size_t kBlockBytes = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = kBlockBytes;
  size_t block_size_ = kBlockBytes;
  size_t bytes_ = 0;
  size_t max_bytes_;
  bool full_ = false;
  absl::flat_hash_set<std::string_view> set_;
};

// Unescapes the inside of a JSON string token (without its quotes) into `out`.
// Returns false on a bad escape (the caller then keeps the raw text).
inline bool UnescapeJson(std::string_view escaped, std::string& out) {
  return UnescapeJsonString(escaped, out);  // ingest/json_unescape.h
}

// The text of a JSON value as a view that outlives the parser: strings unescaped (into the
// arena when they carry escapes), numbers and booleans as written, null and missing as "".
// Arrays and objects give their raw JSON text. Never throws.
std::string_view TextOf(simdjson::ondemand::value v, StringArena& arena);

// Joins the string elements of a JSON array with ',' (interned). Non-arrays give TextOf.
std::string_view JoinArray(simdjson::ondemand::value v, StringArena& arena);

// A top-level JSON value found in a byte stream, with its position.
struct JsonValueSpan {
  std::string_view text;  // from its first '{' or '[' to its closing bracket
  SourcePos pos;
};

// Splits `data` into complete top-level JSON objects/arrays (JSON lines, concatenated or
// pretty-printed documents alike) by scanning brackets outside strings. Hands each one to
// `on_value`; bytes between values that are not whitespace become "not-json" rejects. A value
// longer than `max_value_bytes` is rejected ("too-long") and skipped. Returns the bytes
// consumed: up to the end of the last complete value, or everything when at_end (an
// unterminated value then becomes a "truncated" reject).
size_t ForEachJsonValue(std::string_view data, const ChunkStart& start, bool at_end,
                        size_t max_value_bytes, std::vector<Reject>& rejects,
                        const std::function<void(const JsonValueSpan&)>& on_value);

// Length of the JSON object/array that starts at text[0] (brackets matched outside
// strings), or text.size() when it does not close within `text`.
size_t ValueExtent(std::string_view text);

// Line and offset of `inner` (a view inside `outer`, which starts at `outer_pos`).
SourcePos PosWithin(std::string_view outer, const SourcePos& outer_pos, const char* inner);

// A padded simdjson view of `text`, which must be followed in memory by at least
// kReadPadding readable bytes (true of any view inside a chunk handed to Decode).
inline simdjson::padded_string_view Padded(std::string_view text) {
  return simdjson::padded_string_view(text.data(), text.size(), text.size() + kReadPadding);
}

// The simdjson error as a short reject code: "bad-json", "too-deep" ...
const char* JsonErrorCode(simdjson::error_code e);

}  // namespace vigil::ingest::defender
