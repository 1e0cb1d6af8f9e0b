// Action: one measured response Vigil takes (or would take) against exactly what a breach or
// incident showed to be malicious, for a limited time.
//
// An action has a deterministic id (a hash of its kind, its target and the event time it was
// first decided, so a replay gives the same ids), a mode (how much autonomy the policy grants),
// a state, the reasons it exists (breach and incident ids with text), an expiry in event time
// and the results of every backend call. Its JSON form (ActionToJson) is a record that leaves
// the process: field names are a contract, additions are fine, renames are not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ip.h"
#include "core/status.h"
#include "core/time.h"

namespace vigil::respond {

// The action kinds of issue 7, by their record names.
inline constexpr std::string_view kBlockConnection = "block-connection";
inline constexpr std::string_view kSuspendEndpoint = "suspend-endpoint";
inline constexpr std::string_view kQuarantineDevice = "quarantine-device";
inline constexpr std::string_view kEnforcePatternOfLife = "enforce-pattern-of-life";
inline constexpr std::string_view kDisableCloudCredential = "disable-cloud-credential";
inline constexpr std::string_view kIsolateEndpoint = "isolate-endpoint";
// True for one of the six kinds above.
bool IsActionKind(std::string_view kind);

enum class Mode : uint8_t { kObserve = 0, kConfirm, kAutonomous };
const char* ModeName(Mode m);  // "observe", "confirm", "autonomous"
std::optional<Mode> ParseMode(std::string_view s);

enum class State : uint8_t {
  kPending = 0,  // confirm mode: waiting for `vigil approve` until the confirmation timeout
  kActive,       // the backends applied it; it holds until expires
  kExpired,      // its time ran out (or a pending one was never approved)
  kCancelled,    // a person cancelled it
  kFailed,       // a backend failed, it was refused (critical infrastructure) or rate-limited
  kObserved,     // observe mode: logged as "would have done", no backend was called
};
const char* StateName(State s);  // "pending", "active", ...
std::optional<State> ParseState(std::string_view s);
// True while the action still stands (pending, active, observed): a new breach on the same
// target extends it instead of making a new action.
bool IsLive(State s);

// What an action acts on. Network fields are typed (addresses parsed by core/ip.h, a port
// number, a protocol name from a fixed set) so attacker-controlled text never reaches a
// firewall expression; cloud and EDR identifiers are validated by the backends that use them.
struct Target {
  std::string device;      // internal device address (or EDR device id for isolate-endpoint)
  std::string peer;        // the remote endpoint's address, empty for device-wide actions
  uint16_t port = 0;       // the service port (0 = any port)
  std::string protocol;    // "tcp", "udp" or empty (any)
  std::string direction;   // "outbound" (device connects to peer:port) or "inbound"
  std::string identity;    // cloud identity ARN for disable-cloud-credential
  std::string access_key;  // access key id for disable-cloud-credential
  std::string edr_device;  // Defender machine id for isolate-endpoint
  std::string name;        // display name of the device / identity
  // enforce-pattern-of-life: the "peer" or "peer:port" endpoints the device may still reach.
  std::vector<std::string> allowed;
  // A stable text key: two targets with the same key are the same target.
  std::string Key() const;
};

struct Reason {
  std::string breach;    // breach id, or empty
  std::string incident;  // incident id, or empty
  std::string model;     // the breach's model, when from a breach
  int score = 0;
  Micros time = 0;       // event time of the breach / incident update
  std::string text;      // one sentence for the SOC
};

// The outcome of one backend call.
struct BackendResult {
  std::string backend;  // "nftables", "defender", "aws", "webhook", "exec"
  std::string op;       // "apply", "extend", "revoke"
  bool ok = false;
  std::string detail;   // what was done, or the error
  Micros at = 0;        // event time of the call
};

struct Action {
  std::string id;
  std::string kind;
  Target target;
  Mode mode = Mode::kObserve;
  State state = State::kPending;
  std::vector<Reason> reasons;  // the first caused it; later ones extended it
  Micros created = 0;           // event time it was decided
  Micros expires = 0;           // event time it ends (pending: when the confirmation lapses)
  Micros duration = 0;          // how long it holds once active
  Micros updated = 0;           // event time of the last change
  std::string approved_by;      // "policy:autonomous", a person, or empty
  std::string cancelled_by;
  std::string error;            // why it failed, when state is failed
  std::string backend;          // backends that handled it, comma-separated
  std::vector<BackendResult> results;
};

// The audit trail: who or what did what to an action, when, with which result.
struct AuditRecord {
  std::string action_id;
  Micros at = 0;           // event time
  std::string who;         // "vigil:policy", "vigil:expiry", a person's name
  std::string what;        // "created", "approved", "applied", "extended", "expired", ...
  nlohmann::json detail = nlohmann::json::object();
};

// Deterministic id: "act-" + 16 hex digits of a hash of kind, target key and created time.
std::string MakeActionId(std::string_view kind, const Target& t, Micros created);

nlohmann::json ActionToJson(const Action& a);
// Parses what ActionToJson wrote. Unknown fields are ignored; a bad kind, mode or state is an
// InvalidArgument naming the field.
Result<Action> ActionFromJson(const nlohmann::json& j);
nlohmann::json AuditToJson(const AuditRecord& r);

// One line for the terminal: "act-… suspend-endpoint active 10.0.0.5 -> 1.2.3.4:443/tcp ...".
std::string DescribeTarget(const std::string& kind, const Target& t);

}  // namespace vigil::respond
