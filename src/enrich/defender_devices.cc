#include "enrich/defender_devices.h"

#include <algorithm>
#include <cctype>

namespace vigil::enrich {

namespace {

bool AllZeroId(std::string_view id) {
  if (id.empty()) return true;
  for (char c : id)
    if (c != '0' && c != '-') return false;
  return true;
}

std::string LowerName(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLinkLocalOrLoopback(const IpAddr& a) {
  static const CidrSet* bad = [] {
    auto* s = new CidrSet;
    for (const char* c : {"127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10"})
      s->Add(*Cidr::Parse(c));
    return s;
  }();
  return bad->Contains(a) || a.is_unspecified();
}

}  // namespace

std::string_view DefenderDeviceStep::Intern(std::string_view s) {
  if (auto it = interned_.find(s); it != interned_.end()) return *it;
  if (interned_.size() >= kMaxInternedStrings) return {};
  strings_.emplace_back(s);
  std::string_view v = strings_.back();
  interned_.insert(v);
  return v;
}

std::string_view DefenderDeviceStep::PickAddress(std::string_view list) const {
  std::string_view best_v6;
  while (!list.empty()) {
    size_t c = list.find(',');
    std::string_view part = list.substr(0, c);
    while (!part.empty() && (part.front() == ' ' || part.front() == '"')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '"')) part.remove_suffix(1);
    if (auto ip = IpAddr::Parse(part); ip && internal_.Contains(*ip) && !IsLinkLocalOrLoopback(*ip)) {
      if (ip->is_v4()) return part;
      if (best_v6.empty()) best_v6 = part;
    }
    if (c == std::string_view::npos) break;
    list.remove_prefix(c + 1);
  }
  return best_v6;
}

void DefenderDeviceStep::Link(std::string_view id, std::string_view name,
                              std::string_view address) {
  if (address.empty()) return;
  std::string_view addr = Intern(address);
  if (addr.empty()) return;
  std::string_view nm = name.empty() ? std::string_view() : Intern(name);
  if (!AllZeroId(id)) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      if (by_id_.size() >= kMaxDefenderDevices) return;
      std::string_view key = Intern(id);
      if (key.empty()) return;
      it = by_id_.emplace(key, Entry{}).first;
    }
    it->second.address = addr;
    if (!nm.empty()) it->second.name = nm;
  }
  if (!name.empty()) {
    std::string lower = LowerName(name);
    auto it = by_name_.find(lower);
    if (it == by_name_.end()) {
      if (by_name_.size() >= kMaxDefenderDevices) return;
      std::string_view key = Intern(lower);
      if (key.empty()) return;
      it = by_name_.emplace(key, Entry{}).first;
    }
    it->second.address = addr;
    it->second.name = nm;
  }
}

void DefenderDeviceStep::Enrich(Event& e) {
  std::string_view id, name, ips;
  if (auto* a = e.As<EdrAlertBody>()) {
    id = a->device_id;
    name = a->device_name;
    ips = a->device_ips;
  } else if (auto* p = e.As<ProcessBody>()) {
    id = p->device_id;
    name = p->device_name;
  } else if (auto* f = e.As<FileActivityBody>()) {
    id = f->device_id;
    name = f->device_name;
  } else if (auto* i = e.As<DeviceInfoBody>()) {
    id = i->device_id;
    name = i->device_name;
  } else if (auto* n = e.As<DeviceNetworkBody>()) {
    id = n->device_id;
    name = n->device_name;
    ips = n->ip_addresses;
  } else if (auto* v = e.As<VulnerabilityBody>()) {
    id = v->device_id;
    name = v->device_name;
  } else {
    return;
  }
  if (!ips.empty()) Link(id, name, PickAddress(ips));
  const Entry* entry = nullptr;
  if (!AllZeroId(id)) {
    if (auto it = by_id_.find(id); it != by_id_.end()) entry = &it->second;
  }
  if (entry == nullptr && !name.empty()) {
    if (auto it = by_name_.find(LowerName(name)); it != by_name_.end()) entry = &it->second;
  }
  if (entry != nullptr && !entry->address.empty()) {
    e.entity = {EntityType::kDevice, entry->address, name.empty() ? entry->name : name};
  } else if (!AllZeroId(id)) {
    e.entity = {EntityType::kDevice, id, name};
  } else if (!name.empty()) {
    e.entity = {EntityType::kDevice, name, name};
  }
}

std::string_view DefenderDeviceStep::AddressOf(std::string_view defender_id) const {
  auto it = by_id_.find(defender_id);
  return it == by_id_.end() ? std::string_view() : it->second.address;
}

void DefenderDeviceStep::Save(learn::StateWriter& w) const {
  w.U64(by_id_.size());
  for (const auto& [k, v] : by_id_) {
    w.Str(k);
    w.Str(v.address);
    w.Str(v.name);
  }
  w.U64(by_name_.size());
  for (const auto& [k, v] : by_name_) {
    w.Str(k);
    w.Str(v.address);
    w.Str(v.name);
  }
}

void DefenderDeviceStep::Load(learn::StateReader& r) {
  for (auto* table : {&by_id_, &by_name_}) {
    uint64_t n = r.Count(kMaxDefenderDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      std::string k = r.Str(), a = r.Str(), nm = r.Str();
      if (!r.ok()) return;
      std::string_view key = Intern(k);
      if (key.empty()) return;
      (*table)[key] = Entry{Intern(a), nm.empty() ? std::string_view() : Intern(nm)};
    }
  }
}

VIGIL_REGISTER_ENRICH_STEP([](const config::Config& cfg) -> std::unique_ptr<EnrichStep> {
  return std::make_unique<DefenderDeviceStep>(cfg.internal_networks());
});

}  // namespace vigil::enrich
