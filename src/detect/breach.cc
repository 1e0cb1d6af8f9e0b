#include "detect/breach.h"

#include <cstdio>

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

std::string HumanBytes(uint64_t b) {
  char buf[32];
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  } else if (b < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KB", b / 1024.0);
  } else if (b < 1024ull * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MB", b / 1048576.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f GB", b / 1073741824.0);
  }
  return buf;
}

std::string Endpoints(const NetTuple& n) {
  std::string s = std::string(n.orig_h_text) + ":" + std::to_string(n.orig_p) + " -> " +
                  std::string(n.resp_h_text) + ":" + std::to_string(n.resp_p);
  if (n.proto != Proto::kUnknown) s += std::string("/") + ProtoName(n.proto);
  return s;
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
  std::string s = e.net.valid ? Endpoints(e.net) : std::string();
  if (auto* f = e.As<FlowBody>()) {
    s += " " + HumanBytes(f->orig_bytes) + " out, " + HumanBytes(f->resp_bytes) + " in";
    if (!f->conn_state.empty()) s += ", " + std::string(f->conn_state);
  } else if (auto* h = e.As<HttpBody>()) {
    s += " " + std::string(h->method) + " " + std::string(h->host) + std::string(h->uri);
    if (!h->user_agent.empty()) s += " UA '" + std::string(h->user_agent.substr(0, 80)) + "'";
    if (h->status_code) s += " -> " + std::to_string(h->status_code);
  } else if (auto* d = e.As<DnsBody>()) {
    s += " query " + std::string(d->query) + " " + std::string(d->qtype_name);
  } else if (auto* t = e.As<TlsBody>()) {
    s += " SNI " + std::string(t->server_name);
  } else if (auto* fi = e.As<FileBody>()) {
    s += " file " + std::string(fi->filename) + " " + std::string(fi->mime_type) + " " +
         HumanBytes(fi->seen_bytes);
  } else if (auto* a = e.As<IdsAlertBody>()) {
    s += " alert [" + std::to_string(a->signature_id) + "] " + std::string(a->signature);
  } else if (auto* c = e.As<CloudApiBody>()) {
    s = std::string(c->event_source) + " " + std::string(c->event_name) + " by " +
        std::string(c->principal_arn) + " from " + std::string(c->source_ip);
    if (!c->error_code.empty()) s += " (" + std::string(c->error_code) + ")";
  } else if (auto* ea = e.As<EdrAlertBody>()) {
    s = std::string(ea->severity) + " alert '" + std::string(ea->title) + "' on " +
        std::string(ea->device_name);
  } else if (auto* p = e.As<ProcessBody>()) {
    s = std::string(p->parent_file_name) + " -> " + std::string(p->folder_path) + " " +
        std::string(p->command_line.substr(0, 120)) + " on " + std::string(p->device_name);
  } else if (auto* fa = e.As<FileActivityBody>()) {
    s = std::string(fa->action_type) + " " + std::string(fa->folder_path) + " by " +
        std::string(fa->initiating_process_file_name);
  }
  r.summary = std::move(s);
  return r;
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
