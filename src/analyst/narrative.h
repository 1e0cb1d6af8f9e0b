// Narrative: the title, summary and timeline of an incident, generated from its breaches.
//
// No language model: each model has a template (a verb phrase) filled with facts from the
// breach (entity, peer, and the model's `details` where it gives them: period_s, filename,
// signature, title …; every fact is optional and the phrase reads well without it).
// Phrases of one entity are joined in time order into one sentence ("Internet-facing server
// 10.20.5.21 was likely exploited from 146.70.192.180, then called back to it, downloaded
// two executables, beaconed to 203.0.113.7 every 60 s and began crypto-mining."); host
// (Defender) findings get their own sentence; weak signals one more. Each sentence keeps the
// ids of the breaches it was made from.
#pragma once

#include <string>
#include <vector>

#include "analyst/analyst.h"
#include "analyst/attack.h"
#include "detect/breach.h"

namespace vigil::analyst {

inline constexpr size_t kMaxSummaryClauses = 8;   // phrases in one sentence, then "and N more"
inline constexpr size_t kMaxSummarySubjects = 6;  // entities with their own sentence

struct Story {
  std::string title;
  std::string summary;
  std::vector<SummarySentence> sentences;
  std::vector<TimelineEntry> timeline;
};

// `members` must be sorted by (time, id); breaches and weak signals (Breach::weak) mixed.
// Pointers are borrowed for the call only.
Story Narrate(const std::vector<const detect::Breach*>& members);

// Tactics of one breach: from its technique ids, else from a Defender category in
// details.category; kill-chain order.
std::vector<Tactic> BreachTactics(const detect::Breach& b);

// One timeline line for a breach on its own: "10.20.5.21 beaconed to 203.0.113.7 every 60 s".
std::string BreachText(const detect::Breach& b);

}  // namespace vigil::analyst
