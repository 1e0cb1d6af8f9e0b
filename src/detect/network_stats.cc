#include "detect/network_stats.h"

#include <algorithm>
#include <vector>

#include "learn/novelty.h"

namespace vigil::detect {

AlertEvidence IdsAlertEvidence(const NetworkView& net, const IpAddr& external, std::string_view external_text,
                               Micros now) {
  AlertEvidence ev;
  const IdsAlertFacts* f = net.AlertsOn(external, now);
  if (!f) return ev;
  const bool severe = f->best_severity <= 2;
  ev.bits = severe ? 5.0 : 3.0;
  ev.alerts = f->count;
  ev.reason = "the IDS alerted on " + std::string(external_text) + " " + std::to_string(f->count) + " time" +
              (f->count == 1 ? "" : "s") + " in the last 24 h (most severe: severity " +
              std::to_string(f->best_severity) + ", last signature " + std::to_string(f->last_sid) + ")";
  return ev;
}

uint32_t DeviceFingerprint(const IpAddr& a) { return static_cast<uint32_t>(a.Hash() >> 32) | 1u; }

uint64_t HostNameKey(std::string_view name) {
  char buf[256];
  size_t n = std::min(name.size(), sizeof buf);
  for (size_t i = 0; i < n; ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  while (n > 0 && buf[n - 1] == '.') --n;  // "example.com." == "example.com"
  return learn::HashBytes(buf, n);
}

void NetworkStats::Touch(absl::flat_hash_map<uint64_t, Entry>& map, uint64_t key, uint32_t device,
                         Micros t) {
  auto [it, inserted] = map.try_emplace(key);
  it->second.devices.Add(device);
  it->second.last_seen = std::max(it->second.last_seen, t);
  if (inserted && map.size() > max_keys_) EvictOldest(map);
}

void NetworkStats::EvictOldest(absl::flat_hash_map<uint64_t, Entry>& map) {
  std::vector<Micros> times;
  times.reserve(map.size());
  for (const auto& [k, e] : map) times.push_back(e.last_seen);
  size_t cut = map.size() / 4;
  std::nth_element(times.begin(), times.begin() + static_cast<long>(cut), times.end());
  Micros cutoff = times[cut];
  absl::erase_if(map, [cutoff](const auto& kv) { return kv.second.last_seen < cutoff; });
}

void NetworkStats::Observe(const Event& e) {
  if (!e.net.valid) return;
  if (e.kind == EventKind::kIdsAlert) {
    const auto* a = e.As<IdsAlertBody>();
    if (!a || e.orig_internal == e.resp_internal) return;
    const IpAddr& external = e.orig_internal ? e.net.resp_h : e.net.orig_h;
    if (alerts_.size() >= max_keys_ && !alerts_.contains(external.Hash())) {
      absl::erase_if(alerts_, [&](const auto& kv) { return e.time - kv.second.last_time > kAlertMemory; });
      if (alerts_.size() >= max_keys_) return;
    }
    AlertFacts& f = alerts_[external.Hash()];
    if (f.count > 0 && e.time - f.last_time > kAlertMemory) f = AlertFacts{};  // stale: start again
    ++f.count;
    if (a->severity > 0) f.best_severity = std::min(f.best_severity, a->severity);
    f.last_sid = a->signature_id;
    f.last_time = std::max(f.last_time, e.time);
    return;
  }
  // Only internal -> external contacts count towards rarity.
  const IpAddr* device = nullptr;
  const IpAddr* external = nullptr;
  if (e.orig_internal && !e.resp_internal) {
    device = &e.net.orig_h;
    external = &e.net.resp_h;
  } else if (e.orig_internal && e.resp_internal) {
    devices_.insert(DeviceFingerprint(e.net.orig_h));
    return;
  } else {
    return;
  }
  uint32_t fp = DeviceFingerprint(*device);
  devices_.insert(fp);
  switch (e.kind) {
    case EventKind::kFlow:
      Touch(by_addr_, external->Hash(), fp, e.time);
      break;
    case EventKind::kTls:
      if (auto* t = e.As<TlsBody>(); t && !t->server_name.empty())
        Touch(by_name_, HostNameKey(t->server_name), fp, e.time);
      break;
    case EventKind::kHttp:
      if (auto* h = e.As<HttpBody>(); h && !h->host.empty())
        Touch(by_name_, HostNameKey(h->host), fp, e.time);
      break;
    default:
      break;
  }
}

const NetworkStats::AlertFacts* NetworkStats::AlertsOn(const IpAddr& external, Micros now) const {
  auto it = alerts_.find(external.Hash());
  if (it == alerts_.end() || now - it->second.last_time > kAlertMemory) return nullptr;
  return &it->second;
}

uint32_t NetworkStats::DevicesContacting(const IpAddr& external) const {
  auto it = by_addr_.find(external.Hash());
  return it == by_addr_.end() ? 0 : it->second.devices.count();
}

bool NetworkStats::DeviceContacted(const IpAddr& external, const IpAddr& device) const {
  auto it = by_addr_.find(external.Hash());
  return it != by_addr_.end() && it->second.devices.Contains(DeviceFingerprint(device));
}

uint32_t NetworkStats::DevicesContactingName(std::string_view host_name) const {
  auto it = by_name_.find(HostNameKey(host_name));
  return it == by_name_.end() ? 0 : it->second.devices.count();
}

void NetworkFacts::Capture(const NetworkStats& stats, const Event& e) {
  n_sides_ = 0;
  has_name_ = false;
  device_count_ = stats.DeviceCount();
  if (!e.net.valid) return;
  const IpAddr* addr[2] = {&e.net.orig_h, &e.net.resp_h};
  const bool internal[2] = {e.orig_internal, e.resp_internal};
  for (int i = 0; i < 2; ++i) {
    Side& s = sides_[n_sides_++];
    s = Side{};
    s.key = addr[i]->Hash();
    s.fingerprint = DeviceFingerprint(*addr[i]);
    if (!internal[i]) {
      // Keys of by_addr_ and alerts_ are external addresses only.
      if (auto it = stats.by_addr_.find(s.key); it != stats.by_addr_.end()) {
        s.contacting = it->second.devices.count();
        s.contacted_by_other = it->second.devices.Contains(DeviceFingerprint(*addr[1 - i]));
      }
      if (!stats.alerts_.empty()) {
        if (auto it = stats.alerts_.find(s.key); it != stats.alerts_.end()) {
          s.has_alerts = true;
          s.alerts = it->second;
        }
      }
    }
  }
  std::string_view name;
  if (const auto* t = e.As<TlsBody>()) name = t->server_name;
  if (const auto* h = e.As<HttpBody>()) name = h->host;
  if (!name.empty()) {
    has_name_ = true;
    name_key_ = HostNameKey(name);
    auto it = stats.by_name_.find(name_key_);
    name_contacting_ = it == stats.by_name_.end() ? 0 : it->second.devices.count();
  }
}

const NetworkFacts::Side* NetworkFacts::Find(const IpAddr& a) const {
  const uint64_t key = a.Hash();
  for (int i = 0; i < n_sides_; ++i)
    if (sides_[i].key == key) return &sides_[i];
  ++misses_;
  return nullptr;
}

uint32_t NetworkFacts::DevicesContacting(const IpAddr& external) const {
  const Side* s = Find(external);
  return s ? s->contacting : 0;
}

bool NetworkFacts::DeviceContacted(const IpAddr& external, const IpAddr& device) const {
  const Side* s = Find(external);
  if (!s) return false;
  // The other side is the only device the facts know about.
  for (int i = 0; i < n_sides_; ++i) {
    if (&sides_[i] == s) continue;
    if (sides_[i].fingerprint == DeviceFingerprint(device)) return s->contacted_by_other;
  }
  ++misses_;
  return false;
}

uint32_t NetworkFacts::DevicesContactingName(std::string_view host_name) const {
  if (has_name_ && HostNameKey(host_name) == name_key_) return name_contacting_;
  ++misses_;
  return 0;
}

const IdsAlertFacts* NetworkFacts::AlertsOn(const IpAddr& external, Micros now) const {
  const Side* s = Find(external);
  if (!s || !s->has_alerts || now - s->alerts.last_time > NetworkStats::kAlertMemory) return nullptr;
  return &s->alerts;
}

size_t NetworkStats::MemoryUsage() const {
  size_t per = sizeof(uint64_t) + sizeof(Entry) + 1;
  return (by_addr_.capacity() + by_name_.capacity()) * per + devices_.capacity() * 5 +
         alerts_.capacity() * (sizeof(uint64_t) + sizeof(AlertFacts) + 1);
}

void NetworkStats::Save(learn::StateWriter& w) const {
  auto save_map = [&w](const absl::flat_hash_map<uint64_t, Entry>& m) {
    std::vector<uint64_t> keys;
    keys.reserve(m.size());
    for (const auto& [k, e] : m) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    w.U64(keys.size());
    for (uint64_t k : keys) {
      const Entry& e = m.at(k);
      w.U64(k);
      w.I64(e.last_seen);
      e.devices.Save(w);
    }
  };
  save_map(by_addr_);
  save_map(by_name_);
  // Each device is written with a time: the format once kept when the device was last
  // seen. Nothing read it, and it is no longer kept, so it is 0.
  std::vector<uint32_t> devs(devices_.begin(), devices_.end());
  std::sort(devs.begin(), devs.end());
  w.U64(devs.size());
  for (uint32_t k : devs) {
    w.U64(k);
    w.I64(0);
  }
}

void NetworkStats::Load(learn::StateReader& r) {
  auto load_map = [&](absl::flat_hash_map<uint64_t, Entry>& m) {
    m.clear();
    uint64_t n =
        r.Count(max_keys_ * 2, 2 * sizeof(uint64_t) + sizeof(uint32_t));  // key, time, set size
    m.reserve(n);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      uint64_t k = r.U64();
      Entry e;
      e.last_seen = r.I64();
      e.devices.Load(r);
      m[k] = e;
    }
  };
  load_map(by_addr_);
  load_map(by_name_);
  devices_.clear();
  uint64_t n = r.Count(max_keys_ * 2, 2 * sizeof(uint64_t));
  devices_.reserve(n);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const uint64_t k = r.U64();
    (void)r.I64();  // the last-seen time older checkpoints kept (see Save)
    devices_.insert(static_cast<uint32_t>(k));
  }
}

}  // namespace vigil::detect
