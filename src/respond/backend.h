// Backend: the one small interface every enforcement point implements (nftables, Defender,
// AWS IAM, a webhook, an exec hook). The Responder decides what to do and when; a backend only
// knows how to put an action in place and take it away again.
//
// Backends run on the engine's response thread. A backend never throws: a failure is a Status
// whose message is kept in the action (state failed) and the audit trail, and the engine goes
// on. Backends must treat every string in the action as attacker-controlled: addresses are
// re-parsed with core/ip.h, identifiers are checked against their documented alphabet, and
// nothing is ever handed to a shell.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "respond/action.h"

namespace vigil::respond {

class Backend {
 public:
  virtual ~Backend() = default;
  // "nftables", "defender", "aws", "webhook", "exec".
  virtual std::string_view name() const = 0;
  // True when this backend can carry out actions of `kind`.
  virtual bool Supports(std::string_view kind) const = 0;
  // Puts the action in place so that it holds for `hold` (wall-clock microseconds) even if
  // Vigil stops; called again with a new `hold` when a later breach extends the action
  // (must then replace, not add). Returns a short description of what was done.
  virtual Result<std::string> Apply(const Action& action, Micros hold) = 0;
  // Takes the action away (expiry or cancellation). Idempotent: revoking something already
  // gone succeeds.
  virtual Result<std::string> Revoke(const Action& action) = 0;
};

// Builds the backends enabled in config (respond.backends.*.enabled). Errors in a backend's
// settings (a bad table name, a missing URL) are returned, not skipped.
Result<std::vector<std::unique_ptr<Backend>>> MakeBackends(const config::Config& cfg);

}  // namespace vigil::respond
