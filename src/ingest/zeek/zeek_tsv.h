// zeek-tsv: Zeek's ASCII log writer format (the default "conn.log" you find on a sensor).
//
//   #separator \x09           the field separator, with \xNN escapes
//   #set_separator ,          separates elements of set/vector fields
//   #empty_field (empty)      an empty set or string
//   #unset_field -            no value
//   #path conn                the log type
//   #fields ts uid id.orig_h ...   column names (located once per header, not per line)
//   #types  time string addr ...
//   <data lines>
//   #close 2022-06-17-00-00-07
//
// A new #separator line (logs concatenated with cat) starts a new header block and resets
// everything. Columns are located by name, so extra columns (Stratosphere's "label",
// "detailedlabel") and reordered ones are fine. Set fields (answers, resp_mime_types,
// tx_hosts) are handed on as written, elements joined by #set_separator. String values are
// the text as written: Zeek's \xNN escapes are not undone.
//
// Speed: a data line's separators are marked in one pass, 64 bytes at a time (AVX-512 or
// AVX2, line_masks.h), and its columns read off that mask, instead of a search per column
// that waits on the one before. Headers, lines over 2 KiB and the last, incomplete line go
// through ForEachLine and DecodeLine.
//
// Rejects (code, then when): "no-header" a data line before any #fields; "short-line"
// fewer columns than #fields names; "bad-timestamp", "bad-address", "bad-number" (see
// BuildEvent); "too-long" a line over kMaxRecordBytes; "unsupported-log" once per input for
// the first data line of a log type that makes no events (weird, notice, ssh ...), whose
// lines are then skipped.
#pragma once

#include <string>
#include <vector>

#include "ingest/decoder.h"
#include "ingest/zeek/line_masks.h"
#include "ingest/zeek/zeek_record.h"

namespace vigil::ingest::zeek {

class ZeekTsvDecoder : public Decoder {
 public:
  ZeekTsvDecoder();
  std::string_view format() const override { return "zeek-tsv"; }
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override;

  // Decodes one complete line (no '\n'); header lines update the decoder's state. Exposed
  // so tests and tools can feed lines directly. Same contract as Decode.
  void DecodeLine(std::string_view line, const SourcePos& pos, std::vector<Event>& events,
                  std::vector<Reject>& rejects);

  LogType log_type() const { return type_; }

 private:
  void ResetHeader();
  void OnHeaderLine(std::string_view line);
  // A data line: false (with the reject, if any) when the header says it makes no event.
  bool TakesDataLines(std::string_view line, const SourcePos& pos, std::vector<Reject>& rejects);
  // Column `col`'s value [p, q) into fields_, unless unset or the column is not read.
  void TakeColumn(size_t col, const char* p, const char* q);
  // After the split: the record's event, or its reject (`cols` columns were found).
  void Finish(std::string_view line, const SourcePos& pos, size_t cols, std::vector<Event>& events,
              std::vector<Reject>& rejects);
  // A data line of at most LineMasks::kMaxWords * 64 bytes, split on seps_ (marked by
  // split_ in one pass over the line) instead of a search per column.
  void DecodeSplitLine(std::string_view line, const SourcePos& pos, std::vector<Event>& events,
                       std::vector<Reject>& rejects);

  char sep_ = '\t';
  char set_sep_ = ',';
  std::string empty_field_ = "(empty)";
  std::string unset_field_ = "-";
  LogType path_type_ = LogType::kUnknown;  // from #path
  LogType type_ = LogType::kUnknown;       // the type in force for data lines
  std::vector<Field> columns_;             // Field of each #fields column
  bool have_fields_ = false;
  bool unsupported_reported_ = false;
  RecordFields fields_;
  SplitLineFn split_ = SimdSplitLine();  // null: every line through DecodeLine
  uint64_t seps_[LineMasks::kMaxWords];
};

}  // namespace vigil::ingest::zeek
