// Analyst: turns breaches into incidents an analyst can read (ARCHITECTURE.md "analyst/").
//
// Collation. Every breach (and every weak signal, Breach::weak) is handed over in event-time
// order. A breach joins the open incident it is linked to; a breach linked to none opens a
// new one; a breach linked to several merges them into the oldest. Links are shared keys:
//   - the same entity (a device, an identity, an external host) as entity or peer;
//   - the same external peer address (an exploit source the server later calls back to);
//   - an identity acting from a device or an address seen elsewhere (CloudTrail source IP,
//     from the breach details, equal to a device or external peer of another breach);
//   - a Defender device that is the network device (the same entity id after enrichment, or
//     its addresses in the breach details);
//   - one identity touching many resources (the identity is the shared entity).
// A source address or a non-external peer (a bucket, another device) only links to a key
// that something else has as its entity or external peer, so two users behind the same
// corporate egress address, or two identities reading the same bucket, stay apart.
//
// Investigation windows. Weak signals are not incidents. They are kept per entity
// (bounded: kMaxWeakSignalsPerEntity, kMaxWeakSignalEntities) for window_before; a breach
// pulls in its entity's weak signals from that window, and while an incident is open, weak
// signals on its entities up to window_after past its last breach are attached too. Both
// are marked weak in the timeline and do not count as stages for the score.
//
// Incidents grow (never duplicated), their score, title and summary are recomputed from
// their members each time, and they close after quiet_period of event time without a
// breach. Incident ids derive from the first breach id, so a replay gives the same ids.
// Everything runs on event time and is deterministic.
//
// Not thread-safe: one Analyst is owned by one thread (the pipeline's breach sink).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/status.h"
#include "core/time.h"
#include "detect/breach.h"
#include "learn/state_io.h"

namespace vigil::analyst {

// Caps (STYLE.md rule 12); each has a test.
inline constexpr size_t kMaxIncidentMembers = 500;       // breaches + weak signals kept per incident
inline constexpr size_t kMaxIncidentEntities = 64;       // entities listed per incident
inline constexpr size_t kMaxWeakSignalsPerEntity = 16;   // buffered weak signals per entity
inline constexpr size_t kMaxWeakSignalEntities = 20000;  // entities with buffered weak signals
inline constexpr size_t kMaxOpenIncidents = 5000;        // past it the least recent is closed
inline constexpr size_t kMaxClosedIncidents = 2000;      // closed incidents kept for Find
inline constexpr uint64_t kMaxSavedIncidents = 100000;   // Load rejects counts above this

struct TimelineEntry {
  Micros time = 0;
  std::string text;    // "10.20.5.21 beaconed to 203.0.113.7 every 60 s"
  std::string breach;  // breach id
  bool weak = false;   // a weak signal pulled in by the investigation window
  std::string tactic;  // the earliest kill-chain tactic of its techniques, "" if none
  std::string model;
  std::string entity;  // entity id
};

// One sentence of the summary and the breaches it was made from (traceability).
struct SummarySentence {
  std::string text;
  std::vector<std::string> breaches;
};

// The incident record (ARCHITECTURE.md "Records that leave the process").
struct Incident {
  std::string id;  // "inc-" + the first breach's id
  std::string title;
  int score = 0;  // 0-100
  Micros start = 0;
  Micros end = 0;
  std::vector<detect::EntityInfo> entities;  // primary entities first, then peers
  std::vector<std::string> breaches;         // breach ids (not weak), time order
  std::vector<std::string> weak_signals;     // weak signal ids, time order
  std::vector<std::string> tactics;          // kill-chain order, from the breaches' techniques
  std::vector<std::string> techniques;       // distinct technique ids of the breaches
  std::string summary;
  std::vector<SummarySentence> summary_sentences;
  std::vector<TimelineEntry> timeline;  // time order, breaches and weak signals
  std::string state = "open";           // "open", "closed", "merged"
  Micros updated = 0;                   // event time of the last change
  std::string merged_into;              // for state "merged": the incident that absorbed it
  uint64_t dropped = 0;                 // members past kMaxIncidentMembers (counted only)
  nlohmann::json score_parts = nlohmann::json::object();  // how the score was reached
};

// Field names are the ARCHITECTURE.md contract; times are RFC 3339 UTC.
nlohmann::json IncidentToJson(const Incident& inc);
// Parses what IncidentToJson wrote. Never throws; missing optional fields take defaults;
// a missing id or unparsable start/end is Corrupt.
Result<Incident> IncidentFromJson(const nlohmann::json& j);

// The score of a set of members (breaches and weak signals), with its parts:
//   evidence  = 1 - prod over models (1 - w * max score of the model / 100),
//               w = 0.7 for breaches, 0.15 for models seen only as weak signals;
//   corroboration = min(1, (stages - 1) / 3 + 0.1 * (entities - 1)), stages being the
//               distinct kill-chain tactics (or models without techniques) of breaches;
//   score     = round(100 * evidence * (0.6 + 0.4 * corroboration)).
// One breach alone scores at most 42; weak signals alone at most 9.
int ScoreMembers(const std::vector<const detect::Breach*>& members, nlohmann::json* parts);

class Analyst {
 public:
  // Reads analyst.window_before, window_after, quiet_period, min_incident_score.
  explicit Analyst(const config::Config& cfg);
  ~Analyst();
  Analyst(const Analyst&) = delete;
  Analyst& operator=(const Analyst&) = delete;

  // Every breach and every weak signal (Breach::weak == true), in event-time order. The
  // breach is copied (without its event references beyond the first); a breach id already
  // in an open incident is ignored. Breaches suppressed by an allow list are ignored.
  void OnBreach(const detect::Breach& b);
  // Event time advanced (no breach): closes incidents quiet for quiet_period and ages
  // buffered weak signals. Cheap when nothing is due.
  void Advance(Micros now);
  // Incidents created or changed since the last call (each at most once, latest version),
  // in the order they first changed. Incidents below min_incident_score are held back
  // until they reach it; once reported, every later change (closing, merging) is reported.
  std::vector<Incident> TakeUpdated();
  // An open incident, or a recently closed one (up to kMaxClosedIncidents); nullptr if
  // unknown. The pointer is valid until the next non-const call.
  const Incident* Find(const std::string& id) const;

  // Open incidents and buffered weak signals survive restarts.
  void Save(learn::StateWriter& w) const;
  // Restores what Save wrote into a fresh Analyst; rejects (Corrupt) anything else.
  Status Load(learn::StateReader& r);

  size_t open_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::analyst
