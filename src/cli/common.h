// Shared pieces of the sub-commands: loading configuration with command-line overrides.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace CLI {
class App;
}

namespace vigil::cli {

struct ConfigFlags {
  std::string config_path;
  std::vector<std::string> internal;  // --internal CIDR (repeatable): replaces networks.internal
  std::string learning_period;        // --learning-period DURATION
  std::string state_dir;              // --state DIR
};

// Adds --config, --internal, --learning-period and --state to a sub-command.
void AddConfigFlags(CLI::App& cmd, ConfigFlags& flags);

// Loads the config file (or the defaults) and applies the flags. Prints every error with
// file:line:column to stderr and returns nullopt when the config is unusable.
std::optional<config::Config> LoadConfig(const ConfigFlags& flags);

// The state dir: --state, else state.dir from config.
std::string StateDir(const ConfigFlags& flags, const config::Config& cfg);

}  // namespace vigil::cli
