// Enrichment: resolves who an event is about before any model sees it.
//
// The network step (network.cc) marks each side of a 5-tuple internal or external from
// networks.internal and names the primary entity (the internal device that acted) and the
// peer. Other steps register themselves (VIGIL_REGISTER_ENRICH_STEP) for their event kinds:
// CloudTrail identity resolution, Defender device linking, GeoIP/ASN. Steps may keep lookup
// tables (access key -> owner, Defender device id -> addresses) but no per-entity history:
// that belongs to learn/ and detect/ (ARCHITECTURE.md).
//
// Thread safety: one Enricher per shard-feeding thread; steps are not shared.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/event.h"
#include "learn/state_io.h"

namespace vigil::enrich {

class EnrichStep {
 public:
  virtual ~EnrichStep() = default;
  virtual const char* name() const = 0;
  virtual KindSet kinds() const = 0;
  // Fills entity/peer (and anything else enrichment owns) on one event. Strings it sets
  // must outlive the event: views into the event's own record, or into the step's tables.
  virtual void Enrich(Event& e) = 0;
  // Lookup tables are checkpointed with the learned state.
  virtual void Save(learn::StateWriter& w) const { (void)w; }
  virtual void Load(learn::StateReader& r) { (void)r; }
};

class Enricher {
 public:
  // Builds the network step and every registered step from the configuration.
  explicit Enricher(const config::Config& cfg);
  void Enrich(Event& e);
  const CidrSet& internal() const { return internal_; }
  void Save(learn::StateWriter& w) const;
  void Load(learn::StateReader& r);

 private:
  CidrSet internal_;
  std::vector<std::unique_ptr<EnrichStep>> steps_;
};

// Registry of optional steps, like formats and models.
class EnrichStepRegistry {
 public:
  using Factory = std::function<std::unique_ptr<EnrichStep>(const config::Config&)>;
  static EnrichStepRegistry& Global();
  void Add(Factory f) { factories_.push_back(std::move(f)); }
  const std::vector<Factory>& factories() const { return factories_; }

 private:
  std::vector<Factory> factories_;
};

struct EnrichStepRegistrar {
  explicit EnrichStepRegistrar(EnrichStepRegistry::Factory f) {
    EnrichStepRegistry::Global().Add(std::move(f));
  }
};

}  // namespace vigil::enrich

#define VIGIL_ENRICH_CONCAT2(a, b) a##b
#define VIGIL_ENRICH_CONCAT(a, b) VIGIL_ENRICH_CONCAT2(a, b)
// Usage: VIGIL_REGISTER_ENRICH_STEP([](const vigil::config::Config& c) { return ...; });
#define VIGIL_REGISTER_ENRICH_STEP(factory)                                             \
  static ::vigil::enrich::EnrichStepRegistrar VIGIL_ENRICH_CONCAT(vigil_enrich_registrar_, \
                                                                  __LINE__)(factory)
