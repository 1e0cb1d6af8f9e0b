// The console's REST API against a running server on 127.0.0.1 (ephemeral port), over a
// SQLite store in a temp dir filled with the fixture of server_fixture.h: every endpoint,
// authentication and roles, bad input, the SSE stream, /metrics and the static UI.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "server/event_hub.h"
#include "server/server.h"
#include "server/store_poller.h"
#include "server/tokens.h"
#include "server_fixture.h"
#include "test_util.h"

namespace vigil::server {
namespace {

using nlohmann::json;

class ServerApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::OpenSqliteStore(dir_.path());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    ASSERT_TRUE(server_test::PopulateFixture(*store_).ok());
    tokens_ = std::make_unique<TokenStore>(dir_.path() + "/tokens.json");
    viewer_ = *tokens_->Create(Role::kViewer, "vera");
    responder_ = *tokens_->Create(Role::kResponder, "rob");
    admin_ = *tokens_->Create(Role::kAdmin, "ada");
    std::filesystem::create_directories(dir_.path() + "/ui");
    std::ofstream(dir_.path() + "/ui/index.html") << "<!doctype html><title>Vigil test UI</title>";
    ServerOptions o;
    o.port = 0;
    o.ui_dir = dir_.path() + "/ui";
    server_ = std::make_unique<Server>(o, *store_, hub_, *tokens_, nullptr);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    client_->set_read_timeout(10, 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  httplib::Result Get(const std::string& path, const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Get(path, h);
  }
  httplib::Result Post(const std::string& path, const std::string& token, const std::string& body = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Post(path, h, body, "application/json");
  }
  // GET as viewer, expecting 200 and a JSON body.
  json GetJson(const std::string& path) {
    auto r = Get(path, viewer_);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // Expects `status` and a JSON {"error": "..."} body.
  void ExpectError(const httplib::Result& r, int status, const std::string& what) {
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << what << ": " << r->body;
    EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty())
        << what << ": " << r->body;
  }

  testutil::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<TokenStore> tokens_;
  EventHub hub_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::string viewer_, responder_, admin_;
};

const std::vector<std::string> kReadEndpoints = {
    "/api/v1/devices", "/api/v1/devices/10.0.0.5", "/api/v1/devices/10.0.0.5/events",
    "/api/v1/devices/10.0.0.5/activity", "/api/v1/map", "/api/v1/identities",
    "/api/v1/breaches", "/api/v1/breaches/b-0000000000000001", "/api/v1/incidents", "/api/v1/incidents/inc-0001",
    "/api/v1/actions", "/api/v1/actions/act-0000000000000001", "/api/v1/models", "/api/v1/status", "/metrics"};

TEST_F(ServerApi, EveryEndpointRefusesRequestsWithoutAToken) {
  for (const auto& p : kReadEndpoints) {
    auto r = Get(p, "");
    ExpectError(r, 401, p);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u) << p;
  }
  ExpectError(Post("/api/v1/actions/act-0000000000000001/approve", ""), 401, "approve");
  ExpectError(Get("/api/v1/stream", ""), 401, "stream");
}

TEST_F(ServerApi, AWrongTokenIsRefused) {
  ExpectError(Get("/api/v1/devices", "vgl_not-a-real-token"), 401, "bad token");
  ExpectError(Get("/api/v1/devices", std::string(kMaxTokenLength + 1, 'x')), 401, "overlong token");
}

TEST_F(ServerApi, AViewerReadsEveryEndpoint) {
  for (const auto& p : kReadEndpoints) {
    auto r = Get(p, viewer_);
    ASSERT_TRUE(r) << p;
    EXPECT_EQ(r->status, 200) << p << ": " << r->body;
  }
}

TEST_F(ServerApi, DevicesListsEntitiesByTypeWithPaging) {
  auto j = GetJson("/api/v1/devices");
  ASSERT_EQ(j["items"].size(), 3u);
  EXPECT_EQ(j["items"][0]["id"], "10.0.0.10");  // ordered by id
  EXPECT_EQ(j["items"][0]["role"], "internet-facing");
  auto ext = GetJson("/api/v1/devices?type=external");
  ASSERT_EQ(ext["items"].size(), 2u);
  EXPECT_EQ(ext["items"][0]["type"], "external");
  auto page = GetJson("/api/v1/devices?limit=1&offset=2");
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["id"], "10.0.0.5");
  auto ids = GetJson("/api/v1/identities");
  ASSERT_EQ(ids["items"].size(), 1u);
  EXPECT_EQ(ids["items"][0]["name"], "alice");
}

