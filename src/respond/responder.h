// Responder: turns breaches and incidents into measured actions under the configured policy
// and mode, keeps each action's life (pending -> active -> expired, or cancelled, failed,
// observed), and calls the backends. Everything runs on event time: a replay shows what
// would have been done and when; live, the engine calls Advance with the wall clock when no
// events arrive so actions still expire.
//
// Guarantees (issue 7):
//   - observe mode never calls a backend; the action is recorded as "observed" (would have
//     done) with the expiry it would have had;
//   - confirm mode leaves the action pending until Approve, or until confirm_timeout passes
//     (then expired); autonomous mode applies it once;
//   - a second breach on the same live target extends the expiry (and re-applies with the
//     new hold), never duplicates;
//   - an allow-listed or critical target is never acted on (recorded as failed: refused);
//   - at most max_actions_per_hour actions start per hour of event time;
//   - a backend that fails leaves the action failed with its error; nothing throws.
//
// Not thread-safe: one engine thread drives a Responder. Backends are owned.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/ip.h"
#include "detect/breach.h"
#include "respond/action.h"
#include "respond/backend.h"

namespace vigil::respond {

// One policy item (respond.policy).
struct PolicyRule {
  std::string model = "*";      // exact name, "domain/*" or "*"
  int min_score = 0;
  int incident_score = -1;      // >= 0: the rule is for incidents
  std::string entity_tag;       // only entities tagged so (config `tags`)
  std::string action;           // an action kind
  std::optional<Mode> mode;     // at most the global mode
  Micros duration = 0;          // 0: respond.default_duration
  bool MatchesModel(std::string_view model_name) const;
};

struct ResponderSettings {
  Mode mode = Mode::kObserve;
  Micros default_duration = 2 * kMicrosPerHour;
  Micros confirm_timeout = 30 * kMicrosPerMinute;
  int max_actions_per_hour = 20;
  std::vector<PolicyRule> policy;
  CidrSet never_addresses;                 // respond.allow + respond.critical addresses
  std::set<std::string> never_identities;  // respond.allow + respond.critical identities
  std::map<std::string, std::string> never_reason;  // entry text -> reason
  std::vector<std::pair<CidrSet, std::vector<std::string>>> tags;  // config `tags`
  std::map<std::string, std::vector<std::string>> identity_tags;
  // enforce-pattern-of-life: peers count as known when seen this long before the breach.
  Micros pattern_settle = 24 * kMicrosPerHour;
  size_t pattern_max_peers = 256;
  // Replay: run the policy and the state machine on event time but call no backend (the
  // results say "simulated"); set by the engine for `vigil replay`.
  bool simulate = false;
};

// A device's known peers (addresses it talked to, either direction) seen before `before`,
// busiest first, at most `limit`. The session answers it from the store's event log.
using KnownPeersFn =
    std::function<std::vector<std::string>(const std::string& device, Micros before, size_t limit)>;

// Reads respond.* (and `tags`) from config. Errors name the bad item.
Result<ResponderSettings> SettingsFromConfig(const config::Config& cfg);

inline constexpr size_t kMaxReasonsPerAction = 50;  // later reasons only bump a counter
inline constexpr size_t kMaxActionsKept = 100000;   // finished actions beyond this are dropped

class Responder {
 public:
  // Settings from config; config errors in respond.* leave the responder in observe mode
  // with the error in init_status(). Backends are used in order; all backends that support an
  // action's kind are called.
  Responder(const config::Config& cfg, std::vector<std::unique_ptr<Backend>> backends);
  Responder(ResponderSettings settings, std::vector<std::unique_ptr<Backend>> backends);

  const Status& init_status() const { return init_status_; }
  const ResponderSettings& settings() const { return s_; }
  void set_simulate(bool on) { s_.simulate = on; }
  // Where enforce-pattern-of-life finds a device's known peers when the breach does not
  // list them (details.known_peers). Without it such an action keeps only essential services.
  void set_known_peers(KnownPeersFn fn) { known_peers_ = std::move(fn); }

  // Applies the policy to a breach at event time `now` (weak or suppressed breaches are
  // ignored).
  void OnBreach(const detect::Breach& breach, Micros now);
  // Applies incident-score rules to an incident (analyst::IncidentToJson: id, score,
  // entities [{type,id,name} or ids], breaches).
  void OnIncident(const nlohmann::json& incident, Micros now);
  // Expires actions whose time has come and pending actions whose confirmation lapsed.
  void Advance(Micros now);

  // A person approves a pending action: it is applied for its full duration from `now`.
  // NotFound for an unknown id; InvalidArgument when the action is not pending.
  Status Approve(const std::string& id, const std::string& who, Micros now);
  // A person cancels a pending, active or observed action; an active one is revoked.
  Status Cancel(const std::string& id, const std::string& who, Micros now);

  // Actions changed since the last call (each once, in its latest form), and the audit
  // records written since the last call. The engine persists both.
  std::vector<Action> TakeChanged();
  std::vector<AuditRecord> TakeAudit();

  const Action* Find(const std::string& id) const;
  std::vector<Action> All() const;

  // Restart: Save gives every action as JSON lines; Load restores them (live ones keep their
  // state; an active one is not re-applied, its firewall element or policy is still there).
  std::string Save() const;
  Status Load(std::string_view saved);

 private:
  void Propose(const std::string& kind, Target target, Reason reason, const PolicyRule& rule,
               Micros now);
  std::optional<std::string> Refusal(const std::string& kind, const Target& t) const;
  bool RateLimited(Micros now);
  void Activate(Action& a, Micros now, const char* op);
  void Revoke(Action& a, Micros now, State to, const std::string& who, const char* what);
  void Audit(const Action& a, Micros now, std::string who, std::string what,
             nlohmann::json detail = nlohmann::json::object());
  void Touch(Action& a, Micros now);
  std::vector<std::string> TagsOf(const std::string& entity) const;

  ResponderSettings s_;
  Status init_status_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::map<std::string, Action> actions_;          // by id
  std::map<std::string, std::string> live_by_key_;  // kind|target key -> id of the live action
  std::deque<Micros> started_;                      // start times within the last hour
  std::set<std::string> changed_;
  std::vector<AuditRecord> audit_;
  KnownPeersFn known_peers_;
};

}  // namespace vigil::respond
