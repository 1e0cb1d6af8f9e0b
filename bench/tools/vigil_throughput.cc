// End-to-end throughput harness (`make bench`). In one run, on a generated conn.log of
// 1,000,000 records among 100,000 internal devices and 200,000 external hosts (Zeek TSV
// and Zeek JSON), it prints:
//   (a) the reference: simdjson counting the documents of the JSON file (iterate_many), as
//       simdjson runs it (its stage 1 on a second thread) and on one thread, each with the
//       CPUs it kept busy;
//   (b) decode-only throughput of zeek-tsv and zeek-json (records/s and MB/s);
//   (c) end-to-end `vigil replay` (all models on) throughput and peak resident memory,
//       with where the wall time went (vigil's own --stats "seconds": open, read and
//       detect, store at end), the CPU time per record, and the CPU time of each of its
//       threads (--stats "cpu_seconds");
// (c'') the TSV replay again on a file of as many records where each device sends 90 % of
// its connections to eight usual hosts (known endpoints; in (c) nearly every connection is
// a device's first contact with its host);
// and the ratios the spine issue sets as targets: (b) JSON >= 0.4 (a), TSV >= JSON,
// (c) >= 0.25 (b). Rates are the best of several runs (references 7, the rest 3); the
// VM this was written on has runs 20-50 % slower now and then.
//
// Usage: vigil_throughput [--records N] [--devices N] [--externals N] [--dir DIR] [--vigil PATH]
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/registry.h"
#include "pipeline/synth.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct Rate {
  double records_per_s = 0;
  double mb_per_s = 0;
  uint64_t records = 0;
  double cpus = 0;  // this process's CPU time over the wall time of that run (threads at work)
};

// CPU time (user + system) of every thread of this process so far.
double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// One timed run of `run` (which returns the records it read) over `bytes` of input, with
// the cores it kept busy. MeasureInTurns keeps the best of several.
template <typename F>
Rate MeasureOnce(uint64_t bytes, F&& run) {
  const double cpu = ProcessCpuSeconds();
  auto a = Clock::now();
  uint64_t n = run();
  double s = Seconds(a, Clock::now());
  return Rate{static_cast<double>(n) / s, static_cast<double>(bytes) / s / 1e6, n,
              (ProcessCpuSeconds() - cpu) / s};
}

// The reference: simdjson counting the JSON documents of `text`, nothing else. As Debian
// builds simdjson (SIMDJSON_THREADS_ENABLED), iterate_many finds the structure of the next
// 1 MiB batch (its stage 1) on a second thread while this one walks the current batch's
// documents: the reference uses up to two cores. `threaded` false keeps it on one thread,
// as every decoder of (b) is.
uint64_t CountDocuments(const simdjson::padded_string& text, bool threaded = true) {
  simdjson::ondemand::parser parser;
  parser.threaded = threaded;
  simdjson::ondemand::document_stream docs;
  if (parser.iterate_many(text, 1 << 20).get(docs)) return 0;
  uint64_t n = 0;
  for (auto doc : docs) {
    (void)doc;
    ++n;
  }
  return n;
}

// A measured job: its input's size and one run, which returns the records it read.
struct Job {
  uint64_t bytes;
  std::function<uint64_t()> run;
};

// The best of `rounds` runs of each job, the jobs taking turns (a, b, c, a, b, c, ...).
// This VM's host has slow spells lasting seconds; run back to back, one job could sit in
// one and the next not, and the ratio between them would swing by half. Taking turns,
// every job meets the same spells and its best run comes from a quiet moment like the
// others'.
std::vector<Rate> MeasureInTurns(const std::vector<Job>& jobs, int rounds) {
  std::vector<Rate> best(jobs.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t j = 0; j < jobs.size(); ++j) {
      Rate r = MeasureOnce(jobs[j].bytes, jobs[j].run);
      if (r.records_per_s > best[j].records_per_s) best[j] = r;
    }
  }
  return best;
}

