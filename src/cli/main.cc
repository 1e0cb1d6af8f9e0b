// vigil: the command-line entry point. Sub-commands live in src/cli/commands_*.cc.
#include "cli/commands.h"

#if defined(VIGIL_WITH_JEMALLOC)
// jemalloc's build-time options (read before the first allocation; MALLOC_CONF in the
// environment still overrides them). The models' per-entity hash tables grow to hundreds
// of MB; backed by 2 MiB transparent huge pages they take about 20 times fewer page faults
// than with 4 KiB pages, which on the virtual machine we measure on saves a tenth to a
// fifth of a replay's time (docs/performance.md). Without THP on the host (or with it set to never)
// jemalloc simply uses normal pages.
// One arena for every thread (each keeps its own cache of small blocks): the tables grow
// on the model threads, the entity table and event buffers on the engine thread, and
// with an arena per thread the memory one thread's table gave back when it doubled could
// not serve another's growth, so it was fresh pages again (zeroed by the kernel). One
// arena took a replay from 2.20-2.27 s to 1.80-1.89 s and 3.3 to 3.0 s of CPU.
extern "C" {
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): jemalloc's contract
const char* malloc_conf = "thp:always,metadata_thp:always,narenas:1";
}
#endif

int main(int argc, char** argv) { return vigil::cli::Main(argc, argv); }
