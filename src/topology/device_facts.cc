#include "topology/device_facts.h"

#include <algorithm>

namespace vigil::topology {

namespace {

void SetFact(nlohmann::json& facts, const char* key, std::string_view v, bool& dirty) {
  if (v.empty()) return;
  if (!facts.contains(key) || facts[key] != v) {
    facts[key] = std::string(v);
    dirty = true;
  }
}

std::string_view EntityId(const Event& e, std::string_view device_id) {
  return e.entity.empty() ? device_id : e.entity.id;
}

}  // namespace

DeviceFacts::Device* DeviceFacts::Get(const Event& e) {
  std::string_view device_id, name;
  if (auto* i = e.As<DeviceInfoBody>()) {
    device_id = i->device_id;
    name = i->device_name;
  } else if (auto* n = e.As<DeviceNetworkBody>()) {
    device_id = n->device_id;
    name = n->device_name;
  } else if (auto* v = e.As<VulnerabilityBody>()) {
    device_id = v->device_id;
    name = v->device_name;
  } else {
    return nullptr;
  }
  std::string id(EntityId(e, device_id));
  if (id.empty()) return nullptr;
  auto it = devices_.find(id);
  if (it == devices_.end()) {
    if (devices_.size() >= kMaxFactDevices) return nullptr;
    it = devices_.emplace(id, Device{}).first;
    it->second.record.id = id;
    it->second.record.first_seen = e.time;
    it->second.entity_dirty = true;
  }
  Device& d = it->second;
  if (!name.empty() && d.record.name != name) {
    d.record.name = std::string(!e.entity.name.empty() ? e.entity.name : name);
    d.entity_dirty = true;
  }
  bool dirty = false;
  SetFact(d.record.facts, "defender_device_id", device_id, dirty);
  if (e.time > d.record.last_seen) {
    d.record.last_seen = e.time;
    d.record.facts["defender_last_seen"] = FormatRfc3339(e.time);
    dirty = true;
  }
  d.record.first_seen = std::min(d.record.first_seen, e.time);
  d.entity_dirty |= dirty;
  return &d;
}

void DeviceFacts::Observe(const Event& e) {
  Device* d = Get(e);
  if (d == nullptr) return;
  bool dirty = false;
  nlohmann::json& f = d->record.facts;
  if (auto* i = e.As<DeviceInfoBody>()) {
    SetFact(f, "os", i->os_platform, dirty);
    SetFact(f, "os_version", i->os_version, dirty);
    SetFact(f, "os_build", i->os_build, dirty);
    SetFact(f, "public_ip", i->public_ip, dirty);
    SetFact(f, "device_type", i->device_type, dirty);
    SetFact(f, "machine_group", i->machine_group, dirty);
  } else if (auto* n = e.As<DeviceNetworkBody>()) {
    SetFact(f, "mac_address", n->mac_address, dirty);
    std::string_view list = n->ip_addresses;
    if (!list.empty() && list.front() != '[') {
      while (!list.empty()) {
        size_t c = list.find(',');
        std::string a(list.substr(0, c));
        if (!a.empty() && std::find(d->record.addresses.begin(), d->record.addresses.end(), a) ==
                              d->record.addresses.end() &&
            d->record.addresses.size() < 64) {
          d->record.addresses.push_back(a);
          dirty = true;
        }
        if (c == std::string_view::npos) break;
        list.remove_prefix(c + 1);
      }
    }
  } else if (auto* v = e.As<VulnerabilityBody>()) {
    SetFact(f, "os", v->os_platform, dirty);
    if (!v->cve_id.empty()) {
      auto key = std::make_pair(std::string(v->cve_id), std::string(v->software_name));
      auto it = d->cves.find(key);
      if (it == d->cves.end()) {
        if (d->cves.size() < kMaxCvesPerDevice) {
          Cve c{std::string(v->severity), std::string(v->software_vendor),
                std::string(v->software_version), std::string(v->os_platform), e.time, e.time};
          d->cves.emplace(std::move(key), std::move(c));
          d->cves_dirty = true;
        }
      } else {
        Cve& c = it->second;
        if (c.severity != v->severity || c.version != v->software_version) {
          c.severity = std::string(v->severity);
          c.version = std::string(v->software_version);
          d->cves_dirty = true;
        }
        if (e.time > c.last_seen) {
          c.last_seen = e.time;
          d->cves_dirty = true;
        }
      }
    }
  }
  d->entity_dirty |= dirty;
}

std::vector<DeviceFactRecord> DeviceFacts::TakeEntities() {
  std::vector<DeviceFactRecord> out;
  for (auto& [id, d] : devices_) {
    if (!d.entity_dirty) continue;
    out.push_back(d.record);
    d.entity_dirty = false;
  }
  return out;
}

std::vector<std::pair<std::string, nlohmann::json>> DeviceFacts::TakeVulnerabilities() {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  for (auto& [id, d] : devices_) {
    if (!d.cves_dirty) continue;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [key, c] : d.cves) {
      list.push_back({{"cve", key.first},
                      {"severity", c.severity},
                      {"software", key.second},
                      {"vendor", c.vendor},
                      {"version", c.version},
                      {"os_platform", c.os_platform},
                      {"first_seen", FormatRfc3339(c.first_seen)},
                      {"last_seen", FormatRfc3339(c.last_seen)}});
    }
    out.emplace_back(id, std::move(list));
    d.cves_dirty = false;
  }
  return out;
}

}  // namespace vigil::topology
