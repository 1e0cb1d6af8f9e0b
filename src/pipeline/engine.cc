#include "pipeline/engine.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <future>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "core/prefetch.h"
#include "detect/network_stats.h"
#include "learn/novelty.h"

namespace vigil::pipeline {

namespace {
constexpr char kCheckpointMagic[] = "VIGILCP2";
constexpr size_t kMaxReportsPerCode = 5;  // per file and code, on stderr; all go to dead letter
}  // namespace

// One event (or tick) on its way to the models, and what they emitted on the way back.
struct Engine::ModelItem {
  Event* event = nullptr;  // null: a tick
  Micros now = 0;          // the engine's event time at this point
  Micros history_start = 0;
  bool final = false;  // ticks: the end of input
  // Model threads only: what NetworkStats said about the event when the engine observed it.
  detect::NetworkFacts facts;
  // Owned copies of the entity and peer strings (model threads only): enrichment may point
  // them into its own tables, which later events change.
  std::string entity_id, entity_name, peer_id, peer_name;
};

struct Engine::ModelOutput {
  enum class Kind : uint8_t { kBreach, kSuppressedLearning, kAdvance };
  Kind kind = Kind::kBreach;
  uint32_t item = 0;  // the item's index in its batch (model threads: restores the order)
  size_t model = 0;   // index in Models; kAdvance sorts after every model of its item
  Micros now = 0;     // kAdvance
  detect::Breach breach;
};

namespace {
// The cycle counter engine.profile_steps reads: the time-stamp counter where there is one.
uint64_t Cycles() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// engine.profile_steps: adds the cycles since the previous lap to a counter, when on.
class StepClock {
 public:
  explicit StepClock(bool on) : on_(on), last_(on ? Cycles() : 0) {}
  void Lap(uint64_t& into) {
    if (!on_) return;
    const uint64_t now = Cycles();
    into += now - last_;
    last_ = now;
  }

 private:
  bool on_;
  uint64_t last_;
};
}  // namespace

// What a model sees while it runs: the clock and network facts of the item at hand, and
// where its outputs go. One lane per model thread (lane 0 also serves inline); a model
// always runs in the same lane.
struct Engine::Lane {
  uint64_t stage_cycles[2] = {0, 0};  // engine.profile_steps: the prefetch passes
  uint64_t observe_cycles = 0;        // and observing (ticks included)
  Micros now = INT64_MIN;
  Micros history_start = INT64_MIN;
  const detect::NetworkView* net = nullptr;
  std::vector<ModelOutput>* out = nullptr;
  uint32_t item = 0;
};

// The context one model sees; one per model, reused for every call. It reads its lane's
// clock, never the engine thread's, and emits into its lane's output list.
class Engine::Context : public detect::ModelContext {
 public:
  Context(const config::Config& cfg, size_t index, detect::Model* model, Micros learning_period)
      : index_(index), learning_period_(learning_period) {
    const auto& info = model->info();
    name_ = info.name;
    std::string base = "models." + info.name + ".";
    threshold_ = cfg.Has(base + "threshold") ? cfg.GetNumber(base + "threshold") : info.default_threshold;
    for (const auto& p : info.params) {
      params_.emplace_back(p.name, cfg.Has(base + p.name) ? cfg.GetNumber(base + p.name) : p.default_value);
    }
    enabled_ = !cfg.Has(base + "enabled") || cfg.GetBool(base + "enabled");
  }
  Micros now() const override { return lane_->now; }
  Micros history_start() const override { return lane_->history_start; }
  bool learning() const override { return now() < history_start() + learning_period_; }
  const detect::NetworkView& network() const override { return *lane_->net; }
  double param(std::string_view name) const override {
    for (const auto& [k, v] : params_)
      if (k == name) return v;
    return 0;
  }
  void Emit(detect::Breach breach) override {
    if (breach.model.empty()) breach.model = name_;
    ModelOutput& o = lane_->out->emplace_back();
    o.item = lane_->item;
    o.model = index_;
    if (learning()) {
      o.kind = ModelOutput::Kind::kSuppressedLearning;
      return;
    }
    o.breach = std::move(breach);
  }
  bool enabled() const { return enabled_; }
  double threshold() const { return threshold_; }
  void set_lane(Lane* lane) { lane_ = lane; }

 private:
  size_t index_;
  Micros learning_period_;
  Lane* lane_ = nullptr;
  std::string name_;
  double threshold_ = 60;
  std::vector<std::pair<std::string, double>> params_;
  bool enabled_ = true;
};

// The model side: one instance of every enabled model, split over `lanes` model threads.
// A model is touched by one thread at a time: its lane's thread while they run, else the
// engine thread.
class Engine::Models {
 public:
  Models(const config::Config& cfg, Micros learning_period, const detect::NetworkStats* live, size_t lanes)
      : live_(live), lanes_(std::max<size_t>(lanes, 1)) {
    for (auto& m : detect::ModelCatalogue::Global().MakeAll()) {
      auto ctx = std::make_unique<Context>(cfg, models_.size(), m.get(), learning_period);
      if (!ctx->enabled()) continue;
      for (int k = 0; k < kEventKindCount; ++k) {
        if (m->info().kinds.contains(static_cast<EventKind>(k))) by_kind_[k].push_back(models_.size());
      }
      models_.push_back(std::move(m));
      contexts_.push_back(std::move(ctx));
    }
    model_cycles_.assign(models_.size(), 0);
    // Models take turns by catalogue order (by name), which puts the network models that
    // cost the most (beaconing, rare-external-destination) in different lanes of two.
    for (size_t i = 0; i < models_.size(); ++i) contexts_[i]->set_lane(&lanes_[i % lanes_.size()]);
    lane_by_kind_.resize(lanes_.size());
    prefetch_by_kind_.resize(lanes_.size());
    for (int k = 0; k < kEventKindCount; ++k) {
      for (size_t i : by_kind_[k]) {
        lane_by_kind_[i % lanes_.size()][k].push_back(i);
        if (models_[i]->prefetches()) prefetch_by_kind_[i % lanes_.size()][k].push_back(i);
      }
    }
  }
  size_t lanes() const { return lanes_.size(); }

