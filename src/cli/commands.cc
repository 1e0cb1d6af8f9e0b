#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

namespace vigil::cli {

CommandRegistry& CommandRegistry::Global() {
  static CommandRegistry registry;
  return registry;
}

int Main(int argc, char** argv) {
  CLI::App app{"Vigil: self-learning threat detection and response"};
  app.set_version_flag("--version", "vigil 0.1.0");
  app.require_subcommand(1);
  int exit_code = 0;
  auto specs = CommandRegistry::Global().specs();
  std::sort(specs.begin(), specs.end(),
            [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
  for (const auto& s : specs) s.add(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace vigil::cli
