// `vigil replay`: read inputs, learn and detect in event time, store everything, print a
// summary. Exit status is non-zero only when it could not run at all.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "pipeline/session.h"

namespace vigil::cli {
namespace {

struct ReplayFlags {
  ConfigFlags config;
  std::string breaches;
  std::string incidents;
  std::string stats;
  std::vector<std::string> inputs;
  bool quiet = false;
};

// This process's peak resident memory (VmHWM of /proc/self/status, this executable's own
// address space: unlike getrusage it does not include a forking parent's), 0 if unknown.
long PeakResidentKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

int RunReplay(const ReplayFlags& f) {
  auto cfg = LoadConfig(f.config);
  if (!cfg) return 2;
  pipeline::SessionOptions opts;
  opts.state_dir = StateDir(f.config, *cfg);
  opts.inputs = f.inputs;
  opts.breaches_path = f.breaches;
  opts.incidents_path = f.incidents;
  pipeline::Session session(*cfg, opts);
  Status s = session.Open();
  if (!s.ok()) {
    std::cerr << "vigil replay: " << s.message() << "\n";
    return 2;
  }
  s = session.Run();
  if (!s.ok()) {
    std::cerr << "vigil replay: " << s.message() << "\n";
    return 1;
  }
  if (!f.quiet) (f.breaches == "-" ? std::cerr : std::cout) << session.SummaryText();
  if (!f.stats.empty()) {
    std::ofstream out(f.stats);
    if (!out) {
      std::cerr << "vigil replay: cannot write " << f.stats << "\n";
      return 1;
    }
    nlohmann::json j = session.StatsJson();
    if (long kb = PeakResidentKb(); kb > 0) j["peak_resident_kb"] = kb;
    out << j.dump(2) << "\n";
  }
  return 0;
}

void AddReplay(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Read logs (files, gzip, folders; FORMAT:PATH forces a format), learn and detect in event time");
  AddConfigFlags(*cmd, flags->config);
  cmd->add_option("--breaches", flags->breaches, "Write breaches as JSON lines here ('-' for stdout)");
  cmd->add_option("--incidents", flags->incidents, "Write incidents as JSON lines here ('-' for stdout)");
  cmd->add_option("--stats", flags->stats, "Write the summary as JSON here");
  cmd->add_flag("--quiet", flags->quiet, "Do not print the summary");
  cmd->add_option("inputs", flags->inputs, "Inputs: files, gzip files, folders, or FORMAT:PATH")->required();
  cmd->callback([flags, &exit_code] { exit_code = RunReplay(*flags); });
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{"replay", AddReplay});

}  // namespace vigil::cli