TEST_F(ServerApi, ADeviceComesWithItsBreachesActionsIncidentsAndVulnerabilities) {
  auto j = GetJson("/api/v1/devices/10.0.0.5");
  EXPECT_EQ(j["name"], "ws-alice");
  EXPECT_EQ(j["role"], "workstation");
  EXPECT_EQ(j["facts"]["os"], "Windows 11");
  EXPECT_EQ(j["first_seen"], FormatRfc3339(server_test::kT0 - 7 * kMicrosPerDay));
  ASSERT_EQ(j["breaches"].size(), 3u);  // including the weak signal
  ASSERT_EQ(j["actions"].size(), 1u);
  EXPECT_EQ(j["actions"][0]["id"], "act-0000000000000001");
  ASSERT_EQ(j["incidents"].size(), 1u);
  EXPECT_EQ(j["incidents"][0]["id"], "inc-0001");
  ASSERT_EQ(j["vulnerabilities"].size(), 2u);
  EXPECT_EQ(j["vulnerabilities"][0]["cve"], "CVE-2024-3094");
  // An identity whose id holds '/' and ':' is reachable URL-encoded.
  auto id = GetJson("/api/v1/identities/arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Falice");
  EXPECT_EQ(id["type"], "identity");
  ASSERT_EQ(id["breaches"].size(), 1u);
  EXPECT_EQ(id["breaches"][0]["model"], "cloud/unusual-credential-source");
  ASSERT_EQ(id["actions"].size(), 1u);
  EXPECT_EQ(id["actions"][0]["kind"], "disable-cloud-credential");
}

TEST_F(ServerApi, EntityEventsComeFromTheEventLogPagedFilteredAndLinkedToBreaches) {
  auto j = GetJson("/api/v1/devices/10.0.0.5/events?limit=50");
  EXPECT_EQ(j["source"], "event-log");
  ASSERT_EQ(j["items"].size(), 50u);
  EXPECT_TRUE(j["more"].get<bool>());
  for (size_t i = 1; i < j["items"].size(); ++i)  // newest first
    EXPECT_GE(j["items"][i - 1]["time"].get<std::string>(), j["items"][i]["time"].get<std::string>());
  // The newest is the event breach 3 cites (ws-alice to web-01 at T0+20m), linked to it.
  EXPECT_EQ(j["items"][0]["time"], FormatRfc3339(server_test::kT0 + 20 * kMicrosPerMinute));
  EXPECT_EQ(j["items"][0]["breach"], "b-0000000000000003");
  EXPECT_EQ(j["items"][0]["input"], "conn.log");
  EXPECT_GT(j["items"][0]["line"].get<int>(), 0);
  auto rest = GetJson("/api/v1/devices/10.0.0.5/events?limit=50&offset=50");
  ASSERT_EQ(rest["items"].size(), 15u);  // 65 events in all
  EXPECT_FALSE(rest["more"].get<bool>());
  EXPECT_EQ(GetJson("/api/v1/devices/10.0.0.5/events?kind=dns")["items"].size(), 5u);
  EXPECT_EQ(GetJson("/api/v1/devices/10.0.0.5/events?kind=http")["items"].size(), 0u);
  auto peer = GetJson("/api/v1/devices/10.0.0.5/events?peer=203.0.113.7&limit=1000");
  EXPECT_EQ(peer["items"].size(), 59u);
  auto q = GetJson("/api/v1/devices/10.0.0.5/events?q=10.0.0.10");
  ASSERT_EQ(q["items"].size(), 1u);
  EXPECT_EQ(q["items"][0]["breach"], "b-0000000000000003");
  auto window = GetJson("/api/v1/devices/10.0.0.5/events?since=" + FormatRfc3339(server_test::kT0 - 10 * kMicrosPerMinute) +
                        "&until=" + FormatRfc3339(server_test::kT0));
  EXPECT_EQ(window["items"].size(), 10u);  // beacons 1..10 minutes before T0
  // The peer's side: web-01 sees the one event where it is the peer.
  auto web = GetJson("/api/v1/devices/10.0.0.10/events");
  ASSERT_EQ(web["items"].size(), 1u);
  EXPECT_EQ(web["items"][0]["entity"], "10.0.0.5");
  // An entity with breaches but nothing in the event log falls back to the breach references.
  auto alice = GetJson("/api/v1/identities/arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Falice/events");
  EXPECT_EQ(alice["source"], "breach-references");
  ASSERT_EQ(alice["items"].size(), 1u);
  EXPECT_EQ(alice["items"][0]["breach"], "b-0000000000000004");
}

