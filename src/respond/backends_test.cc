#include "respond/backends.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "respond/nftables_backend.h"
#include "respond/subprocess.h"

namespace vigil::respond {
namespace {

// The attacker-controlled strings of issue 7: they must never reach a shell or an nft
// expression unescaped.
const std::vector<std::string> kNasty = {
    "\"; drop table inet filter; \"", "$(reboot)", "`id`", "}", "{", "1.2.3.4; flush ruleset",
    "a b", "--help", "@conn4", "10.0.0.1 } ; add rule", "\n delete table inet vigil\n"};

// A local HTTP server on a free port, recording requests.
class LocalServer {
 public:
  explicit LocalServer(std::function<void(const httplib::Request&, httplib::Response&)> h) {
    svr_.Post(R"(.*)", [this, h](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(req);
      }
      h(req, res);
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~LocalServer() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<httplib::Request> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<httplib::Request> requests_;
};

Action NetAction(std::string_view kind = kSuspendEndpoint) {
  Action a;
  a.id = "act-00000000000000aa";
  a.kind = std::string(kind);
  a.target.device = "10.0.0.5";
  a.target.peer = "203.0.113.9";
  a.target.port = 443;
  a.target.protocol = "tcp";
  a.target.direction = "outbound";
  a.reasons.push_back({"br-1", "", "network/beaconing", 90, 0, "beacon every 60 s"});
  return a;
}

// --- SigV4 against the example in the AWS documentation (IAM ListUsers, 2015-08-30).
TEST(SigV4, MatchesTheDocumentedIamExample) {
  SigV4Request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"Action", "ListUsers"}, {"Version", "2010-05-08"}};
  r.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"host", "iam.amazonaws.com"},
               {"x-amz-date", "20150830T123600Z"}};
  EXPECT_EQ(HexSha256(CanonicalRequest(r)),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  SigV4Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_EQ(SigV4Authorization(r, c, "20150830T123600Z", "us-east-1", "iam"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(SigV4, UriEncodingKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a b/c~d_e.f-g*h"), "a%20b%2Fc~d_e.f-g%2Ah");
  EXPECT_EQ(UriEncode("/x y", true), "/x%20y");
}

// --- AWS IAM over a local server speaking the Query API.
TEST(AwsBackend, DisablesAUsersKeyAndAttachesDenyAllWithSignedRequests) {
  LocalServer srv([](const httplib::Request&, httplib::Response& res) {
    res.set_content("<UpdateAccessKeyResponse/>", "text/xml");
  });
  AwsOptions o;
  o.endpoint = srv.url() + "/";
  o.region = "us-east-1";
  o.credentials = {"AKIDEXAMPLE", "secret", ""};
  o.clock = [] { return *ParseIso8601("2024-03-01T10:00:00Z"); };
  auto b = MakeAwsBackend(o);
  Action a;
  a.id = "act-1";
  a.kind = std::string(kDisableCloudCredential);
  a.target.identity = "arn:aws:iam::123456789012:user/ops/alice";
  a.target.access_key = "AKIAIOSFODNN7EXAMPLE";
  auto r = b->Apply(a, kMicrosPerHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  httplib::Params p0, p1;
  httplib::detail::parse_query_text(reqs[0].body, p0);
  httplib::detail::parse_query_text(reqs[1].body, p1);
  EXPECT_EQ(p0.find("Action")->second, "UpdateAccessKey");
  EXPECT_EQ(p0.find("AccessKeyId")->second, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(p0.find("Status")->second, "Inactive");
  EXPECT_EQ(p0.find("UserName")->second, "alice");
  EXPECT_EQ(p0.find("Version")->second, "2010-05-08");
  EXPECT_EQ(p1.find("Action")->second, "PutUserPolicy");
  EXPECT_EQ(p1.find("PolicyName")->second, "vigil-deny-all");
  auto doc = nlohmann::json::parse(p1.find("PolicyDocument")->second);
  EXPECT_EQ(doc["Statement"][0]["Effect"], "Deny");
  EXPECT_EQ(doc["Statement"][0]["Action"], "*");
  for (const auto& req : reqs) {
    std::string auth = req.get_header_value("Authorization");
    EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240301/us-east-1/iam/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date, Signature=", 0),
              0u)
        << auth;
    EXPECT_EQ(auth.size() - auth.rfind('=') - 1, 64u);
    EXPECT_EQ(req.get_header_value("X-Amz-Date"), "20240301T100000Z");
    // Recompute the signature from what the server received.
    SigV4Request check;
    check.path = "/";
    check.payload = req.body;
    check.headers = {{"content-type", req.get_header_value("Content-Type")},
                     {"host", req.get_header_value("Host")},
                     {"x-amz-date", "20240301T100000Z"}};
    EXPECT_EQ(SigV4Authorization(check, o.credentials, "20240301T100000Z", "us-east-1", "iam"), auth);
  }
  // Revoke: the policy is deleted and the key is active again.
  ASSERT_TRUE(b->Revoke(a).ok());
  reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 4u);
  httplib::Params p2, p3;
  httplib::detail::parse_query_text(reqs[2].body, p2);
  httplib::detail::parse_query_text(reqs[3].body, p3);
  EXPECT_EQ(p2.find("Action")->second, "DeleteUserPolicy");
  EXPECT_EQ(p3.find("Status")->second, "Active");
}

TEST(AwsBackend, RevokesRoleSessionsWithATokenIssueTimeCondition) {
  LocalServer srv([](const httplib::Request&, httplib::Response& res) { res.set_content("<ok/>", "text/xml"); });
  AwsOptions o;
  o.endpoint = srv.url();
  o.credentials = {"AKIDEXAMPLE", "secret", "session-token"};
  o.clock = [] { return *ParseIso8601("2024-03-01T10:00:00Z"); };
  auto b = MakeAwsBackend(o);
  Action a;
  a.kind = std::string(kDisableCloudCredential);
  a.target.identity = "arn:aws:sts::123456789012:assumed-role/Admin/i-0abc";
  ASSERT_TRUE(b->Apply(a, kMicrosPerHour).ok());
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 1u);
  httplib::Params p;
  httplib::detail::parse_query_text(reqs[0].body, p);
  EXPECT_EQ(p.find("Action")->second, "PutRolePolicy");
  EXPECT_EQ(p.find("RoleName")->second, "Admin");
  auto doc = nlohmann::json::parse(p.find("PolicyDocument")->second);
  EXPECT_EQ(doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2024-03-01T10:00:00Z");
  EXPECT_EQ(reqs[0].get_header_value("X-Amz-Security-Token"), "session-token");
  EXPECT_NE(reqs[0].get_header_value("Authorization").find("x-amz-security-token"), std::string::npos);
}

TEST(AwsBackend, AnIamErrorFailsTheCallWithTheErrorCode) {
  LocalServer srv([](const httplib::Request&, httplib::Response& res) {
    res.status = 403;
    res.set_content("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>", "text/xml");
  });
  AwsOptions o;
  o.endpoint = srv.url();
  o.credentials = {"AKIDEXAMPLE", "secret", ""};
  auto b = MakeAwsBackend(o);
  Action a;
  a.kind = std::string(kDisableCloudCredential);
  a.target.identity = "arn:aws:iam::123456789012:user/alice";
  auto r = b->Apply(a, kMicrosPerHour);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("AccessDenied"), std::string::npos);
  EXPECT_NE(r.status().message().find("403"), std::string::npos);
}

TEST(AwsBackend, AttackerControlledIdentitiesNeverBecomeRequests) {
  LocalServer srv([](const httplib::Request&, httplib::Response& res) { res.set_content("<ok/>", "text/xml"); });
  AwsOptions o;
  o.endpoint = srv.url();
  o.credentials = {"AKIDEXAMPLE", "secret", ""};
  auto b = MakeAwsBackend(o);
  size_t sent = 0;
  for (const auto& s : kNasty) {
    Action a;
    a.kind = std::string(kDisableCloudCredential);
    a.target.identity = "arn:aws:iam::123456789012:user/" + s;
    if (b->Apply(a, kMicrosPerHour).ok()) {
      // Only names inside IAM's own alphabet ("--help", "@conn4") get through, and then
      // only as one form-encoded value that arrives exactly as it was.
      auto reqs = srv.requests();
      ASSERT_GT(reqs.size(), sent);
      httplib::Params p;
      httplib::detail::parse_query_text(reqs.back().body, p);
      EXPECT_EQ(p.find("UserName")->second, s);
      EXPECT_EQ(p.count("UserName"), 1u);
      sent = reqs.size();
    }
    a.target.identity = "arn:aws:iam::123456789012:user/alice";
    a.target.access_key = s;
    EXPECT_FALSE(b->Apply(a, kMicrosPerHour).ok()) << s;
  }
  EXPECT_EQ(srv.requests().size(), sent);
  EXPECT_LE(sent, 2u);
  EXPECT_FALSE(IamPrincipalFromArn("arn:aws:s3:::bucket").ok());
}

// --- Defender machine isolation.
TEST(DefenderBackend, IsolatesAndReleasesWithTheDocumentedRequests) {
  LocalServer srv([](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content(R"({"id":"ma-1","type":")" +
                        std::string(req.path.find("unisolate") != std::string::npos ? "Unisolate" : "Isolate") +
                        R"(","status":"Pending"})",
                    "application/json");
  });
  DefenderOptions o;
  o.url = srv.url() + "/";
  o.token = "tok123";
  auto b = MakeDefenderBackend(o);
  Action a = NetAction(kIsolateEndpoint);
  a.target.edr_device = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";
  auto r = b->Apply(a, kMicrosPerHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->find("ma-1"), std::string::npos);
  ASSERT_TRUE(b->Revoke(a).ok());
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/isolate");
  EXPECT_EQ(reqs[1].path, "/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/unisolate");
  EXPECT_EQ(reqs[0].get_header_value("Authorization"), "Bearer tok123");
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body["IsolationType"], "Full");
  EXPECT_NE(body["Comment"].get<std::string>().find("act-00000000000000aa"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(reqs[1].body).contains("Comment"));
}

