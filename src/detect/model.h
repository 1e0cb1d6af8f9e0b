// Model: one detector of one kind of departure from normal (ARCHITECTURE.md "Models").
//
// A model watches some event kinds. For each event it updates what it has learned about
// the event's entity and, when the event is surprising enough, emits a Breach through the
// context. Models never see file formats, the store or each other. A model instance is
// owned by one shard and is only ever called from that shard's thread: no locks.
//
// Thresholds, weak signals, allow lists and the learning period are applied by the
// engine around Emit, the same way for every model: a model reports every unusual thing
// with its honest score, and the engine decides what becomes a breach.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "detect/breach.h"
#include "learn/state_io.h"

namespace vigil::detect {

class NetworkView;  // network_stats.h

// A tunable number of a model, with its default and meaning (shown in docs and the UI).
struct ModelParam {
  std::string name;
  double default_value = 0;
  std::string help;
};

struct ModelInfo {
  std::string name;         // canonical "domain/what-happened"
  std::string description;  // one or two sentences for the catalogue
  KindSet kinds;            // the events Observe wants
  std::vector<std::string> mitre;  // techniques its breaches usually carry
  int default_threshold = 60;      // a score at or above this is a breach
  std::vector<ModelParam> params;
};

// What the engine gives a model while it observes one event or ticks.
// Borrowed for the duration of the call only.
class ModelContext {
 public:
  virtual ~ModelContext() = default;
  // Event time now (the event's time, or the tick time).
  virtual Micros now() const = 0;
  // Event time of the first event the engine saw: how long history is.
  virtual Micros history_start() const = 0;
  // True during the learning period: breaches are dropped, learning goes on. Models may
  // use it to skip work that only serves emitting.
  virtual bool learning() const = 0;
  // Network-wide facts (how many devices talk to a host), maintained by the engine: while
  // observing an event, about that event's addresses and host name only (models may run on
  // a thread of their own, with facts the engine copied for the event). Not for Tick.
  virtual const NetworkView& network() const = 0;
  // The configured value of one of the model's params (ModelInfo::params).
  virtual double param(std::string_view name) const = 0;
  // Hands a breach (or a weak signal) to the engine. id, and the input names in events, are
  // filled by the engine.
  virtual void Emit(Breach breach) = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;
  // Learns from and scores one event of a kind in info().kinds. Never throws.
  virtual void Observe(const Event& event, ModelContext& ctx) = 0;
  // Called as event time advances (about once a minute of event time, and at the end of
  // input with final=true), for models that judge sequences rather than single events.
  virtual void Tick(ModelContext& ctx, bool final) {
    (void)ctx;
    (void)final;
  }
  // Optional, a hint: fetch into the cache what Observe(event) will read, without changing
  // anything. A model thread calls it for a group of events before observing them, in
  // two passes over the group: stage 0 may fetch only what the event alone locates (the
  // slot of the device's entry in a hash table), stage 1 may read what stage 0 fetched
  // (the entry) to fetch what it points to (the device's own tables). The misses of a
  // group then overlap instead of stalling Observe one after another. Models that
  // override it say so in prefetches(), and mark the override VIGIL_KEEP_PREFETCHES
  // (core/prefetch.h): without it GCC may delete a library's prefetch call, silently
  // (tests/codegen_test.cc checks the binary).
  virtual void Prefetch(const Event& event, int stage) const {
    (void)event;
    (void)stage;
  }
  virtual bool prefetches() const { return false; }
  // Checkpoint support: Save writes everything learned; Load restores it into a freshly
  // made model. Load must reject (not crash on) bytes it did not write.
  virtual void Save(learn::StateWriter& w) const = 0;
  virtual Status Load(learn::StateReader& r) = 0;
  // Approximate bytes of learned state, for the memory cap and `vigil status`.
  virtual size_t MemoryUsage() const = 0;
};

// The model catalogue: every model registers a factory here (one .cc per model family,
// VIGIL_REGISTER_MODEL at namespace scope); the detect library is linked whole.
class ModelCatalogue {
 public:
  static ModelCatalogue& Global();
  void Add(std::function<std::unique_ptr<Model>()> make);
  // Fresh instances of every model, in a stable order (by name).
  std::vector<std::unique_ptr<Model>> MakeAll() const;
  std::vector<ModelInfo> Infos() const;

 private:
  std::vector<std::function<std::unique_ptr<Model>()>> makers_;
};

struct ModelRegistrar {
  explicit ModelRegistrar(std::function<std::unique_ptr<Model>()> make) {
    ModelCatalogue::Global().Add(std::move(make));
  }
};

}  // namespace vigil::detect

#define VIGIL_MODEL_CONCAT2(a, b) a##b
#define VIGIL_MODEL_CONCAT(a, b) VIGIL_MODEL_CONCAT2(a, b)
// Usage at namespace scope: VIGIL_REGISTER_MODEL(BeaconingModel);
#define VIGIL_REGISTER_MODEL(Type)                                                    \
  static ::vigil::detect::ModelRegistrar VIGIL_MODEL_CONCAT(vigil_model_registrar_, \
                                                            __LINE__)(                \
      [] { return std::unique_ptr<::vigil::detect::Model>(std::make_unique<Type>()); })
