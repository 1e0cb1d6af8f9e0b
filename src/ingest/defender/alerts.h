// Decoder "defender-alerts": Microsoft Graph security alerts (GET /security/alerts_v2).
//
// Accepts, in one input, any mix of
//   - Graph pages: {"@odata.context": ..., "value": [alert, ...], "@odata.nextLink": ...}
//     (pretty-printed or one line), and incident pages whose items carry "alerts" arrays
//     (GET /security/incidents?$expand=alerts);
//   - JSON lines of single alert objects.
// Each alert becomes one kEdrAlert event with an EdrAlertBody.
//
// Event time: lastUpdateDateTime, or createdDateTime when the alert has none. An alert is
// delivered again by Graph each time it changes (status, classification, new evidence);
// ordering by the last update keeps those later states in time order with everything else,
// where createdDateTime would make every update look hours or days "late". The creation and
// activity times are kept in the body for models and the breach text.
//
// Strings are views into the input, or into the decoder's StringArena for unescaped text
// and joined lists (valid while the decoder lives). A page that does not parse is rejected
// whole ("bad-json", with its line and offset); an alert without an id or any parseable
// time is rejected alone ("missing-id", "bad-timestamp") and its neighbours are kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "ingest/decoder.h"
#include "ingest/defender/json_text.h"

namespace vigil::ingest::defender {

// What a page said about itself, for the live poller.
struct AlertsPageInfo {
  bool is_page = false;    // the document had a "value" array
  std::string next_link;   // "@odata.nextLink", empty on the last page
  size_t alerts = 0;       // alert events produced from this document
};

class AlertsDecoder : public Decoder {
 public:
  AlertsDecoder() = default;
  std::string_view format() const override { return "defender-alerts"; }
  bool needs_whole_document() const override { return true; }
  size_t Decode(std::string_view data, const ChunkStart& start, bool at_end,
                std::vector<Event>& events, std::vector<Reject>& rejects) override;

  // Decodes one JSON document (a page or a single alert) at `pos`. `text` must be followed
  // by kReadPadding readable bytes. Returns false (with one reject) when the document as a
  // whole is unusable; bad alerts inside a good page are rejected one by one.
  bool DecodeDocument(std::string_view text, const SourcePos& pos, std::vector<Event>& events,
                      std::vector<Reject>& rejects, AlertsPageInfo* info);

  StringArena& arena() { return arena_; }

 private:
  enum class AlertResult { kOk, kBadAlert, kBroken };
  // Parses one alert object at `at` into an event. kBadAlert: this alert was rejected, the
  // next can be read; kBroken: the JSON breaks off here (rejected), nothing after is usable.
  AlertResult DecodeAlert(simdjson::ondemand::object obj, std::string_view doc, const SourcePos& doc_pos,
                   const char* at, std::vector<Event>& events, std::vector<Reject>& rejects);
  void DecodeEvidence(std::string_view evidence, EdrAlertBody& body);

  simdjson::ondemand::parser parser_;
  simdjson::ondemand::parser evidence_parser_;
  StringArena arena_;
};

// Sniffer confidence (0-100) that `head` is Graph alerts.
int SniffDefenderAlerts(std::string_view head, std::string_view path);

}  // namespace vigil::ingest::defender
