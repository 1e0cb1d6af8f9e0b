#include "cli/common.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace vigil::cli {

void AddConfigFlags(CLI::App& cmd, ConfigFlags& flags) {
  cmd.add_option("--config", flags.config_path, "YAML configuration file (defaults: config/vigil.yaml)");
  cmd.add_option("--internal", flags.internal,
                 "An internal network (CIDR); repeatable; replaces networks.internal")
      ->allow_extra_args(false);  // one value per --internal, so inputs may follow
  cmd.add_option("--learning-period", flags.learning_period,
                 "Event time during which models learn but raise nothing (e.g. 72h)");
  cmd.add_option("--state", flags.state_dir, "State directory (default ./vigil-data)");
}

std::optional<config::Config> LoadConfig(const ConfigFlags& flags) {
  config::Config cfg = config::Config::Defaults();
  if (!flags.config_path.empty()) {
    auto r = config::LoadConfigFile(flags.config_path);
    std::cerr << r.ToText();
    if (!r.ok()) return std::nullopt;
    cfg = *r.config;
  }
  if (!flags.internal.empty()) {
    std::string list = "[";
    for (size_t i = 0; i < flags.internal.size(); ++i) {
      list += (i ? ", \"" : "\"") + flags.internal[i] + "\"";
    }
    list += "]";
    Status s = cfg.Set("networks.internal", list);
    if (!s.ok()) {
      std::cerr << "error: --internal: " << s.message() << "\n";
      return std::nullopt;
    }
  }
  if (!flags.learning_period.empty()) {
    if (!ParseDuration(flags.learning_period)) {
      std::cerr << "error: --learning-period: '" << flags.learning_period
                << "' is not a duration such as 72h\n";
      return std::nullopt;
    }
    Status s = cfg.Set("learning.period", flags.learning_period);
    if (!s.ok()) {
      std::cerr << "error: --learning-period: " << s.message() << "\n";
      return std::nullopt;
    }
  }
  return cfg;
}

std::string StateDir(const ConfigFlags& flags, const config::Config& cfg) {
  if (!flags.state_dir.empty()) return flags.state_dir;
  std::string d = cfg.GetString("state.dir");
  return d.empty() ? "./vigil-data" : d;
}

}  // namespace vigil::cli