  // Inline (no model thread): one item through every model that wants the event, or
  // every model's Tick and the mark that event time advanced, with the live NetworkStats
  // and every lane pointed at `out`, in catalogue order.
  void Handle(const ModelItem& item, std::vector<ModelOutput>& out) {
    for (Lane& l : lanes_) Point(l, item, live_, out, 0);
    if (item.event) {
      const Event& e = *item.event;
      for (size_t i : by_kind_[static_cast<int>(e.kind)]) models_[i]->Observe(e, *contexts_[i]);
    } else {
      for (size_t i = 0; i < models_.size(); ++i) models_[i]->Tick(*contexts_[i], item.final);
      AdvanceMark(item, out, 0);
    }
  }

  // A model thread's share of a batch: the items in order through the models of `lane`,
  // with each event's copied network facts. Lane 0 also writes the tick marks. Outputs
  // carry (item, model), so lanes' outputs merge back into Handle's order (MergeOutputs).
  // The items go in groups of kPrefetchGroup: the models that prefetch (Model::Prefetch)
  // are asked to, stage 0 then stage 1 over the group, before the group is observed.
  void HandleLane(size_t lane, const std::vector<ModelItem>& items, size_t used, std::vector<ModelOutput>& out) {
    Lane& l = lanes_[lane];
    const auto& by_kind = lane_by_kind_[lane];
    const auto& prefetching = prefetch_by_kind_[lane];
    const bool profile = profile_;
    StepClock clock(profile);
    for (size_t group = 0; group < used; group += kPrefetchGroup) {
      const size_t group_end = std::min(used, group + kPrefetchGroup);
      // The next group's items and events, written by the engine thread on its core, are
      // fetched a group ahead: the prefetch passes below read this group's at once.
      for (size_t i = group_end, end = std::min(used, group_end + kPrefetchGroup); i < end; ++i) {
        PrefetchLines(&items[i], sizeof(ModelItem));
        if (items[i].event) PrefetchLines(items[i].event, sizeof(Event));
      }
      for (int stage = 0; stage < 2; ++stage) {
        for (size_t i = group; i < group_end; ++i) {
          if (const Event* e = items[i].event)
            for (size_t m : prefetching[static_cast<int>(e->kind)]) models_[m]->Prefetch(*e, stage);
        }
        clock.Lap(l.stage_cycles[stage]);
      }
      for (size_t i = group; i < group_end; ++i) {
        const ModelItem& item = items[i];
        Point(l, item, &item.facts, out, static_cast<uint32_t>(i));
        if (item.event) {
          const Event& e = *item.event;
          for (size_t m : by_kind[static_cast<int>(e.kind)]) {
            if (!profile) {
              models_[m]->Observe(e, *contexts_[m]);
              continue;
            }
            const uint64_t start = Cycles();
            models_[m]->Observe(e, *contexts_[m]);
            model_cycles_[m] += Cycles() - start;
          }
        } else {
          for (size_t m = lane; m < models_.size(); m += lanes_.size())
            models_[m]->Tick(*contexts_[m], item.final);
          if (lane == 0) AdvanceMark(item, out, static_cast<uint32_t>(i));
        }
      }
      clock.Lap(l.observe_cycles);
    }
  }

  // engine.profile_steps: the model side's cycles, added into `p`.
  void set_profile(bool on) { profile_ = on; }
  void AddProfile(StepProfile& p) const {
    for (const Lane& l : lanes_) {
      p.prefetch_stage0 += l.stage_cycles[0];
      p.prefetch_stage1 += l.stage_cycles[1];
      p.observe += l.observe_cycles;
    }
    for (size_t m = 0; m < models_.size(); ++m)
      if (model_cycles_[m]) p.by_model.emplace_back(models_[m]->info().name, model_cycles_[m]);
  }

  const detect::ModelInfo& info(size_t i) const { return models_[i]->info(); }
  double threshold(size_t i) const { return contexts_[i]->threshold(); }

  void Save(learn::StateWriter& w) const {
    w.U64(models_.size());
    for (const auto& m : models_) {
      w.Str(m->info().name);
      learn::StateWriter sub;
      m->Save(sub);
      w.Str(sub.data());
    }
  }
  Status Load(learn::StateReader& r) {
    uint64_t n = r.Count(10000);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      std::string name = r.Str();
      std::string blob = r.Str();
      for (auto& m : models_) {
        if (m->info().name != name) continue;
        learn::StateReader sub(blob);
        Status st = m->Load(sub);
        if (!st.ok()) return Corrupt("checkpoint of model " + name + ": " + st.message());
      }
    }
    return r.ok() ? Status::Ok() : Corrupt("checkpoint model section is truncated");
  }
  void AddMemoryUsage(MemoryUse& u) const {
    for (const auto& m : models_) u.by_model.emplace_back(m->info().name, m->MemoryUsage());
  }

 private:
  static void Point(Lane& l, const ModelItem& item, const detect::NetworkView* net, std::vector<ModelOutput>& out,
                    uint32_t index) {
    l.now = item.now;
    l.history_start = item.history_start;
    l.net = net;
    l.out = &out;
    l.item = index;
  }
  void AdvanceMark(const ModelItem& item, std::vector<ModelOutput>& out, uint32_t index) const {
    ModelOutput& o = out.emplace_back();
    o.kind = ModelOutput::Kind::kAdvance;
    o.item = index;
    o.model = models_.size();
    o.now = item.now;
  }

