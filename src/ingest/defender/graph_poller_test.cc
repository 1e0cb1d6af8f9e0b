// GraphPoller against a fake Microsoft Graph on 127.0.0.1 (cpp-httplib, ephemeral port)
// that speaks the documented wire format: the v2.0 token endpoint (client credentials),
// alerts_v2 with $filter on lastUpdateDateTime, $top/$skip paging through @odata.nextLink,
// 429 with Retry-After, 401 for a revoked token, and a malformed page on demand.
#include "ingest/defender/graph_poller.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace vigil::ingest::defender {
namespace {

constexpr const char* kSecretEnv = "VIGIL_TEST_DEFENDER_SECRET";
constexpr const char* kSecret = "s3cr3t-Value/+=";

struct FakeAlert {
  std::string id;
  std::string created;
  std::string updated;
  std::string status = "new";
  std::string severity = "medium";
};

class FakeGraph {
 public:
  FakeGraph() {
    svr_.Post(R"(/([^/]+)/oauth2/v2.0/token)", [this](const httplib::Request& req,
                                                        httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      ++token_requests;
      if (req.matches[1] != "tenant-1" || req.get_param_value("grant_type") != "client_credentials" ||
          req.get_param_value("client_id") != "client-1" ||
          req.get_param_value("scope") != "https://graph.microsoft.com/.default" ||
          req.get_param_value("client_secret") != kSecret) {
        res.status = 400;
        res.set_content(R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})",
                        "application/json");
        return;
      }
      std::string tok = "tok-" + std::to_string(token_requests);
      valid_tokens_.insert(tok);
      res.set_content(nlohmann::json{{"token_type", "Bearer"}, {"expires_in", 3599},
                                     {"ext_expires_in", 3599}, {"access_token", tok}}
                          .dump(),
                      "application/json");
    });
    svr_.Get("/v1.0/security/alerts_v2", [this](const httplib::Request& req,
                                                httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu_);
      ++gets;
      std::string auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) != 0 || !valid_tokens_.count(auth.substr(7))) {
        res.status = 401;
        res.set_content(R"({"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}})",
                        "application/json");
        return;
      }
      if (throttle > 0) {
        --throttle;
        res.status = 429;
        res.set_header("Retry-After", "1");
        res.set_content(R"({"error":{"code":"TooManyRequests"}})", "application/json");
        return;
      }
      filters.push_back(req.get_param_value("$filter"));
      size_t top = std::stoul(req.get_param_value("$top"));
      size_t skip = req.has_param("$skip") ? std::stoul(req.get_param_value("$skip")) : 0;
      std::string since;
      std::string filter = req.get_param_value("$filter");
      constexpr std::string_view kGe = "lastUpdateDateTime ge ";
      if (filter.rfind(kGe, 0) == 0) since = filter.substr(kGe.size());
      std::vector<FakeAlert> match;
      for (const auto& a : alerts)
        if (since.empty() || *ParseIso8601(a.updated) >= *ParseIso8601(since)) match.push_back(a);
      std::sort(match.begin(), match.end(),
                [](const FakeAlert& x, const FakeAlert& y) { return x.updated < y.updated; });
      if (malformed_skip && *malformed_skip == skip && malformed_times > 0) {
        --malformed_times;
        res.set_content("{\"@odata.context\":\"x\",\"value\":[{\"id\":\"broken\",\"title\":", "application/json");
        return;
      }
      nlohmann::json page;
      page["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2";
      page["value"] = nlohmann::json::array();
      for (size_t i = skip; i < std::min(match.size(), skip + top); ++i) {
        const auto& a = match[i];
        page["value"].push_back({{"@odata.type", "#microsoft.graph.security.alert"},
                                 {"id", a.id},
                                 {"title", "Alert " + a.id},
                                 {"severity", a.severity},
                                 {"status", a.status},
                                 {"category", "Execution"},
                                 {"mitreTechniques", {"T1059"}},
                                 {"createdDateTime", a.created},
                                 {"lastUpdateDateTime", a.updated},
                                 {"evidence", nlohmann::json::array()}});
      }
      if (skip + top < match.size()) {
        page["@odata.nextLink"] = base() + "/v1.0/security/alerts_v2?%24top=" +
                                  std::to_string(top) + "&%24skip=" + std::to_string(skip + top) +
                                  (filter.empty() ? "" : "&%24filter=" + httplib::detail::encode_query_param(filter));
      }
      res.set_content(page.dump(), "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 200 && !svr_.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeGraph() {
    svr_.stop();
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void RevokeTokens() {
    std::lock_guard<std::mutex> l(mu_);
    valid_tokens_.clear();
  }

  // Read and set by tests between polls (the server thread only runs during a poll).
  std::vector<FakeAlert> alerts;
  int token_requests = 0;
  int gets = 0;
  int throttle = 0;
  std::optional<size_t> malformed_skip;
  int malformed_times = 0;
  std::vector<std::string> filters;

 private:
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::set<std::string> valid_tokens_;
};

GraphPollerOptions Options(const FakeGraph& g, int page_size = 2) {
  setenv(kSecretEnv, kSecret, 1);
  GraphPollerOptions o;
  o.tenant_id = "tenant-1";
  o.client_id = "client-1";
  o.client_secret_env = kSecretEnv;
  o.authority_url = g.base();
  o.graph_url = g.base();
  o.page_size = page_size;
  o.request_timeout = 5 * kMicrosPerSecond;
  return o;
}

FakeAlert Alert(int i, int minute_updated, int minute_created = -1) {
  char created[32], updated[32];
  std::snprintf(created, sizeof created, "2024-05-01T10:%02d:00.1234567Z",
                minute_created < 0 ? minute_updated : minute_created);
  std::snprintf(updated, sizeof updated, "2024-05-01T10:%02d:00.1234567Z", minute_updated);
  return {"alert-" + std::to_string(i), created, updated};
}

struct Delivered {
  std::vector<std::string> ids;
  std::vector<bool> updates;
  std::vector<std::string> statuses;
  std::vector<Reject> rejects;
  int pages = 0;
};

GraphPoller::PageCallback Collect(Delivered& d) {
  return [&d](GraphPage& p) {
    ++d.pages;
    for (const auto& e : p.events) {
      const auto* a = e.As<EdrAlertBody>();
      d.ids.emplace_back(a->alert_id);
      d.updates.push_back(a->is_update);
      d.statuses.emplace_back(a->status);
    }
    for (const auto& r : p.rejects) d.rejects.push_back(r);
  };
}

TEST(GraphPoller, FollowsNextLinksAndDeliversEveryAlertOnce) {
  FakeGraph g;
  for (int i = 0; i < 5; ++i) g.alerts.push_back(Alert(i, i));
  auto p = GraphPoller::Create(Options(g));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Delivered d;
  auto stats = (*p)->PollOnce(Collect(d));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(d.pages, 3);
  EXPECT_EQ(stats->pages, 3);
  EXPECT_EQ(d.ids, (std::vector<std::string>{"alert-0", "alert-1", "alert-2", "alert-3", "alert-4"}));
  EXPECT_EQ(std::count(d.updates.begin(), d.updates.end(), true), 0);
  EXPECT_EQ(g.token_requests, 1);  // one token for all pages
  // The cursor is the newest lastUpdateDateTime (to the microsecond) and the id at it.
  EXPECT_EQ((*p)->cursor(), "2024-05-01T10:04:00.123456Z alert-4");
}

TEST(GraphPoller, WaitsRetryAfterOn429AndRetriesTheSamePage) {
  FakeGraph g;
  for (int i = 0; i < 3; ++i) g.alerts.push_back(Alert(i, i));
  g.throttle = 2;
  auto p = GraphPoller::Create(Options(g));
  ASSERT_TRUE(p.ok());
  std::vector<Micros> waits;
  (*p)->set_sleep([&](Micros w) { waits.push_back(w); });
  Delivered d;
  auto stats = (*p)->PollOnce(Collect(d));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(waits, (std::vector<Micros>{kMicrosPerSecond, kMicrosPerSecond}));
  EXPECT_EQ(stats->throttled, 2);
  EXPECT_EQ(d.ids.size(), 3u);
}

TEST(GraphPoller, GivesUpAfterMaxRetriesOfThrottling) {
  FakeGraph g;
  g.alerts.push_back(Alert(0, 0));
  g.throttle = 100;
  auto o = Options(g);
  o.max_retries = 3;
  auto p = GraphPoller::Create(o);
  ASSERT_TRUE(p.ok());
  int waits = 0;
  (*p)->set_sleep([&](Micros) { ++waits; });
  Delivered d;
  auto stats = (*p)->PollOnce(Collect(d));
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(stats.status().message().find("429"), std::string::npos);
  EXPECT_EQ(waits, 3);
  EXPECT_TRUE(d.ids.empty());
}

TEST(GraphPoller, ExpiredTokenIsRefreshedOnceOn401) {
  FakeGraph g;
  g.alerts.push_back(Alert(0, 0));
  auto p = GraphPoller::Create(Options(g));
  ASSERT_TRUE(p.ok());
  Delivered d;
  ASSERT_TRUE((*p)->PollOnce(Collect(d)).ok());
  g.RevokeTokens();  // the cached token now gets 401
  g.alerts.push_back(Alert(1, 1));
  auto stats = (*p)->PollOnce(Collect(d));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(g.token_requests, 2);
  EXPECT_EQ(d.ids, (std::vector<std::string>{"alert-0", "alert-1"}));
}

TEST(GraphPoller, AlertUpdatesAreDeliveredAsUpdatesNotNewAlerts) {
  FakeGraph g;
  g.alerts.push_back(Alert(0, 0));
  g.alerts.push_back(Alert(1, 1));
  auto p = GraphPoller::Create(Options(g));
  ASSERT_TRUE(p.ok());
  Delivered d;
  ASSERT_TRUE((*p)->PollOnce(Collect(d)).ok());
  // alert-0 is resolved later: same id, new lastUpdateDateTime.
  g.alerts[0] = Alert(0, 7, 0);
  g.alerts[0].status = "resolved";
  auto stats = (*p)->PollOnce(Collect(d));
  ASSERT_TRUE(stats.ok());
  // Second poll: filter ge the cursor; alert-1 comes back at the cursor and is dropped.
  EXPECT_EQ(g.filters.back(), "lastUpdateDateTime ge 2024-05-01T10:01:00.123456Z");
  EXPECT_EQ(d.ids, (std::vector<std::string>{"alert-0", "alert-1", "alert-0"}));
  EXPECT_EQ(d.updates, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(d.statuses.back(), "resolved");
  EXPECT_EQ(stats->updates, 1u);
  EXPECT_EQ(stats->duplicates, 1u);
}

TEST(GraphPoller, ResumesFromTheCursorAfterARestartWithoutRepeats) {
  FakeGraph g;
  for (int i = 0; i < 3; ++i) g.alerts.push_back(Alert(i, i));
  std::string cursor;
  {
    auto p = GraphPoller::Create(Options(g));
    ASSERT_TRUE(p.ok());
    Delivered d;
    ASSERT_TRUE((*p)->PollOnce(Collect(d)).ok());
    ASSERT_EQ(d.ids.size(), 3u);
    cursor = (*p)->cursor();
  }
  // While down: two new alerts, and alert-1 (created before the cursor) was updated.
  g.alerts.push_back(Alert(3, 5));
  g.alerts.push_back(Alert(4, 6));
  g.alerts[1] = Alert(1, 9, 1);
  g.alerts[1].status = "inProgress";
  auto p = GraphPoller::Create(Options(g));
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->set_cursor(cursor).ok());
  Delivered d;
  auto stats = (*p)->PollOnce(Collect(d));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(g.filters.back(), "lastUpdateDateTime ge 2024-05-01T10:02:00.123456Z");
  // alert-2 sits exactly at the cursor: already delivered, dropped.
  EXPECT_EQ(d.ids, (std::vector<std::string>{"alert-3", "alert-4", "alert-1"}));
  EXPECT_EQ(d.updates, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(stats->duplicates, 1u);
  EXPECT_FALSE((*p)->set_cursor("not a time").ok());
}

TEST(GraphPoller, MalformedPageIsRejectedClearlyAndItsNeighboursAreKept) {
  FakeGraph g;
  for (int i = 0; i < 6; ++i) g.alerts.push_back(Alert(i, i));
  g.malformed_skip = 2;  // the second page
  g.malformed_times = 1;
  auto p = GraphPoller::Create(Options(g));
  ASSERT_TRUE(p.ok());
  Delivered d;
  auto first = (*p)->PollOnce(Collect(d));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(first.status().message().find("skip=2"), std::string::npos);
  EXPECT_EQ(d.ids, (std::vector<std::string>{"alert-0", "alert-1"}));  // the page before
  ASSERT_EQ(d.rejects.size(), 1u);
  EXPECT_EQ(d.rejects[0].code, "bad-json");
  EXPECT_NE(d.rejects[0].reason.find("/v1.0/security/alerts_v2"), std::string::npos);
  EXPECT_EQ((*p)->cursor(), "");  // not advanced past an unread page
  // Next poll: the page is fine again; the alerts of it and of the page after it arrive,
  // the first page's are not delivered twice.
  auto second = (*p)->PollOnce(Collect(d));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(d.ids, (std::vector<std::string>{"alert-0", "alert-1", "alert-2", "alert-3",
                                             "alert-4", "alert-5"}));
  EXPECT_EQ(second->duplicates, 2u);
}

TEST(GraphPoller, BadSecretIsReportedWithoutTheSecret) {
  FakeGraph g;
  auto o = Options(g);
  setenv("VIGIL_TEST_DEFENDER_WRONG", "wrong-secret-123", 1);
  o.client_secret_env = "VIGIL_TEST_DEFENDER_WRONG";
  auto p = GraphPoller::Create(o);
  ASSERT_TRUE(p.ok());
  Delivered d;
  auto r = (*p)->PollOnce(Collect(d));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("invalid_client"), std::string::npos);
  EXPECT_EQ(r.status().message().find("wrong-secret-123"), std::string::npos);
  EXPECT_EQ(g.gets, 0);
}

TEST(GraphPoller, MissingSecretVariableAndCertificateAreConfigErrors) {
  FakeGraph g;
  auto o = Options(g);
  o.client_secret_env = "VIGIL_TEST_DEFENDER_UNSET_VARIABLE";
  unsetenv("VIGIL_TEST_DEFENDER_UNSET_VARIABLE");
  auto p = GraphPoller::Create(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("VIGIL_TEST_DEFENDER_UNSET_VARIABLE"), std::string::npos);
  auto o2 = Options(g);
  o2.certificate_path = "/etc/vigil/defender.pem";
  EXPECT_FALSE(GraphPoller::Create(o2).ok());
}

}  // namespace
}  // namespace vigil::ingest::defender
