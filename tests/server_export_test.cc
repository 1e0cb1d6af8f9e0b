// Export sinks against real receivers on 127.0.0.1: a syslog receiver (UDP and TCP sockets
// opened by the test), a webhook server (cpp-httplib) that fails on purpose, and the OCSF
// file. Also that one failing sink never stops the others.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "detect/breach.h"
#include "server/event_hub.h"
#include "server/export/exporter.h"
#include "server/export/ocsf.h"
#include "server/export/syslog.h"
#include "server/export/webhook.h"
#include "server_fixture.h"
#include "test_util.h"

namespace vigil::server::exp {
namespace {

using nlohmann::json;

json BeaconingBreach() { return detect::BreachToJson(server_test::FixtureBreaches()[0]); }

json Incident() {
  return {{"id", "inc-0001"},
          {"title", "ws-alice beaconing | to evil"},
          {"score", 94},
          {"start", "2024-03-05T10:00:00Z"},
          {"end", "2024-03-05T12:00:00Z"},
          {"entities", {{{"type", "device"}, {"id", "10.0.0.5"}, {"name", "ws-alice"}}}},
          {"breaches", {"b-0000000000000001", "b-0000000000000004"}},
          {"tactics", {"Command and Control"}},
          {"summary", "line one\nline two"}};
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// A socket bound to 127.0.0.1 on a free port.
struct Listener {
  int fd = -1;
  int port = 0;
  explicit Listener(int type) {
    fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    if (type == SOCK_STREAM) ::listen(fd, 4);
  }
  ~Listener() { ::close(fd); }
};

std::string RecvWithTimeout(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return "";
  char buf[70000];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST(OcsfExport, ABreachBecomesADetectionFinding) {
  json o = BreachToOcsf(BeaconingBreach());
  EXPECT_EQ(o["class_uid"], 2004);
  EXPECT_EQ(o["category_uid"], 2);
  EXPECT_EQ(o["type_uid"], 200401);
  EXPECT_EQ(o["activity_id"], 1);
  EXPECT_EQ(o["severity_id"], 4);  // score 88: high
  EXPECT_EQ(o["severity"], "High");
  EXPECT_EQ(o["risk_score"], 88);
  EXPECT_EQ(o["time"], server_test::kT0 / 1000);  // milliseconds
  EXPECT_EQ(o["finding_info"]["uid"], "b-0000000000000001");
  EXPECT_EQ(o["finding_info"]["analytic"]["name"], "network/beaconing");
  EXPECT_EQ(o["finding_info"]["attacks"][0]["technique"]["uid"], "T1071.001");
  EXPECT_NE(o["finding_info"]["desc"].get<std::string>().find("every 60 s"), std::string::npos);
  ASSERT_EQ(o["resources"].size(), 2u);
  EXPECT_EQ(o["resources"][0]["uid"], "10.0.0.5");
  EXPECT_EQ(o["resources"][1]["uid"], "203.0.113.7");
  EXPECT_EQ(o["metadata"]["product"]["name"], "Vigil");
  EXPECT_EQ(o["unmapped"]["vigil"]["record"]["id"], "b-0000000000000001");
}

TEST(OcsfExport, SeverityFollowsTheScoreBands) {
  EXPECT_EQ(OcsfSeverityId(0), 1);
  EXPECT_EQ(OcsfSeverityId(24), 1);
  EXPECT_EQ(OcsfSeverityId(25), 2);
  EXPECT_EQ(OcsfSeverityId(50), 3);
  EXPECT_EQ(OcsfSeverityId(75), 4);
  EXPECT_EQ(OcsfSeverityId(90), 5);
  EXPECT_EQ(OcsfSeverityId(100), 5);
}

TEST(OcsfExport, AnIncidentNamesItsBreachesAndTheFileHoldsOneFindingALine) {
  testutil::TempDir dir;
  std::string path = dir.path() + "/findings.jsonl";
  OcsfFileSink sink(path);
  ASSERT_TRUE(sink.Write({"breach", BeaconingBreach()}).ok());
  ASSERT_TRUE(sink.Write({"incident", Incident()}).ok());
  ASSERT_TRUE(sink.Close().ok());
  EXPECT_FALSE(sink.Write({"breach", BeaconingBreach()}).ok());  // after close
  auto lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 2u);
  json inc = json::parse(lines[1]);
  EXPECT_EQ(inc["finding_info"]["types"][0], "incident");
  EXPECT_EQ(inc["finding_info"]["related_events"].size(), 2u);
  EXPECT_EQ(inc["severity_id"], 5);
  EXPECT_EQ(inc["time"], 1709640000000LL);  // end, in ms
}

TEST(OcsfExport, AnUnwritablePathIsAnErrorNotACrash) {
  OcsfFileSink sink("/nonexistent-dir/x/findings.jsonl");
  Status st = sink.Write({"breach", BeaconingBreach()});
  EXPECT_EQ(st.code(), StatusCode::kIoError);
}

TEST(CefFormat, HeaderAndExtensionAreEscaped) {
  EXPECT_EQ(CefEscapeHeader("a|b\\c"), "a\\|b\\\\c");
  EXPECT_EQ(CefEscapeValue("k=v\\x\nnext"), "k\\=v\\\\x\\nnext");
  std::string cef = FormatCef("breach", BeaconingBreach());
  EXPECT_EQ(cef.rfind("CEF:0|Vigil|Vigil|0.1.0|network/beaconing|network/beaconing on ws-alice|9|", 0), 0u) << cef;
  EXPECT_NE(cef.find(" src=10.0.0.5"), std::string::npos);
  EXPECT_NE(cef.find(" dst=203.0.113.7"), std::string::npos);
  EXPECT_NE(cef.find(" dhost=evil.example"), std::string::npos);
  EXPECT_NE(cef.find(" externalId=b-0000000000000001"), std::string::npos);
  EXPECT_NE(cef.find(" cn1=88"), std::string::npos);
  EXPECT_NE(cef.find(" rt=" + std::to_string(server_test::kT0 / 1000)), std::string::npos);
  std::string inc = FormatCef("incident", Incident());
  EXPECT_NE(inc.find("|ws-alice beaconing \\| to evil|9|"), std::string::npos) << inc;
  EXPECT_NE(inc.find("msg=line one\\nline two"), std::string::npos) << inc;
  EXPECT_EQ(inc.find('\n'), std::string::npos);
}

TEST(SyslogFormat, Rfc5424HeaderCarriesPriorityTimeAndMsgid) {
  std::string m = FormatRfc5424(16, 3, server_test::kT0, "sensor1", "breach", "CEF:0|x");
  EXPECT_EQ(m, "<131>1 2024-03-05T10:00:00Z sensor1 vigil - breach - CEF:0|x");
  EXPECT_EQ(SyslogSeverity(95), 2);
  EXPECT_EQ(SyslogSeverity(80), 3);
  EXPECT_EQ(SyslogSeverity(55), 4);
  EXPECT_EQ(SyslogSeverity(10), 5);
  EXPECT_EQ(ParseFacility("local3"), 19);
  EXPECT_EQ(ParseFacility("4"), 4);
  EXPECT_EQ(ParseFacility("local9"), -1);
  EXPECT_EQ(ParseFacility("24"), -1);
}

TEST(SyslogExport, UdpReceiverGetsOneDatagramPerBreach) {
  Listener rx(SOCK_DGRAM);
  SyslogSink sink({"127.0.0.1", rx.port, "udp", 16, 1000});
  ASSERT_TRUE(sink.Write({"breach", BeaconingBreach()}).ok());
  std::string got = RecvWithTimeout(rx.fd, 2000);
  EXPECT_EQ(got.rfind("<131>1 2024-03-05T10:00:00Z ", 0), 0u) << got;  // local0, error (score 88)
  EXPECT_NE(got.find(" vigil - breach - CEF:0|Vigil|Vigil|0.1.0|network/beaconing|"), std::string::npos) << got;
}

TEST(SyslogExport, UdpMessagesAreCutAtTheCap) {
  Listener rx(SOCK_DGRAM);
  SyslogSink sink({"127.0.0.1", rx.port, "udp", 16, 1000});
  json b = BeaconingBreach();
  b["reasons"] = {std::string(5000, 'r')};
  ASSERT_TRUE(sink.Write({"breach", b}).ok());
  EXPECT_EQ(RecvWithTimeout(rx.fd, 2000).size(), kMaxSyslogUdpBytes);
  EXPECT_EQ(sink.truncated(), 1u);
}

TEST(SyslogExport, TcpReceiverGetsOctetCountedFrames) {
  Listener rx(SOCK_STREAM);
  SyslogSink sink({"127.0.0.1", rx.port, "tcp", 16, 1000});
  ASSERT_TRUE(sink.Write({"breach", BeaconingBreach()}).ok());
  ASSERT_TRUE(sink.Write({"incident", Incident()}).ok());
  int conn = ::accept(rx.fd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  std::string got;
  for (int i = 0; i < 10 && got.find("MSGEND") == std::string::npos; ++i) {
    std::string part = RecvWithTimeout(conn, 500);
    if (part.empty()) break;
    got += part;
  }
  ::close(conn);
  // Parse "LEN SP MSG" twice.
  size_t pos = 0;
  std::vector<std::string> msgs;
  while (pos < got.size()) {
    size_t sp = got.find(' ', pos);
    ASSERT_NE(sp, std::string::npos);
    size_t len = std::stoul(got.substr(pos, sp - pos));
    msgs.push_back(got.substr(sp + 1, len));
    pos = sp + 1 + len;
  }
  ASSERT_EQ(msgs.size(), 2u) << got;
  EXPECT_NE(msgs[0].find("CEF:0|Vigil|Vigil|0.1.0|network/beaconing|"), std::string::npos);
  EXPECT_NE(msgs[1].find(" vigil - incident - CEF:0|Vigil|Vigil|0.1.0|vigil/incident|"), std::string::npos);
  EXPECT_EQ(msgs[1].rfind("<130>1 ", 0), 0u);  // score 94: critical
}

TEST(SyslogExport, ADeadTcpCollectorIsAnErrorNotAHang) {
  int port;
  {
    Listener gone(SOCK_STREAM);
    port = gone.port;
  }
  SyslogSink sink({"127.0.0.1", port, "tcp", 16, 500});
  Status st = sink.Write({"breach", BeaconingBreach()});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
}

// A webhook receiver that answers the first `fail` requests with `status`, then 200.
class WebhookReceiver {
 public:
  WebhookReceiver(int fail, int status) {
    svr_.Post("/hook", [this, fail, status](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      auth_.push_back(req.get_header_value("Authorization"));
      res.status = static_cast<int>(bodies_.size()) <= fail ? status : 200;
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
  }
  ~WebhookReceiver() {
    svr_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> auth() {
    std::lock_guard<std::mutex> lock(mu_);
    return auth_;
  }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_, auth_;
};

TEST(WebhookExport, RetriesServerErrorsUntilDelivered) {
  WebhookReceiver rx(2, 503);
  testutil::TempDir dir;
  WebhookOptions o;
  o.url = rx.url();
  o.headers = {{"Authorization", "Bearer hook-secret"}};
  o.retries = 3;
  o.backoff_ms = 10;
  o.dead_letter = dir.path() + "/dead.jsonl";
  WebhookSink sink(o);
  ASSERT_TRUE(sink.Write({"breach", BeaconingBreach()}).ok());
  auto bodies = rx.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  json j = json::parse(bodies[2]);
  EXPECT_EQ(j["type"], "breach");
  EXPECT_EQ(j["data"]["id"], "b-0000000000000001");
  EXPECT_EQ(rx.auth()[0], "Bearer hook-secret");
  EXPECT_EQ(sink.delivered(), 1u);
  EXPECT_TRUE(ReadLines(o.dead_letter).empty());
}

TEST(WebhookExport, ARecordThatNeverGetsThroughGoesToTheDeadLetterFile) {
  WebhookReceiver rx(100, 500);
  testutil::TempDir dir;
  WebhookOptions o;
  o.url = rx.url();
  o.retries = 2;
  o.backoff_ms = 10;
  o.dead_letter = dir.path() + "/dead.jsonl";
  WebhookSink sink(o);
  Status st = sink.Write({"incident", Incident()});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(rx.bodies().size(), 3u);
  auto lines = ReadLines(o.dead_letter);
  ASSERT_EQ(lines.size(), 1u);
  json dl = json::parse(lines[0]);
  EXPECT_EQ(dl["attempts"], 3);
  EXPECT_EQ(dl["error"], "HTTP 500");
  EXPECT_EQ(dl["type"], "incident");
  EXPECT_EQ(dl["data"]["id"], "inc-0001");
  EXPECT_EQ(dl["url"], rx.url());
}

TEST(WebhookExport, AClientErrorIsNotRetried) {
  WebhookReceiver rx(100, 400);
  testutil::TempDir dir;
  WebhookOptions o;
  o.url = rx.url();
  o.retries = 5;
  o.backoff_ms = 10;
  o.dead_letter = dir.path() + "/dead.jsonl";
  WebhookSink sink(o);
  EXPECT_FALSE(sink.Write({"breach", BeaconingBreach()}).ok());
  EXPECT_EQ(rx.bodies().size(), 1u);
  ASSERT_EQ(ReadLines(o.dead_letter).size(), 1u);
  EXPECT_EQ(json::parse(ReadLines(o.dead_letter)[0])["attempts"], 1);
}

TEST(WebhookExport, AnUnreachableReceiverIsDeadLettered) {
  int port;
  {
    Listener gone(SOCK_STREAM);
    port = gone.port;
  }
  testutil::TempDir dir;
  WebhookOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  o.retries = 1;
  o.backoff_ms = 10;
  o.timeout_ms = 500;
  o.dead_letter = dir.path() + "/dead.jsonl";
  WebhookSink sink(o);
  EXPECT_FALSE(sink.Write({"breach", BeaconingBreach()}).ok());
  auto lines = ReadLines(o.dead_letter);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["attempts"], 2);
  EXPECT_EQ(sink.dead_lettered(), 1u);
}

TEST(WebhookExport, RetriesAreCapped) {
  WebhookOptions o;
  o.url = "http://127.0.0.1:1/x";
  o.retries = 1000;
  WebhookSink sink(o);
  EXPECT_EQ(sink.max_attempts(), kMaxWebhookAttempts);
  o.retries = -3;
  EXPECT_EQ(WebhookSink(o).max_attempts(), 1);
}

TEST(WebhookExport, UrlsParseIntoSchemeHostPortAndPath) {
  auto u = ParseHttpUrl("https://[::1]:8443/a/b");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->path, "/a/b");
  auto plain = ParseHttpUrl("http://example.test");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path, "/");
  EXPECT_FALSE(ParseHttpUrl("ftp://x/").ok());
  EXPECT_FALSE(ParseHttpUrl("http://x:0/").ok());
  EXPECT_FALSE(ParseHttpUrl("http:///path").ok());
}

TEST(Exporter, AFailingSinkNeverStopsTheOthers) {
  testutil::TempDir dir;
  Listener rx(SOCK_DGRAM);
  int dead_port;
  {
    Listener gone(SOCK_STREAM);
    dead_port = gone.port;
  }
  auto lr = config::LoadConfigText(
      "exports:\n  ocsf: findings.jsonl\n  syslog:\n    - {host: 127.0.0.1, port: " + std::to_string(rx.port) +
          ", transport: udp, facility: local1}\n  webhooks:\n    - {url: \"http://127.0.0.1:" +
          std::to_string(dead_port) + "/x\", retries: 0, timeout: 1s}\n",
      "exports.yaml");
  ASSERT_TRUE(lr.ok()) << lr.ToText();
  auto sinks = MakeSinksFromConfig(*lr.config, dir.path());
  ASSERT_TRUE(sinks.ok()) << sinks.status().ToString();
  ASSERT_EQ(sinks->size(), 3u);
  EventHub hub;
  Exporter ex(std::move(*sinks));
  ex.Attach(hub);
  hub.Publish("breach", BeaconingBreach());
  hub.Publish("action", {{"id", "act-1"}});  // not exported
  hub.Publish("incident", Incident());
  ex.Drain();
  auto stats = ex.stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].written, 2u) << stats[0].name;
  EXPECT_EQ(stats[1].written, 2u) << stats[1].name;
  EXPECT_EQ(stats[2].failed, 2u) << stats[2].name;
  EXPECT_FALSE(stats[2].last_error.empty());
  EXPECT_EQ(ReadLines(dir.path() + "/findings.jsonl").size(), 2u);
  EXPECT_EQ(RecvWithTimeout(rx.fd, 1000).rfind("<139>1 ", 0), 0u);  // local1 (17*8) + error (3)
  EXPECT_EQ(ReadLines(dir.path() + "/webhook-dead-letter.jsonl").size(), 2u);
  ex.Close();
}

TEST(Exporter, BadExportConfigIsReportedWholeAtStart) {
  auto lr = config::LoadConfigText(
      "exports:\n  syslog:\n    - {host: 127.0.0.1, port: 514, transport: carrier-pigeon}\n"
      "  webhooks:\n    - {url: \"gopher://x\"}\n",
      "bad.yaml");
  ASSERT_TRUE(lr.ok()) << lr.ToText();
  auto sinks = MakeSinksFromConfig(*lr.config, "/tmp");
  ASSERT_FALSE(sinks.ok());
  EXPECT_NE(sinks.status().message().find("carrier-pigeon"), std::string::npos);
  EXPECT_NE(sinks.status().message().find("gopher"), std::string::npos);
}

TEST(Exporter, AFullQueueDropsTheOldestAndCountsThem) {
  // A sink that blocks until released, so the queue fills.
  struct Blocking : Sink {
    std::string n = "blocking";
    std::atomic<bool>* release;
    std::atomic<int>* seen;
    const std::string& name() const override { return n; }
    Status Write(const ExportRecord&) override {
      while (!*release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      (*seen)++;
      return Status::Ok();
    }
    Status Flush() override { return Status::Ok(); }
    Status Close() override { return Status::Ok(); }
  };
  std::atomic<bool> release{false};
  std::atomic<int> seen{0};
  auto s = std::make_unique<Blocking>();
  s->release = &release;
  s->seen = &seen;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::move(s));
  Exporter ex(std::move(sinks));
  for (size_t i = 0; i < kMaxExportQueue + 50; ++i) ex.Submit({"breach", {{"n", i}}});
  EXPECT_GE(ex.dropped(), 49u);
  release = true;
  ex.Drain();
  EXPECT_EQ(static_cast<uint64_t>(seen.load()) + ex.dropped(), kMaxExportQueue + 50);
  ex.Close();
}

}  // namespace
}  // namespace vigil::server::exp