TEST_F(ServerApi, ActivityCountsTheEventLogPerBucket) {
  auto j = GetJson("/api/v1/devices/10.0.0.5/activity?bucket=1h&since=" +
                   FormatRfc3339(server_test::kT0 - 3 * kMicrosPerHour) + "&until=" + FormatRfc3339(server_test::kT0 + kMicrosPerHour));
  EXPECT_EQ(j["bucket_s"], 3600);
  uint64_t total = 0;
  for (const auto& b : j["items"]) total += b["events"].get<uint64_t>();
  EXPECT_EQ(total, 65u);
  // The hour before T0 holds the 57 beacons.
  bool found = false;
  for (const auto& b : j["items"])
    if (b["time"] == FormatRfc3339(server_test::kT0 - kMicrosPerHour)) found = b["events"] == 57;
  EXPECT_TRUE(found) << j.dump();
  // Without a range: the entity's first to last seen, in at most 2000 buckets.
  auto whole = GetJson("/api/v1/devices/10.0.0.5/activity?bucket=1m");
  EXPECT_GE(whole["bucket_s"].get<int>(), 60 * 5);  // 7 days of minutes do not fit: wider buckets
  ExpectError(Get("/api/v1/devices/10.0.0.5/activity?bucket=soon", viewer_), 400, "bad bucket");
  ExpectError(Get("/api/v1/devices/10.9.9.9/activity", viewer_), 404, "unknown device");
}

TEST_F(ServerApi, MapShowsWhoTalksToWhomSizedByActivityWithBreachesMarked) {
  auto j = GetJson("/api/v1/map");
  ASSERT_FALSE(j["edges"].empty());
  const auto& top = j["edges"][0];  // busiest first
  EXPECT_EQ(top["source"], "10.0.0.5");
  EXPECT_EQ(top["target"], "203.0.113.7");
  EXPECT_EQ(top["events"], 59);
  EXPECT_TRUE(top["breached"].get<bool>());
  bool dns_edge = false;
  for (const auto& e : j["edges"])
    if (e["target"] == "10.0.0.53") dns_edge = !e["breached"].get<bool>() && e["events"] == 5;
  EXPECT_TRUE(dns_edge) << j.dump();
  std::map<std::string, nlohmann::json> nodes;
  for (const auto& n : j["nodes"]) nodes[n["id"]] = n;
  EXPECT_EQ(nodes["10.0.0.5"]["type"], "device");
  EXPECT_EQ(nodes["10.0.0.5"]["name"], "ws-alice");
  EXPECT_EQ(nodes["10.0.0.5"]["breach_score"], 88);
  EXPECT_EQ(nodes["203.0.113.7"]["type"], "external");
  EXPECT_EQ(nodes["10.0.0.53"]["breach_score"], 0);
  EXPECT_EQ(GetJson("/api/v1/map?limit=1")["edges"].size(), 1u);
  ExpectError(Get("/api/v1/map?limit=0", viewer_), 400, "limit 0");
}