  const detect::NetworkStats* live_;
  std::vector<std::unique_ptr<detect::Model>> models_;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<size_t> by_kind_[kEventKindCount];
  std::vector<Lane> lanes_;
  std::vector<std::array<std::vector<size_t>, kEventKindCount>> lane_by_kind_;  // [lane][kind]
  std::vector<std::array<std::vector<size_t>, kEventKindCount>> prefetch_by_kind_;  // those that prefetch
  // Events whose misses a prefetch pass overlaps: enough to keep the core's outstanding
  // misses busy, few enough that what they fetch is still in L1/L2 when observed.
  static constexpr size_t kPrefetchGroup = 32;
  bool profile_ = false;
  std::vector<uint64_t>
      model_cycles_;  // engine.profile_steps: each model's Observe (its lane's thread)
};

// The model threads: take batches of items from the engine thread, run them through the
// model side (each thread its lane of models, every thread every batch), and give them
// back with their outputs in Handle's order. A fixed set of batches circulates (filling
// -> todo -> done -> free), so a slow model side holds the engine thread back instead of
// queueing without bound, and nothing is allocated per batch.
class Engine::ModelThread {
 public:
  static constexpr size_t kBatchItems = 512;
  static constexpr size_t kBatches = 8;
  struct Batch {
    std::vector<ModelItem> items = std::vector<ModelItem>(kBatchItems);
    size_t used = 0;
    uint64_t last_seq = 0;  // the last event handed over in this batch
    uint64_t number = 0;    // the order batches were handed over in
    size_t lanes_left = 0;  // lanes not yet done with it (under mu_)
    bool finished = false;  // merged, ready to go back (under mu_)
    std::vector<std::vector<ModelOutput>> lane_outputs;
    std::vector<ModelOutput> outputs;  // merged, in Handle's order
  };

  // `deliver` runs on the engine thread, for each finished batch in order: its outputs, and
  // the number of the last event handed over in it.
  using Deliver = std::function<void(std::vector<ModelOutput>& outputs, uint64_t done_seq)>;
  // `cpu` (may be null) gets the model threads' CPU time, current whenever a batch is done.
  ModelThread(Models* models, Deliver deliver, CpuTally* cpu)
      : models_(models), deliver_(std::move(deliver)), cpu_(cpu) {
    for (size_t i = 0; i < kBatches; ++i) {
      batches_.push_back(std::make_unique<Batch>());
      batches_.back()->lane_outputs.resize(models->lanes());
      free_.push_back(batches_.back().get());
    }
    done_.reserve(kBatches);
    taken_.reserve(kBatches);
    for (size_t lane = 0; lane < models->lanes(); ++lane) threads_.emplace_back([this, lane] { Loop(lane); });
  }
  ~ModelThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Engine thread: the next free item of the batch being filled. May wait for a batch,
  // delivering finished ones meanwhile.
  ModelItem& Slot() {
    if (!filling_) {
      while (free_.empty()) TakeDone(true);
      filling_ = free_.back();
      free_.pop_back();
      filling_->used = 0;
      filling_->outputs.clear();
      for (auto& o : filling_->lane_outputs) o.clear();
    }
    return filling_->items[filling_->used];
  }
  // Engine thread: the slot is filled; a full batch goes to the model threads, and what
  // they finished meanwhile is delivered (only then: per event this would be a lock).
  void Commit(uint64_t seq) {
    filling_->last_seq = seq;
    if (++filling_->used < kBatchItems) return;
    Submit();
    TakeDone(false);
  }
  // Engine thread: hands over the partial batch and waits until every batch is done.
  void Drain() {
    if (filling_ && filling_->used > 0) Submit();
    if (filling_) {  // an empty batch being filled goes back to the free list
      free_.push_back(filling_);
      filling_ = nullptr;
    }
    while (free_.size() < kBatches) TakeDone(true);
  }

 private:
  void Submit() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      filling_->number = submitted_++;
      filling_->lanes_left = threads_.size();
      filling_->finished = false;
      todo_.push_back(filling_);
    }
    filling_ = nullptr;
    work_cv_.notify_all();
  }
  // Delivers finished batches in order; with `wait`, waits for at least one.
  void TakeDone(bool wait) {
    taken_.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (wait) done_cv_.wait(lock, [&] { return !done_.empty(); });
      taken_.swap(done_);
    }
    for (Batch* b : taken_) {
      deliver_(b->outputs, b->last_seq);
      free_.push_back(b);
    }
  }
  // The lanes' outputs of a batch in Handle's order: by item, then model (a tick's mark
  // after its models), a model's own outputs for one item in the order it emitted them.
  static void MergeOutputs(Batch& b) {
    for (auto& lo : b.lane_outputs)
      for (auto& o : lo) b.outputs.push_back(std::move(o));
    if (b.lane_outputs.size() > 1) {
      std::stable_sort(b.outputs.begin(), b.outputs.end(), [](const ModelOutput& x, const ModelOutput& y) {
        return x.item != y.item ? x.item < y.item : x.model < y.model;
      });
    }
  }
  // One model thread: every batch, in the order handed over, through its lane.
  void Loop(size_t lane) {
    ThreadCpuMeter cpu(cpu_);
    uint64_t next = 0;  // the number of the next batch this lane handles
    for (;;) {
      Batch* b = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || submitted_ > next; });
        if (submitted_ == next) return;  // stop_, and nothing left
        // todo_ holds the batches handed over and not yet finished by every lane, in order.
        b = todo_[static_cast<size_t>(next - todo_.front()->number)];
      }
      models_->HandleLane(lane, b->items, b->used, b->lane_outputs[lane]);
      cpu.Tick();  // before the batch can be seen done
      ++next;
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last = --b->lanes_left == 0;
      }
      if (!last) continue;
      // The last lane to finish a batch merges it. Two lanes may be merging neighbouring
      // batches at once, so batches go back strictly in the order they came.
      MergeOutputs(*b);
      cpu.Tick();
      {
        std::lock_guard<std::mutex> lock(mu_);
        b->finished = true;
        while (!todo_.empty() && todo_.front()->finished) {
          done_.push_back(todo_.front());
          todo_.pop_front();
        }
      }
      done_cv_.notify_one();
    }
  }

  Models* models_;
  Deliver deliver_;
  CpuTally* cpu_;
  std::vector<std::unique_ptr<Batch>> batches_;
  std::vector<Batch*> free_;  // engine thread only
  Batch* filling_ = nullptr;  // engine thread only
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Batch*> todo_;    // handed over, not yet finished by every lane (under mu_)
  uint64_t submitted_ = 0;     // batches handed over so far (under mu_)
  std::vector<Batch*> done_;   // finished, in order (under mu_)
  std::vector<Batch*> taken_;  // engine thread: done_ swapped out, being delivered
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