TEST(DefenderBackend, RejectsMachineIdsThatAreNotFortyHexDigits) {
  LocalServer srv([](const httplib::Request&, httplib::Response& res) { res.status = 201; });
  DefenderOptions o;
  o.url = srv.url();
  auto b = MakeDefenderBackend(o);
  Action a = NetAction(kIsolateEndpoint);
  for (const auto& s : kNasty) {
    a.target.edr_device = s;
    EXPECT_FALSE(b->Apply(a, kMicrosPerHour).ok());
  }
  a.target.edr_device = "../../api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc0";
  EXPECT_FALSE(b->Apply(a, kMicrosPerHour).ok());
  EXPECT_TRUE(srv.requests().empty());
}

TEST(DefenderBackend, AServerErrorIsAFailureNotACrash) {
  DefenderOptions o;
  o.url = "http://127.0.0.1:1";  // nothing listens
  o.timeout = 2 * kMicrosPerSecond;
  auto b = MakeDefenderBackend(o);
  Action a = NetAction(kIsolateEndpoint);
  a.target.edr_device = std::string(40, 'a');
  auto r = b->Apply(a, kMicrosPerHour);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

// --- Webhook.
TEST(WebhookBackend, PostsTheActionAsJsonWithAttackerStringsEscaped) {
  LocalServer srv([](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  auto b = MakeWebhookBackend({srv.url() + "/hook", {"X-Token: abc"}});
  Action a = NetAction();
  a.reasons[0].text = "UA was \"; drop table x; $(reboot) }";
  ASSERT_TRUE(b->Apply(a, 90 * kMicrosPerSecond).ok());
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/hook");
  EXPECT_EQ(reqs[0].get_header_value("X-Token"), "abc");
  auto j = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(j["event"], "apply");
  EXPECT_EQ(j["hold_seconds"], 90);
  EXPECT_EQ(j["action"]["reasons"][0]["text"], a.reasons[0].text);
  EXPECT_EQ(j["action"]["target"]["peer"], "203.0.113.9");
}

// --- Exec hook.
TEST(ExecBackend, PlaceholdersAreWholeArgumentsAndNoShellSeesThem) {
  std::string marker = "/tmp/vigil_exec_pwned_" + std::to_string(getpid());
  std::filesystem::remove(marker);
  Action a = NetAction();
  a.target.peer = "$(touch " + marker + ")";
  a.target.identity = "x; touch " + marker;
  a.target.device = "`touch " + marker + "`";
  std::vector<std::string> templ = {"printf", "[%s]\\n", "{device}", "{peer}", "{identity}",
                                    "pre{peer}", "{port}", "{event}"};
  auto argv = ExecArgv(templ, a, "apply", kMicrosPerHour);
  ASSERT_EQ(argv.size(), templ.size());
  EXPECT_EQ(argv[3], a.target.peer);
  EXPECT_EQ(argv[5], "pre{peer}");  // only whole arguments are substituted
  auto b = MakeExecBackend({templ, 5 * kMicrosPerSecond});
  auto r = b->Apply(a, kMicrosPerHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->find("[$(touch " + marker + ")]"), std::string::npos) << *r;
  EXPECT_NE(r->find("[443]"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(ExecBackend, NonZeroExitAndTimeoutAreFailures) {
  auto fail = MakeExecBackend({{"false"}, 5 * kMicrosPerSecond});
  EXPECT_FALSE(fail->Apply(NetAction(), kMicrosPerHour).ok());
  auto slow = MakeExecBackend({{"sleep", "5"}, 300 * 1000});
  auto r = slow->Apply(NetAction(), kMicrosPerHour);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos);
  auto missing = MakeExecBackend({{"/nonexistent/vigil-hook"}, 5 * kMicrosPerSecond});
  EXPECT_FALSE(missing->Apply(NetAction(), kMicrosPerHour).ok());
}

TEST(Subprocess, CapsOutputAndFeedsStdin) {
  auto r = RunProcess({"cat"}, std::string(kMaxProcessOutput + 5000, 'x'), 5 * kMicrosPerSecond);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), kMaxProcessOutput);
}

// --- nftables batches (pure).
TEST(NftablesBackend, SetElementsAreTypedValuesOnly) {
  auto b = NftablesBackend::Make({});
  ASSERT_TRUE(b.ok());
  auto batch = (*b)->ApplyBatch(NetAction(kBlockConnection), 3 * kMicrosPerSecond);
  ASSERT_TRUE(batch.ok());
  const auto& cmds = (*batch)["nftables"];
  ASSERT_EQ(cmds.size(), 3u);  // add, delete, add with the timeout
  const auto& add = cmds[2]["add"]["element"];
  EXPECT_EQ(add["table"], "vigil");
  EXPECT_EQ(add["family"], "inet");
  EXPECT_EQ(add["name"], "conn4");
  EXPECT_EQ(add["elem"][0]["elem"]["timeout"], 3);
  EXPECT_EQ(add["elem"][0]["elem"]["val"]["concat"],
            nlohmann::json::array({"10.0.0.5", "203.0.113.9", "tcp", 443}));
  EXPECT_EQ(cmds[1].begin().key(), "delete");
}

TEST(NftablesBackend, AttackerStringsNeverReachAnNftExpression) {
  auto b = NftablesBackend::Make({});
  ASSERT_TRUE(b.ok());
  for (const auto& s : kNasty) {
    Action a = NetAction(kBlockConnection);
    a.target.peer = s;
    EXPECT_FALSE((*b)->ApplyBatch(a, kMicrosPerHour).ok()) << s;
    a = NetAction(kBlockConnection);
    a.target.device = s;
    EXPECT_FALSE((*b)->ApplyBatch(a, kMicrosPerHour).ok()) << s;
    a = NetAction(kBlockConnection);
    a.target.protocol = s;
    EXPECT_FALSE((*b)->ApplyBatch(a, kMicrosPerHour).ok()) << s;
    // Pattern-of-life peers that are not addresses are dropped, never passed on.
    a = NetAction(kEnforcePatternOfLife);
    a.target.allowed = {s, "198.51.100.7"};
    auto pol = (*b)->ApplyBatch(a, kMicrosPerHour);
    ASSERT_TRUE(pol.ok());
    EXPECT_EQ(pol->dump().find(nlohmann::json(s).dump()), std::string::npos) << s;
  }
  // Bad table and namespace names are refused at construction.
  for (const auto& s : kNasty) {
    NftablesOptions o;
    o.table = s;
    EXPECT_FALSE(NftablesBackend::Make(o).ok()) << s;
    o = {};
    o.netns = s;
    EXPECT_FALSE(NftablesBackend::Make(o).ok()) << s;
  }
  NftablesOptions o;
  o.family = "ip";
  EXPECT_FALSE(NftablesBackend::Make(o).ok());
}

TEST(NftablesBackend, SuspendWithoutAPortBlocksTheHostPairBothWays) {
  auto b = NftablesBackend::Make({});
  Action a = NetAction(kSuspendEndpoint);
  a.target.port = 0;
  auto batch = (*b)->ApplyBatch(a, kMicrosPerHour);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ((*batch)["nftables"].size(), 6u);
  EXPECT_EQ((*batch)["nftables"][2]["add"]["element"]["name"], "host4");
  EXPECT_EQ((*batch)["nftables"][2]["add"]["element"]["elem"][0]["elem"]["timeout"], 3600);
  a.target.peer = "2001:db8::1";
  EXPECT_FALSE((*b)->ApplyBatch(a, kMicrosPerHour).ok());  // mixed families
}

TEST(NftablesBackend, NetnsIsAnArgvPrefixNotAShellString) {
  NftablesOptions o;
  o.netns = "internal";
  auto b = NftablesBackend::Make(o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->NftArgv({"-j", "-f", "-"}),
            (std::vector<std::string>{"ip", "netns", "exec", "internal", "nft", "-j", "-f", "-"}));
}

TEST(MakeBackends, BuildsWhatConfigEnablesAndReportsBadSettings) {
  auto none = MakeBackends(config::Config::Defaults());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());  // every backend is off by default
  auto cfg = config::LoadConfigText(R"(
respond:
  backends:
    nftables: {enabled: true, netns: lab}
    exec: {enabled: true, argv: [logger, "{event}", "{device}"]}
)", "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.ToText();
  auto two = MakeBackends(*cfg.config);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0]->name(), "nftables");
  EXPECT_EQ((*two)[1]->name(), "exec");
  auto bad = config::LoadConfigText("respond:\n  backends:\n    nftables: {enabled: true, table: \"x;y\"}\n", "b.yaml");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(MakeBackends(*bad.config).ok());
  auto nourl = config::LoadConfigText("respond:\n  backends:\n    webhook: {enabled: true}\n", "c.yaml");
  ASSERT_TRUE(nourl.ok());
  EXPECT_FALSE(MakeBackends(*nourl.config).ok());
}

}  // namespace
}  // namespace vigil::respond
