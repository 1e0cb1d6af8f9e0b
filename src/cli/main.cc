// vigil: the command-line entry point. Sub-commands live in src/cli/commands_*.cc.
#include "cli/commands.h"

int main(int argc, char** argv) { return vigil::cli::Main(argc, argv); }
