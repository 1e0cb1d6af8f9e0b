// Demo-like console data for the server and UI tests, written through the Store interface:
// three devices, two external endpoints and one cloud identity; five breaches (one a weak
// signal); an event log (FixtureEvents); two incidents; three actions (one pending approval); vulnerabilities; ingest
// counters and rejects. Fixed values, so every test knows what to expect.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/time.h"
#include "detect/breach.h"
#include "respond/action.h"
#include "store/store.h"

namespace vigil::server_test {

// 2024-03-05T10:00:00Z, the fixture's first breach.
inline constexpr Micros kT0 = 1709632800LL * kMicrosPerSecond;

inline detect::EntityInfo Ent(const std::string& type, const std::string& id, const std::string& name) {
  return {type, id, name};
}

inline detect::Breach MakeBreach(const std::string& id, Micros t, const std::string& model, int score,
                                 detect::EntityInfo entity, std::optional<detect::EntityInfo> peer,
                                 std::string reason, std::vector<std::string> mitre, bool weak = false) {
  detect::Breach b;
  b.id = id;
  b.time = t;
  b.model = model;
  b.score = score;
  b.entity = std::move(entity);
  b.peer = std::move(peer);
  b.reasons = {std::move(reason)};
  b.mitre = std::move(mitre);
  b.weak = weak;
  detect::EventRef ev;
  ev.input = "conn.log";
  ev.line = 100 + static_cast<uint64_t>(score);
  ev.offset = 4096 + static_cast<uint64_t>(score) * 10;
  ev.time = t;
  ev.kind = "flow";
  ev.uid = "C" + id.substr(2, 6);
  ev.summary = b.entity.id + ":51234 -> " + (b.peer ? b.peer->id : std::string("?")) + ":443/tcp 3.2 KB out";
  b.events = {ev};
  return b;
}

inline std::vector<detect::Breach> FixtureBreaches() {
  auto alice_ws = Ent("device", "10.0.0.5", "ws-alice");
  auto web = Ent("device", "10.0.0.10", "web-01");
  auto db = Ent("device", "10.0.0.20", "db-01");
  auto evil = Ent("external", "203.0.113.7", "evil.example");
  auto cdn = Ent("external", "198.51.100.20", "198.51.100.20");
  auto alice = Ent("identity", "arn:aws:iam::123456789012:user/alice", "alice");
  return {
      MakeBreach("b-0000000000000001", kT0, "network/beaconing", 88, alice_ws, evil,
                 "ws-alice called evil.example every 60 s (jitter 2%) for 6 hours", {"T1071.001"}),
      MakeBreach("b-0000000000000002", kT0 + 5 * kMicrosPerMinute, "network/rare-external-destination", 72,
                 alice_ws, evil, "evil.example was never contacted by any of 40 devices before", {"T1071"}),
      MakeBreach("b-0000000000000003", kT0 + 20 * kMicrosPerMinute, "network/new-user-agent-to-internal-server",
                 40, alice_ws, web, "ws-alice used user agent 'curl/8.1' new to web-01", {"T1190"}, true),
      MakeBreach("b-0000000000000004", kT0 + 2 * kMicrosPerHour, "cloud/unusual-credential-source", 91, alice,
                 Ent("external", "203.0.113.7", "evil.example"),
                 "alice's access key was used from 203.0.113.7, never seen for this identity", {"T1078.004"}),
      MakeBreach("b-0000000000000005", kT0 + 3 * kMicrosPerHour, "network/executable-download", 65, db, cdn,
                 "db-01 downloaded an executable (application/x-dosexec) from 198.51.100.20", {"T1105"}),
  };
}

// The event log: the events the network breaches cite (same input, offset and time), 57
// beacons of ws-alice to evil.example one a minute before the first breach, five DNS
// queries of ws-alice and three flows of db-01 to the CDN. ws-alice has 65 events, 59 of
// them with evil.example.
inline std::vector<store::EventRecord> FixtureEvents() {
  std::vector<store::EventRecord> out;
  for (const auto& b : FixtureBreaches()) {
    if (b.entity.type != "device") continue;
    const auto& ev = b.events.front();
    store::EventRecord r;
    r.time = ev.time;
    r.entity = b.entity.id;
    r.peer = b.peer ? b.peer->id : "";
    r.kind = ev.kind;
    r.summary = ev.summary;
    r.uid = ev.uid;
    r.input = ev.input;
    r.line = ev.line;
    r.offset = ev.offset;
    r.bytes = 3200;
    out.push_back(r);
  }
  for (int i = 1; i <= 57; ++i) {
    store::EventRecord r;
    r.time = kT0 - i * kMicrosPerMinute;
    r.entity = "10.0.0.5";
    r.peer = "203.0.113.7";
    r.kind = "flow";
    r.summary = "10.0.0.5:" + std::to_string(50000 + i) + " -> 203.0.113.7:443/tcp 310 B out, 1.2 KB in, SF";
    r.uid = "Cbeacon" + std::to_string(i);
    r.input = "conn.log";
    r.line = static_cast<uint64_t>(1000 - i);
    r.offset = static_cast<uint64_t>(200000 - i * 150);
    r.bytes = 1510;
    out.push_back(r);
  }
  for (int i = 0; i < 5; ++i) {
    store::EventRecord r;
    r.time = kT0 - 2 * kMicrosPerHour + i * 10 * kMicrosPerMinute;
    r.entity = "10.0.0.5";
    r.peer = "10.0.0.53";
    r.kind = "dns";
    r.summary = "10.0.0.5:53000 -> 10.0.0.53:53/udp query updates" + std::to_string(i) + ".example.com A";
    r.uid = "Dquery" + std::to_string(i);
    r.input = "dns.log";
    r.line = static_cast<uint64_t>(10 + i);
    r.offset = static_cast<uint64_t>(900 + i * 120);
    out.push_back(r);
  }
  for (int i = 0; i < 3; ++i) {
    store::EventRecord r;
    r.time = kT0 + (170 + i) * kMicrosPerMinute;
    r.entity = "10.0.0.20";
    r.peer = "198.51.100.20";
    r.kind = "flow";
    r.summary = "10.0.0.20:41000 -> 198.51.100.20:80/tcp 400 B out, 2.1 MB in, SF";
    r.uid = "Ccdn" + std::to_string(i);
    r.input = "conn.log";
    r.line = static_cast<uint64_t>(5000 + i);
    r.offset = static_cast<uint64_t>(700000 + i * 150);
    r.bytes = 2100400;
    out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  return out;
}

inline respond::Action MakeAction(const std::string& id, const std::string& kind, respond::State state,
                                  respond::Mode mode, const std::string& device, const std::string& peer,
                                  const std::string& identity, const std::string& breach, const std::string& text) {
  respond::Action a;
  a.id = id;
  a.kind = kind;
  a.state = state;
  a.mode = mode;
  a.target.device = device;
  a.target.peer = peer;
  a.target.identity = identity;
  a.target.port = peer.empty() ? 0 : 443;
  a.target.protocol = peer.empty() ? "" : "tcp";
  a.target.direction = peer.empty() ? "" : "outbound";
  a.created = kT0 + kMicrosPerMinute;
  a.expires = kT0 + 31 * kMicrosPerMinute;
  a.duration = 2 * kMicrosPerHour;
  a.updated = a.created;
  respond::Reason r;
  r.breach = breach;
  r.score = 88;
  r.time = kT0;
  r.text = text;
  a.reasons = {r};
  return a;
}

// Writes the fixture into `s`. Returns the first failure.
inline Status PopulateFixture(store::Store& s) {
  std::vector<store::EntityRecord> ents;
  auto ent = [&](std::string type, std::string id, std::string name, std::string role, uint64_t events,
                 nlohmann::json facts = nlohmann::json::object()) {
    store::EntityRecord e;
    e.type = std::move(type);
    e.id = id;
    e.name = std::move(name);
    e.addresses = e.type == "identity" ? std::vector<std::string>{"203.0.113.7"} : std::vector<std::string>{id};
    e.names = {e.name};
    e.first_seen = kT0 - 7 * kMicrosPerDay;
    e.last_seen = kT0 + 3 * kMicrosPerHour;
    e.role = std::move(role);
    e.events = events;
    e.facts = std::move(facts);
    ents.push_back(std::move(e));
  };
  ent("device", "10.0.0.5", "ws-alice", "workstation", 52000, {{"os", "Windows 11"}, {"os_version", "23H2"}});
  ent("device", "10.0.0.10", "web-01", "internet-facing", 310000, {{"os", "Ubuntu"}, {"os_version", "22.04"}});
  ent("device", "10.0.0.20", "db-01", "server", 8000);
  ent("external", "203.0.113.7", "evil.example", "", 420);
  ent("external", "198.51.100.20", "198.51.100.20", "", 35);
  ent("identity", "arn:aws:iam::123456789012:user/alice", "alice", "", 1200);
  VIGIL_RETURN_IF_ERROR(s.UpsertEntities(ents));
  VIGIL_RETURN_IF_ERROR(s.PutBreaches(FixtureBreaches()));
  VIGIL_RETURN_IF_ERROR(s.PutEvents(FixtureEvents()));

  nlohmann::json inc1 = {
      {"id", "inc-0001"},
      {"title", "ws-alice beaconing to evil.example, then alice's key used from it"},
      {"score", 94},
      {"state", "open"},
      {"start", FormatRfc3339(kT0)},
      {"end", FormatRfc3339(kT0 + 2 * kMicrosPerHour)},
      {"entities", {{{"type", "device"}, {"id", "10.0.0.5"}, {"name", "ws-alice"}},
                    {{"type", "external"}, {"id", "203.0.113.7"}, {"name", "evil.example"}},
                    {{"type", "identity"}, {"id", "arn:aws:iam::123456789012:user/alice"}, {"name", "alice"}}}},
      {"breaches", {"b-0000000000000001", "b-0000000000000002", "b-0000000000000003", "b-0000000000000004"}},
      {"tactics", {"Command and Control", "Initial Access", "Credential Access"}},
      {"summary", "ws-alice began calling evil.example every minute; two hours later alice's AWS access key "
                  "was used from the same address."},
      {"timeline",
       {{{"time", FormatRfc3339(kT0)}, {"text", "ws-alice starts beaconing to evil.example"}, {"breach", "b-0000000000000001"}},
        {{"time", FormatRfc3339(kT0 + 2 * kMicrosPerHour)}, {"text", "alice's key used from 203.0.113.7"},
         {"breach", "b-0000000000000004"}}}}};
  VIGIL_RETURN_IF_ERROR(s.PutIncident("inc-0001", kT0, kT0 + 2 * kMicrosPerHour, 94, "open", inc1));
  nlohmann::json inc2 = {
      {"id", "inc-0002"},
      {"title", "db-01 downloaded an executable"},
      {"score", 65},
      {"state", "open"},
      {"start", FormatRfc3339(kT0 + 3 * kMicrosPerHour)},
      {"end", FormatRfc3339(kT0 + 3 * kMicrosPerHour)},
      {"entities", {{{"type", "device"}, {"id", "10.0.0.20"}, {"name", "db-01"}}}},
      {"breaches", {"b-0000000000000005"}},
      {"tactics", {"Command and Control"}},
      {"summary", "db-01 fetched a Windows executable from an address no device had used."},
      {"timeline", nlohmann::json::array()}};
  VIGIL_RETURN_IF_ERROR(s.PutIncident("inc-0002", kT0 + 3 * kMicrosPerHour, kT0 + 3 * kMicrosPerHour, 65, "open", inc2));

  std::vector<respond::Action> acts = {
      MakeAction("act-0000000000000001", "suspend-endpoint", respond::State::kPending, respond::Mode::kConfirm,
                 "10.0.0.5", "203.0.113.7", "", "b-0000000000000001", "beaconing to evil.example"),
      MakeAction("act-0000000000000002", "disable-cloud-credential", respond::State::kActive,
                 respond::Mode::kAutonomous, "", "", "arn:aws:iam::123456789012:user/alice", "b-0000000000000004",
                 "alice's key used from a new source"),
      MakeAction("act-0000000000000003", "block-connection", respond::State::kObserved, respond::Mode::kObserve,
                 "10.0.0.20", "198.51.100.20", "", "b-0000000000000005", "executable download"),
  };
  for (const auto& a : acts) {
    VIGIL_RETURN_IF_ERROR(s.PutAction(a.id, respond::StateName(a.state), a.expires, respond::ActionToJson(a)));
  }
  VIGIL_RETURN_IF_ERROR(s.PutVulnerabilities(
      "10.0.0.5", nlohmann::json::array({{{"cve", "CVE-2024-3094"}, {"severity", "Critical"}, {"software", "xz-utils 5.6.0"}},
                                         {{"cve", "CVE-2023-4863"}, {"severity", "High"}, {"software", "libwebp 1.3.1"}}})));
  VIGIL_RETURN_IF_ERROR(s.PutIngestStats({{"events", 371655},
                                          {"rejects", 3},
                                          {"inputs", {{{"path", "conn.log"}, {"format", "zeek-tsv"}},
                                                      {{"path", "cloudtrail.json"}, {"format", "cloudtrail"}}}}}));
  store::RejectCount rc;
  rc.input = "conn.log";
  rc.format = "zeek-tsv";
  rc.code = "bad-field";
  rc.count = 3;
  rc.first_line = 77;
  rc.first_offset = 9001;
  rc.first_reason = "ts is not a number";
  VIGIL_RETURN_IF_ERROR(s.AddRejects({rc}));
  return Status::Ok();
}

}  // namespace vigil::server_test