TEST_F(ServerApi, BreachesFilterByModelEntityScoreTimeAndWeakness) {
  auto all = GetJson("/api/v1/breaches");
  EXPECT_EQ(all["items"].size(), 4u);  // the weak signal is left out by default
  auto weak = GetJson("/api/v1/breaches?weak=true");
  EXPECT_EQ(weak["items"].size(), 5u);
  auto m = GetJson("/api/v1/breaches?model=network/beaconing");
  ASSERT_EQ(m["items"].size(), 1u);
  EXPECT_EQ(m["items"][0]["id"], "b-0000000000000001");
  EXPECT_EQ(m["items"][0]["entity"]["id"], "10.0.0.5");
  EXPECT_EQ(m["items"][0]["peer"]["id"], "203.0.113.7");
  auto e = GetJson("/api/v1/breaches?entity=10.0.0.20");
  ASSERT_EQ(e["items"].size(), 1u);
  EXPECT_EQ(e["items"][0]["model"], "network/executable-download");
  auto s = GetJson("/api/v1/breaches?min_score=80");
  ASSERT_EQ(s["items"].size(), 2u);
  for (const auto& b : s["items"]) EXPECT_GE(b["score"].get<int>(), 80);
  std::string since = FormatRfc3339(server_test::kT0 + kMicrosPerHour);
  std::string until = FormatRfc3339(server_test::kT0 + 150 * kMicrosPerMinute);
  auto t = GetJson("/api/v1/breaches?since=" + since + "&until=" + until);
  ASSERT_EQ(t["items"].size(), 1u);
  EXPECT_EQ(t["items"][0]["id"], "b-0000000000000004");
  auto epoch = GetJson("/api/v1/breaches?since=" + std::to_string(server_test::kT0 / kMicrosPerSecond + 3600));
  EXPECT_EQ(epoch["items"].size(), 2u);
  auto page = GetJson("/api/v1/breaches?limit=2&offset=1");
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["id"], all["items"][1]["id"]);
}

TEST_F(ServerApi, ABreachComesWithItsEventsAndIncidents) {
  auto j = GetJson("/api/v1/breaches/b-0000000000000002");
  EXPECT_EQ(j["model"], "network/rare-external-destination");
  EXPECT_EQ(j["score"], 72);
  ASSERT_EQ(j["reasons"].size(), 1u);
  ASSERT_EQ(j["events"].size(), 1u);
  EXPECT_EQ(j["events"][0]["kind"], "flow");
  EXPECT_EQ(j["events"][0]["input"], "conn.log");
  ASSERT_EQ(j["incidents"].size(), 1u);
  EXPECT_EQ(j["incidents"][0]["id"], "inc-0001");
}

TEST_F(ServerApi, IncidentsListAndDetailResolveBreachesAndActions) {
  auto list = GetJson("/api/v1/incidents");
  ASSERT_EQ(list["items"].size(), 2u);
  auto high = GetJson("/api/v1/incidents?min_score=90");
  ASSERT_EQ(high["items"].size(), 1u);
  EXPECT_EQ(high["items"][0]["id"], "inc-0001");
  auto j = GetJson("/api/v1/incidents/inc-0001");
  EXPECT_EQ(j["score"], 94);
  EXPECT_EQ(j["tactics"].size(), 3u);
  ASSERT_EQ(j["breach_records"].size(), 4u);
  EXPECT_EQ(j["breach_records"][0]["id"], "b-0000000000000001");
  std::set<std::string> actions;
  for (const auto& a : j["actions"]) actions.insert(a["id"]);
  EXPECT_EQ(actions, (std::set<std::string>{"act-0000000000000001", "act-0000000000000002"}));
}

TEST_F(ServerApi, ActionsListFiltersByStateAndDetailHasTheAuditTrail) {
  auto all = GetJson("/api/v1/actions");
  EXPECT_EQ(all["items"].size(), 3u);
  auto pending = GetJson("/api/v1/actions?state=pending");
  ASSERT_EQ(pending["items"].size(), 1u);
  EXPECT_EQ(pending["items"][0]["id"], "act-0000000000000001");
  for (const char* k : {"id", "kind", "state", "target", "reason", "expires", "mode"}) {
    EXPECT_TRUE(pending["items"][0].contains(k)) << k;
  }
  auto one = GetJson("/api/v1/actions/act-0000000000000001");
  EXPECT_TRUE(one["audit"].is_array());
}

