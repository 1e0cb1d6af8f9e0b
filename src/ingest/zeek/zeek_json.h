// zeek-json: Zeek's JSON logs (LogAscii::use_json=T), one object a line:
//   {"ts":1599755438.238535,"uid":"CyivES1Hf4PlG8GaWe","id.orig_h":"192.168.1.194",...}
//
// JSON logs carry no #path, so each record's log type is inferred from the fields it has
// (InferLogType in zeek_record.h). Both key styles are read: flat "id.orig_h" keys and a
// nested "id":{"orig_h":...} object. ts may be epoch seconds (a number) or an ISO 8601
// string (Zeek's JSON::TS_ISO8601).
//
// Speed: Zeek writes one canonical form (no whitespace, flat keys, arrays of scalars, the
// odd "id" object). A strict scanner for exactly that subset of JSON reads each line in one
// pass, with SIMD scans over the padded chunk (a string's closing quote 32 bytes at a time),
// and finds the line's end itself. Zeek writes
// a log's keys in one order, leaving unset fields out, so each key is predicted from the
// keys of the lines before (one 32-byte compare; LookupField when the guess is wrong), and
// numbers are measured on a digit mask. In front of it, for the flat lines that are nearly
// all of a log (no nested object, no escape, control or non-ASCII byte), the flat-line
// scanner classifies the whole line first, 64 bytes at a time (AVX-512 or AVX2,
// line_masks.h): its commas outside strings, quotes and digits as bitmasks. Every field's
// extent is then known before any field is read, so the fields are checked one after the
// other without each waiting on the scan of the one before, and strings and plain numbers
// are checked on the masks. Either scanner accepts a line only if it is valid JSON inside
// that subset; anything else (whitespace, escapes, non-ASCII bytes, other nesting,
// malformed text) goes to one reused simdjson On-Demand parser, parsed in place through a
// padded view (the chunk's kReadPadding bytes), whose fields are walked once with a switch
// on the key (LookupField). simdjson also decides the reject code for malformed lines, so
// both paths give the same events and rejects.
//
// Strings are views into the input when the JSON text has no escapes (nearly always). A
// string with escapes, and an array with more than one element (joined with ','), must be
// built: those go to process-lifetime, deduplicated storage (built_strings.h), so they
// outlive both the chunk and the decoder. Past that storage's cap, or for an array of more
// than 32 elements, the raw JSON text is handed on instead (still escaped; for an array its
// text between the first and last element's quotes).
//
// Rejects: "bad-json" (not a JSON object, or malformed), "too-deep" (nesting beyond
// kMaxJsonDepth), "bad-timestamp", "bad-address", "bad-number" (see BuildEvent), "too-long"
// (a line over kMaxRecordBytes), and "unsupported-log" once per input for the first record
// of a log type that makes no events (weird, notice, ssh ...); later ones are skipped.
#pragma once

#include <memory>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/zeek/zeek_record.h"

namespace vigil::ingest::zeek {

class ZeekJsonDecoder : public Decoder {
 public:
  // `fast_path`: try the canonical-form scanner first (see above); false sends every line
  // through simdjson, which tests use to check that both paths agree.
  explicit ZeekJsonDecoder(bool fast_path = true);
  ~ZeekJsonDecoder() override;
  std::string_view format() const override { return "zeek-json"; }
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override;

  // Lines by the path that read them (see above), for tests and benchmarks.
  struct PathCounts {
    uint64_t flat = 0;       // the flat-line scanner
    uint64_t canonical = 0;  // the canonical-form scanner
    uint64_t simdjson = 0;   // simdjson, including the lines it rejects
  };
  PathCounts paths() const;

 private:
  // The simdjson parser lives in the .cc file, which alone includes simdjson.h
  // (so it alone decides which simdjson kernel the On-Demand code is compiled for).
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The deepest nesting of arrays and objects in `json` (0 for a scalar), counting only
// brackets outside strings. Linear, no recursion: used to tell "too-deep" from "bad-json".
size_t JsonNestingDepth(std::string_view json);

}  // namespace vigil::ingest::zeek
