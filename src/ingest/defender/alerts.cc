#include "ingest/defender/alerts.h"

#include <cstring>

#include "ingest/registry.h"

namespace vigil::ingest::defender {

namespace {

using simdjson::ondemand::object;
using simdjson::ondemand::value;

bool KeyIs(std::string_view key, const char* name) { return key == name; }

Micros TimeOf(std::string_view text) {
  if (text.empty()) return 0;
  return ParseIso8601(text).value_or(0);
}

}  // namespace

size_t AlertsDecoder::Decode(std::string_view data, const ChunkStart& start, bool at_end,
                             std::vector<Event>& events, std::vector<Reject>& rejects) {
  return ForEachJsonValue(data, start, at_end, kMaxDocumentBytes, rejects,
                          [&](const JsonValueSpan& v) {
                            (void)DecodeDocument(v.text, v.pos, events, rejects, nullptr);
                          });
}

bool AlertsDecoder::DecodeDocument(std::string_view text, const SourcePos& pos,
                                   std::vector<Event>& events, std::vector<Reject>& rejects,
                                   AlertsPageInfo* info) {
  AlertsPageInfo local;
  AlertsPageInfo& page = info ? *info : local;
  page = AlertsPageInfo{};
  size_t before = events.size();
  simdjson::ondemand::document doc;
  auto err = parser_.iterate(Padded(text)).get(doc);
  object top;
  if (!err) err = doc.get_object().get(top);
  if (err) {
    rejects.push_back(MakeReject(pos, JsonErrorCode(err),
                                 std::string("not a JSON object: ") + simdjson::error_message(err),
                                 text));
    return false;
  }
  value arr;
  err = top.find_field_unordered("value").get(arr);
  if (err == simdjson::NO_SUCH_FIELD) {
    // A single alert (one JSON line).
    if (doc.rewind(), doc.get_object().get(top)) {
      rejects.push_back(MakeReject(pos, "bad-json", "alert is not a JSON object", text));
      return false;
    }
    AlertResult res = DecodeAlert(top, text, pos, text.data(), events, rejects);
    page.alerts = events.size() - before;
    return res == AlertResult::kOk;
  }
  simdjson::ondemand::array items;
  if (err || arr.get_array().get(items)) {
    rejects.push_back(MakeReject(pos, err ? JsonErrorCode(err) : "wrong-type",
                                 "page \"value\" is not an array of alerts", text));
    return false;
  }
  page.is_page = true;
  for (auto el : items) {
    value item;
    if (auto e = el.get(item); e) {
      rejects.push_back(MakeReject(pos, JsonErrorCode(e),
                                   std::string("page breaks off inside \"value\": ") +
                                       simdjson::error_message(e),
                                   text));
      return false;
    }
    const char* at = text.data();
    if (item.current_location().get(at)) {}
    object obj;
    if (item.get_object().get(obj)) {
      rejects.push_back(MakeReject(PosWithin(text, pos, at), "wrong-type",
                                   "page item is not a JSON object", std::string_view(at, 40)));
      continue;
    }
    if (DecodeAlert(obj, text, pos, at, events, rejects) == AlertResult::kBroken) {
      // The page breaks off inside: what came before it in the page is dropped too, so the
      // page is all or nothing (a poller fetches it again rather than keep half of it).
      events.resize(before);
      return false;
    }
  }
  value link;
  if (!top.find_field_unordered("@odata.nextLink").get(link)) {
    std::string_view s;
    if (!link.get_string().get(s)) page.next_link = std::string(s);
  }
  page.alerts = events.size() - before;
  return true;
}

AlertsDecoder::AlertResult AlertsDecoder::DecodeAlert(object obj, std::string_view doc, const SourcePos& doc_pos,
                                const char* at, std::vector<Event>& events,
                                std::vector<Reject>& rejects) {
  Event e;
  e.kind = EventKind::kEdrAlert;
  e.pos = PosWithin(doc, doc_pos, at);
  EdrAlertBody& b = e.Set<EdrAlertBody>();
  b.provider = "defender";
  std::string_view created, updated, first_act, last_act, actor, threat, incident_alerts;
  for (auto field : obj) {
    std::string_view key;
    value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) {
      rejects.push_back(MakeReject(e.pos, "bad-json", "alert object breaks off", {at, 40}));
      return AlertResult::kBroken;
    }
    switch (key.size() ? key[0] : 0) {
      case 'a':
        if (KeyIs(key, "alertWebUrl")) b.web_url = TextOf(v, arena_);
        else if (KeyIs(key, "actorDisplayName")) actor = TextOf(v, arena_);
        else if (KeyIs(key, "alerts")) incident_alerts = TextOf(v, arena_);
        break;
      case 'c':
        if (KeyIs(key, "category")) b.category = TextOf(v, arena_);
        else if (KeyIs(key, "classification")) b.classification = TextOf(v, arena_);
        else if (KeyIs(key, "createdDateTime")) created = TextOf(v, arena_);
        break;
      case 'd':
        if (KeyIs(key, "description")) b.description = TextOf(v, arena_);
        else if (KeyIs(key, "determination")) b.determination = TextOf(v, arena_);
        else if (KeyIs(key, "detectionSource")) b.detection_source = TextOf(v, arena_);
        else if (KeyIs(key, "detectorId")) b.detector_id = TextOf(v, arena_);
        break;
      case 'e':
        if (KeyIs(key, "evidence")) b.evidence = TextOf(v, arena_);
        break;
      case 'f':
        if (KeyIs(key, "firstActivityDateTime")) first_act = TextOf(v, arena_);
        break;
      case 'i':
        if (KeyIs(key, "id")) b.alert_id = TextOf(v, arena_);
        else if (KeyIs(key, "incidentId")) b.incident_id = TextOf(v, arena_);
        break;
      case 'l':
        if (KeyIs(key, "lastUpdateDateTime")) updated = TextOf(v, arena_);
        else if (KeyIs(key, "lastActivityDateTime")) last_act = TextOf(v, arena_);
        break;
      case 'm':
        if (KeyIs(key, "mitreTechniques")) b.mitre_techniques = JoinArray(v, arena_);
        break;
      case 'p':
        if (KeyIs(key, "providerAlertId")) b.provider_alert_id = TextOf(v, arena_);
        break;
      case 's':
        if (KeyIs(key, "severity")) b.severity = TextOf(v, arena_);
        else if (KeyIs(key, "status")) b.status = TextOf(v, arena_);
        else if (KeyIs(key, "serviceSource")) b.service_source = TextOf(v, arena_);
        break;
      case 't':
        if (KeyIs(key, "title")) b.title = TextOf(v, arena_);
        else if (KeyIs(key, "threatDisplayName")) threat = TextOf(v, arena_);
        break;
      default:
        break;
    }
  }
  if (!incident_alerts.empty() && b.title.empty()) {
    // An incident with its alerts ($expand=alerts): each alert is decoded on its own.
    simdjson::ondemand::parser nested;
    simdjson::ondemand::document nd;
    simdjson::ondemand::array arr;
    if (nested.iterate(Padded(incident_alerts)).get(nd) || nd.get_array().get(arr)) {
      rejects.push_back(MakeReject(e.pos, "bad-json", "incident \"alerts\" is not an array",
                                   incident_alerts));
      return AlertResult::kBadAlert;
    }
    for (auto el : arr) {
      value item;
      object o;
      if (el.get(item)) break;
      const char* iat = incident_alerts.data();
      if (item.current_location().get(iat)) {}
      if (item.get_object().get(o)) continue;
      if (DecodeAlert(o, doc, doc_pos, iat, events, rejects) == AlertResult::kBroken) break;
    }
    return AlertResult::kOk;
  }
  if (b.alert_id.empty()) {
    rejects.push_back(MakeReject(e.pos, "missing-id", "alert has no \"id\"", {at, 60}));
    return AlertResult::kBadAlert;
  }
  b.threat_actor = !actor.empty() ? actor : threat;
  b.created = TimeOf(created);
  b.last_updated = TimeOf(updated);
  b.first_activity = TimeOf(first_act);
  b.last_activity = TimeOf(last_act);
  e.time = b.last_updated ? b.last_updated : b.created;
  if (e.time == 0) {
    rejects.push_back(MakeReject(e.pos, "bad-timestamp",
                                 "alert has neither a lastUpdateDateTime nor a createdDateTime "
                                 "that parses",
                                 {at, 60}));
    return AlertResult::kBadAlert;
  }
  if (!b.evidence.empty()) DecodeEvidence(b.evidence, b);
  e.uid = b.alert_id;
  // raw: the alert object itself (evidence included), for the dead letter and evidence view.
  if (at >= doc.data() && at < doc.data() + doc.size()) {
    std::string_view rest(at, static_cast<size_t>(doc.data() + doc.size() - at));
    e.raw = rest.substr(0, ValueExtent(rest));
  }
  events.push_back(e);
  return AlertResult::kOk;
}