TEST_F(ServerApi, AViewerMayNotApproveOrCancel) {
  ExpectError(Post("/api/v1/actions/act-0000000000000001/approve", viewer_), 403, "viewer approve");
  ExpectError(Post("/api/v1/actions/act-0000000000000001/cancel", viewer_), 403, "viewer cancel");
  auto a = store_->GetAction("act-0000000000000001");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((**a)["state"], "pending");
}

TEST_F(ServerApi, AResponderApprovesAPendingActionWithAnAuditRecordAndAStreamEvent) {
  uint64_t before = hub_.last_seq();
  auto r = Post("/api/v1/actions/act-0000000000000001/approve", responder_, R"({"reason":"confirmed with owner"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["state"], "active");
  EXPECT_EQ(j["approved_by"], "api:rob");
  auto stored = store_->GetAction("act-0000000000000001");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((**stored)["state"], "active");
  auto audit = store_->ListAudit("act-0000000000000001");
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ(audit->at(0).dump().find("approved") != std::string::npos, true) << audit->at(0).dump();
  EXPECT_NE(audit->at(0).dump().find("rob"), std::string::npos);
  EXPECT_NE(audit->at(0).dump().find("confirmed with owner"), std::string::npos);
  EXPECT_EQ(hub_.last_seq(), before + 1);
  // Approving twice is a conflict; cancelling the now active action works (admin may too).
  ExpectError(Post("/api/v1/actions/act-0000000000000001/approve", responder_), 409, "approve twice");
  auto c = Post("/api/v1/actions/act-0000000000000001/cancel", admin_);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->status, 200) << c->body;
  EXPECT_EQ(json::parse(c->body)["state"], "cancelled");
  EXPECT_EQ(json::parse(c->body)["cancelled_by"], "api:ada");
  ExpectError(Post("/api/v1/actions/act-0000000000000001/cancel", admin_), 409, "cancel twice");
}

TEST_F(ServerApi, BadParametersGet400WithAJsonError) {
  for (const char* p : {"/api/v1/breaches?limit=abc", "/api/v1/breaches?limit=0", "/api/v1/breaches?limit=5000",
                        "/api/v1/breaches?offset=-1", "/api/v1/breaches?min_score=101",
                        "/api/v1/breaches?since=yesterday", "/api/v1/breaches?weak=maybe",
                        "/api/v1/breaches?since=2024-03-05T12:00:00Z&until=2024-03-05T11:00:00Z",
                        "/api/v1/devices?type=printer", "/api/v1/devices?limit=1e3", "/api/v1/actions?state=sleeping",
                        "/api/v1/incidents?min_score=x", "/api/v1/devices/10.0.0.5/events?limit=-5",
                        "/api/v1/stream?types=breach,gossip"}) {
    ExpectError(Get(p, viewer_), 400, p);
  }
  ExpectError(Post("/api/v1/actions/act-0000000000000001/approve", responder_, "{not json"), 400, "bad body");
  ExpectError(Post("/api/v1/actions/act-0000000000000001/approve", responder_, R"({"reason": 5})"), 400,
              "bad reason");
}

TEST_F(ServerApi, UnknownThingsGet404WithAJsonError) {
  for (const char* p : {"/api/v1/nothing", "/api/v2/devices", "/api/v1/breaches/b-ffffffffffffffff",
                        "/api/v1/incidents/inc-9999", "/api/v1/devices/10.9.9.9", "/api/v1/actions/act-nope"}) {
    ExpectError(Get(p, viewer_), 404, p);
  }
  ExpectError(Post("/api/v1/actions/act-nope/approve", responder_), 404, "approve unknown");
}

TEST_F(ServerApi, ModelsListTheCatalogueWithThresholdsAndCounts) {
  auto j = GetJson("/api/v1/models");
  ASSERT_FALSE(j["items"].empty());
  bool found = false;
  for (const auto& m : j["items"]) {
    EXPECT_FALSE(m["description"].get<std::string>().empty()) << m["name"];
    if (m["name"] == "network/beaconing") {
      found = true;
      EXPECT_EQ(m["breaches"], 1);
      EXPECT_GT(m["threshold"].get<int>(), 0);
    }
    if (m["name"] == "network/new-user-agent-to-internal-server") {
      EXPECT_EQ(m["breaches"], 0);
      EXPECT_EQ(m["weak_signals"], 1);
    }
  }
  EXPECT_TRUE(found) << "network/beaconing is not in the catalogue";
}

