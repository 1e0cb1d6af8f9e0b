// Decoder "defender-hunting": Microsoft Defender Advanced Hunting rows.
//
// Accepts, in one input, any mix of
//   - rows as JSON lines (an Advanced Hunting query exported as JSON, one row a line);
//   - the streaming API envelope {"records":[{"time":..., "category":
//     "AdvancedHunting-DeviceProcessEvents", "properties":{...}}]} (Event Hub messages) and
//     single records of it (storage-account blobs, one record a line);
//   - OData pages {"value":[...]} of rows, such as the Defender for Endpoint export
//     GET /api/machines/SoftwareVulnerabilitiesByMachine (camelCase columns).
// Column names are matched case-insensitively.
//
// Tables and the events they become:
//   DeviceInfo                        -> kDeviceInfo    (DeviceInfoBody)
//   DeviceNetworkInfo                 -> kDeviceNetwork (DeviceNetworkBody)
//   DeviceTvmSoftwareVulnerabilities  -> kVulnerability (VulnerabilityBody)
//   DeviceProcessEvents               -> kProcess       (ProcessBody; the parent is the
//                                                       InitiatingProcess* columns)
//   DeviceFileEvents                  -> kFileActivity  (FileActivityBody)
// The table is the record's category (or a Type/$table/TableName column); a bare row is
// recognised from its columns (CveId, IPAddresses, OSPlatform, ActionType ProcessCreated /
// File*). Rows of other tables are rejected as "unsupported-table" so they are counted.
//
// Event time: the row's Timestamp, else the record's "time", else lastSeenTimestamp (the
// vulnerability export). Vulnerability rows carry no time in Advanced Hunting; they take the
// latest time already seen in this input, and are rejected ("missing-time") when there is
// none yet.
//
// Streams: values may span lines (pretty-printed pages); each is capped at
// kMaxHuntingValueBytes. Strings are views into the input or the decoder's StringArena.
#pragma once

#include <string_view>
#include <vector>

#include <simdjson.h>

#include "ingest/decoder.h"
#include "ingest/defender/json_text.h"

namespace vigil::ingest::defender {

inline constexpr size_t kMaxHuntingValueBytes = 64u << 20;  // one envelope or page: 64 MiB

class HuntingDecoder : public Decoder {
 public:
  std::string_view format() const override { return "defender-hunting"; }
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override;

 private:
  struct Row;
  void DecodeValue(std::string_view text, const SourcePos& pos, std::vector<Event>& events,
                   std::vector<Reject>& rejects);
  // Reads the columns of one row object into `row` (recursing into "properties").
  bool ReadRow(simdjson::ondemand::object obj, Row& row, int depth);
  void EmitRow(Row& row, std::string_view raw, const SourcePos& pos, std::vector<Event>& events,
               std::vector<Reject>& rejects);

  simdjson::ondemand::parser parser_;
  StringArena arena_;
  Micros latest_time_ = 0;
};

int SniffDefenderHunting(std::string_view head, std::string_view path);

}  // namespace vigil::ingest::defender
