#include "ingest/registry.h"

namespace vigil::ingest {

FormatRegistry& FormatRegistry::Global() {
  static FormatRegistry registry;
  return registry;
}

void FormatRegistry::Add(FormatInfo info) { formats_.push_back(std::move(info)); }

const FormatInfo* FormatRegistry::Find(std::string_view name) const {
  for (const auto& f : formats_)
    if (f.name == name) return &f;
  return nullptr;
}

const FormatInfo* FormatRegistry::Sniff(std::string_view head, std::string_view path) const {
  const FormatInfo* best = nullptr;
  int best_score = 50;
  for (const auto& f : formats_) {
    if (!f.sniff) continue;
    int s = f.sniff(head, path);
    if (s > best_score) {
      best_score = s;
      best = &f;
    }
  }
  return best;
}

}  // namespace vigil::ingest