nlohmann::json EngineStats::ToJson() const {
  nlohmann::json j;
  j["events"] = events;
  j["events_by_format"] = events_by_format;
  j["rejects"] = rejects;
  j["rejects_by_code"] = rejects_by_code;
  j["breaches_by_model"] = breaches_by_model;
  uint64_t total = 0;
  for (const auto& [k, v] : breaches_by_model) total += v;
  j["breaches"] = total;
  j["weak_signals_by_model"] = weak_by_model;
  j["late_events"] = late;
  j["suppressed_in_learning"] = suppressed_learning;
  j["suppressed_by_allow_list"] = suppressed_allow;
  j["bytes"] = bytes;
  j["streams_decoded_ahead"] = streams_decoded_ahead;
  if (events) {
    j["first_event"] = FormatRfc3339(first_event);
    j["last_event"] = FormatRfc3339(last_event);
  }
  return j;
}

Engine::Engine(const config::Config& cfg, EngineOutputs outputs, std::string dead_letter_path)
    : cfg_(cfg), out_(std::move(outputs)), dead_letter_path_(std::move(dead_letter_path)), enricher_(cfg) {
  learning_period_ = cfg.GetDuration("learning.period");
  reorder_window_ = cfg.GetDuration("engine.reorder_window");
  tick_interval_ = std::max<Micros>(cfg.GetDuration("engine.tick_interval"), kMicrosPerSecond);
  weak_score_ = static_cast<int>(cfg.GetNumber("engine.weak_signal_score"));
  // One shard until models are sharded by the key they learn on: shards split by the
  // event's entity, and new-user-agent-to-internal-server learns per server (the peer),
  // so a server's history would be spread over shards and known agents look new.
  if (const int shards = static_cast<int>(cfg.GetNumber("engine.shards")); shards != 1) {
    std::cerr << "vigil: engine.shards: " << shards
              << " is not supported yet (models that learn per peer would split their history); using 1\n";
  }
  // engine.model_threads: a number (0: the models run on the engine thread), or auto: one
  // per core beyond the engine thread's, at least 1 and at most 4 (the models split by
  // model, and two of them carry most of the work). On 2 cores a second model thread
  // takes CPU from the engine thread, which is then the slowest stage: measured slower.
  const std::string threads = cfg.GetString("engine.model_threads");
  char* end = nullptr;
  const long n = std::strtol(threads.c_str(), &end, 10);
  if (threads != "auto" && !threads.empty() && end && *end == '\0' && n >= 0) {
    model_threads_ = static_cast<int>(std::min(n, 8L));
  } else {
    if (threads != "auto" && !threads.empty())
      std::cerr << "vigil: engine.model_threads: '" << threads << "' is not a number or auto; using auto\n";
    model_threads_ = std::clamp(static_cast<int>(std::thread::hardware_concurrency()) - 1, 1, 4);
  }
  // engine.decode_ahead: replayed inputs of formats that are costly to decode are read and
  // decoded on a thread per stream, a few chunks ahead of the engine (Stream; follow mode
  // reads on the engine's thread).
  decode_ahead_ = cfg.GetBool("engine.decode_ahead");
  profile_steps_ = cfg.GetBool("engine.profile_steps");
  models_ = std::make_unique<Models>(cfg, learning_period_, &network_,
                                     static_cast<size_t>(std::max(model_threads_, 1)));
  models_->set_profile(profile_steps_);
  inline_item_ = std::make_unique<ModelItem>();
  inline_outputs_ = std::make_unique<std::vector<ModelOutput>>();
  YAML::Node allow = cfg.Node("allow");
  if (allow.IsSequence()) {
    for (const auto& a : allow) {
      AllowEntry e;
      if (a["model"]) e.model = a["model"].Scalar();
      if (a["entity"]) e.entity = a["entity"].Scalar();
      if (a["peer"]) e.peer = a["peer"].Scalar();
      if (a["reason"]) e.reason = a["reason"].Scalar();
      if (e.reason.empty()) e.reason = "allow-listed";
      allow_.push_back(std::move(e));
    }
  }
}

Engine::~Engine() {
  // Run always stops the model threads; if they still run here, Run did not finish and
  // its outputs have nobody left to go to: the thread finishes what it holds and is joined
  // before the streams (and the events it reads) go.
  model_thread_.reset();
  if (dead_letter_) std::fclose(dead_letter_);
}

