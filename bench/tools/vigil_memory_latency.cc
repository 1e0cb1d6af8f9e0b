// What this machine charges for memory, printed by `make bench` before the throughput
// harness so that its numbers can be read against it. The replay's learned state (hundreds
// of MB of tables, one device's entry far from the next) is touched at random, so a
// model's speed is set by these costs more than by its instructions (docs/performance.md):
//   - a dependent miss: a pointer chase through 256 MB (each load's address comes from the
//     previous load), the cost of a look-up whose slot depends on another miss;
//   - independent misses: random loads whose addresses are known up front, without and
//     with a software prefetch 32 loads ahead (what the models' prefetch passes rely on);
//   - first touch: writing 256 MB of fresh memory (the kernel zeroes each page on its
//     first fault; a replay's tables grow into about 250 MB).
// The memory is advised for transparent huge pages, as the vigil binary's jemalloc does.
//
// Usage: vigil_memory_latency [--mb N]
#include <sys/mman.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A zero-filled region of `bytes`, 2 MB aligned and advised for huge pages; null on failure.
char* Region(size_t bytes) {
  void* p = std::aligned_alloc(2u << 20, bytes);
  if (p) madvise(p, bytes, MADV_HUGEPAGE);
  return static_cast<char*>(p);
}

uint64_t Next(uint64_t& x) {  // xorshift64
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mb = 256;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--mb") == 0) mb = std::strtoull(argv[i + 1], nullptr, 10);
  const size_t bytes = mb << 20, lines = bytes / 64;

  // First touch: one write per 4 KB page of fresh memory.
  char* fresh = Region(bytes);
  char* mem = Region(bytes);
  if (!fresh || !mem) {
    std::fprintf(stderr, "vigil_memory_latency: cannot allocate %zu MB\n", 2 * mb);
    return 1;
  }
  double t0 = Seconds();
  for (size_t at = 0; at < bytes; at += 4096) fresh[at] = 1;
  const double touch_ms_per_mb = (Seconds() - t0) * 1e3 / static_cast<double>(mb);
  std::free(fresh);

  // A random cycle through every line of `mem`: each line holds the offset of the next.
  std::vector<uint32_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = static_cast<uint32_t>(i);
  uint64_t x = 0x2545F4914F6CDD1DULL;
  for (size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[Next(x) % (i + 1)]);
  for (size_t i = 0; i < lines; ++i) {
    const uint64_t next = uint64_t{order[(i + 1) % lines]} * 64;
    std::memcpy(mem + uint64_t{order[i]} * 64, &next, sizeof next);
  }

  const size_t steps = 4'000'000;
  uint64_t at = uint64_t{order[0]} * 64;
  t0 = Seconds();
  for (size_t i = 0; i < steps; ++i) std::memcpy(&at, mem + at, sizeof at);
  const double dependent_ns = (Seconds() - t0) * 1e9 / steps;

  // Independent loads: the addresses come from `order`, read in sequence.
  auto independent = [&](size_t ahead) {
    uint64_t sum = 0;
    const double start = Seconds();
    for (size_t i = 0; i < steps; ++i) {
      if (ahead) __builtin_prefetch(mem + uint64_t{order[(i + ahead) % lines]} * 64);
      uint64_t v;
      std::memcpy(&v, mem + uint64_t{order[i % lines]} * 64, sizeof v);
      sum += v;
    }
    const double ns = (Seconds() - start) * 1e9 / steps;
    return std::make_pair(ns, sum);
  };
  const auto plain = independent(0);
  const auto prefetched = independent(32);

  std::printf("memory (%zu MB, huge pages advised)\n", mb);
  std::printf("  dependent miss (pointer chase)                %8.1f ns\n", dependent_ns);
  std::printf("  independent misses, no prefetch               %8.1f ns each\n", plain.first);
  std::printf("  independent misses, prefetched 32 ahead       %8.1f ns each\n", prefetched.first);
  std::printf("  first touch of fresh memory                   %8.2f ms/MB\n", touch_ms_per_mb);
  std::printf("  (checksum %llu)\n",
              static_cast<unsigned long long>(at + plain.second + prefetched.second));
  std::free(mem);
  return 0;
}
