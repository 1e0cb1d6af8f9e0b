#include "pipeline/response_glue.h"

namespace vigil::pipeline {

Status ResponseGlue::Flush() {
  Status first;
  for (const auto& a : responder_.TakeChanged()) {
    nlohmann::json doc = respond::ActionToJson(a);
    Status st = store_.PutAction(a.id, respond::StateName(a.state), a.expires, doc);
    if (!st.ok() && first.ok()) first = st;
    if (st.ok() && on_stored) on_stored(doc);
  }
  for (const auto& r : responder_.TakeAudit()) {
    Status st = store_.AppendAudit(r.action_id, r.at, r.who, r.what, r.detail);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

Result<int> ResponseGlue::ApplyRequests(Micros now) {
  auto list = store_.ListActions(kMaxActionsScannedForRequests, 0);
  if (!list.ok()) return list.status();
  int applied = 0;
  for (auto& doc : *list) {
    if (!doc.is_object() || !doc.contains("request") || !doc["request"].is_object()) continue;
    const auto& req = doc["request"];
    std::string id = doc.value("id", "");
    std::string op = req.value("op", "");
    std::string by = req.value("by", "");
    Status st;
    if (op == "approve") st = responder_.Approve(id, by, now);
    else if (op == "cancel") st = responder_.Cancel(id, by, now);
    else st = InvalidArgument("unknown request '" + op + "'");
    ++applied;
    if (!st.ok()) {
      // Not honoured: drop the request so it is not retried forever, and say why.
      doc.erase("request");
      doc["request_error"] = op + " by " + by + ": " + st.message();
      Status put = store_.PutAction(id, doc.value("state", ""),
                                    ParseIso8601(doc.value("expires", "")).value_or(0), doc);
      Status audit = store_.AppendAudit(id, now, by, op + "-refused", {{"error", st.message()}});
      (void)put;
      (void)audit;
    }
  }
  VIGIL_RETURN_IF_ERROR(Flush());
  return applied;
}

}  // namespace vigil::pipeline
