// Micro-benchmarks of the novelty primitive: the per-event cost of asking "is this value
// new for this key, and how surprising is that?".
#include <benchmark/benchmark.h>

#include <vector>

#include "learn/novelty.h"

namespace vigil::learn {
namespace {

void BM_Novelty_Observe(benchmark::State& state) {
  const uint64_t distinct = static_cast<uint64_t>(state.range(0));
  NoveltySet set(4096);
  uint64_t i = 0;
  for (auto _ : state) {
    auto v = set.Observe(MixHash(i % distinct, 17), static_cast<Micros>(i));
    benchmark::DoNotOptimize(v);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Novelty_Observe)->Arg(16)->Arg(1024)->Arg(100000);

void BM_Novelty_ManyKeys(benchmark::State& state) {
  // 100,000 entities, each with its own set: the shape of per-device destination novelty.
  std::vector<NoveltySet> sets(100000, NoveltySet(256));
  uint64_t i = 0;
  for (auto _ : state) {
    uint64_t h = MixHash(i, 3);
    auto v = sets[h % sets.size()].Observe(h >> 40, static_cast<Micros>(i));
    benchmark::DoNotOptimize(v);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Novelty_ManyKeys);

void BM_HashValue_UserAgent(benchmark::State& state) {
  const std::string ua =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
  for (auto _ : state) benchmark::DoNotOptimize(HashValue(ua));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(ua.size()));
}
BENCHMARK(BM_HashValue_UserAgent);

}  // namespace
}  // namespace vigil::learn