void Engine::set_follow(bool follow) {
  follow_ = follow;
  for (auto& s : streams_) s->set_follow(follow);
}

Status Engine::AddInputs(const std::vector<std::string>& specs) {
  std::map<std::string, std::vector<uint32_t>> groups;
  std::vector<std::string> order;
  for (const auto& spec : specs) {
    auto files = ExpandInput(spec);
    if (!files.ok()) return files.status();
    for (auto& f : files.value()) {
      // Group files of one log type within one input spec into one stream.
      std::string key = spec + "\x1f" + f.stream;
      if (!groups.count(key)) order.push_back(key);
      groups[key].push_back(static_cast<uint32_t>(files_.size()));
      files_.push_back(std::move(f));
    }
  }
  file_events_.resize(files_.size(), 0);
  for (const auto& key : order) {
    streams_.push_back(std::make_unique<Stream>(&files_, groups[key], reorder_window_, this));
    streams_.back()->set_follow(follow_);
    streams_.back()->set_decode_ahead(decode_ahead_);
    streams_.back()->set_decode_cpu(&cpu_.decode_ahead);
    stream_by_key_[key] = streams_.back().get();
  }
  specs_.insert(specs_.end(), specs.begin(), specs.end());
  return Status::Ok();
}

void Engine::Rescan() {
  std::set<std::string> known;
  std::set<uint64_t> prints;
  for (const auto& f : files_) {
    known.insert(f.path);
    if (f.fingerprint) prints.insert(f.fingerprint);
  }
  for (const auto& spec : specs_) {
    auto files = ExpandInput(spec);
    if (!files.ok()) continue;
    for (auto& f : files.value()) {
      if (known.count(f.path)) continue;
      // Files shorter than the fingerprint cannot be recognised as rotated copies; they are
      // read as new.
      uint64_t fp = FileFingerprint(f.path);
      f.fingerprint = fp;
      if (fp != 0 && prints.count(fp)) f.rotated_copy = true;  // a rotated, compressed copy: already read
      std::string key = spec + "\x1f" + f.stream;
      files_.push_back(f);
      file_events_.push_back(0);
      uint32_t idx = static_cast<uint32_t>(files_.size() - 1);
      if (f.rotated_copy) continue;
      auto it = stream_by_key_.find(key);
      if (it != stream_by_key_.end()) {
        it->second->AddFile(idx);
      } else {
        streams_.push_back(std::make_unique<Stream>(&files_, std::vector<uint32_t>{idx}, reorder_window_, this));
        streams_.back()->set_follow(true);
        stream_by_key_[key] = streams_.back().get();
      }
    }
  }
}

void Engine::OnReject(const InputFile& file, const ingest::Reject& r) {
  ++stats_.rejects;
  ++stats_.rejects_by_code[r.code];
  auto key = std::make_tuple(r.input, r.code);
  auto& rc = reject_counts_[key];
  if (rc.count == 0) {
    rc.input = file.path;
    rc.format = file.format;
    rc.code = r.code;
    rc.first_line = r.line;
    rc.first_offset = r.offset;
    rc.first_reason = r.reason;
  }
  ++rc.count;
  uint64_t& reported = reject_reported_[key];
  if (reported < kMaxReportsPerCode) {
    std::cerr << "vigil: rejected " << file.path << ":" << r.line << " (byte " << r.offset
              << "): " << r.code << ": " << r.reason << "\n";
  } else if (reported == kMaxReportsPerCode) {
    std::cerr << "vigil: more '" << r.code << "' rejects in " << file.path
              << " are counted and kept in the dead-letter file only\n";
  }
  ++reported;
  if (!dead_letter_path_.empty()) {
    if (!dead_letter_) dead_letter_ = std::fopen(dead_letter_path_.c_str(), "ab");
    if (dead_letter_) {
      nlohmann::json j = {{"input", file.path}, {"format", file.format}, {"line", r.line},
                          {"offset", r.offset}, {"code", r.code},       {"reason", r.reason},
                          {"record", r.snippet}};
      std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      s.push_back('\n');
      std::fwrite(s.data(), 1, s.size(), dead_letter_);
    }
  }
}

Status Engine::Restore(const store::Checkpoint& cp) {
  learn::StateReader r(cp.state);
  std::string magic = r.Str();
  if (magic != kCheckpointMagic) return Corrupt("checkpoint is not in this version's format");
  now_ = r.I64();
  history_start_ = r.I64();
  next_tick_ = r.I64();
  network_.Load(r);
  enricher_.Load(r);
  uint64_t nshards = r.Count(1024);
  if (nshards != 1) return InvalidArgument("checkpoint has a different shard count");
  VIGIL_RETURN_IF_ERROR(models_->Load(r));
  std::string extra = r.Str();
  if (!r.ok()) return Corrupt("checkpoint state is truncated");
  if (out_.load_extra && !extra.empty()) {
    learn::StateReader er(extra);
    out_.load_extra(er);
  }
  // Positions: resume each stream at its file and offset.
  // A file is found by path, or, when rotation renamed or compressed it, by fingerprint.
  for (const auto& p : cp.positions) {
    bool found = false;
    for (uint32_t i = 0; i < files_.size() && !found; ++i) {
      if (files_[i].path != p.file) continue;
      for (auto& s : streams_) s->ResumeAt(i, p.offset, p.line);
      found = true;
    }
    if (found || p.fingerprint.empty() || p.fingerprint == "0") continue;
    for (uint32_t i = 0; i < files_.size() && !found; ++i) {
      if (std::to_string(FileFingerprint(files_[i].path)) != p.fingerprint) continue;
      for (auto& s : streams_) s->ResumeAt(i, p.offset, p.line);
      found = true;
    }
  }
  return Status::Ok();
}

