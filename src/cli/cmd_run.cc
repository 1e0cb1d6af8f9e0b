// `vigil run --config FILE`: the engine on live sources named in the config's `inputs:`.
// Follows files as they grow and rotate, checkpoints state with input positions, and on
// SIGINT/SIGTERM processes what it has read, checkpoints and exits 0. A restart resumes
// exactly where the checkpoint says: no event scored twice, none skipped.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/defender_spool.h"
#include "pipeline/session.h"
#include "server/console.h"

namespace vigil::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnSignal(int) { g_stop.store(true); }

struct RunFlags {
  bool no_serve = false;
  std::string listen;
  ConfigFlags config;
  std::string breaches;
  std::string incidents;
  std::vector<std::string> extra_inputs;
};

int RunRun(const RunFlags& f) {
  auto cfg = LoadConfig(f.config);
  if (!cfg) return 2;
  std::vector<std::string> inputs = f.extra_inputs;
  YAML::Node in = cfg->Node("inputs");
  if (in.IsSequence()) {
    for (const auto& i : in) {
      if (!i["path"]) continue;
      std::string p = i["path"].Scalar();
      if (i["format"]) p = i["format"].Scalar() + ":" + p;
      inputs.push_back(p);
    }
  }
  // Live Defender alerts (defender.tenant_id set): polled into a spool file the engine follows.
  auto spool = DefenderSpool::Start(*cfg, StateDir(f.config, *cfg));
  if (!spool.ok()) {
    std::cerr << "vigil run: defender: " << spool.status().message() << "\n";
    return 2;
  }
  if (spool.value()) inputs.push_back(spool.value()->input());
  if (inputs.empty()) {
    std::cerr << "vigil run: no inputs (add `inputs: [{path: ...}]` to the config)\n";
    return 2;
  }
  pipeline::SessionOptions opts;
  opts.state_dir = StateDir(f.config, *cfg);
  opts.inputs = inputs;
  opts.follow = true;
  opts.resume = true;
  opts.breaches_path = f.breaches;
  opts.incidents_path = f.incidents;
  pipeline::Session session(*cfg, opts);
  Status s = session.Open();
  if (!s.ok()) {
    std::cerr << "vigil run: " << s.message() << "\n";
    return 2;
  }
  std::unique_ptr<server::Console> console;
  if (!f.no_serve) {
    server::ConsoleOptions co;
    co.state_dir = opts.state_dir;
    co.listen = f.listen;
    auto c = server::Console::Start(*cfg, *session.store(), co);
    if (!c.ok()) {
      std::cerr << "vigil run: cannot serve the console: " << c.status().message() << "\n";
      return 2;
    }
    console = std::move(c.value());
    session.publish = [&console](const std::string& type, const nlohmann::json& doc) {
      console->hub().Publish(type, doc);
    };
    std::cerr << "vigil run: console on port " << console->port() << "\n";
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::cerr << "vigil run: following " << inputs.size() << " input(s); state in " << opts.state_dir << "\n";
  s = session.Run(&g_stop);
  if (!s.ok()) {
    std::cerr << "vigil run: " << s.message() << "\n";
    return 1;
  }
  std::cerr << session.SummaryText();
  if (console) console->Stop();
  return 0;
}

void AddRun(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Run on live sources from the config until SIGINT/SIGTERM");
  AddConfigFlags(*cmd, flags->config);
  cmd->add_option("--breaches", flags->breaches, "Append breaches as JSON lines here ('-' for stdout)");
  cmd->add_option("--incidents", flags->incidents, "Write incidents as JSON lines here");
  cmd->add_option("--input", flags->extra_inputs, "An extra input path (repeatable), besides config inputs")
      ->allow_extra_args(false);
  cmd->add_flag("--no-serve", flags->no_serve, "Do not serve the console and API");
  cmd->add_option("--listen", flags->listen, "ADDR:PORT for the console (default server.listen)");
  cmd->callback([flags, &exit_code] { exit_code = RunRun(*flags); });
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{"run", AddRun});

}  // namespace vigil::cli
