// Engine: the event-time pipeline of ARCHITECTURE.md, wired in one direction:
//   streams (ingest) -> merge by event time -> enrich -> entities, event log
//   -> network stats -> models (detect)
//   -> thresholds, weak signals, allow list, learning period -> breach outputs.
//
// The work is shared by threads when `engine.model_threads` is above 0 (auto by default:
// one per core beyond the engine thread's, 1 to 4):
//   - the engine thread (the caller of Run) reads, decodes, merges, enriches, keeps the
//     entity table and NetworkStats, feeds the event log, and delivers every output;
//   - each model thread runs its share of the models (they take turns by catalogue order)
//     on every batch of events the engine thread hands over, each event with a copy of
//     what NetworkStats said about it (detect::NetworkFacts), and hands back what its
//     models emitted (breaches, and the "event time advanced" marks of ticks) tagged with
//     the event and the model.
// The last thread to finish a batch merges the outputs into the order one thread would
// have emitted them (by event, then model), and the engine thread delivers them in that
// order, so the breaches, their order and everything downstream (analyst, respond, store)
// are exactly what one thread gives; tests compare 0, 1 and 3 model threads (and
// detect::testing checks the copied facts against the live stats in every model test).
// Events stay where the decoder put them: a stream keeps a chunk until the model threads
// are done with every event in it (Stream::Reclaim). Entity and peer strings that
// enrichment pointed outside the event's record (into tables it later changes) are
// copied with the event; those inside the record stay with its chunk.
// Checkpoints, idle moments in follow mode and the end of input wait for the model
// threads to finish (Sync), so state and positions always agree.
//
// Model state is one set of model instances (the architecture's shard), split by model,
// not by entity. engine.shards other than 1 is refused with a warning: shards split events
// by entity, while some models learn per peer (new-user-agent-to-internal-server per
// server). More threads than models would need per-model shard keys.
//
// The engine never reads the wall clock for logic: time is the events' time. A replay
// of a month takes seconds and gives the same breaches as living through it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "config/config.h"
#include "core/thread_cpu.h"
#include "detect/model.h"
#include "detect/network_stats.h"
#include "enrich/enricher.h"
#include "learn/distinct.h"
#include "pipeline/input.h"
#include "store/store.h"

namespace vigil::pipeline {

struct EngineStats {
  std::map<std::string, uint64_t> events_by_format;
  std::map<std::string, uint64_t> rejects_by_code;
  std::map<std::string, uint64_t> breaches_by_model;
  std::map<std::string, uint64_t> weak_by_model;
  uint64_t events = 0;
  uint64_t rejects = 0;
  uint64_t late = 0;                 // beyond the reorder window, processed anyway
  uint64_t suppressed_learning = 0;  // breaches dropped in the learning period
  uint64_t suppressed_allow = 0;     // breaches suppressed by the allow list
  uint64_t bytes = 0;
  uint64_t streams_decoded_ahead = 0;  // input streams read on a thread of their own
  Micros first_event = 0;
  Micros last_event = 0;
  nlohmann::json ToJson() const;
};

// What the engine hands out. Each callback is optional and runs on the engine thread.
struct EngineOutputs {
  std::function<void(const detect::Breach&)> on_breach;       // breaches and weak signals
  std::function<void(const detect::Breach&)> on_suppressed;   // allow-listed
  std::function<void(Micros now)> on_advance;                 // event time moved (per tick)
  std::function<void(const Event&)> on_event;                 // every enriched event
  // Extra state to checkpoint with the models (analyst, respond): name -> blob.
  std::function<void(learn::StateWriter&)> save_extra;
  std::function<void(learn::StateReader&)> load_extra;
};

class Engine : public RejectSink {
 public:
  // `dead_letter_path` may be empty (rejects are then only counted).
  Engine(const config::Config& cfg, EngineOutputs outputs, std::string dead_letter_path);
  ~Engine() override;

  // Adds inputs (paths, folders, FORMAT:PATH). Errors if a path does not exist.
  Status AddInputs(const std::vector<std::string>& specs);
  void set_follow(bool follow);
  // Follow mode: looks for files that appeared under the inputs since the last scan (Zeek's
  // hourly rotation into dated folders, a sync job filling a CloudTrail tree) and queues
  // them. A compressed copy of a file already read (same first bytes) is skipped.
  void Rescan();

  // Restores learned state and input positions from a checkpoint. Call after AddInputs and
  // before Run.
  Status Restore(const store::Checkpoint& cp);

  // Processes events until every stream is finished (replay) or `stop` turns true (follow
  // mode; it then returns after the current event). `on_idle` runs in follow mode when no
  // stream has anything ready (it may sleep, checkpoint, poll approvals).
  Status Run(const std::atomic<bool>* stop = nullptr, const std::function<void()>& on_idle = {});

  // Processes every held event and returns a checkpoint of state and positions.
  store::Checkpoint MakeCheckpoint();

  // Hands the entities seen since the last call to `sink` as store records (for
  // UpsertEntities), in id order, at most `batch` records a call, and marks them stored.
  // When there is more than one batch, `sink` runs on a helper thread (one call at a
  // time, in order) while the next batch is built. The records are reused from batch to
  // batch: a flush of a few hundred thousand entities makes no more of them than two
  // batches. Returns the first error of the sink (the entities are marked stored all the
  // same, as a failed write is not retried).
  Status FlushDirtyEntities(size_t batch,
                            const std::function<Status(const std::vector<store::EntityRecord>&)>& sink);
  std::vector<store::RejectCount> TakeRejectCounts();

