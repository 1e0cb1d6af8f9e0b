// Breach: the record a model emits when behaviour departs from what was learned.
//
// Field names follow ARCHITECTURE.md "Records that leave the process" and are a contract:
// additions are fine, renames are not. A breach owns all its strings (it outlives the
// events that triggered it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event.h"
#include "core/status.h"

namespace vigil::detect {

struct EntityInfo {
  std::string type;  // "device", "external", "identity"
  std::string id;
  std::string name;
  bool empty() const { return id.empty(); }
};
EntityInfo ToEntityInfo(const EntityRef& ref);

// A pointer back to one triggering event: enough to find the raw record again.
struct EventRef {
  std::string input;   // the input's path or name (filled by the pipeline from pos.input)
  uint32_t input_index = 0;
  uint64_t line = 0;
  uint64_t offset = 0;
  Micros time = 0;
  std::string kind;    // EventKindName
  std::string uid;     // Zeek uid, CloudTrail eventID, alert id
  std::string summary; // one line: "10.0.0.5:51234 -> 1.2.3.4:443/tcp 3.2 KB"
};
// Builds a reference (with a summary line) for an event; input name is left empty.
EventRef MakeEventRef(const Event& e);
// Appends the event's one-line summary (EventRef::summary) to `s`, leaving what `s` held
// before untouched: the event log writes it straight into a batch of rows.
void AppendEventSummary(std::string& s, const Event& e);

struct Breach {
  std::string id;      // deterministic: a hash of model, entity, time and triggering event
  Micros time = 0;     // event time of the triggering event
  std::string model;   // canonical model name, "network/beaconing"
  int score = 0;       // 0-100
  EntityInfo entity;
  std::optional<EntityInfo> peer;
  std::vector<std::string> reasons;  // plain sentences with the numbers behind them
  std::vector<EventRef> events;
  std::vector<std::string> mitre;    // ATT&CK technique ids, "T1071.001"
  // Additions to the contract.
  nlohmann::json details = nlohmann::json::object();  // model-specific facts (period, ...)
  bool weak = false;           // below the model's threshold: a weak signal for the analyst
  std::string suppressed_by;   // an allow-list entry's reason, when one suppressed it
};

// Fills `id` from model, entity, time and the first event reference.
void AssignBreachId(Breach& b);

nlohmann::json BreachToJson(const Breach& b);
// Parses a breach written by BreachToJson. Unknown fields are ignored.
Result<Breach> BreachFromJson(const nlohmann::json& j);

}  // namespace vigil::detect
