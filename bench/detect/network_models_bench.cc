// Per-event cost of each network model, fed pre-built flows (no decoding, no store): how
// much of the end-to-end budget each model takes. Flows come from 10,000 devices to
// 50,000 external hosts, with one in twenty connections inbound.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "detect/breach.h"
#include "detect/model.h"
#include "detect/network_stats.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

std::unique_ptr<Model> Make(const std::string& name) {
  for (auto& m : ModelCatalogue::Global().MakeAll())
    if (m->info().name == name) return std::move(m);
  return nullptr;
}

std::vector<Event> Flows(harness::EventFactory& f, size_t n) {
  std::vector<Event> out;
  out.reserve(n);
  uint64_t x = 88172645463325252ULL;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::string dev = "10.1." + std::to_string((x >> 8) % 40) + "." + std::to_string(x % 250);
    std::string ext = "93." + std::to_string((x >> 20) % 200) + "." + std::to_string((x >> 28) % 250) + ".7";
    FlowBody b;
    b.orig_bytes = 500 + x % 3000;
    b.resp_bytes = 1000 + x % 50000;
    b.resp_pkts = 4;
    Micros t = static_cast<Micros>(i) * 10000;
    if (x % 20 == 0) {
      out.push_back(f.Flow(t, ext, 40000, dev, 443, Proto::kTcp, b));
    } else {
      out.push_back(f.Flow(t, dev, 40000, ext, 443, Proto::kTcp, b));
    }
  }
  return out;
}

void RunModel(benchmark::State& state, const std::string& name) {
  harness::EventFactory f;
  auto events = Flows(f, 200000);
  auto model = Make(name);
  if (!model) {
    state.SkipWithError("model not registered");
    return;
  }
  harness::TestContext ctx(model->info());
  size_t i = 0;
  for (auto _ : state) {
    const Event& e = events[i++ % events.size()];
    ctx.set_now(e.time);
    model->Observe(e, ctx);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RareExternalDestination_Observe(benchmark::State& s) { RunModel(s, "network/rare-external-destination"); }
void BM_Beaconing_Observe(benchmark::State& s) { RunModel(s, "network/beaconing"); }
void BM_Callback_Observe(benchmark::State& s) { RunModel(s, "network/callback-to-inbound-source"); }
void BM_ExecutableDownload_Observe(benchmark::State& s) { RunModel(s, "network/executable-download"); }
void BM_CryptoMining_Observe(benchmark::State& s) { RunModel(s, "network/crypto-mining"); }
BENCHMARK(BM_RareExternalDestination_Observe);
BENCHMARK(BM_Beaconing_Observe);
BENCHMARK(BM_Callback_Observe);
BENCHMARK(BM_ExecutableDownload_Observe);
BENCHMARK(BM_CryptoMining_Observe);

// The event log's summary of a flow ("10.1.2.3:40000 -> 93.4.5.7:443/tcp 1.2 KB out, 14.6 KB
// in"), which the engine builds for every event it logs.
void BM_EventSummary_Flow(benchmark::State& state) {
  harness::EventFactory f;
  auto events = Flows(f, 200000);
  std::string s;
  size_t i = 0;
  for (auto _ : state) {
    s.clear();
    AppendEventSummary(s, events[i++ % events.size()]);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventSummary_Flow);

void BM_NetworkStats_Observe(benchmark::State& state) {
  harness::EventFactory f;
  auto events = Flows(f, 200000);
  NetworkStats stats;
  size_t i = 0;
  for (auto _ : state) stats.Observe(events[i++ % events.size()]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NetworkStats_Observe);

}  // namespace
}  // namespace vigil::detect
