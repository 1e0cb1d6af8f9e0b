// `vigil actions [--json] [--state DIR]`: the response actions in the store (mode, state,
// target, reason, expiry), newest expiry first.
// `vigil approve ID [--by NAME] [--state DIR]`, `vigil cancel ID [--by NAME] [--state DIR]`:
// record a person's decision on an action. The running engine (vigil run) carries it out
// through pipeline::ResponseGlue (which calls the backends and writes the result and the audit
// trail); the request protocol is described in src/pipeline/response_glue.h.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "respond/action.h"
#include "store/store.h"

namespace vigil::cli {
namespace {

constexpr size_t kActionsListLimit = 100000;  // actions read by `vigil actions` at most

struct ActionsFlags {
  ConfigFlags config;
  bool json = false;
};

struct DecideFlags {
  ConfigFlags config;
  std::string id;
  std::string by;
};

Result<std::unique_ptr<store::Store>> Open(const ConfigFlags& flags) {
  auto cfg = LoadConfig(flags);
  if (!cfg) return InvalidArgument("configuration is unusable");
  return store::OpenSqliteStore(StateDir(flags, *cfg));
}

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string S(const nlohmann::json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
}

std::string Cut(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

int RunActions(const ActionsFlags& f) {
  auto st = Open(f.config);
  if (!st.ok()) {
    std::cerr << "vigil actions: " << st.status().message() << "\n";
    return 2;
  }
  auto list = (*st)->ListActions(kActionsListLimit, 0);
  if (!list.ok()) {
    std::cerr << "vigil actions: " << list.status().message() << "\n";
    return 2;
  }
  if (f.json) {
    for (const auto& a : *list) std::cout << a.dump() << "\n";
    return 0;
  }
  if (list->empty()) {
    std::cout << "no actions\n";
    return 0;
  }
  std::printf("%-20s  %-24s  %-10s  %-9s  %-40s  %-20s  %s\n", "ID", "KIND", "MODE", "STATE",
              "TARGET", "EXPIRES", "REASON");
  for (const auto& a : *list) {
    std::string state = S(a, "state");
    if (a.contains("request") && a["request"].is_object())
      state += "*";  // a decision waits for the engine
    std::string reason = a.contains("reason") ? S(a["reason"], "text") : "";
    if (!S(a, "error").empty()) reason = S(a, "error");
    std::printf("%-20s  %-24s  %-10s  %-9s  %-40s  %-20s  %s\n", S(a, "id").c_str(),
                S(a, "kind").c_str(), S(a, "mode").c_str(), state.c_str(),
                Cut(S(a, "description"), 40).c_str(), S(a, "expires").c_str(),
                Cut(reason, 80).c_str());
  }
  return 0;
}

int RunDecide(const DecideFlags& f, const std::string& op) {
  const char* cmd = op == "approve" ? "vigil approve" : "vigil cancel";
  auto st = Open(f.config);
  if (!st.ok()) {
    std::cerr << cmd << ": " << st.status().message() << "\n";
    return 2;
  }
  auto got = (*st)->GetAction(f.id);
  if (!got.ok()) {
    std::cerr << cmd << ": " << got.status().message() << "\n";
    return 2;
  }
  if (!got->has_value()) {
    std::cerr << cmd << ": no action " << f.id << "\n";
    return 1;
  }
  nlohmann::json doc = **got;
  auto state = respond::ParseState(S(doc, "state"));
  if (!state) {
    std::cerr << cmd << ": action " << f.id << " has no valid state\n";
    return 2;
  }
  if (op == "approve" && *state != respond::State::kPending) {
    std::cerr << cmd << ": action " << f.id << " is " << respond::StateName(*state)
              << ", only pending actions can be approved\n";
    return 1;
  }
  if (op == "cancel" && (*state == respond::State::kExpired || *state == respond::State::kCancelled)) {
    std::cerr << cmd << ": action " << f.id << " is already " << respond::StateName(*state) << "\n";
    return 1;
  }
  std::string by = f.by;
  if (by.empty()) {
    const char* user = std::getenv("USER");
    by = user && *user ? user : "cli";
  }
  Micros now = WallNow();
  doc["request"] = {{"op", op}, {"by", by}, {"at", FormatRfc3339(now)}};
  Status put = (*st)->PutAction(f.id, S(doc, "state"), ParseIso8601(S(doc, "expires")).value_or(0), doc);
  if (!put.ok()) {
    std::cerr << cmd << ": " << put.message() << "\n";
    return 2;
  }
  Status audit = (*st)->AppendAudit(f.id, now, by, op + "-requested", {{"via", "cli"}});
  if (!audit.ok()) std::cerr << cmd << ": warning: audit not written: " << audit.message() << "\n";
  std::cout << op << " of " << f.id << " by " << by
            << " recorded; the running engine carries it out and records the result\n";
  return 0;
}

VIGIL_REGISTER_COMMAND(CommandSpec{
    "actions", [](CLI::App& app, int& exit_code) {
      auto flags = std::make_shared<ActionsFlags>();
      auto* cmd = app.add_subcommand("actions", "List response actions (mode, state, target, reason, expiry)");
      AddConfigFlags(*cmd, flags->config);
      cmd->add_flag("--json", flags->json, "One JSON object per line");
      cmd->callback([flags, &exit_code] { exit_code = RunActions(*flags); });
    }});

VIGIL_REGISTER_COMMAND(CommandSpec{
    "approve", [](CLI::App& app, int& exit_code) {
      auto flags = std::make_shared<DecideFlags>();
      auto* cmd = app.add_subcommand("approve", "Approve a pending response action");
      AddConfigFlags(*cmd, flags->config);
      cmd->add_option("id", flags->id, "Action id (act-...)")->required();
      cmd->add_option("--by", flags->by, "Who approves (default: $USER)");
      cmd->callback([flags, &exit_code] { exit_code = RunDecide(*flags, "approve"); });
    }});

VIGIL_REGISTER_COMMAND(CommandSpec{
    "cancel", [](CLI::App& app, int& exit_code) {
      auto flags = std::make_shared<DecideFlags>();
      auto* cmd = app.add_subcommand("cancel", "Cancel a response action (an active one is revoked)");
      AddConfigFlags(*cmd, flags->config);
      cmd->add_option("id", flags->id, "Action id (act-...)")->required();
      cmd->add_option("--by", flags->by, "Who cancels (default: $USER)");
      cmd->callback([flags, &exit_code] { exit_code = RunDecide(*flags, "cancel"); });
    }});

}  // namespace
}  // namespace vigil::cli