  const EngineStats& stats() const { return stats_; }
  // CPU time of the threads the engine starts: the model threads (current whenever the
  // models have finished what they were handed: after Sync), the decode-ahead threads, and
  // the helper that stores entity batches at the end of a run while this thread builds the
  // next batch.
  struct ThreadCpu {
    CpuTally models, decode_ahead, entity_store;
  };
  const ThreadCpu& thread_cpu() const { return cpu_; }
  // engine.profile_steps: where the events' time went, in cycles (the time-stamp counter on
  // x86-64: wall cycles, so a step's waits for another thread count), summed over the run.
  // The engine thread's steps for each event; the model side's two prefetch passes and
  // its observing, and each model's Observe. For finding where to work; off, it costs a
  // predictable branch a step.
  struct StepProfile {
    uint64_t events = 0;
    uint64_t enrich = 0, network_stats = 0, entities = 0, on_event = 0, to_models = 0;
    uint64_t prefetch_stage0 = 0, prefetch_stage1 = 0, observe = 0;  // every model lane
    std::vector<std::pair<std::string, uint64_t>> by_model;          // each model's Observe
  };
  bool profiling_steps() const { return profile_steps_; }
  // Waits for the model threads (so call it between Runs).
  StepProfile step_profile();
  const std::vector<InputFile>& files() const { return files_; }
  Micros now() const { return now_; }
  // What the learned state holds in memory, by part (each part's own estimate: its tables'
  // capacities times their slot sizes, not the allocator's overhead). Waits for the model
  // threads, so call it between Runs or from on_idle.
  struct MemoryUse {
    // The entity table's slots (a name kept beside an id is not counted).
    size_t entities = 0;
    // NetworkStats: the per-endpoint statistics every network model reads.
    size_t network_stats = 0;
    std::vector<std::pair<std::string, size_t>> by_model;  // each model's state
    size_t total() const;
  };
  MemoryUse MemoryUsage();

  // RejectSink
  void OnReject(const InputFile& file, const ingest::Reject& r) override;

 private:
  class Models;
  class Context;
  class ModelThread;
  struct Lane;
  struct ModelItem;
  struct ModelOutput;
  // One entity's running record, for the store. Every event probes this table once or
  // twice, so the entry is kept to 64 bytes (with its 32-byte key, a 96-byte slot): the
  // type is the enum, the display name (most devices have none) lives out of line, and
  // the internal clients are counted only as far as the role needs (3).
  struct EntityState {
    Micros first_seen = 0;
    Micros last_seen = 0;
    uint64_t unflushed_events = 0;  // events since the record was last stored
    // The device's role, learned from its flows (RoleOf): connections it started, and
    // connections it answered from the internet and from internal clients.
    uint32_t started = 0;
    uint32_t served_external = 0;
    uint32_t served_internal = 0;
    learn::BasicSmallDistinct<3> internal_clients;  // as many as the server role needs
    EntityType type = EntityType::kNone;
    bool dirty = false;
    std::unique_ptr<std::string> name;  // null until a record names the entity
  };
  void Process(Event& e);
  EntityState* TouchEntity(const EntityRef& ref, Micros t);
  void LearnRole(const Event& e, EntityState* entity, EntityState* peer);
  static std::string RoleOf(const EntityState& s);
  void Tick(bool final);
  // Hands one event (or, with null, a tick) to the models: inline, or queued for the
  // model thread.
  void ToModels(Event* e, bool final);
  // Delivers what the models emitted, in order; then frees the chunks they are done with.
  void DeliverOutputs(std::vector<ModelOutput>& outputs, uint64_t done_seq);
  // Waits until the model threads have finished everything handed to it, and delivers.
  void Sync();
  void StartModelThread();
  void StopModelThread();
  void UpdateInputStats();  // events per format and streams decoded ahead, into stats_
  void Deliver(detect::Breach b, const detect::ModelInfo& info, double threshold);
  bool AllowListed(const detect::Breach& b, std::string* reason) const;

  config::Config cfg_;
  EngineOutputs out_;
  std::string dead_letter_path_;
  std::FILE* dead_letter_ = nullptr;
  std::vector<InputFile> files_;
  std::vector<uint64_t> file_events_;  // events per file, folded into stats by format
  ThreadCpu cpu_;                       // before the streams and threads that add to it
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::string> specs_;
  std::map<std::string, Stream*> stream_by_key_;
  enrich::Enricher enricher_;
  detect::NetworkStats network_;  // engine thread; models see it live or as NetworkFacts
  std::unique_ptr<Models> models_;  // the model side
  absl::flat_hash_map<std::string, EntityState> entities_;
  std::map<std::tuple<uint32_t, std::string>, store::RejectCount> reject_counts_;
  std::map<std::tuple<uint32_t, std::string>, uint64_t> reject_reported_;
  struct AllowEntry {
    std::string model, entity, peer, reason;
  };
  std::vector<AllowEntry> allow_;
  EngineStats stats_;
  Micros now_ = INT64_MIN;
  Micros history_start_ = INT64_MIN;
  Micros learning_period_ = 0;
  Micros reorder_window_ = 0;
  Micros tick_interval_ = 0;
  Micros next_tick_ = INT64_MIN;
  int weak_score_ = 30;
  bool follow_ = false;
  int model_threads_ = 1;  // engine.model_threads; 0: the models run inline
  bool decode_ahead_ = true;  // engine.decode_ahead
  bool profile_steps_ = false;  // engine.profile_steps
  StepProfile steps_;          // the engine thread's part
  uint64_t submitted_seq_ = 0;  // events handed to the models so far
  std::unique_ptr<ModelItem> inline_item_;
  std::unique_ptr<std::vector<ModelOutput>> inline_outputs_;
  std::unique_ptr<ModelThread> model_thread_;  // declared last: stopped before the streams go
};

}  // namespace vigil::pipeline
