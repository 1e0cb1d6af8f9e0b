#include "detect/breach.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "core/flow_text.h"
#include "learn/novelty.h"

namespace vigil::detect {

EntityInfo ToEntityInfo(const EntityRef& ref) {
  EntityInfo e;
  e.type = EntityTypeName(ref.type);
  e.id = std::string(ref.id);
  e.name = ref.name.empty() ? std::string(ref.id) : std::string(ref.name);
  return e;
}

namespace {

// Summaries are built for every event that goes to the event log. The addresses and a
// flow's counts, on nearly every event, are written in place (AppendInPlace); the rest
// appends its pieces to the string.
void AppendUint(std::string& s, uint64_t v) {
  char buf[24];
  s.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Appends the pieces in order.
template <typename... Parts>
void Cat(std::string& s, const Parts&... parts) {
  (s.append(parts), ...);
}

}  // namespace

EventRef MakeEventRef(const Event& e) {
  EventRef r;
  r.input_index = e.pos.input;
  r.line = e.pos.line;
  r.offset = e.pos.offset;
  r.time = e.time;
  r.kind = EventKindName(e.kind);
  r.uid = std::string(e.uid);
  r.summary.reserve(128);
  AppendEventSummary(r.summary, e);
  return r;
}

void AppendEventSummary(std::string& s, const Event& e) {
  using sv = std::string_view;
  // Cloud calls, EDR alerts, process and file activity say who did what, without endpoints.
  if (auto* c = e.As<CloudApiBody>()) {
    Cat(s, c->event_source, sv(" "), c->event_name, sv(" by "), c->principal_arn, sv(" from "), c->source_ip);
    if (!c->error_code.empty()) Cat(s, sv(" ("), c->error_code, sv(")"));
    return;
  }
  if (auto* ea = e.As<EdrAlertBody>()) {
    Cat(s, ea->severity, sv(" alert '"), ea->title, sv("' on "), ea->device_name);
    return;
  }
  if (auto* p = e.As<ProcessBody>()) {
    Cat(s, p->parent_file_name, sv(" -> "), p->folder_path, sv(" "), p->command_line.substr(0, 120), sv(" on "),
        p->device_name);
    return;
  }
  if (auto* fa = e.As<FileActivityBody>()) {
    Cat(s, fa->action_type, sv(" "), fa->folder_path, sv(" by "), fa->initiating_process_file_name);
    return;
  }
  // Network events: the endpoints, then what the body adds.
  if (e.net.valid)
    AppendEndpoints(s, e.net.orig_h_text, e.net.orig_p, e.net.resp_h_text, e.net.resp_p,
                    e.net.proto);
  if (auto* f = e.As<FlowBody>()) {
    AppendFlowCounts(s, f->orig_bytes, f->resp_bytes, f->conn_state);
  } else if (auto* h = e.As<HttpBody>()) {
    Cat(s, sv(" "), h->method, sv(" "), h->host, h->uri);
    if (!h->user_agent.empty()) Cat(s, sv(" UA '"), h->user_agent.substr(0, 80), sv("'"));
    if (h->status_code) {
      s += " -> ";
      AppendUint(s, h->status_code);
    }
  } else if (auto* d = e.As<DnsBody>()) {
    Cat(s, sv(" query "), d->query, sv(" "), d->qtype_name);
  } else if (auto* t = e.As<TlsBody>()) {
    Cat(s, sv(" SNI "), t->server_name);
  } else if (auto* fi = e.As<FileBody>()) {
    Cat(s, sv(" file "), fi->filename, sv(" "), fi->mime_type, sv(" "));
    AppendHumanBytes(s, fi->seen_bytes);
  } else if (auto* a = e.As<IdsAlertBody>()) {
    s += " alert [";
    AppendUint(s, a->signature_id);
    Cat(s, sv("] "), a->signature);
  }
}

void AssignBreachId(Breach& b) {
  uint64_t h = learn::HashValue(b.model);
  h = learn::MixHash(h, learn::HashValue(b.entity.id));
  h = learn::MixHash(h, static_cast<uint64_t>(b.time));
  if (!b.events.empty()) {
    h = learn::MixHash(h, b.events[0].input_index);
    h = learn::MixHash(h, b.events[0].offset);
    h = learn::MixHash(h, learn::HashValue(b.events[0].uid));
  }
  if (b.peer) h = learn::MixHash(h, learn::HashValue(b.peer->id));
  char buf[24];
  std::snprintf(buf, sizeof buf, "b-%016llx", static_cast<unsigned long long>(h));
  b.id = buf;
}

namespace {

nlohmann::json EntityJson(const EntityInfo& e) {
  return {{"type", e.type}, {"id", e.id}, {"name", e.name}};
}

EntityInfo EntityFrom(const nlohmann::json& j) {
  EntityInfo e;
  e.type = j.value("type", "");
  e.id = j.value("id", "");
  e.name = j.value("name", "");
  return e;
}

}  // namespace

nlohmann::json BreachToJson(const Breach& b) {
  nlohmann::json j;
  j["id"] = b.id;
  j["time"] = FormatRfc3339(b.time);
  j["model"] = b.model;
  j["score"] = b.score;
  j["entity"] = EntityJson(b.entity);
  if (b.peer) j["peer"] = EntityJson(*b.peer);
  j["reasons"] = b.reasons;
  nlohmann::json events = nlohmann::json::array();
  for (const auto& r : b.events) {
    nlohmann::json ev = {{"input", r.input}, {"line", r.line},   {"offset", r.offset},
                         {"time", FormatRfc3339(r.time)},          {"kind", r.kind},
                         {"summary", r.summary}};
    if (!r.uid.empty()) ev["uid"] = r.uid;
    events.push_back(std::move(ev));
  }
  j["events"] = std::move(events);
  j["mitre"] = b.mitre;
  if (!b.details.empty()) j["details"] = b.details;
  if (b.weak) j["weak"] = true;
  if (!b.suppressed_by.empty()) j["suppressed_by"] = b.suppressed_by;
  return j;
}

Result<Breach> BreachFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Corrupt("breach is not a JSON object");
  Breach b;
  try {
    b.id = j.value("id", "");
    auto t = ParseIso8601(j.value("time", ""));
    if (!t) return Corrupt("breach time does not parse");
    b.time = *t;
    b.model = j.value("model", "");
    b.score = j.value("score", 0);
    if (j.contains("entity")) b.entity = EntityFrom(j["entity"]);
    if (j.contains("peer") && j["peer"].is_object()) b.peer = EntityFrom(j["peer"]);
    if (j.contains("reasons")) b.reasons = j["reasons"].get<std::vector<std::string>>();
    if (j.contains("mitre")) b.mitre = j["mitre"].get<std::vector<std::string>>();
    if (j.contains("events")) {
      for (const auto& ev : j["events"]) {
        EventRef r;
        r.input = ev.value("input", "");
        r.line = ev.value("line", 0ull);
        r.offset = ev.value("offset", 0ull);
        r.time = ParseIso8601(ev.value("time", "")).value_or(0);
        r.kind = ev.value("kind", "");
        r.uid = ev.value("uid", "");
        r.summary = ev.value("summary", "");
        b.events.push_back(std::move(r));
      }
    }
    if (j.contains("details")) b.details = j["details"];
    b.weak = j.value("weak", false);
    b.suppressed_by = j.value("suppressed_by", "");
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(std::string("breach field of the wrong type: ") + e.what());
  }
  return b;
}

}  // namespace vigil::detect