// Decodes `data`, which is followed by kReadPadding readable bytes, as the pipeline hands
// a decoder its read buffer: 4 MiB windows decoded in place, the unconsumed tail of one
// window offered again at the start of the next. Like the simdjson reference (a), it works
// on bytes already in memory: getting them there (read(2), a copy from the page cache) is
// input, not decoding, and (c) measures it. `events` is the caller's, kept from run to run
// as the pipeline keeps its chunks' event buffers: growing it is not decoding either.
uint64_t DecodeAll(const std::string& format, std::string_view data, std::vector<vigil::Event>& events) {
  const auto* fmt = vigil::ingest::FormatRegistry::Global().Find(format);
  if (!fmt) {
    std::cerr << "format " << format << " is not registered\n";
    std::exit(2);
  }
  auto dec = fmt->make();
  std::vector<vigil::ingest::Reject> rejects;
  const size_t window = 4u << 20;
  uint64_t n = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t len = std::min(window, data.size() - pos);
    const bool at_end = pos + len == data.size();
    events.clear();
    rejects.clear();
    const size_t used = dec->Decode(data.substr(pos, len), {0, 1, pos}, at_end, events, rejects);
    n += events.size();
    if (at_end) break;
    if (used == 0) {  // a line longer than the window: not in this data set
      std::cerr << format << ": a record does not fit in " << window << " bytes\n";
      std::exit(2);
    }
    pos += used;
  }
  return n;
}

// `data` with kReadPadding zero bytes after it (DecodeAll's input).
std::string Padded(const std::string& data) {
  std::string p = data;
  p.append(vigil::ingest::kReadPadding, '\0');
  return p;
}

struct ReplayResult {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system, all of vigil's threads
  // Where vigil says the wall time went (its --stats "seconds"): opening the store and
  // inputs, reading and detecting, storing what is left at the end.
  double open = 0, read_and_detect = 0, store_at_end = 0;
  // And where the CPU went, thread by thread (its --stats "cpu_seconds").
  double cpu_engine = 0, cpu_models = 0, cpu_event_log = 0, cpu_decode_ahead = 0, cpu_entity_store = 0;
  long max_rss_kb = 0;
  int exit_code = -1;
};

