// CloudTrail throughput beside the simdjson reference the target is a ratio of
// (issue 4, "Tests and numbers": at least 0.25 of simdjson counting the same records):
//   BM_Simdjson_CountCloudTrailRecords  On-Demand walk of {"Records":[...]} counting records
//   BM_CloudTrail_DecodeDocument        "cloudtrail": every record to an Event
//   BM_Simdjson_CountCloudTrailLines    iterate_many over the same records one a line
//   BM_CloudTrailJsonl_Decode           "cloudtrail-jsonl" in 1 MiB chunks
//   BM_CloudTrail_DecodeEnrichDetect    JSON lines -> decode -> cloud identity enrichment ->
//                                       the seven cloud models (no store, no engine)
// items/s in the output is records/s. The data: kRecords realistic records from
// pipeline::BenchCloudTrail (about 1.1 KB each), the same every run.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "detect/model.h"
#include "detect/testing.h"
#include "enrich/cloud_identity.h"
#include "ingest/cloudtrail/cloudtrail.h"
#include "pipeline/synth.h"

namespace vigil::ingest::cloudtrail {
namespace {

constexpr size_t kRecords = 50'000;
constexpr size_t kChunkBytes = 1u << 20;

struct Data {
  std::string doc, lines;
};

const Data& GetData() {
  static const Data data = [] {
    Data d;
    pipeline::BenchCloudTrail(kRecords, &d.doc, &d.lines);
    return d;
  }();
  return data;
}

// Text with kReadPadding readable bytes after it, as the pipeline's reader provides.
struct PaddedText {
  explicit PaddedText(const std::string& s) : buf(s) { buf.append(kReadPadding + 64, ' '); size = s.size(); }
  std::string buf;
  size_t size;
  std::string_view view() const { return {buf.data(), size}; }
};

void BM_Simdjson_CountCloudTrailRecords(benchmark::State& state) {
  const std::string& doc = GetData().doc;
  simdjson::padded_string p(doc);
  simdjson::ondemand::parser parser;
  size_t n = 0;
  for (auto _ : state) {
    n = 0;
    auto d = parser.iterate(p);
    for (auto r : d["Records"].get_array()) {
      (void)r;
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc.size()));
}
BENCHMARK(BM_Simdjson_CountCloudTrailRecords)->Unit(benchmark::kMillisecond);

void BM_CloudTrail_DecodeDocument(benchmark::State& state) {
  PaddedText p(GetData().doc);
  auto dec = MakeDocumentDecoder();
  std::vector<Event> events;
  std::vector<Reject> rejects;
  events.reserve(kRecords);
  for (auto _ : state) {
    events.clear();
    rejects.clear();
    dec->Decode(p.view(), ChunkStart{}, true, events, rejects);
    benchmark::DoNotOptimize(events.data());
  }
  if (events.size() != kRecords || !rejects.empty()) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size));
}
BENCHMARK(BM_CloudTrail_DecodeDocument)->Unit(benchmark::kMillisecond);

void BM_Simdjson_CountCloudTrailLines(benchmark::State& state) {
  const std::string& lines = GetData().lines;
  simdjson::padded_string p(lines);
  simdjson::ondemand::parser parser;
  size_t n = 0;
  for (auto _ : state) {
    n = 0;
    simdjson::ondemand::document_stream stream;
    if (parser.iterate_many(p).get(stream)) break;
    for (auto doc : stream) {
      (void)doc;
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
}
BENCHMARK(BM_Simdjson_CountCloudTrailLines)->Unit(benchmark::kMillisecond);

// Decodes `p` in kChunkBytes chunks like the reader; calls sink(events) after each chunk.
template <typename Sink>
size_t DecodeChunked(Decoder& dec, const PaddedText& p, Sink&& sink) {
  std::vector<Event> events;
  std::vector<Reject> rejects;
  events.reserve(4096);
  size_t pos = 0, total = 0;
  std::string_view all = p.view();
  ChunkStart cs;
  while (pos < all.size()) {
    size_t len = std::min(kChunkBytes, all.size() - pos);
    bool at_end = pos + len == all.size();
    events.clear();
    size_t used = dec.Decode(all.substr(pos, len), ChunkStart{0, 0, pos}, at_end, events, rejects);
    sink(events);
    total += events.size();
    if (used == 0) {
      if (at_end) break;
      // A chunk without a whole line: take the rest at once (records are < 1 MiB here).
      used = dec.Decode(all.substr(pos), ChunkStart{0, 0, pos}, true, events, rejects);
      sink(events);
      total += events.size();
    }
    pos += used;
  }
  (void)cs;
  return total;
}

void BM_CloudTrailJsonl_Decode(benchmark::State& state) {
  PaddedText p(GetData().lines);
  size_t n = 0;
  for (auto _ : state) {
    auto dec = MakeLinesDecoder();
    n = DecodeChunked(*dec, p, [](const std::vector<Event>& ev) { benchmark::DoNotOptimize(ev.data()); });
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size));
}
BENCHMARK(BM_CloudTrailJsonl_Decode)->Unit(benchmark::kMillisecond);

void BM_CloudTrail_DecodeEnrichDetect(benchmark::State& state) {
  PaddedText p(GetData().lines);
  size_t n = 0;
  for (auto _ : state) {
    auto dec = MakeLinesDecoder();
    enrich::CloudIdentityStep step{enrich::CloudIdentityOptions{}};
    std::vector<std::unique_ptr<detect::Model>> models;
    std::vector<std::unique_ptr<detect::harness::TestContext>> ctxs;
    for (auto& m : detect::ModelCatalogue::Global().MakeAll()) {
      if (m->info().name.rfind("cloud/", 0) != 0) continue;
      ctxs.push_back(std::make_unique<detect::harness::TestContext>(m->info()));
      models.push_back(std::move(m));
    }
    n = DecodeChunked(*dec, p, [&](std::vector<Event>& ev) {
      for (Event& e : ev) {
        step.Enrich(e);
        for (size_t i = 0; i < models.size(); ++i) {
          ctxs[i]->set_now(e.time);
          models[i]->Observe(e, *ctxs[i]);
        }
      }
    });
  }
  if (n != kRecords) state.SkipWithError("wrong count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * p.size));
}
BENCHMARK(BM_CloudTrail_DecodeEnrichDetect)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::ingest::cloudtrail
