// `vigil demo`: writes the deterministic demo data set and replays it — what `make run`
// calls. With --serve it then serves the console on the result.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/session.h"
#include "pipeline/synth.h"
#include "server/console.h"

namespace vigil::cli {
namespace {

std::atomic<bool> g_demo_stop{false};
extern "C" void OnDemoSignal(int) { g_demo_stop.store(true); }

struct DemoFlags {
  bool serve = false;
  std::string listen;
  ConfigFlags config;
  std::string data_dir;
  std::string breaches;
  std::string incidents;
};

int RunDemo(const DemoFlags& f) {
  auto cfg = LoadConfig(f.config);
  if (!cfg) return 2;
  std::string state = StateDir(f.config, *cfg);
  std::string data = f.data_dir.empty() ? state + "/demo-input" : f.data_dir;
  auto t0 = pipeline::WriteDemoDataset(data);
  if (!t0.ok()) {
    std::cerr << "vigil demo: " << t0.status().message() << "\n";
    return 2;
  }
  // A fresh store each time: the demo is a replay of fixed data.
  std::error_code ec;
  for (const char* f2 : {"vigil.db", "vigil.db-wal", "vigil.db-shm", "dead-letter.jsonl"})
    std::filesystem::remove(std::filesystem::path(state) / f2, ec);
  pipeline::SessionOptions opts;
  opts.state_dir = state;
  opts.inputs = {data};
  opts.breaches_path = f.breaches.empty() ? state + "/breaches.jsonl" : f.breaches;
  opts.incidents_path = f.incidents.empty() ? state + "/incidents.jsonl" : f.incidents;
  pipeline::Session session(*cfg, opts);
  Status s = session.Open();
  if (s.ok()) s = session.Run();
  if (!s.ok()) {
    std::cerr << "vigil demo: " << s.message() << "\n";
    return 1;
  }
  std::cout << "demo data: " << data << " (attack starts " << FormatRfc3339(t0.value()) << ")\n"
            << session.SummaryText() << "breaches: " << opts.breaches_path << "\n"
            << "incidents: " << opts.incidents_path << "\n";
  if (!f.serve) return 0;
  server::ConsoleOptions co;
  co.state_dir = state;
  co.listen = f.listen;
  co.exports = false;
  auto console = server::Console::Start(*cfg, *session.store(), co);
  if (!console.ok()) {
    std::cerr << "vigil demo: cannot serve the console: " << console.status().message() << "\n";
    return 1;
  }
  std::cout << "console: http://" << (f.listen.empty() ? cfg->GetString("server.listen") : f.listen)
            << "/  (create a token with: vigil token create --role admin --state " << state
            << "; Ctrl-C to stop)\n"
            << std::flush;
  std::signal(SIGINT, OnDemoSignal);
  std::signal(SIGTERM, OnDemoSignal);
  while (!g_demo_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  console.value()->Stop();
  return 0;
}

void AddDemo(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand("demo", "Write the bundled demo data set and replay it");
  AddConfigFlags(*cmd, flags->config);
  cmd->add_option("--data", flags->data_dir, "Where to write the demo logs (default STATE/demo-input)");
  cmd->add_option("--breaches", flags->breaches, "Breaches file (default STATE/breaches.jsonl)");
  cmd->add_option("--incidents", flags->incidents, "Incidents file (default STATE/incidents.jsonl)");
  cmd->add_flag("--serve", flags->serve, "After the replay, serve the console until Ctrl-C (make run)");
  cmd->add_option("--listen", flags->listen, "ADDR:PORT for the console (default server.listen)");
  cmd->callback([flags, &exit_code] { exit_code = RunDemo(*flags); });
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{"demo", AddDemo});

}  // namespace vigil::cli
