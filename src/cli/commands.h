// The `vigil` command line. Each sub-command lives in its own src/cli/cmd_<name>.cc and
// registers itself with VIGIL_REGISTER_COMMAND; Main builds one CLI11 app from them.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace vigil::cli {

// Runs the command line; returns the process exit status.
int Main(int argc, char** argv);

// A command adds its sub-command (with options and a callback) to the app. The callback
// sets `exit_code` (0 on success) and must not call exit().
struct CommandSpec {
  std::string name;
  std::function<void(CLI::App& app, int& exit_code)> add;
};

class CommandRegistry {
 public:
  static CommandRegistry& Global();
  void Add(CommandSpec spec) { specs_.push_back(std::move(spec)); }
  const std::vector<CommandSpec>& specs() const { return specs_; }

 private:
  std::vector<CommandSpec> specs_;
};

struct CommandRegistrar {
  explicit CommandRegistrar(CommandSpec spec) { CommandRegistry::Global().Add(std::move(spec)); }
};

}  // namespace vigil::cli

#define VIGIL_CMD_CONCAT2(a, b) a##b
#define VIGIL_CMD_CONCAT(a, b) VIGIL_CMD_CONCAT2(a, b)
#define VIGIL_REGISTER_COMMAND(...)                                                   \
  static ::vigil::cli::CommandRegistrar VIGIL_CMD_CONCAT(vigil_command_registrar_, \
                                                         __LINE__)(__VA_ARGS__)
