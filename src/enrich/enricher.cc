#include "enrich/enricher.h"

namespace vigil::enrich {

EnrichStepRegistry& EnrichStepRegistry::Global() {
  static EnrichStepRegistry registry;
  return registry;
}

Enricher::Enricher(const config::Config& cfg) : internal_(cfg.internal_networks()) {
  for (const auto& f : EnrichStepRegistry::Global().factories()) {
    if (auto step = f(cfg)) steps_.push_back(std::move(step));
  }
}

void Enricher::Enrich(Event& e) {
  if (e.net.valid) {
    e.orig_internal = internal_.Contains(e.net.orig_h);
    e.resp_internal = internal_.Contains(e.net.resp_h);
    // The primary entity is the internal side that acted: the originator when it is
    // internal, else the internal responder (an inbound connection is about the device
    // that received it). Between two external hosts (a sensor outside the perimeter) the
    // originator is an external entity.
    if (e.orig_internal) {
      e.entity = {EntityType::kDevice, e.net.orig_h_text, {}};
      e.peer = {e.resp_internal ? EntityType::kDevice : EntityType::kExternal, e.net.resp_h_text, {}};
    } else if (e.resp_internal) {
      e.entity = {EntityType::kDevice, e.net.resp_h_text, {}};
      e.peer = {EntityType::kExternal, e.net.orig_h_text, {}};
    } else {
      e.entity = {EntityType::kExternal, e.net.orig_h_text, {}};
      e.peer = {EntityType::kExternal, e.net.resp_h_text, {}};
    }
  }
  for (auto& s : steps_) {
    if (s->kinds().contains(e.kind)) s->Enrich(e);
  }
}

void Enricher::Save(learn::StateWriter& w) const {
  w.U64(steps_.size());
  for (const auto& s : steps_) {
    w.Str(s->name());
    learn::StateWriter sub;
    s->Save(sub);
    w.Str(sub.data());
  }
}

void Enricher::Load(learn::StateReader& r) {
  uint64_t n = r.Count(1000);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.Str();
    std::string blob = r.Str();
    for (auto& s : steps_) {
      if (name == s->name()) {
        learn::StateReader sub(blob);
        s->Load(sub);
      }
    }
  }
}

}  // namespace vigil::enrich
