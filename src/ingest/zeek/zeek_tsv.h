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
// Rejects (code, then when): "no-header" a data line before any #fields; "short-line"
// fewer columns than #fields names; "bad-timestamp", "bad-address", "bad-number" (see
// BuildEvent); "too-long" a line over kMaxRecordBytes; "unsupported-log" once per input for
// the first data line of a log type that makes no events (weird, notice, ssh ...), whose
// lines are then skipped.
#pragma once

#include <string>
#include <vector>

#include "ingest/decoder.h"
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
};

}  // namespace vigil::ingest::zeek