store::Checkpoint Engine::MakeCheckpoint() {
  // Process everything decoded so far so positions and state agree exactly.
  for (auto& s : streams_) s->FlushHeld();
  for (auto& s : streams_) {
    while (Event* e = s->Peek()) {
      Process(*e);
      s->Pop();
    }
  }
  Sync();  // the models have seen all of it, and their outputs are delivered
  learn::StateWriter w;
  w.Str(kCheckpointMagic);
  w.I64(now_);
  w.I64(history_start_);
  w.I64(next_tick_);
  network_.Save(w);
  enricher_.Save(w);
  w.U64(1);  // shards
  models_->Save(w);
  learn::StateWriter extra;
  if (out_.save_extra) out_.save_extra(extra);
  w.Str(extra.data());
  UpdateInputStats();
  store::Checkpoint cp;
  cp.event_time = now_;
  cp.state = w.Take();
  for (const auto& s : streams_) {
    uint32_t f = s->current_file();
    if (f >= files_.size()) continue;
    store::InputPosition p;
    p.input = files_[f].stream;
    p.file = files_[f].path;
    p.offset = s->consumed_offset();
    p.line = s->consumed_line();
    p.inode = s->current_inode();
    p.fingerprint = std::to_string(files_[f].fingerprint);
    cp.positions.push_back(std::move(p));
  }
  return cp;
}

Engine::EntityState* Engine::TouchEntity(const EntityRef& ref, Micros t) {
  static_assert(sizeof(EntityState) <= 64, "an entity entry stays at 64 bytes (see engine.h)");
  if (ref.empty() || ref.id.empty()) return nullptr;
  // One hash and probe for both the lookup and the insert (the key is made only when new).
  auto [it, inserted] = entities_.try_emplace(absl::string_view(ref.id.data(), ref.id.size()));
  if (inserted) {
    it->second.type = ref.type;
    it->second.first_seen = t;
  }
  EntityState& s = it->second;
  if (!s.name && !ref.name.empty() && ref.name != ref.id)
    s.name = std::make_unique<std::string>(ref.name);
  s.first_seen = std::min(s.first_seen, t);
  s.last_seen = std::max(s.last_seen, t);
  ++s.unflushed_events;
  s.dirty = true;
  return &s;
}

void Engine::LearnRole(const Event& e, EntityState* entity, EntityState* peer) {
  const auto* f = e.As<FlowBody>();
  if (!f || !e.net.valid) return;
  const bool answered = f->resp_bytes > 0 || f->resp_pkts > 0;
  auto bump = [](uint32_t& n) { n = n == UINT32_MAX ? n : n + 1; };
  if (e.orig_internal) {
    if (entity) bump(entity->started);
    if (e.resp_internal && peer && answered) {
      bump(peer->served_internal);
      peer->internal_clients.Add(detect::DeviceFingerprint(e.net.orig_h));
    }
  } else if (e.resp_internal && entity && answered) {
    bump(entity->served_external);
  }
}

// Roles an analyst expects on a device page, from what the device's flows show:
//   internet-facing  answered 20 or more connections from the internet;
//   server           answered 20 or more connections from 3 or more internal clients;
//   workstation      started 20 or more connections and answered at most 1 in 20 of that;
//   ""               not enough to say (the stored role, if any, is kept).
std::string Engine::RoleOf(const EntityState& s) {
  if (s.type != EntityType::kDevice) return "";
  if (s.served_external >= 20) return "internet-facing";
  if (s.served_internal >= 20 && s.internal_clients.saturated()) return "server";
  if (s.started >= 20 && static_cast<uint64_t>(s.served_internal + s.served_external) * 20 <= s.started)
    return "workstation";
  return "";
}

void Engine::Process(Event& e) {
  if (e.time < now_) {
    if (now_ - e.time > reorder_window_) ++stats_.late;
  } else {
    now_ = e.time;
  }
  if (history_start_ == INT64_MIN) {
    history_start_ = e.time;
    next_tick_ = e.time + tick_interval_;
  }
  if (stats_.events == 0) stats_.first_event = e.time;
  stats_.first_event = std::min(stats_.first_event, e.time);
  stats_.last_event = std::max(stats_.last_event, e.time);
  ++stats_.events;
  if (e.pos.input < file_events_.size()) ++file_events_[e.pos.input];
  while (now_ >= next_tick_) {
    Tick(false);
    next_tick_ += tick_interval_;
    if (now_ - next_tick_ > 1000 * tick_interval_) next_tick_ = now_;  // a jump in time
  }
  StepClock clock(profile_steps_);
  enricher_.Enrich(e);
  clock.Lap(steps_.enrich);
  network_.Observe(e);
  clock.Lap(steps_.network_stats);
  EntityState* entity = TouchEntity(e.entity, e.time);
  EntityState* peer = nullptr;
  if (e.peer.type == EntityType::kDevice || e.peer.type == EntityType::kIdentity) {
    const size_t before = entities_.size();
    peer = TouchEntity(e.peer, e.time);
    // A new peer may have grown the table, which moves every entry: find the entity again
    // (found under ThreadSanitizer: LearnRole wrote through the stale pointer).
    if (entity && entities_.size() != before) {
      auto it = entities_.find(absl::string_view(e.entity.id.data(), e.entity.id.size()));
      entity = it == entities_.end() ? nullptr : &it->second;
    }
  }
  if (e.kind == EventKind::kFlow) LearnRole(e, entity, peer);
  clock.Lap(steps_.entities);
  if (out_.on_event) out_.on_event(e);
  clock.Lap(steps_.on_event);
  ToModels(&e, false);
  clock.Lap(steps_.to_models);
  if (profile_steps_) ++steps_.events;
}

