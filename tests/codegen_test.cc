// The built vigil binary still holds the prefetches the network models' speed rests on.
// GCC's mod/ref analysis deletes calls to functions whose only effect is a prefetch, with
// no warning (core/prefetch.h); abseil's flat_hash_map::prefetch is one. The models'
// Prefetch overrides therefore carry VIGIL_KEEP_PREFETCHES, and this test reads their
// machine code (nm for where each function is, objdump for its instructions) to check
// that the prefetch instructions are there: without the attribute, two of the three
// compiled to none and the third to one.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>

namespace {

std::string Output(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return out;
}

// Prefetch instructions in the function whose demangled name starts with `name` (its hot
// part; a ".cold" clone is skipped), or -1 when the function is not in the binary.
int PrefetchesIn(const std::string& binary, const std::string& name) {
  std::istringstream symbols(Output("nm -C -S --defined-only '" + binary + "'"));
  std::string line;
  while (std::getline(symbols, line)) {
    // "<address> <size> <type> <name>"
    std::istringstream fields(line);
    std::string address, size, type;
    if (!(fields >> address >> size >> type)) continue;
    std::string symbol;
    std::getline(fields, symbol);
    if (symbol.size() > 1) symbol.erase(0, 1);
    if (symbol.rfind(name, 0) != 0 || symbol.find("[clone") != std::string::npos) continue;
    const unsigned long long start = std::stoull(address, nullptr, 16);
    const unsigned long long stop = start + std::stoull(size, nullptr, 16);
    char range[96];
    std::snprintf(range, sizeof range, "--start-address=0x%llx --stop-address=0x%llx", start, stop);
    std::istringstream code(
        Output("objdump -d --no-show-raw-insn " + std::string(range) + " '" + binary + "'"));
    int prefetches = 0;
    while (std::getline(code, line)) prefetches += line.find("\tprefetch") != std::string::npos;
    return prefetches;
  }
  return -1;
}

TEST(Codegen, TheNetworkModelsPrefetchPassesHoldTheirPrefetchInstructions) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "reads x86-64 machine code";
#endif
  const std::string binary = std::string(VIGIL_BINARY_DIR) + "/vigil";
  ASSERT_NE(Output("command -v objdump"), "") << "objdump (binutils) is needed";
  // Stage 0 prefetches the device's slot (a Swiss table: its control bytes and a slot),
  // stage 1 the slot of the table inside the device's entry: three at the least.
  const std::map<std::string, int> least = {
      {"vigil::detect::(anonymous namespace)::BeaconingModel::Prefetch(", 3},
      {"vigil::detect::(anonymous namespace)::RareExternalDestinationModel::Prefetch(", 3},
      {"vigil::detect::(anonymous namespace)::CallbackModel::Prefetch(", 3},
      // The engine's loop fetches the event it will process eight events on.
      {"vigil::pipeline::Engine::Run(", 1},
      // The model thread fetches the next group's items and events a group ahead.
      {"vigil::pipeline::Engine::Models::HandleLane(", 1},
  };
  for (const auto& [name, n] : least) {
    const int found = PrefetchesIn(binary, name);
    ASSERT_GE(found, 0) << name << " is not in " << binary;
    EXPECT_GE(found, n) << name << ": the compiler dropped its prefetches (see core/prefetch.h)";
  }
}

}  // namespace
