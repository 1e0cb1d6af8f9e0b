#include "detect/model.h"

#include <algorithm>

namespace vigil::detect {

ModelCatalogue& ModelCatalogue::Global() {
  static ModelCatalogue catalogue;
  return catalogue;
}

void ModelCatalogue::Add(std::function<std::unique_ptr<Model>()> make) {
  makers_.push_back(std::move(make));
}

std::vector<std::unique_ptr<Model>> ModelCatalogue::MakeAll() const {
  std::vector<std::unique_ptr<Model>> out;
  for (const auto& m : makers_) out.push_back(m());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->info().name < b->info().name; });
  return out;
}

std::vector<ModelInfo> ModelCatalogue::Infos() const {
  std::vector<ModelInfo> out;
  for (const auto& m : MakeAll()) out.push_back(m->info());
  return out;
}

}  // namespace vigil::detect
