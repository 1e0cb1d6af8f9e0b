// Suricata eve.json decoder ("suricata-eve"): one JSON object a line, as Suricata's
// eve-log output writes it, into the same typed events as the Zeek decoders so every model
// works from either sensor.
//
// event_type -> Event:
//   flow     -> kFlow  (FlowBody: bytes/pkts to server/client, state, app_proto, duration)
//   http     -> kHttp  (HttpBody: hostname, url, user agent, content type, status, length)
//   dns      -> kDns   (DnsBody: rrname, rrtype, rcode, answers joined with ','); Suricata
//                      logs queries and answers as separate records, both become events
//   tls      -> kTls   (TlsBody: sni, version, subject, issuerdn, ja3 hash)
//   fileinfo -> kFile  (FileBody: filename, magic or else the HTTP content type, size,
//                      hashes); the tuple is put back in connection order (see below)
//   alert    -> kIdsAlert (IdsAlertBody: signature, sid, rev, category, severity, action)
// Any other event_type (stats, anomaly, netflow, ssh ...) is not an event: it is counted as
// one "unsupported-event-type" reject per input per type (with the first line it was seen
// on), not one per line, so a stats-heavy file does not flood the dead-letter file.
//
// Mapping conventions:
//   - uid is flow_id as written (decimal text), so http/dns/tls/fileinfo/alert events link to
//     their flow like Zeek's uid;
//   - time is "timestamp" (ISO 8601 with offset), except flow records, whose time is
//     flow.start (like Zeek conn.ts: when the connection began) when present;
//   - src_* / dest_* become orig_* / resp_*; Suricata writes fileinfo records in the
//     direction the file travelled, so when the source port is the HTTP port (or, without an
//     HTTP port, is the lower of two ports) the tuple is swapped back to client -> server and
//     FileBody::is_orig is false (a download); otherwise is_orig is true (an upload).
//
// Errors (each a Reject with line and byte offset): "bad-json" (does not parse, or not an
// object), "too-deep" (nesting beyond kMaxJsonDepth), "missing-field" (no event_type or
// timestamp), "bad-timestamp", "bad-address" (src_ip/dest_ip missing or not an address on a
// record that needs them), "bad-number" (a port, count or sid out of range),
// "unsupported-event-type", plus ForEachLine's "too-long".
//
// Strings are views into the input; a JSON string with escapes, and joined DNS answers, go
// to a process-lifetime arena shared by every eve decoder (deduplicated, thread-safe,
// capped at kMaxEveArenaBytes; past the cap the raw escaped text / first answer is handed
// out), because the pipeline may drop a decoder while its events are still held. Steady state allocates nothing per record. Never throws.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_set.h>
#include <simdjson.h>

#include "ingest/decoder.h"
#include "ingest/json_unescape.h"

namespace vigil::ingest::suricata {

inline constexpr size_t kMaxEveArenaBytes = 16u << 20;  // unescaped/joined strings: 16 MiB

// Append-only, deduplicated string storage with stable addresses, capped at max_bytes.
// Intern is thread-safe (one mutex; called only for escaped strings and joined answers).
class EveArena {
 public:
  explicit EveArena(size_t max_bytes = kMaxEveArenaBytes) : max_bytes_(max_bytes) {}
  // A view of a copy of `s` living as long as the arena; false (out untouched) past the cap.
  bool Intern(std::string_view s, std::string_view& out);
  size_t bytes() const { return bytes_; }
  // The process-lifetime arena every EveDecoder uses.
  static EveArena& Shared();

 private:
  std::mutex mu_;
  static constexpr size_t kBlockBytes = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = kBlockBytes;
  size_t block_size_ = kBlockBytes;
  size_t bytes_ = 0;
  size_t max_bytes_;
  absl::flat_hash_set<std::string_view> set_;
};

// Unescapes the inside of a JSON string token (no quotes) into `out`. False on a bad escape.
using ::vigil::ingest::UnescapeJsonString;  // ingest/json_unescape.h

// What ParseEveLine found besides the event.
enum class EveOutcome : uint8_t {
  kEvent,        // `ev` is filled (time, kind, uid, net, body; not pos or raw)
  kUnsupported,  // a well-formed record of an event type Vigil does not read
  kError,        // bad record: code and reason say why
};

struct EveParse {
  EveOutcome outcome = EveOutcome::kError;
  std::string_view event_type;  // as written (valid while the line is)
  const char* code = nullptr;   // reject code when kError
  const char* reason = nullptr;
};

class EveDecoder : public Decoder {
 public:
  EveDecoder();
  std::string_view format() const override { return "suricata-eve"; }
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override;

  // Parses one eve.json line (which must be followed in memory by kReadPadding readable
  // bytes, as every line inside a Decode chunk is). Pure apart from the arena and the
  // reusable parser; exposed for tests and benchmarks.
  EveParse ParseEveLine(std::string_view line, Event& ev);

  const EveArena& arena() const { return arena_; }

 private:
  simdjson::ondemand::parser parser_;
  EveArena& arena_ = EveArena::Shared();
  std::string scratch_;
  std::vector<std::string> unsupported_seen_;  // event types already reported, per input
};

// Confidence (0-100) that `head` is eve.json: the first non-blank line is a JSON object with
// an "event_type" key (and usually "timestamp"). Pure.
int SniffEve(std::string_view head, std::string_view path);

}  // namespace vigil::ingest::suricata
