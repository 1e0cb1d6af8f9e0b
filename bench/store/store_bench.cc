// Store write throughput: what a flush of the engine costs. Each iteration writes one batch
// of 1000 records in one transaction; half the entity ids of a batch were written by the
// previous batch, so both the insert and the merge path are measured.
// BM_Postgres_* run only when VIGIL_TEST_PG names a server (scripts/test-services start).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "store/crc32.h"
#include "store/store.h"

namespace vigil::store {
namespace {

constexpr int kBatch = 1000;

std::string BenchDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("vigil-store-bench-" + std::string(name) + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::vector<EntityRecord> EntityBatch(int64_t round) {
  std::vector<EntityRecord> v;
  v.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    int64_t n = (round * kBatch / 2 + i) % 200'000;
    EntityRecord e;
    e.type = "device";
    e.id = "10." + std::to_string(n / 65536) + "." + std::to_string((n / 256) % 256) + "." +
           std::to_string(n % 256);
    e.name = "host-" + std::to_string(n);
    e.addresses = {e.id};
    e.first_seen = round * 1'000'000;
    e.last_seen = round * 1'000'000 + i;
    e.events = 17;
    e.facts = {{"os", "linux"}};
    v.push_back(std::move(e));
  }
  return v;
}

std::vector<detect::Breach> BreachBatch(int64_t round) {
  std::vector<detect::Breach> v;
  v.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    detect::Breach b;
    b.time = round * 1'000'000 + i;
    b.model = i % 2 ? "network/rare-external-destination" : "network/beaconing";
    b.score = 60 + i % 40;
    b.entity = {"device", "10.0.0." + std::to_string(i % 250), ""};
    b.peer = detect::EntityInfo{"external", "203.0.113." + std::to_string(i % 200), ""};
    b.reasons = {"first contact with 203.0.113.9 after 1,204 destinations"};
    detect::EventRef r;
    r.input = "/logs/conn.log";
    r.line = static_cast<uint64_t>(round * kBatch + i);
    r.time = b.time;
    r.kind = "flow";
    r.summary = "10.0.0.5:51234 -> 203.0.113.9:443/tcp 3.2 KB out, 1.1 KB in, SF";
    b.events = {r};
    b.mitre = {"T1071.001"};
    detect::AssignBreachId(b);
    v.push_back(std::move(b));
  }
  return v;
}

void RunUpserts(benchmark::State& state, Store& store) {
  int64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = EntityBatch(round++);
    state.ResumeTiming();
    Status st = store.UpsertEntities(batch);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void RunBreaches(benchmark::State& state, Store& store) {
  int64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = BreachBatch(round++);
    state.ResumeTiming();
    Status st = store.PutBreaches(batch);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

template <void (*Run)(benchmark::State&, Store&)>
void WithSqlite(benchmark::State& state, const char* name) {
  std::string dir = BenchDir(name);
  auto store = OpenSqliteStore(dir);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  Run(state, **store);
  store->reset();
  std::filesystem::remove_all(dir);
}

template <void (*Run)(benchmark::State&, Store&)>
void WithPostgres(benchmark::State& state) {
  const char* pg = std::getenv("VIGIL_TEST_PG");
  if (!pg || !*pg) {
    state.SkipWithError("VIGIL_TEST_PG is unset (scripts/test-services start prints it)");
    return;
  }
  auto store = OpenPostgresStore(pg);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  Run(state, **store);
}

void BM_Sqlite_UpsertEntities(benchmark::State& state) { WithSqlite<RunUpserts>(state, "upsert"); }
void BM_Sqlite_PutBreaches(benchmark::State& state) { WithSqlite<RunBreaches>(state, "breaches"); }
void BM_Postgres_UpsertEntities(benchmark::State& state) { WithPostgres<RunUpserts>(state); }
void BM_Postgres_PutBreaches(benchmark::State& state) { WithPostgres<RunBreaches>(state); }

// The event log's row check: a 190-byte row, as the bench's conn.log rows are.
template <uint32_t (*F)(const void*, size_t)>
void BM_Crc32Row(benchmark::State& state) {
  std::string row(190, '\0');
  for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<char>(i * 31 + 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(F(row.data(), row.size()));
    row[0]++;
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(row.size()));
}
void BM_Crc32_Row(benchmark::State& s) { BM_Crc32Row<Crc32>(s); }
void BM_Crc32Zlib_Row(benchmark::State& s) { BM_Crc32Row<Crc32Zlib>(s); }
BENCHMARK(BM_Crc32_Row);
BENCHMARK(BM_Crc32Zlib_Row);

BENCHMARK(BM_Sqlite_UpsertEntities)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sqlite_PutBreaches)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Postgres_UpsertEntities)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Postgres_PutBreaches)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::store
