// The `vigil` command line: parses arguments and runs one sub-command.
#pragma once

namespace vigil::cli {

// Runs the command line; returns the process exit status.
int Main(int argc, char** argv);

}  // namespace vigil::cli