Engine::StepProfile Engine::step_profile() {
  Sync();
  StepProfile p = steps_;
  models_->AddProfile(p);
  return p;
}

void Engine::Tick(bool final) { ToModels(nullptr, final); }

void Engine::ToModels(Event* e, bool final) {
  if (e) ++submitted_seq_;
  ModelItem& item = model_thread_ ? model_thread_->Slot() : *inline_item_;
  item.event = e;
  item.now = now_;
  item.history_start = history_start_;
  item.final = final;
  if (!model_thread_) {
    inline_outputs_->clear();
    models_->Handle(item, *inline_outputs_);
    DeliverOutputs(*inline_outputs_, submitted_seq_);
    return;
  }
  if (e) {
    // The event stays in its chunk (the stream keeps the chunk until the model threads are
    // done with it), and so does a string inside its record (a Zeek address). Only the
    // entity strings that point elsewhere (into an enrichment table) move into the item.
    const auto keep = [raw = e->raw](std::string_view& v, std::string& copy) {
      const auto at = reinterpret_cast<std::uintptr_t>(v.data());
      const auto raw_at = reinterpret_cast<std::uintptr_t>(raw.data());
      if (v.empty() || (at >= raw_at && at + v.size() <= raw_at + raw.size())) return;
      copy.assign(v);
      v = copy;
    };
    keep(e->entity.id, item.entity_id);
    keep(e->entity.name, item.entity_name);
    keep(e->peer.id, item.peer_id);
    keep(e->peer.name, item.peer_name);
    item.facts.Capture(network_, *e);
  }
  model_thread_->Commit(submitted_seq_);
}

void Engine::DeliverOutputs(std::vector<ModelOutput>& outputs, uint64_t done_seq) {
  for (ModelOutput& o : outputs) {
    switch (o.kind) {
      case ModelOutput::Kind::kBreach:
        Deliver(std::move(o.breach), models_->info(o.model), models_->threshold(o.model));
        break;
      case ModelOutput::Kind::kSuppressedLearning:
        ++stats_.suppressed_learning;
        break;
      case ModelOutput::Kind::kAdvance:
        if (out_.on_advance) out_.on_advance(o.now);
        break;
    }
  }
  if (model_thread_)
    for (auto& s : streams_) s->Reclaim(done_seq);
}

void Engine::Sync() {
  if (model_thread_) model_thread_->Drain();
}

void Engine::StartModelThread() {
  if (model_thread_ || model_threads_ == 0) return;
  model_thread_ = std::make_unique<ModelThread>(
      models_.get(), [this](std::vector<ModelOutput>& outputs, uint64_t done_seq) { DeliverOutputs(outputs, done_seq); },
      &cpu_.models);
  for (auto& s : streams_) s->set_retire_tag(&submitted_seq_);
}

void Engine::StopModelThread() {
  if (!model_thread_) return;
  Sync();
  model_thread_.reset();
  for (auto& s : streams_) {
    s->set_retire_tag(nullptr);
    s->Reclaim(UINT64_MAX);
  }
}

bool Engine::AllowListed(const detect::Breach& b, std::string* reason) const {
  auto matches = [](const std::string& pattern, const std::string& id) {
    if (pattern.empty() || pattern == "*") return true;
    if (pattern == id) return true;
    if (pattern.find('/') != std::string::npos) {
      auto c = Cidr::Parse(pattern);
      auto a = IpAddr::Parse(id);
      if (c && a) return c->Contains(*a);
    }
    return false;
  };
  for (const auto& a : allow_) {
    if (!a.model.empty() && a.model != "*" && a.model != b.model) continue;
    if (!matches(a.entity, b.entity.id)) continue;
    if (!a.peer.empty() && a.peer != "*" && !(b.peer && matches(a.peer, b.peer->id))) continue;
    *reason = a.reason;
    return true;
  }
  return false;
}

void Engine::Deliver(detect::Breach b, const detect::ModelInfo& info, double threshold) {
  b.score = std::clamp(b.score, 0, 100);
  if (b.score < threshold) {
    if (b.score < weak_score_) return;
    b.weak = true;
  }
  if (b.mitre.empty()) b.mitre = info.mitre;
  for (auto& ev : b.events) {
    if (ev.input.empty() && ev.input_index < files_.size()) ev.input = files_[ev.input_index].path;
  }
  AssignBreachId(b);
  std::string reason;
  if (AllowListed(b, &reason)) {
    b.suppressed_by = reason;
    ++stats_.suppressed_allow;
    if (out_.on_suppressed) out_.on_suppressed(b);
    return;
  }
  if (b.weak) {
    ++stats_.weak_by_model[b.model];
  } else {
    ++stats_.breaches_by_model[b.model];
  }
  if (out_.on_breach) out_.on_breach(b);
}

namespace {
// The engine thread fetches each event this many events ahead of processing it. The
// decoder wrote a chunk's events (about 700 KB) before the first was processed, and by then
// Enrich's first read of an event missed the core's caches: about 200 of its 250-400
// cycles an event, gone with the prefetch (engine-thread CPU 0.93-0.95 / 1.04-1.11 s ->
// 0.84-0.89 / 0.93-0.97 s over the bench's million flows, min / median of ten runs).
constexpr size_t kEventLookahead = 8;
}  // namespace