TEST_F(ServerApi, StatusShowsIngestCountersRejectsAndVersion) {
  auto j = GetJson("/api/v1/status");
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_EQ(j["ingest"]["events"], 371655);
  ASSERT_EQ(j["rejects"].size(), 1u);
  EXPECT_EQ(j["rejects"][0]["code"], "bad-field");
  EXPECT_EQ(j["rejects"][0]["count"], 3);
  EXPECT_EQ(j["auth"]["role"], "viewer");
  EXPECT_GE(j["uptime_seconds"].get<int>(), 0);
}

TEST_F(ServerApi, MetricsArePrometheusText) {
  auto r = Get("/metrics", viewer_);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  EXPECT_NE(r->body.find("# TYPE vigil_http_requests_total counter"), std::string::npos);
  EXPECT_NE(r->body.find("vigil_breaches{model=\"network/beaconing\"} 1\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("vigil_actions{state=\"pending\"} 1\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("vigil_incidents 2\n"), std::string::npos);
  EXPECT_NE(r->body.find("vigil_ingest_rejects_total{input=\"conn.log\",format=\"zeek-tsv\",code=\"bad-field\"} 3"),
            std::string::npos);
}

TEST_F(ServerApi, TheUiIsServedAtTheRoot) {
  auto r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Vigil test UI"), std::string::npos);
  auto missing = client_->Get("/no-such-file.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// A self-signed certificate for localhost, written as PEM files (OpenSSL's own API, so the
// test needs no openssl command).
bool WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* x = X509_new();
  bool ok = key && x;
  if (ok) {
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    ok = X509_sign(x, key, EVP_sha256()) > 0;
  }
  if (ok) {
    FILE* c = std::fopen(cert_path.c_str(), "w");
    FILE* k = std::fopen(key_path.c_str(), "w");
    ok = c && k && PEM_write_X509(c, x) && PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    if (c) std::fclose(c);
    if (k) std::fclose(k);
  }
  X509_free(x);
  EVP_PKEY_free(key);
  return ok;
}

TEST_F(ServerApi, WithACertificateAndKeyItServesHttpsOnly) {
  std::string cert = dir_.path() + "/cert.pem", key = dir_.path() + "/key.pem";
  ASSERT_TRUE(WriteSelfSignedCert(cert, key));
  ServerOptions o;
  o.port = 0;
  o.tls_cert = cert;
  o.tls_key = key;
  o.ui_dir = dir_.path() + "/ui";
  Server tls(o, *store_, hub_, *tokens_, nullptr);
  auto port = tls.Start();
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  httplib::SSLClient c("127.0.0.1", *port);
  c.enable_server_certificate_verification(false);  // self-signed
  c.set_read_timeout(10, 0);
  auto r = c.Get("/api/v1/status", {{"Authorization", "Bearer " + viewer_}});
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["ingest"]["events"], 371655);
  EXPECT_EQ(c.Get("/api/v1/status")->status, 401);  // TLS does not replace the token
  // Plain HTTP to the TLS port gets no answer from the API.
  httplib::Client plain("127.0.0.1", *port);
  plain.set_read_timeout(2, 0);
  auto p = plain.Get("/api/v1/status", {{"Authorization", "Bearer " + viewer_}});
  EXPECT_TRUE(!p || p->status != 200);
  tls.Stop();

  // A key that does not load is an error at start, naming the files.
  std::ofstream(dir_.path() + "/bad.pem") << "not a key";
  o.tls_key = dir_.path() + "/bad.pem";
  Server broken(o, *store_, hub_, *tokens_, nullptr);
  auto fail = broken.Start();
  ASSERT_FALSE(fail.ok());
  EXPECT_NE(fail.status().message().find("bad.pem"), std::string::npos) << fail.status().message();
}

// Reads the stream on a thread until `want` appears or 5 s pass.
std::string ReadStream(int port, const std::string& path, const httplib::Headers& headers, const std::string& want,
                       std::function<void()> after_connect) {
  std::string got;
  std::atomic<bool> connected{false};
  std::thread t([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5, 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    c.Get(path, headers, [&](const char* data, size_t n) {
      got.append(data, n);
      connected = true;
      return got.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline;
    });
  });
  for (int i = 0; i < 100 && !connected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  after_connect();
  t.join();
  return got;
}

TEST_F(ServerApi, TheStreamDeliversPublishedEventsAsServerSentEvents) {
  std::string got = ReadStream(server_->port(), "/api/v1/stream", {{"Authorization", "Bearer " + viewer_}},
                               "b-stream-test", [&] {
                                 hub_.Publish("action", {{"id", "act-x"}, {"state", "pending"}});
                                 hub_.Publish("breach", {{"id", "b-stream-test"}, {"model", "network/beaconing"}});
                               });
  EXPECT_NE(got.find("event: action\n"), std::string::npos) << got;
  EXPECT_NE(got.find("event: breach\ndata: {\"id\":\"b-stream-test\""), std::string::npos) << got;
  EXPECT_NE(got.find("id: "), std::string::npos);
}

TEST_F(ServerApi, TheStreamTakesTheTokenFromTheQueryAndFiltersTypes) {
  std::string got = ReadStream(server_->port(), "/api/v1/stream?types=incident&access_token=" + viewer_, {},
                               "inc-stream", [&] {
                                 hub_.Publish("breach", {{"id", "b-filtered-out"}});
                                 hub_.Publish("incident", {{"id", "inc-stream"}});
                               });
  EXPECT_NE(got.find("event: incident"), std::string::npos) << got;
  EXPECT_EQ(got.find("b-filtered-out"), std::string::npos) << got;
  // The query token works for the stream only.
  ExpectError(Get("/api/v1/devices?access_token=" + viewer_, ""), 401, "query token elsewhere");
}

TEST(ServerAuth, AuthDisabledIsHonouredOnLoopbackOnly) {
  testutil::TempDir dir;
  auto st = store::OpenSqliteStore(dir.path());
  ASSERT_TRUE(st.ok());
  EventHub hub;
  TokenStore tokens(dir.path() + "/tokens.json");
  ServerOptions o;
  o.port = 0;
  o.auth_disabled = true;
  o.host = "0.0.0.0";
  Server open_to_all(o, **st, hub, tokens, nullptr);
  auto bad = open_to_all.Start();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("loopback"), std::string::npos);
  o.host = "127.0.0.1";
  Server local(o, **st, hub, tokens, nullptr);
  auto port = local.Start();
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  httplib::Client c("127.0.0.1", *port);
  auto r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["auth"]["required"], false);
  local.Stop();
}

TEST(ServerAuth, ConfiguredTokensWorkPlainOrHashed) {
  auto lr = config::LoadConfigText(
      "server:\n  tokens:\n    - {token: plain-secret, role: responder, name: lab}\n"
      "    - {token: \"sha256:" + Sha256Hex("hashed-secret") + "\", role: viewer}\n",
      "test.yaml");
  ASSERT_TRUE(lr.ok()) << lr.ToText();
  TokenStore tokens("/nonexistent/tokens.json");
  ServerOptions o;
  ASSERT_TRUE(ApplyServerConfig(*lr.config, &o, &tokens).ok());
  auto a = tokens.Verify("plain-secret");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->role, Role::kResponder);
  EXPECT_EQ(a->name, "lab");
  auto b = tokens.Verify("hashed-secret");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->role, Role::kViewer);
  EXPECT_FALSE(tokens.Verify("other").has_value());
  auto bad = config::LoadConfigText("server:\n  tokens:\n    - {token: x, role: root}\n", "bad.yaml");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(ApplyServerConfig(*bad.config, &o, &tokens).ok());
}

TEST(ServerTokens, TokensAreKeptHashedInAPrivateFile) {
  testutil::TempDir dir;
  std::string path = dir.path() + "/tokens.json";
  TokenStore t(path);
  ASSERT_TRUE(t.Load().ok());  // no file yet: no tokens
  auto tok = t.Create(Role::kResponder, "rob");
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->rfind("vgl_", 0), 0u);
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(*tok), std::string::npos) << "the token itself must not be stored";
  EXPECT_NE(text.find(Sha256Hex(*tok)), std::string::npos);
  TokenStore again(path);
  ASSERT_TRUE(again.Load().ok());
  auto e = again.Verify(*tok);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->role, Role::kResponder);
  EXPECT_EQ(e->name, "rob");
  std::ofstream(path) << "{\"tokens\": 5}";
  EXPECT_EQ(again.Load().code(), StatusCode::kCorrupt);
}

TEST(ServerTokens, ARunningServerSeesTokensCreatedLater) {
  testutil::TempDir dir;
  std::string path = dir.path() + "/tokens.json";
  TokenStore server_side(path);
  ASSERT_TRUE(server_side.Load().ok());
  TokenStore cli_side(path);  // `vigil token create` in another process
  auto first = cli_side.Create(Role::kViewer, "first");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(server_side.Verify(*first).has_value());
  auto second = server_side.Create(Role::kAdmin, "second");  // keeps "first"
  ASSERT_TRUE(second.ok());
  TokenStore fresh(path);
  ASSERT_TRUE(fresh.Load().ok());
  EXPECT_TRUE(fresh.Verify(*first).has_value());
  EXPECT_TRUE(fresh.Verify(*second).has_value());
}

