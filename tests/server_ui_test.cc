// UI test: serves the built console over the fixture store (server_fixture.h) with auth on,
// then runs tests/ui/run.mjs, which drives Debian's headless Chromium through overview,
// incident, device, breach, breach log, approval, map and models, and saves screenshots
// under test-artifacts/ui/. Builds the UI first when the build dir has none (ui/build.sh).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "server/event_hub.h"
#include "server/server.h"
#include "server/tokens.h"
#include "server_fixture.h"
#include "test_util.h"

namespace vigil::server {
namespace {

bool Exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

TEST(ConsoleUi, AnAnalystGoesFromOverviewToIncidentDeviceBreachAndApprovesAnAction) {
  const std::string src = VIGIL_SOURCE_DIR;
  const std::string ui = std::string(VIGIL_BINARY_DIR) + "/ui";
  ASSERT_TRUE(Exists("/usr/bin/chromium")) << "needs Debian's chromium (scripts/install-deps --test)";
  ASSERT_EQ(std::system("node --version > /dev/null"), 0) << "needs node (scripts/install-deps --test)";
  if (!Exists(ui + "/index.html")) {
    std::string cmd = "bash " + src + "/ui/build.sh " + VIGIL_BINARY_DIR;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  if (!Exists(src + "/ui/node_modules/playwright-core")) {
    std::string cmd = "cd " + src + "/ui && npm ci --no-audit --no-fund --loglevel=error";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  testutil::TempDir dir;
  auto st = store::OpenSqliteStore(dir.path());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_TRUE(server_test::PopulateFixture(**st).ok());
  EventHub hub;
  TokenStore tokens(dir.path() + "/tokens.json");
  auto token = tokens.Create(Role::kResponder, "ui-test");
  ASSERT_TRUE(token.ok());
  ServerOptions o;
  o.port = 0;
  o.ui_dir = ui;
  Server server(o, **st, hub, tokens, nullptr);
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status().ToString();

  std::string artifacts = src + "/test-artifacts/ui";
  std::filesystem::create_directories(artifacts);
  std::string cmd = "cd " + src + " && VIGIL_URL=http://127.0.0.1:" + std::to_string(*port) +
                    " VIGIL_TOKEN=" + *token + " VIGIL_ARTIFACTS=" + artifacts +
                    " timeout 300 node tests/ui/run.mjs 2>&1";
  int rc = std::system(cmd.c_str());
  server.Stop();
  EXPECT_EQ(rc, 0) << "tests/ui/run.mjs failed (see its output above)";
  for (const char* shot : {"01-overview", "02-incident", "03-device", "04-breach", "06-approved"}) {
    EXPECT_TRUE(Exists(artifacts + "/" + shot + ".png")) << shot;
  }
  auto a = (*st)->GetAction("act-0000000000000001");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((**a)["state"], "active") << "the approval in the browser reached the store";
}

}  // namespace
}  // namespace vigil::server
