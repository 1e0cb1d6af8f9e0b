// NetworkStats: network-wide facts every network model may ask about, maintained once per
// event by the engine before the models see it.
//
//  - how many distinct internal devices have contacted an external address (exact up to
//    learn::SmallDistinct::kCap, then "that many or more");
//  - the same for external host names (TLS SNI, HTTP Host, DNS query), lower-cased;
//  - how many internal devices the network has;
//  - the IDS alerts (Suricata) that named an external address: how many, the most severe,
//    the last signature and when. Models add them as evidence ("Suricata alerts count as
//    evidence for the network models"). Kept for the last kAlertMemory of event time and not
//    checkpointed: after a restart, evidence starts again from new alerts.
//
// Bounded: at most max_keys addresses and names are kept; when full, the keys last seen
// longest ago are dropped (they become "never seen", the conservative direction for rarity
// is to look rarer, so eviction runs only past the cap and is logged in stats).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "core/event.h"
#include "learn/distinct.h"
#include "learn/state_io.h"

namespace vigil::detect {

class NetworkStats {
 public:
  explicit NetworkStats(size_t max_keys = 2'000'000) : max_keys_(max_keys) {}

  // Learns from one enriched event (flows, http, tls, dns). Cheap: one or two hash lookups.
  void Observe(const Event& e);

  // Distinct internal devices that contacted this address before (not counting the event
  // being observed right now if the caller asks before Observe; the engine calls models
  // after Observe, so a count of 1 means "only this device").
  uint32_t DevicesContacting(const IpAddr& external) const;
  bool DeviceContacted(const IpAddr& external, const IpAddr& device) const;
  uint32_t DevicesContactingName(std::string_view host_name) const;
  uint32_t DeviceCount() const { return static_cast<uint32_t>(devices_.size()); }

  struct AlertFacts {
    uint32_t count = 0;
    int best_severity = 255;   // Suricata: 1 is the most severe
    uint64_t last_sid = 0;
    Micros last_time = 0;
  };
  static constexpr Micros kAlertMemory = 24 * kMicrosPerHour;
  // IDS alerts that named `external` within kAlertMemory before `now`, or null.
  const AlertFacts* AlertsOn(const IpAddr& external, Micros now) const;
  static constexpr uint32_t kPopular = learn::SmallDistinct::kCap;

  size_t MemoryUsage() const;
  void Save(learn::StateWriter& w) const;
  void Load(learn::StateReader& r);

 private:
  struct Entry {
    learn::SmallDistinct devices;
    Micros last_seen = 0;
  };
  void Touch(absl::flat_hash_map<uint64_t, Entry>& map, uint64_t key, uint32_t device, Micros t);
  void EvictOldest(absl::flat_hash_map<uint64_t, Entry>& map);

  absl::flat_hash_map<uint64_t, Entry> by_addr_;
  absl::flat_hash_map<uint64_t, Entry> by_name_;
  absl::flat_hash_map<uint64_t, Micros> devices_;  // device fingerprint -> last seen
  absl::flat_hash_map<uint64_t, AlertFacts> alerts_;  // external address hash -> alerts
  size_t max_keys_;
};

// Evidence a network model adds when the sensor alerted on the external endpoint too: 3 bits
// for any IDS alert on it within NetworkStats::kAlertMemory, 5 when one was of severity 1 or
// 2, and the sentence that says so; 0 bits and no sentence without alerts.
struct AlertEvidence {
  double bits = 0;
  std::string reason;
  uint32_t alerts = 0;
};
AlertEvidence IdsAlertEvidence(const NetworkStats& net, const IpAddr& external, std::string_view external_text,
                               Micros now);

// 32-bit fingerprint of a device address, as stored in SmallDistinct.
uint32_t DeviceFingerprint(const IpAddr& a);
// 64-bit key of a lower-cased host name.
uint64_t HostNameKey(std::string_view name);

}  // namespace vigil::detect