Status Engine::Run(const std::atomic<bool>* stop, const std::function<void()>& on_idle) {
  StartModelThread();
  // K-way merge of the streams by event time. Streams are few (one per log type and
  // input), so a linear scan for the minimum beats a heap.
  std::vector<Stream*> live;
  std::vector<Event*> heads;
  int idle_rounds = 0;
  for (;;) {
    while (live.size() < streams_.size()) {
      live.push_back(streams_[live.size()].get());
      heads.push_back(nullptr);
    }
    if (stop && stop->load(std::memory_order_relaxed)) break;
    int best = -1;
    Micros best_t = INT64_MAX;
    for (size_t i = 0; i < live.size(); ++i) {
      if (!heads[i]) heads[i] = live[i]->Peek();
      if (heads[i]) {
        if (heads[i]->time < best_t) {
          best_t = heads[i]->time;
          best = static_cast<int>(i);
        }
      }
    }
    if (best < 0) {
      // Replay: every stream is finished. Follow: nothing new yet; wait, and now and then
      // look for files that rotation or a sync job added.
      if (!follow_) break;
      Sync();  // breaches of what was read so far go out before waiting
      if (on_idle) on_idle();
      if (++idle_rounds % 20 == 0) Rescan();
      continue;
    }
    if (const Event* ahead = live[best]->Upcoming(kEventLookahead))
      PrefetchLines(ahead, sizeof(Event));
    Process(*heads[best]);
    live[best]->Pop();
    heads[best] = nullptr;
  }
  if (!follow_ || (stop && stop->load())) {
    Tick(true);
  }
  StopModelThread();
  UpdateInputStats();
  return Status::Ok();
}

void Engine::UpdateInputStats() {
  stats_.streams_decoded_ahead = 0;
  for (const auto& s : streams_) stats_.streams_decoded_ahead += s->decoding_ahead() ? 1 : 0;
  stats_.events_by_format.clear();
  for (uint32_t i = 0; i < files_.size() && i < file_events_.size(); ++i) {
    if (file_events_[i]) stats_.events_by_format[files_[i].format] += file_events_[i];
  }
}

Status Engine::FlushDirtyEntities(size_t batch,
                                  const std::function<Status(const std::vector<store::EntityRecord>&)>& sink) {
  // Sorted by id. Each entry carries its id's first 16 bytes as two big-endian words, so
  // the sort compares words it holds and reads the ids themselves (scattered over the
  // entity table) only to break a tie between ids that share those bytes.
  struct Dirty {
    uint64_t hi, lo;
    std::string_view id;
    EntityState* state;
  };
  std::vector<Dirty> dirty;
  for (auto& [id, s] : entities_) {
    if (!s.dirty) continue;
    unsigned char prefix[16] = {};
    std::memcpy(prefix, id.data(), std::min<size_t>(id.size(), sizeof prefix));
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; ++i) hi = hi << 8 | prefix[i];
    for (int i = 8; i < 16; ++i) lo = lo << 8 | prefix[i];
    dirty.push_back(Dirty{hi, lo, std::string_view(id.data(), id.size()), &s});
  }
  std::sort(dirty.begin(), dirty.end(), [](const Dirty& a, const Dirty& b) {
    if (a.hi != b.hi) return a.hi < b.hi;
    if (a.lo != b.lo) return a.lo < b.lo;
    return a.id < b.id;
  });
  batch = std::max<size_t>(batch, 1);
  // Two sets of records: while a helper thread stores one batch (the sink is the store,
  // which serialises its own calls), this thread builds the next. A flush of one batch
  // stays on this thread.
  std::vector<store::EntityRecord> buffers[2];
  std::future<Status> storing;
  Status first_error = Status::Ok();
  auto note = [&first_error](const Status& st) {
    if (!st.ok() && first_error.ok()) first_error = st;
  };
  const bool one_batch = dirty.size() <= batch;
  for (size_t from = 0, k = 0; from < dirty.size(); from += batch, ++k) {
    const size_t n = std::min(batch, dirty.size() - from);
    std::vector<store::EntityRecord>& records = buffers[k % 2];
    records.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string_view id = dirty[from + i].id;
      EntityState* s = dirty[from + i].state;
      store::EntityRecord& r = records[i];
      r.type.assign(EntityTypeName(s->type));
      r.id.assign(id);
      if (s->name) {
        r.name.assign(*s->name);
      } else {
        r.name.clear();
      }
      r.first_seen = s->first_seen;
      r.last_seen = s->last_seen;
      r.events = s->unflushed_events;
      r.role = RoleOf(*s);
      s->unflushed_events = 0;
      const bool has_address = s->type == EntityType::kDevice || s->type == EntityType::kExternal;
      r.addresses.resize(has_address ? 1 : 0);
      if (has_address) r.addresses[0].assign(id);
      r.names.resize(s->name ? 1 : 0);
      if (s->name) r.names[0].assign(*s->name);
      s->dirty = false;
    }
    if (storing.valid()) note(storing.get());  // the other buffer is free again
    if (one_batch) {
      note(sink(records));
    } else {
      storing = std::async(std::launch::async, [this, &sink, &records] {
        ThreadCpuMeter cpu(&cpu_.entity_store);
        return sink(records);
      });
    }
  }
  if (storing.valid()) note(storing.get());
  return first_error;
}

std::vector<store::RejectCount> Engine::TakeRejectCounts() {
  std::vector<store::RejectCount> out;
  for (auto& [k, v] : reject_counts_) {
    if (v.count) out.push_back(v);
    v.count = 0;
  }
  return out;
}

size_t Engine::MemoryUse::total() const {
  size_t t = entities + network_stats;
  for (const auto& [name, bytes] : by_model) t += bytes;
  return t;
}

Engine::MemoryUse Engine::MemoryUsage() {
  Sync();
  MemoryUse u;
  u.entities = entities_.capacity() * (sizeof(std::string) + sizeof(EntityState) + 1);
  u.network_stats = network_.MemoryUsage();
  models_->AddMemoryUsage(u);
  return u;
}

}  // namespace vigil::pipeline
