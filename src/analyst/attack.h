// ATT&CK mapping: which tactics (the "why" of a step: initial access, command and control …)
// a technique id (the "how": T1190, T1071.001 …) serves, in kill-chain order.
//
// Models put technique ids in their breaches; the analyst turns them into the tactics an
// incident reached, and orders a story along the kill chain. The table covers every
// technique the model catalogue uses and the ones Defender commonly reports; a sub-
// technique not in the table falls back to its parent ("T1071.004" -> "T1071").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::analyst {

// Enterprise ATT&CK tactics, declared in kill-chain order so that sorting by value sorts
// along the chain.
enum class Tactic : uint8_t {
  kReconnaissance = 0,
  kResourceDevelopment,
  kInitialAccess,
  kExecution,
  kPersistence,
  kPrivilegeEscalation,
  kDefenseEvasion,
  kCredentialAccess,
  kDiscovery,
  kLateralMovement,
  kCollection,
  kCommandAndControl,
  kExfiltration,
  kImpact,
  kCount
};
inline constexpr int kTacticCount = static_cast<int>(Tactic::kCount);

// "initial-access": the id used in incident records (ATT&CK's short name).
const char* TacticId(Tactic t);
// "initial access": for sentences.
const char* TacticName(Tactic t);
// "TA0001".
const char* TacticAttackId(Tactic t);

// Tactics of one technique id, in kill-chain order; empty when the id is unknown or
// malformed. Case-insensitive ("t1190" works); surrounding spaces are ignored.
std::vector<Tactic> TacticsForTechnique(std::string_view technique);

// A tactic from its id ("initial-access"), its ATT&CK id ("TA0001"), or the spellings
// Defender uses for alert categories ("InitialAccess", "CommandAndControl",
// "Initial Access"). nullopt when not a tactic (Defender's "Malware", "SuspiciousActivity").
std::optional<Tactic> TacticFromText(std::string_view text);

// The union of the tactics of several technique ids, in kill-chain order, no duplicates.
std::vector<Tactic> TacticsForTechniques(const std::vector<std::string>& techniques);

}  // namespace vigil::analyst
