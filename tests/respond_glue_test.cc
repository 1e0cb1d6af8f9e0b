// Response through the store: the Responder's actions and audit records are persisted by
// pipeline::ResponseGlue, `vigil actions` lists them, and `vigil approve` / `vigil cancel`
// decisions written to the store are carried out by the glue (here with the exec backend
// running `true`, a real program, not a fake).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "pipeline/response_glue.h"
#include "respond/backends.h"
#include "respond/subprocess.h"
#include "store/store.h"

namespace vigil {
namespace {

constexpr Micros kT0 = 1'700'000'000LL * kMicrosPerSecond;

detect::Breach Beacon(Micros t, const std::string& device) {
  detect::Breach b;
  b.id = "br-" + device;
  b.time = t;
  b.model = "network/beaconing";
  b.score = 90;
  b.entity = {"device", device, device};
  b.peer = detect::EntityInfo{"external", "203.0.113.9", ""};
  b.reasons = {"every 60 s"};
  detect::EventRef r;
  r.summary = device + ":50000 -> 203.0.113.9:443/tcp";
  b.events.push_back(r);
  return b;
}

std::string TempDir() {
  auto d = std::filesystem::temp_directory_path() / ("vigil_respond_glue_" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

respond::Responder MakeResponder(respond::Mode mode) {
  respond::ResponderSettings s;
  s.mode = mode;
  respond::PolicyRule r;
  r.model = "network/beaconing";
  r.action = std::string(respond::kSuspendEndpoint);
  s.policy.push_back(r);
  std::vector<std::unique_ptr<respond::Backend>> b;
  b.push_back(respond::MakeExecBackend({{"true"}, 5 * kMicrosPerSecond}));
  return respond::Responder(std::move(s), std::move(b));
}

TEST(ResponseGlue, PersistsActionsAndAuditAndAppliesApprovalsFromTheStore) {
  std::string dir = TempDir();
  auto st = store::OpenSqliteStore(dir);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  auto responder = MakeResponder(respond::Mode::kConfirm);
  pipeline::ResponseGlue glue(responder, **st);
  responder.OnBreach(Beacon(kT0, "10.0.0.5"), kT0);
  responder.OnBreach(Beacon(kT0, "10.0.0.6"), kT0);
  ASSERT_TRUE(glue.Flush().ok());
  auto list = (*st)->ListActions(0, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const auto& a : *list) EXPECT_EQ(a["state"], "pending");
  std::string id5, id6;
  for (const auto& a : *list) (a["target"]["device"] == "10.0.0.5" ? id5 : id6) = a["id"];
  auto audit = (*st)->ListAudit(id5);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit->empty());

  // What `vigil approve` and `vigil cancel` write.
  for (auto [id, op] : {std::pair{id5, "approve"}, std::pair{id6, "cancel"}}) {
    auto doc = (*st)->GetAction(id);
    ASSERT_TRUE(doc.ok() && doc->has_value());
    nlohmann::json d = **doc;
    d["request"] = {{"op", op}, {"by", "alice"}, {"at", "2023-11-14T22:20:00Z"}};
    ASSERT_TRUE((*st)->PutAction(id, d["state"], kT0, d).ok());
  }
  auto applied = glue.ApplyRequests(kT0 + kMicrosPerMinute);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(*applied, 2);
  auto a5 = (*st)->GetAction(id5);
  ASSERT_TRUE(a5.ok() && a5->has_value());
  EXPECT_EQ((**a5)["state"], "active");
  EXPECT_EQ((**a5)["approved_by"], "alice");
  EXPECT_FALSE((**a5).contains("request"));
  EXPECT_EQ((**a5)["results"][0]["backend"], "exec");
  auto a6 = (*st)->GetAction(id6);
  EXPECT_EQ((**a6)["state"], "cancelled");
  EXPECT_EQ((**a6)["cancelled_by"], "alice");
  // A second approval of an active action is refused and the request dropped.
  nlohmann::json d = **a5;
  d["request"] = {{"op", "approve"}, {"by", "bob"}};
  ASSERT_TRUE((*st)->PutAction(id5, "active", kT0, d).ok());
  ASSERT_TRUE(glue.ApplyRequests(kT0 + 2 * kMicrosPerMinute).ok());
  auto again = (*st)->GetAction(id5);
  EXPECT_FALSE((**again).contains("request"));
  EXPECT_NE((**again)["request_error"].get<std::string>().find("not pending"), std::string::npos);
  std::filesystem::remove_all(dir);
}

int Vigil(const std::vector<std::string>& args, std::string* out = nullptr) {
  std::vector<std::string> argv = {VIGIL_BINARY_DIR "/vigil"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = respond::RunProcess(argv, "", 60 * kMicrosPerSecond);
  if (!r.ok()) return -1;
  if (out) *out = r->out + r->err;
  return r->exit_code;
}

TEST(ActionsCommand, ListsApprovesAndCancelsThroughTheStore) {
  std::string dir = TempDir();
  std::string id;
  {
    auto st = store::OpenSqliteStore(dir);
    ASSERT_TRUE(st.ok());
    auto responder = MakeResponder(respond::Mode::kConfirm);
    pipeline::ResponseGlue glue(responder, **st);
    responder.OnBreach(Beacon(kT0, "10.0.0.5"), kT0);
    ASSERT_TRUE(glue.Flush().ok());
    id = responder.All()[0].id;
  }
  std::string out;
  ASSERT_EQ(Vigil({"actions", "--state", dir}, &out), 0) << out;
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("suspend-endpoint"), std::string::npos);
  EXPECT_NE(out.find("pending"), std::string::npos);
  EXPECT_NE(out.find("10.0.0.5 -> 203.0.113.9:443/tcp"), std::string::npos) << out;
  ASSERT_EQ(Vigil({"actions", "--json", "--state", dir}, &out), 0);
  auto j = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["mode"], "confirm");

  EXPECT_EQ(Vigil({"approve", "act-0000000000000000", "--state", dir}, &out), 1);
  ASSERT_EQ(Vigil({"approve", id, "--by", "alice", "--state", dir}, &out), 0) << out;
  auto st = store::OpenSqliteStore(dir);
  ASSERT_TRUE(st.ok());
  auto doc = (*st)->GetAction(id);
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((**doc)["request"]["op"], "approve");
  EXPECT_EQ((**doc)["request"]["by"], "alice");
  ASSERT_EQ(Vigil({"cancel", id, "--by", "bob", "--state", dir}, &out), 0) << out;
  doc = (*st)->GetAction(id);
  EXPECT_EQ((**doc)["request"]["op"], "cancel");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil
