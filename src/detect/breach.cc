#include "detect/breach.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

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

// Bounds for AppendInPlace: the most PutHumanBytes writes (20 digits, ".d", a unit), and
// what PutEndpoints adds to the two address texts (two ports, " -> ", colons, "/proto").
constexpr size_t kMaxHumanBytes = 32;
constexpr size_t kEndpointsBesidesAddresses = 32;

char* PutUint(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }

char* PutText(char* p, std::string_view t) {
  std::memcpy(p, t.data(), t.size());
  return p + t.size();
}

// "512 B", "1.2 KB", "3.4 MB", "5.6 GB": the count over 1024, 1024^2 or 1024^3 to one
// decimal, as printf's "%.1f" writes the quotient: rounded to nearest, ties to even. Below
// 2^53 bytes the quotient is exact in a double, and so is this integer arithmetic; above it
// (no flow moves 9 PB) the double is rounded first, as before, and to_chars writes it.
char* PutHumanBytes(char* p, uint64_t b) {
  if (b < 1024) return PutText(PutUint(p, b), " B");
  int shift;
  const char* unit;
  if (b < (uint64_t{1} << 20)) {
    shift = 10;
    unit = " KB";
  } else if (b < (uint64_t{1} << 30)) {
    shift = 20;
    unit = " MB";
  } else {
    shift = 30;
    unit = " GB";
  }
  if (b >= (uint64_t{1} << 53)) {
    const double v = static_cast<double>(b) / static_cast<double>(uint64_t{1} << shift);
    return PutText(std::to_chars(p, p + 40, v, std::chars_format::fixed, 1).ptr, unit);
  }
  const uint64_t tenths_exact = b * 10;  // below 2^57: no overflow
  uint64_t tenths = tenths_exact >> shift;
  const uint64_t rest = tenths_exact & ((uint64_t{1} << shift) - 1);
  const uint64_t half = uint64_t{1} << (shift - 1);
  if (rest > half || (rest == half && (tenths & 1))) ++tenths;
  p = PutUint(p, tenths / 10);
  *p++ = '.';
  *p++ = static_cast<char>('0' + tenths % 10);
  return PutText(p, unit);
}

void AppendHumanBytes(std::string& s, uint64_t b) {
  char buf[kMaxHumanBytes];
  s.append(buf, PutHumanBytes(buf, b));
}

// "10.0.0.5:51234 -> 1.2.3.4:443/tcp"
char* PutEndpoints(char* p, const NetTuple& n) {
  p = PutText(p, n.orig_h_text);
  *p++ = ':';
  p = PutUint(p, n.orig_p);
  p = PutText(p, " -> ");
  p = PutText(p, n.resp_h_text);
  *p++ = ':';
  p = PutUint(p, n.resp_p);
  if (n.proto != Proto::kUnknown) {
    *p++ = '/';
    p = PutText(p, ProtoName(n.proto));
  }
  return p;
}

// Appends what `write` writes, at most `bound` bytes: the string grows once, the pieces are
// copied in without a capacity check each, and it is cut back to what was written.
template <typename Write>
void AppendInPlace(std::string& s, size_t bound, Write&& write) {
  const size_t at = s.size();
  s.resize(at + bound);
  char* end = write(s.data() + at);
  s.resize(static_cast<size_t>(end - s.data()));
}

void AppendEndpoints(std::string& s, const NetTuple& n) {
  AppendInPlace(s, n.orig_h_text.size() + n.resp_h_text.size() + kEndpointsBesidesAddresses,
                [&](char* p) { return PutEndpoints(p, n); });
}

// A flow's counts and state: " 1.2 KB out, 3.4 KB in, SF".
void AppendFlowCounts(std::string& s, const FlowBody& f) {
  AppendInPlace(s, 2 * kMaxHumanBytes + 16 + f.conn_state.size(), [&](char* p) {
    *p++ = ' ';
    p = PutHumanBytes(p, f.orig_bytes);
    p = PutText(p, " out, ");
    p = PutHumanBytes(p, f.resp_bytes);
    p = PutText(p, " in");
    if (!f.conn_state.empty()) p = PutText(PutText(p, ", "), f.conn_state);
    return p;
  });
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
  if (e.net.valid) AppendEndpoints(s, e.net);
  if (auto* f = e.As<FlowBody>()) {
    AppendFlowCounts(s, *f);
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
