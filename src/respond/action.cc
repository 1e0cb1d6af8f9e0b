#include "respond/action.h"

#include <cstdio>

namespace vigil::respond {

namespace {

constexpr std::string_view kKinds[] = {kBlockConnection,      kSuspendEndpoint,
                                       kQuarantineDevice,     kEnforcePatternOfLife,
                                       kDisableCloudCredential, kIsolateEndpoint};

uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string TimeOrEmpty(Micros t) { return t ? FormatRfc3339(t) : std::string(); }

Micros TimeFrom(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return 0;
  return ParseIso8601(j[key].get<std::string>()).value_or(0);
}

std::string Str(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return {};
  return j[key].get<std::string>();
}

}  // namespace

bool IsActionKind(std::string_view kind) {
  for (auto k : kKinds)
    if (k == kind) return true;
  return false;
}

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kObserve: return "observe";
    case Mode::kConfirm: return "confirm";
    case Mode::kAutonomous: return "autonomous";
  }
  return "observe";
}

std::optional<Mode> ParseMode(std::string_view s) {
  if (s == "observe") return Mode::kObserve;
  if (s == "confirm") return Mode::kConfirm;
  if (s == "autonomous") return Mode::kAutonomous;
  return std::nullopt;
}

const char* StateName(State s) {
  switch (s) {
    case State::kPending: return "pending";
    case State::kActive: return "active";
    case State::kExpired: return "expired";
    case State::kCancelled: return "cancelled";
    case State::kFailed: return "failed";
    case State::kObserved: return "observed";
  }
  return "failed";
}

std::optional<State> ParseState(std::string_view s) {
  for (State st : {State::kPending, State::kActive, State::kExpired, State::kCancelled,
                   State::kFailed, State::kObserved})
    if (s == StateName(st)) return st;
  return std::nullopt;
}

bool IsLive(State s) {
  return s == State::kPending || s == State::kActive || s == State::kObserved;
}

std::string Target::Key() const {
  std::string k = device + "|" + peer + "|" + std::to_string(port) + "|" + protocol + "|" +
                  direction + "|" + identity + "|" + access_key + "|" + edr_device;
  // `allowed` (a pattern-of-life device's known peers) describes the action, it does not
  // name its target: a second breach on the device extends the one action.
  return k;
}

std::string MakeActionId(std::string_view kind, const Target& t, Micros created) {
  uint64_t h = Fnv1a(kind);
  h = Fnv1a(t.Key(), h);
  h = Fnv1a(std::to_string(created), h);
  char buf[24];
  std::snprintf(buf, sizeof buf, "act-%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string DescribeTarget(const std::string& kind, const Target& t) {
  if (kind == kDisableCloudCredential) {
    std::string s = t.identity;
    if (!t.access_key.empty()) s += " key " + t.access_key;
    return s;
  }
  if (kind == kIsolateEndpoint) return (t.edr_device.empty() ? t.device : t.edr_device);
  std::string s = t.device;
  if (!t.peer.empty()) {
    s += t.direction == "inbound" ? " <- " : " -> ";
    s += t.peer;
    if (t.port) s += ":" + std::to_string(t.port);
    if (!t.protocol.empty()) s += "/" + t.protocol;
  }
  if (!t.allowed.empty()) s += " (" + std::to_string(t.allowed.size()) + " known endpoints)";
  return s;
}

nlohmann::json ActionToJson(const Action& a) {
  nlohmann::json target = {{"device", a.target.device},   {"peer", a.target.peer},
                           {"port", a.target.port},       {"protocol", a.target.protocol},
                           {"direction", a.target.direction},
                           {"identity", a.target.identity}, {"access_key", a.target.access_key},
                           {"edr_device", a.target.edr_device}, {"name", a.target.name},
                           {"allowed", a.target.allowed}};
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& r : a.reasons)
    reasons.push_back({{"breach", r.breach},
                       {"incident", r.incident},
                       {"model", r.model},
                       {"score", r.score},
                       {"time", TimeOrEmpty(r.time)},
                       {"text", r.text}});
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : a.results)
    results.push_back({{"backend", r.backend},
                       {"op", r.op},
                       {"ok", r.ok},
                       {"detail", r.detail},
                       {"at", TimeOrEmpty(r.at)}});
  nlohmann::json j = {{"id", a.id},
                      {"kind", a.kind},
                      {"target", std::move(target)},
                      {"description", DescribeTarget(a.kind, a.target)},
                      {"mode", ModeName(a.mode)},
                      {"state", StateName(a.state)},
                      {"reason", reasons.empty() ? nlohmann::json::object() : reasons[0]},
                      {"reasons", std::move(reasons)},
                      {"created", TimeOrEmpty(a.created)},
                      {"expires", TimeOrEmpty(a.expires)},
                      {"duration", FormatDuration(a.duration)},
                      {"duration_seconds", a.duration / kMicrosPerSecond},
                      {"updated", TimeOrEmpty(a.updated)},
                      {"approved_by", a.approved_by},
                      {"cancelled_by", a.cancelled_by},
                      {"error", a.error},
                      {"backend", a.backend},
                      {"results", std::move(results)}};
  if (a.state == State::kObserved)
    j["would_have_done"] = a.kind + " " + DescribeTarget(a.kind, a.target) + " until " +
                           TimeOrEmpty(a.expires);
  return j;
}

