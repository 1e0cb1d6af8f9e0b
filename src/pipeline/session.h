// Session: one run of the engine with everything around it — the store, the analyst, the
// JSON-lines outputs, the dead-letter file, checkpoints and the summary. `vigil replay`,
// `vigil run` and `vigil demo` are thin wrappers over it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analyst/analyst.h"
#include "config/config.h"
#include "pipeline/engine.h"
#include "pipeline/event_log.h"
#include "pipeline/response_glue.h"
#include "respond/responder.h"
#include "store/store.h"
#include "topology/device_facts.h"

namespace vigil::pipeline {

struct SessionOptions {
  std::string state_dir = "./vigil-data";
  std::vector<std::string> inputs;
  std::string breaches_path;   // "-" for stdout, empty for none
  std::string incidents_path;  // "-" for stdout, empty for none
  bool follow = false;         // `vigil run`: follow files, checkpoint, resume
  bool resume = false;         // restore the checkpoint in the store before running
};

class Session {
 public:
  Session(config::Config cfg, SessionOptions opts);
  ~Session();

  // Opens the store and outputs and adds the inputs. Errors mean the command cannot run.
  Status Open();
  // Runs to the end of input (replay) or until `stop` (follow); then flushes everything,
  // checkpoints (follow/resume) and closes outputs.
  Status Run(const std::atomic<bool>* stop = nullptr);
  // Saves a checkpoint now (follow mode calls it periodically and at shutdown).
  Status Checkpoint();

  const EngineStats& stats() const { return engine_->stats(); }
  nlohmann::json StatsJson() const;
  std::string SummaryText() const;
  store::Store* store() { return store_.get(); }
  // Hooks for live consumers (the HTTP server's event hub).
  std::function<void(const std::string& type, const nlohmann::json& doc)> publish;

 private:
  void OnBreach(const detect::Breach& b);
  void FlushToStore();   // breaches, entities, device facts, reject counts
  void FlushAll();       // FlushToStore and FlushEventLog side by side, then the ingest stats
  void FlushEventLog();  // waits for the event log's writer, prunes past retention
  void WriteIncidents(const std::vector<analyst::Incident>& incidents);
  // Where a run's wall time went (StatsJson's "seconds"): opening the store and inputs, the
  // engine reading and detecting, and storing what is left at the end (entities, breaches,
  // the event log's last segment, incidents).
  using Clock = std::chrono::steady_clock;
  Clock::time_point open_start_, open_end_, run_start_, processed_, run_end_;
  // The CPU time of the thread that opens and runs the session (the engine thread), at
  // open and from open to the end of the run (StatsJson's "cpu_seconds").
  double cpu_at_open_ = 0, engine_cpu_ = 0;

  config::Config cfg_;
  SessionOptions opts_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<EventLog> event_log_;  // after store_: stops writing before it closes
  Micros event_log_retention_ = 0;
  uint64_t event_log_max_rows_ = 0;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<analyst::Analyst> analyst_;
  topology::DeviceFacts device_facts_;  // OS, addresses and CVEs from Defender
  std::unique_ptr<respond::Responder> responder_;
  std::unique_ptr<ResponseGlue> response_glue_;
  void PublishActions();
  std::FILE* breaches_out_ = nullptr;
  std::FILE* incidents_out_ = nullptr;
  std::vector<detect::Breach> pending_breaches_;
  uint64_t incidents_written_ = 0;
  std::map<std::string, uint64_t> incident_ids_;
  Micros last_checkpoint_wall_ = 0;
};

}  // namespace vigil::pipeline