void AlertsDecoder::DecodeEvidence(std::string_view evidence, EdrAlertBody& b) {
  simdjson::ondemand::document doc;
  simdjson::ondemand::array arr;
  if (evidence_parser_.iterate(Padded(evidence)).get(doc) || doc.get_array().get(arr)) return;
  bool have_device_evidence = false;
  for (auto el : arr) {
    object o;
    if (el.get_object().get(o)) return;
    std::string_view type, device_id, dns, ips;
    for (auto field : o) {
      std::string_view key;
      value v;
      if (field.unescaped_key().get(key) || field.value().get(v)) return;
      if (key == "@odata.type") type = TextOf(v, arena_);
      else if (key == "mdeDeviceId") device_id = TextOf(v, arena_);
      else if (key == "deviceDnsName") dns = TextOf(v, arena_);
      else if (key == "ipInterfaces") ips = JoinArray(v, arena_);
    }
    bool is_device = type.find("deviceEvidence") != std::string_view::npos;
    if (is_device && !have_device_evidence) {
      have_device_evidence = true;
      if (!device_id.empty()) b.device_id = device_id;
      if (!dns.empty()) b.device_name = dns;
      if (!ips.empty()) b.device_ips = ips;
    } else if (b.device_id.empty() && !device_id.empty()) {
      b.device_id = device_id;
    }
  }
}

int SniffDefenderAlerts(std::string_view head, std::string_view path) {
  auto has = [&](const char* s) { return head.find(s) != std::string_view::npos; };
  if (has("#microsoft.graph.security.alert") || has("security/alerts_v2") ||
      has("$metadata#security/alerts") ||
      has("$metadata#security/incidents(alerts")) {
    return 95;
  }
  if (has("\"providerAlertId\"") && has("\"detectionSource\"")) return 90;
  if (has("#microsoft.graph.security.incident") && has("\"alerts\"")) return 85;
  if (path.find("alerts_v2") != std::string_view::npos && has("\"value\"")) return 70;
  return 0;
}

VIGIL_REGISTER_FORMAT(FormatInfo{
    "defender-alerts",
    "Microsoft Graph security alerts (alerts_v2 pages or JSON lines of alerts)",
    [] { return std::unique_ptr<Decoder>(std::make_unique<AlertsDecoder>()); },
    SniffDefenderAlerts});

}  // namespace vigil::ingest::defender
