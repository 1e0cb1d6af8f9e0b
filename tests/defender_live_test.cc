// `vigil run` with defender.tenant_id set polls a (local, fake) Microsoft Graph for alerts
// and raises them as integration/defender-alert breaches, through the page spool the
// engine follows.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace vigil {
namespace {

using testutil::ReadLines;
using testutil::TempDir;
using testutil::WriteFile;

TEST(DefenderLive, RunPollsGraphAndRaisesTheAlertAsABreach) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/data/defender/alerts_v2_page.json");
  std::stringstream page;
  page << in.rdbuf();
  httplib::Server graph;
  std::atomic<int> tokens{0}, gets{0};
  graph.Post(R"(/([^/]+)/oauth2/v2.0/token)", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != "tenant-1" || req.get_param_value("client_secret") != "live-secret" ||
        req.get_param_value("grant_type") != "client_credentials") {
      res.status = 400;
      res.set_content(R"({"error":"invalid_client"})", "application/json");
      return;
    }
    ++tokens;
    res.set_content(R"({"token_type":"Bearer","expires_in":3599,"access_token":"tok-live"})", "application/json");
  });
  graph.Get("/v1.0/security/alerts_v2", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer tok-live") {
      res.status = 401;
      return;
    }
    // The first poll gets the page; later polls (filtered after its lastUpdateDateTime) nothing.
    res.set_content(gets++ == 0 ? page.str() : std::string(R"({"value":[]})"), "application/json");
  });
  int port = graph.bind_to_any_port("127.0.0.1");
  std::thread server([&] { graph.listen_after_bind(); });

  TempDir tmp;
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  WriteFile(tmp.path() + "/run.yaml",
            "learning:\n  period: 0s\ningest:\n  poll_interval: 50ms\n"
            "defender:\n  tenant_id: tenant-1\n  client_id: client-1\n"
            "  client_secret_env: VIGIL_TEST_LIVE_SECRET\n  authority_url: " + url +
                "\n  graph_url: " + url + "\n  poll_interval: 1s\n");
  std::string cmd = "VIGIL_TEST_LIVE_SECRET=live-secret " + std::string(VIGIL_BINARY_DIR) +
                    "/vigil run --no-serve --config " + tmp.path() + "/run.yaml --state " + tmp.path() +
                    "/state --breaches " + tmp.path() + "/b.jsonl > " + tmp.path() + "/run.log 2>&1 & echo $!";
  std::FILE* p = popen(cmd.c_str(), "r");
  char buf[32] = {0};
  ASSERT_TRUE(std::fgets(buf, sizeof buf, p));
  pclose(p);
  int pid = std::atoi(buf);
  std::vector<std::string> lines;
  for (int i = 0; i < 100 && lines.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    lines = ReadLines(tmp.path() + "/b.jsonl");
  }
  kill(pid, SIGTERM);
  for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  graph.stop();
  server.join();
  std::ifstream log(tmp.path() + "/run.log");
  std::string out((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_GE(tokens.load(), 1) << out;
  EXPECT_GE(gets.load(), 1) << out;
  lines = ReadLines(tmp.path() + "/b.jsonl");
  ASSERT_EQ(lines.size(), 1u) << out;
  auto b = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(b["model"], "integration/defender-alert");
  EXPECT_NE(b.dump().find("Suspicious execution of hidden file"), std::string::npos) << b.dump();
  EXPECT_EQ(out.find("live-secret"), std::string::npos) << "the client secret must never be logged";
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Defender's device facts reach the device summary: OS and open CVEs with their software.
TEST(DefenderDevice, DeviceSummaryShowsOsAndOpenCves) {
  TempDir tmp;
  auto r = testutil::RunVigil("replay --quiet --state " + tmp.path() + "/state " + std::string(VIGIL_SOURCE_DIR) +
                              "/tests/data/defender");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto d = testutil::RunVigil("device 10.1.2.3 --json --state " + tmp.path() + "/state");
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto j = nlohmann::json::parse(d.output);
  EXPECT_EQ(j["os"], "Ubuntu");
  ASSERT_FALSE(j["vulnerabilities"].empty());
  EXPECT_EQ(j["vulnerabilities"][0]["cve"], "CVE-2023-0286");
  EXPECT_EQ(j["vulnerabilities"][0]["software"], "openssl");
  EXPECT_EQ(j["vulnerabilities"][0]["severity"], "High");
}

}  // namespace
}  // namespace vigil
