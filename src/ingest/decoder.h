// Decoder: turns the bytes of one input into events and rejects.
//
// One Decoder instance serves one input (a file, a followed file, a Kafka partition) and
// may keep state across calls (Zeek's #fields header, for example). The reader hands it
// chunks of the (decompressed) input; the decoder consumes whole records and returns how
// many bytes it used, so an incomplete last record is offered again with more bytes.
//
// Decoders parse untrusted input: they never throw, abort or assert on bad bytes
// (STYLE.md rule 11). A bad record becomes a Reject with its line, byte offset, a short
// code and a snippet, and decoding goes on with the next record.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace vigil::ingest {

// Caps shared by all decoders (STYLE.md rule 12). Each has a test.
inline constexpr size_t kMaxRecordBytes = 1 << 20;  // one line / one JSON record: 1 MiB
inline constexpr size_t kMaxJsonDepth = 64;         // nesting depth we accept in a record
inline constexpr size_t kMaxSnippetBytes = 120;     // bytes of a bad record kept in reports
// Every chunk handed to Decode is followed in memory by at least this many readable bytes
// (their values are unspecified), so JSON decoders can give simdjson a padded view
// (simdjson::padded_string_view(data, len, len + kReadPadding)) without copying.
inline constexpr size_t kReadPadding = 64;

struct Reject {
  uint32_t input = 0;
  uint64_t line = 0;    // 1-based; 0 when not line-oriented
  uint64_t offset = 0;  // byte offset of the record in the decompressed input
  std::string code;     // short machine-readable reason: "bad-timestamp", "too-long" ...
  std::string reason;   // one sentence for a person
  std::string snippet;  // the first kMaxSnippetBytes of the record, as read
};

// Makes a Reject with a snippet cut to kMaxSnippetBytes.
Reject MakeReject(const SourcePos& pos, std::string code, std::string reason,
                  std::string_view record);

// Where a chunk starts in its input.
struct ChunkStart {
  uint32_t input = 0;
  uint64_t line = 1;    // line number of the chunk's first byte
  uint64_t offset = 0;  // byte offset of the chunk's first byte
};

class Decoder {
 public:
  virtual ~Decoder() = default;

  // The registered format name ("zeek-tsv", "cloudtrail" ...).
  virtual std::string_view format() const = 0;

  // Decodes whole records at the front of `data`. Appends events (whose string views point
  // into `data`: they are valid while `data` is) to `events` and bad records to `rejects`.
  // Returns the number of bytes consumed. When `at_end` is true no more bytes will come, and
  // the decoder must consume everything (an incomplete tail then becomes a reject).
  // Not thread-safe: one thread drives one decoder.
  virtual size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                        std::vector<Event>& events, std::vector<Reject>& rejects) = 0;

  // True for formats where a chunk must hold the whole file (a CloudTrail
  // {"Records":[...]} object, a Graph page): the reader then reads each file whole, up to
  // kMaxDocumentBytes, instead of streaming it in chunks.
  virtual bool needs_whole_document() const { return false; }

  // True for formats whose decoding costs about as much as everything after it, so that a
  // replay gains by decoding them on a thread of their own, a few chunks ahead
  // (engine.decode_ahead): JSON records of a kilobyte with nested objects (CloudTrail).
  // False where moving each event from one core to another costs more than decoding it
  // there: flat records of a few hundred bytes (Zeek logs, measured slower ahead).
  virtual bool decode_ahead_pays() const { return false; }
};

inline constexpr size_t kMaxDocumentBytes = 256u << 20;  // a whole-file document: 256 MiB

// Helper for line-oriented formats: splits on '\n', strips a trailing '\r', skips empty
// lines, rejects lines over kMaxRecordBytes, and hands each line with its position to
// `on_line`. Returns bytes consumed (up to and including the last complete line; the whole
// input when at_end, where an unterminated last line is still a line).
size_t ForEachLine(std::string_view data, const ChunkStart& start, bool at_end,
                   std::vector<Reject>& rejects,
                   const std::function<void(std::string_view line, const SourcePos& pos)>& on_line);

// ForEachLine on the one line that starts at data[pos], numbered `line`: for decoders that
// read most lines their own faster way and hand the others (headers, over-long lines, the
// incomplete last line) over one at a time. Returns the bytes consumed; 0 for a last line
// that is not complete yet.
size_t ForNextLine(std::string_view data, size_t pos, const ChunkStart& start, uint64_t line, bool at_end,
                   std::vector<Reject>& rejects,
                   const std::function<void(std::string_view line, const SourcePos& pos)>& on_line);

// The line loop of such a decoder. `fast(pos, at)` tries the line that starts at data[pos]
// (its position `at`) and returns the bytes it consumed, newline included, or 0 to hand the
// line to ForNextLine and `on_line`. Returns the bytes consumed, as Decoder::Decode does.
template <typename Fast>
size_t ForEachLineWithFastPath(std::string_view data, const ChunkStart& start, bool at_end,
                               std::vector<Reject>& rejects, Fast&& fast,
                               const std::function<void(std::string_view line, const SourcePos& pos)>& on_line) {
  size_t pos = 0;
  uint64_t line = start.line;
  while (pos < data.size()) {
    size_t used = fast(pos, SourcePos{start.input, line, start.offset + pos});
    if (used == 0) used = ForNextLine(data, pos, start, line, at_end, rejects, on_line);
    if (used == 0) break;  // the incomplete last line, not yet complete
    pos += used;
    ++line;
  }
  return pos;
}

}  // namespace vigil::ingest