// `config` may be empty (the defaults: every model and the event log on).
ReplayResult RunReplayOnce(const std::string& vigil, const std::string& input, const std::string& state,
                           const std::string& config) {
  std::filesystem::remove_all(state);
  const std::string stats = state + ".stats.json";
  const std::string br = state + ".breaches.jsonl";
  std::vector<std::string> args = {vigil, "replay", "--quiet"};
  if (!config.empty()) args.insert(args.end(), {"--config", config});
  args.insert(args.end(), {"--state", state, "--breaches", br, "--stats", stats, input});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // posix_spawn, not fork: this process holds both logs and their decoded events (over a
  // GB), and fork copies the page tables of all of it before the exec, which added tens of
  // milliseconds to each measured replay that a replay started from a shell does not pay.
  auto a = Clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, vigil.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    ReplayResult failed;
    failed.exit_code = 127;
    return failed;
  }
  int status = 0;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  ReplayResult r;
  r.seconds = Seconds(a, Clock::now());
  // ru_maxrss of the child counts the parent's pages it shared before exec (this
  // harness holds both logs in memory), so the peak comes from vigil's own VmHWM, which
  // `--stats` reports as peak_resident_kb.
  r.max_rss_kb = ru.ru_maxrss;
  r.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::ifstream sj(stats);
  const nlohmann::json j = nlohmann::json::parse(sj, nullptr, false);
  if (j.is_object()) {
    r.max_rss_kb = j.value("peak_resident_kb", r.max_rss_kb);
    if (auto it = j.find("seconds"); it != j.end() && it->is_object()) {
      r.open = it->value("open", 0.0);
      r.read_and_detect = it->value("read_and_detect", 0.0);
      r.store_at_end = it->value("store_at_end", 0.0);
    }
    if (auto it = j.find("cpu_seconds"); it != j.end() && it->is_object()) {
      r.cpu_engine = it->value("engine", 0.0);
      r.cpu_models = it->value("models", 0.0);
      r.cpu_event_log = it->value("event_log", 0.0);
      r.cpu_decode_ahead = it->value("decode_ahead", 0.0);
      r.cpu_entity_store = it->value("entity_store", 0.0);
    }
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The fastest of three replays (each from an empty state folder), as decode rates are the
// best of three: on this VM one run in a few is 20-30 % slower for no reason of its own.
// Peak memory is the largest of the three; a failed run is reported as it is.
ReplayResult RunReplay(const std::string& vigil, const std::string& input, const std::string& state,
                       const std::string& config = "") {
  ReplayResult best;
  long peak = 0;
  for (int i = 0; i < 3; ++i) {
    ReplayResult r = RunReplayOnce(vigil, input, state, config);
    peak = std::max(peak, r.max_rss_kb);
    if (r.exit_code != 0) return r;
    if (i == 0 || r.seconds < best.seconds) best = r;
  }
  best.max_rss_kb = peak;
  return best;
}

// Frees a container's memory (clear() keeps the capacity).
template <typename T>
void Release(T& v) {
  T().swap(v);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 1'000'000;
  uint32_t devices = 100'000, externals = 200'000;
  std::string dir = "bench/data";
  std::string vigil = "build/vigil";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--records") records = std::stoull(argv[i + 1]);
    else if (k == "--devices") devices = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else if (k == "--externals") externals = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else if (k == "--dir") dir = argv[i + 1];
    else if (k == "--vigil") vigil = argv[i + 1];
  }
  std::filesystem::create_directories(dir);
  std::string tsv = dir + "/conn-" + std::to_string(records) + ".log";
  std::string json = dir + "/conn-" + std::to_string(records) + ".json";
  if (!std::filesystem::exists(tsv) || !std::filesystem::exists(json)) {
    std::cout << "generating " << records << " conn records (" << devices << " devices, " << externals
              << " external hosts)...\n";
    auto st = vigil::pipeline::WriteBenchConnLog(tsv, json, records, devices, externals);
    if (!st.ok()) {
      std::cerr << st.ToString() << "\n";
      return 2;
    }
  }
  std::string tsv_data = ReadAll(tsv), json_data = ReadAll(json);
  std::cout << "conn.log: " << records << " records; TSV " << tsv_data.size() / 1e6 << " MB, JSON "
            << json_data.size() / 1e6 << " MB\n";
  std::cout << "simdjson implementation: " << simdjson::get_active_implementation()->name() << "\n\n";

  // (a) simdjson counting documents and (b) decode only, taking turns.
  simdjson::padded_string padded(json_data);
  std::string json_padded = Padded(json_data), tsv_padded = Padded(tsv_data);
  std::vector<vigil::Event> events;
  const std::vector<Rate> rates = MeasureInTurns(
      {{json_data.size(),
        [&] { return CountDocuments(padded); }},
       {json_data.size(),
        [&] { return CountDocuments(padded, false); }},
       {json_data.size(),
        [&] { return DecodeAll("zeek-json", std::string_view(json_padded.data(), json_data.size()), events); }},
       {tsv_data.size(),
        [&] { return DecodeAll("zeek-tsv", std::string_view(tsv_padded.data(), tsv_data.size()), events); }}},
      7);
  const Rate& ref = rates[0];
  const Rate& ref1 = rates[1];
  const Rate& dj = rates[2];
  const Rate& dt = rates[3];
  // The inputs and the decoded events (about 2 GB) go before the replays: a replay's heap
  // is fresh memory, and on this VM memory the host has not backed yet costs about 1.5-2
  // ms/MB to touch first (vigil_memory_latency), memory it backs 0.1. Held by this process,
  // these pages left each replay only never-touched ones: 0.3-0.5 s more a replay than run
  // from a shell.
  const size_t tsv_bytes = tsv_data.size(), json_bytes = json_data.size();
  Release(events);
  Release(tsv_data);
  Release(json_data);
  Release(json_padded);
  Release(tsv_padded);
  padded = simdjson::padded_string();
  // (c) end to end.
  ReplayResult et = RunReplay(vigil, tsv, dir + "/state-tsv");
  ReplayResult ej = RunReplay(vigil, json, dir + "/state-json");
  // The same TSV replay without the event log (store.event_log.enabled: false), to show
  // what keeping every event costs.
  std::string nolog = dir + "/no-event-log.yaml";
  {
    std::FILE* f = std::fopen(nolog.c_str(), "w");
    if (f) {
      std::fputs("store:\n  event_log:\n    enabled: false\n", f);
      std::fclose(f);
    }
  }
  ReplayResult en = RunReplay(vigil, tsv, dir + "/state-tsv-nolog", nolog);
  // The same number of TSV records where each device sends 90 % of its connections to its
  // eight usual hosts, as real devices mostly repeat their peers, next to the first
  // contacts above (informational; the targets are on the file above).
  const std::string usual = dir + "/conn-usual-" + std::to_string(records) + ".log";
  if (!std::filesystem::exists(usual)) {
    auto st = vigil::pipeline::WriteBenchConnLog(usual, "", records, devices, externals, 7, 0.9);
    if (!st.ok()) {
      std::cerr << st.ToString() << "\n";
      return 2;
    }
  }
  const uint64_t usual_bytes = std::filesystem::file_size(usual);
  ReplayResult eu = RunReplay(vigil, usual, dir + "/state-tsv-usual");

  auto row = [](const char* what, double rps, double mbs) {
    std::printf("  %-44s %12.0f records/s  %8.1f MB/s\n", what, rps, mbs);
  };
  // A measured rate with the cores it kept busy.
  auto rate_row = [](const char* what, const Rate& r) {
    std::printf("  %-44s %12.0f records/s  %8.1f MB/s  %.2f CPUs\n", what, r.records_per_s,
                r.mb_per_s, r.cpus);
  };
  // A replay's peak memory, and where its wall and CPU time went.
  auto detail = [](const ReplayResult& r, uint64_t n) {
    std::printf("  %-44s %12.1f MB peak resident (exit %d)\n", "", r.max_rss_kb / 1024.0,
                r.exit_code);
    std::printf(
        "  %-44s %.2f s wall: %.2f open, %.2f read and detect, %.2f store at end (%.2f start and "
        "exit)\n",
        "", r.seconds, r.open, r.read_and_detect, r.store_at_end,
        r.seconds - r.open - r.read_and_detect - r.store_at_end);
    std::printf("  %-44s %.2f s CPU: %.2f us a record\n", "", r.cpu_seconds,
                r.cpu_seconds * 1e6 / static_cast<double>(n));
    std::printf(
        "  %-44s by thread: engine %.2f, models %.2f, event log %.2f, decode ahead %.2f, "
        "entity store %.2f s\n",
        "", r.cpu_engine, r.cpu_models, r.cpu_event_log, r.cpu_decode_ahead, r.cpu_entity_store);
  };
  std::printf("(a) reference\n");
  rate_row("simdjson iterate_many, count documents", ref);
  rate_row("  the same on one thread (threaded = false)", ref1);
  std::printf("(b) decode only\n");
  rate_row("zeek-json", dj);
  rate_row("zeek-tsv", dt);
  std::printf("(c) end to end: vigil replay, all models on\n");
  double et_rps = records / et.seconds, ej_rps = records / ej.seconds;
  row("zeek-tsv", et_rps, tsv_bytes / et.seconds / 1e6);
  detail(et, records);
  row("zeek-json", ej_rps, json_bytes / ej.seconds / 1e6);
  detail(ej, records);
  std::printf("(c') end to end without the event log (store.event_log.enabled: false)\n");
  row("zeek-tsv", records / en.seconds, tsv_bytes / en.seconds / 1e6);
  detail(en, records);
  std::printf("(c'') end to end, devices sending 90 %% of their connections to 8 usual hosts\n");
  row("zeek-tsv", records / eu.seconds, usual_bytes / eu.seconds / 1e6);
  detail(eu, records);
  // CloudTrail (issue 4): simdjson counting the records, and `vigil replay` of the same file
  // end to end (decode, identity enrichment, the seven cloud models, the store and the event
  // log), with peak memory. JSON lines, as a CloudWatch Logs export or a stream delivers
  // them: one file streams in bounded memory (an S3 {"Records":[...]} object is read whole,
  // and real ones are a few MB).
  const size_t ct_records = 200'000;
  std::string ct = dir + "/cloudtrail-" + std::to_string(ct_records) + ".jsonl";
  if (!std::filesystem::exists(ct)) {
    std::string lines;
    vigil::pipeline::BenchCloudTrail(ct_records, nullptr, &lines);
    std::ofstream(ct, std::ios::binary) << lines;
  }
  std::string ct_data = ReadAll(ct);
  simdjson::padded_string ct_padded(ct_data);
  const std::vector<Rate> ct_refs =
      MeasureInTurns({{ct_data.size(), [&] { return CountDocuments(ct_padded); }},
                      {ct_data.size(), [&] { return CountDocuments(ct_padded, false); }}},
                     7);
  const Rate& ct_ref = ct_refs[0];
  const size_t ct_bytes = ct_data.size();
  Release(ct_data);
  ct_padded = simdjson::padded_string();
  ReplayResult ctr = RunReplay(vigil, ct, dir + "/state-cloudtrail");
  ReplayResult ctn = RunReplay(vigil, ct, dir + "/state-cloudtrail-nolog", nolog);
  std::printf("\nCloudTrail: %zu records, JSON lines, %.1f MB\n", ct_records, ct_bytes / 1e6);
  rate_row("simdjson iterate_many, count records", ct_ref);
  rate_row("  the same on one thread (threaded = false)", ct_refs[1]);
  row("vigil replay, end to end", ct_records / ctr.seconds, ct_bytes / ctr.seconds / 1e6);
  detail(ctr, ct_records);
  row("vigil replay, without the event log", ct_records / ctn.seconds,
      ct_bytes / ctn.seconds / 1e6);
  detail(ctn, ct_records);

  std::printf("\nratios (targets)\n");
  std::printf("  decode json / simdjson count      %.2f  (>= 0.40)\n", dj.records_per_s / ref.records_per_s);
  std::printf("    both on one thread              %.2f\n", dj.records_per_s / ref1.records_per_s);
  std::printf("  decode tsv / decode json          %.2f  (>= 1.00)\n", dt.records_per_s / dj.records_per_s);
  std::printf("  end-to-end tsv / decode tsv       %.2f  (>= 0.25)\n", et_rps / dt.records_per_s);
  std::printf("  end-to-end json / decode json     %.2f  (>= 0.25)\n", ej_rps / dj.records_per_s);
  std::printf("  cloudtrail end-to-end / simdjson  %.2f  (>= 0.25)\n", ct_records / ctr.seconds / ct_ref.records_per_s);
  std::printf("    simdjson on one thread          %.2f\n",
              ct_records / ctr.seconds / ct_refs[1].records_per_s);
  if (dj.records != records || dt.records != records)
    std::printf("WARNING: decoded %llu json / %llu tsv records of %llu\n", (unsigned long long)dj.records,
                (unsigned long long)dt.records, (unsigned long long)records);
  return 0;
}
