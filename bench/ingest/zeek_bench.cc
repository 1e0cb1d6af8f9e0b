// Decode-only throughput of the Zeek decoders on a generated conn.log, beside the simdjson
// reference the target is a ratio of (issue 2, "Tests and numbers"):
//   BM_Simdjson_CountDocs   simdjson iterate_many counting the documents of the JSON file:
//                           /1 as simdjson runs it (Debian builds it with threads: stage 1
//                           of the next batch runs on a second thread), /0 on one thread;
//                           both real time, with the CPU time of all the process's threads
//   BM_ZeekJson_DecodeConn  zeek-json: every record to an Event (target >= 0.4 x the above)
//   BM_ZeekTsv_DecodeConn   zeek-tsv on the same records (target: no slower than JSON)
//
// The data: kRecords conn records over 100,000 internal devices and 100,000 external hosts,
// generated from a fixed-seed LCG so every run sees the same bytes. Decoding goes through
// 4 MiB chunks (as the pipeline's reader hands them), clearing the event vector each chunk.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ingest/zeek/zeek_json.h"
#include "ingest/zeek/zeek_tsv.h"

namespace vigil::ingest::zeek {
namespace {

constexpr size_t kRecords = 200'000;
constexpr uint32_t kDevices = 100'000;
constexpr uint32_t kExternal = 100'000;
constexpr size_t kChunkBytes = 1u << 20;

struct Lcg {
  uint64_t s = 0x2545F4914F6CDD1DULL;
  uint32_t Next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  }
};

struct ConnData {
  std::string tsv, json;
};

const ConnData& Data() {
  static const ConnData data = [] {
    ConnData d;
    d.tsv =
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tconn\n#open\t2024-01-01-00-00-00\n"
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
        "orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t"
        "orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n"
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t"
        "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";
    Lcg rng;
    static const char* kServices[] = {"ssl", "http", "dns", "-"};
    static const char* kStates[] = {"SF", "S0", "REJ", "RSTO", "OTH"};
    char uid[19];
    static const char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    double ts = 1704067200.0;
    for (size_t i = 0; i < kRecords; ++i) {
      ts += (rng.Next() % 1000) / 1e4;
      uid[0] = 'C';
      for (int k = 1; k < 18; ++k) uid[k] = kAlnum[rng.Next() % 62];
      uid[18] = 0;
      uint32_t dev = rng.Next() % kDevices, ext = rng.Next() % kExternal;
      char orig[32], resp[32];
      std::snprintf(orig, sizeof orig, "10.%u.%u.%u", dev >> 16, (dev >> 8) & 255, dev & 255);
      std::snprintf(resp, sizeof resp, "%u.%u.%u.%u", 20 + ext % 180, (ext >> 8) & 255, ext & 255,
                    1 + rng.Next() % 254);
      unsigned op = 1024 + rng.Next() % 60000, rp = (rng.Next() % 4) ? 443 : 80;
      const char* svc = kServices[rng.Next() % 4];
      const char* st = kStates[rng.Next() % 5];
      unsigned dur_us = rng.Next() % 5000000, ob = rng.Next() % 100000, rb = rng.Next() % 1000000,
               opk = 1 + rng.Next() % 200, rpk = rng.Next() % 300;
      char line[512];
      int n = std::snprintf(
          line, sizeof line,
          "%.6f\t%s\t%s\t%u\t%s\t%u\ttcp\t%s\t%u.%06u\t%u\t%u\t%s\tT\tF\t0\tShADadFf\t%u\t%u\t%u\t"
          "%u\t(empty)\n",
          ts, uid, orig, op, resp, rp, svc, dur_us / 1000000, dur_us % 1000000, ob, rb, st, opk,
          ob + 40 * opk, rpk, rb + 40 * rpk);
      d.tsv.append(line, static_cast<size_t>(n));
      std::string svc_json = svc[0] == '-' ? "" : std::string(",\"service\":\"") + svc + "\"";
      n = std::snprintf(
          line, sizeof line,
          "{\"ts\":%.6f,\"uid\":\"%s\",\"id.orig_h\":\"%s\",\"id.orig_p\":%u,\"id.resp_h\":\"%s\","
          "\"id.resp_p\":%u,\"proto\":\"tcp\"%s,\"duration\":%u.%06u,\"orig_bytes\":%u,"
          "\"resp_bytes\":%u,\"conn_state\":\"%s\",\"local_orig\":true,\"local_resp\":false,"
          "\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":%u,\"orig_ip_bytes\":%u,"
          "\"resp_pkts\":%u,\"resp_ip_bytes\":%u}\n",
          ts, uid, orig, op, resp, rp, svc_json.c_str(), dur_us / 1000000, dur_us % 1000000, ob, rb,
          st, opk, ob + 40 * opk, rpk, rb + 40 * rpk);
      d.json.append(line, static_cast<size_t>(n));
    }
    d.tsv.append("#close\t2024-01-02-00-00-00\n");
    d.tsv.reserve(d.tsv.size() + kReadPadding + simdjson::SIMDJSON_PADDING);
    d.json.reserve(d.json.size() + kReadPadding + simdjson::SIMDJSON_PADDING);
    return d;
  }();
  return data;
}

// Feeds `text` to `dec` in kChunkBytes chunks, re-offering unconsumed tails like a reader.
size_t DecodeInChunks(Decoder& dec, const std::string& text, std::vector<Event>& events,
                      std::vector<Reject>& rejects) {
  size_t pos = 0, total = 0;
  uint64_t line = 1;
  while (pos < text.size()) {
    size_t len = std::min(kChunkBytes, text.size() - pos);
    bool at_end = pos + len == text.size();
    // The bytes after the chunk are the rest of the text or the string's reserved padding.
    std::string_view chunk(text.data() + pos, len);
    size_t used = dec.Decode(chunk, ChunkStart{0, line, pos}, at_end, events, rejects);
    total += events.size();
    for (const char* p = chunk.data();
         (p = static_cast<const char*>(
              std::memchr(p, '\n', static_cast<size_t>(chunk.data() + used - p))));
         ++p)
      ++line;
    pos += used;
    events.clear();
    if (used == 0 && !at_end) break;  // cannot happen with lines under kChunkBytes
  }
  return total;
}

void Report(benchmark::State& state, size_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_Simdjson_CountDocs(benchmark::State& state) {
  const std::string& json = Data().json;
  simdjson::ondemand::parser parser;
  parser.threaded = state.range(0) != 0;
  for (auto _ : state) {
    simdjson::ondemand::document_stream docs;
    if (parser.iterate_many(json.data(), json.size(), 1 << 20).get(docs)) {
      state.SkipWithError("iterate_many failed");
      return;
    }
    size_t count = 0;
    for (auto it = docs.begin(); it != docs.end(); ++it) ++count;
    if (count != kRecords) state.SkipWithError("wrong document count");
    benchmark::DoNotOptimize(count);
  }
  Report(state, json.size());
}
BENCHMARK(BM_Simdjson_CountDocs)->Arg(1)->Arg(0)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ZeekJson_DecodeConn(benchmark::State& state) {
  const std::string& json = Data().json;
  std::vector<Event> events;
  std::vector<Reject> rejects;
  events.reserve(kChunkBytes / 200);
  for (auto _ : state) {
    ZeekJsonDecoder dec;
    size_t n = DecodeInChunks(dec, json, events, rejects);
    if (n != kRecords || !rejects.empty()) state.SkipWithError("zeek-json lost records");
    benchmark::DoNotOptimize(n);
  }
  Report(state, json.size());
}
BENCHMARK(BM_ZeekJson_DecodeConn)->Unit(benchmark::kMillisecond);

void BM_ZeekTsv_DecodeConn(benchmark::State& state) {
  const std::string& tsv = Data().tsv;
  std::vector<Event> events;
  std::vector<Reject> rejects;
  events.reserve(kChunkBytes / 150);
  for (auto _ : state) {
    ZeekTsvDecoder dec;
    size_t n = DecodeInChunks(dec, tsv, events, rejects);
    if (n != kRecords || !rejects.empty()) state.SkipWithError("zeek-tsv lost records");
    benchmark::DoNotOptimize(n);
  }
  Report(state, tsv.size());
}
BENCHMARK(BM_ZeekTsv_DecodeConn)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::ingest::zeek