TEST(ServerListen, ListenAddressesParse) {
  std::string h;
  int p = 0;
  ASSERT_TRUE(ParseListen("127.0.0.1:8080", &h, &p).ok());
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, 8080);
  ASSERT_TRUE(ParseListen("[::1]:9000", &h, &p).ok());
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 9000);
  ASSERT_TRUE(ParseListen(":0", &h, &p).ok());
  EXPECT_EQ(p, 0);
  EXPECT_FALSE(ParseListen("127.0.0.1:99999", &h, &p).ok());
  EXPECT_FALSE(ParseListen("::1:80", &h, &p).ok());
  EXPECT_FALSE(ParseListen("host:http", &h, &p).ok());
  EXPECT_TRUE(IsLoopbackHost("127.0.0.2"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

TEST(ServerPoller, PublishesOnlyRecordsNewOrChangedAfterTheBaseline) {
  testutil::TempDir dir;
  auto st = store::OpenSqliteStore(dir.path());
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(server_test::PopulateFixture(**st).ok());
  EventHub hub;
  StorePoller poller(**st, hub, 1000);
  EXPECT_EQ(poller.PollOnce(), 0u);  // baseline: history is not replayed into the stream
  EXPECT_EQ(poller.PollOnce(), 0u);
  auto b = server_test::FixtureBreaches()[0];
  b.id = "b-00000000000000aa";
  b.time = server_test::kT0 + 5 * kMicrosPerHour;
  ASSERT_TRUE((*st)->PutBreaches({b}).ok());
  auto a = (*st)->GetAction("act-0000000000000001");
  ASSERT_TRUE(a.ok() && a->has_value());
  json doc = **a;
  doc["state"] = "active";
  ASSERT_TRUE((*st)->PutAction("act-0000000000000001", "active", 0, doc).ok());
  EXPECT_EQ(poller.PollOnce(), 2u);
  uint64_t missed = 0;
  auto evs = hub.WaitAfter(0, 10, &missed);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, "breach");
  EXPECT_EQ(evs[0].record["id"], "b-00000000000000aa");
  EXPECT_EQ(evs[1].type, "action");
  EXPECT_EQ(evs[1].record["state"], "active");
  EXPECT_EQ(poller.PollOnce(), 0u);
}

TEST(ServerHub, ASlowReaderLearnsHowManyEventsItMissed) {
  EventHub hub;
  for (size_t i = 0; i < kHubRingSize + 10; ++i) hub.Publish("breach", {{"n", i}});
  uint64_t missed = 0;
  auto evs = hub.WaitAfter(0, 10, &missed);
  EXPECT_EQ(missed, 10u);
  ASSERT_EQ(evs.size(), kHubRingSize);
  EXPECT_EQ(evs.front().seq, 11u);
  EXPECT_EQ(hub.counts().at("breach"), kHubRingSize + 10);
  hub.Close();
  EXPECT_TRUE(hub.WaitAfter(hub.last_seq(), 5000, &missed).empty());  // returns at once
}

}  // namespace
}  // namespace vigil::server
