#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace vigil::cli {

int Main(int argc, char** argv) {
  CLI::App app{"Vigil: self-learning threat detection and response"};
  app.set_version_flag("--version", "vigil 0.1.0");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}

}  // namespace vigil::cli