Result<Action> ActionFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("action: not a JSON object");
  Action a;
  a.id = Str(j, "id");
  if (a.id.empty()) return InvalidArgument("action: missing 'id'");
  a.kind = Str(j, "kind");
  if (!IsActionKind(a.kind)) return InvalidArgument("action " + a.id + ": bad 'kind'");
  auto mode = ParseMode(Str(j, "mode"));
  if (!mode) return InvalidArgument("action " + a.id + ": bad 'mode'");
  a.mode = *mode;
  auto state = ParseState(Str(j, "state"));
  if (!state) return InvalidArgument("action " + a.id + ": bad 'state'");
  a.state = *state;
  if (j.contains("target") && j["target"].is_object()) {
    const auto& t = j["target"];
    a.target.device = Str(t, "device");
    a.target.peer = Str(t, "peer");
    if (t.contains("port") && t["port"].is_number_unsigned() && t["port"].get<uint64_t>() <= 65535)
      a.target.port = static_cast<uint16_t>(t["port"].get<uint64_t>());
    a.target.protocol = Str(t, "protocol");
    a.target.direction = Str(t, "direction");
    a.target.identity = Str(t, "identity");
    a.target.access_key = Str(t, "access_key");
    a.target.edr_device = Str(t, "edr_device");
    a.target.name = Str(t, "name");
    if (t.contains("allowed") && t["allowed"].is_array())
      for (const auto& x : t["allowed"])
        if (x.is_string()) a.target.allowed.push_back(x.get<std::string>());
  }
  if (j.contains("reasons") && j["reasons"].is_array()) {
    for (const auto& r : j["reasons"]) {
      Reason rr;
      rr.breach = Str(r, "breach");
      rr.incident = Str(r, "incident");
      rr.model = Str(r, "model");
      if (r.contains("score") && r["score"].is_number()) rr.score = r["score"].get<int>();
      rr.time = TimeFrom(r, "time");
      rr.text = Str(r, "text");
      a.reasons.push_back(std::move(rr));
    }
  }
  if (j.contains("results") && j["results"].is_array()) {
    for (const auto& r : j["results"]) {
      BackendResult br;
      br.backend = Str(r, "backend");
      br.op = Str(r, "op");
      br.ok = r.contains("ok") && r["ok"].is_boolean() && r["ok"].get<bool>();
      br.detail = Str(r, "detail");
      br.at = TimeFrom(r, "at");
      a.results.push_back(std::move(br));
    }
  }
  a.created = TimeFrom(j, "created");
  a.expires = TimeFrom(j, "expires");
  a.updated = TimeFrom(j, "updated");
  if (j.contains("duration_seconds") && j["duration_seconds"].is_number_integer())
    a.duration = j["duration_seconds"].get<int64_t>() * kMicrosPerSecond;
  a.approved_by = Str(j, "approved_by");
  a.cancelled_by = Str(j, "cancelled_by");
  a.error = Str(j, "error");
  a.backend = Str(j, "backend");
  return a;
}

nlohmann::json AuditToJson(const AuditRecord& r) {
  return {{"action", r.action_id}, {"at", TimeOrEmpty(r.at)}, {"who", r.who}, {"what", r.what},
          {"detail", r.detail}};
}

}  // namespace vigil::respond
