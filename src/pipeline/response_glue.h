// ResponseGlue: the small adapter between respond::Responder and the store. The engine calls
// Flush after handing breaches/incidents to the Responder (and after Advance), so every action
// change and audit record is persisted; and calls ApplyRequests now and then (live: every
// poll; replay: once at the end) to carry out approvals and cancellations that `vigil approve`
// and `vigil cancel` wrote into the store.
//
// Request protocol (shared with src/cli/cmd_actions.cc): the CLI leaves the action's state as
// it is and adds {"request": {"op": "approve"|"cancel", "by": NAME, "at": RFC 3339}} to the
// stored document. ApplyRequests calls Responder::Approve/Cancel and stores the result (the
// Responder's document has no "request"); a request that cannot be honoured (not pending any
// more, unknown to this engine) is dropped with "request_error" and an audit record.
//
// Borrowed references: the Responder and the Store must outlive the glue. Not thread-safe:
// called from the engine's thread.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/time.h"
#include "respond/responder.h"
#include "store/store.h"

namespace vigil::pipeline {

inline constexpr size_t kMaxActionsScannedForRequests = 10000;  // newest actions looked at

class ResponseGlue {
 public:
  ResponseGlue(respond::Responder& responder, store::Store& store)
      : responder_(responder), store_(store) {}

  // Writes changed actions and new audit records. On a store error the rest is still tried
  // and the first error is returned (the engine logs it and goes on).
  Status Flush();
  // Called with each action Flush stores (the live stream publishes it); optional.
  std::function<void(const nlohmann::json& action)> on_stored;
  // Applies pending approve/cancel requests at event time `now`, then Flushes.
  // Returns how many requests were applied (honoured or refused).
  Result<int> ApplyRequests(Micros now);

 private:
  respond::Responder& responder_;
  store::Store& store_;
};

}  // namespace vigil::pipeline
