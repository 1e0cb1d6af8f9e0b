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
#include <absl/container/flat_hash_set.h>

#include "core/event.h"
#include "learn/distinct.h"
#include "learn/state_io.h"

namespace vigil::detect {

// IDS alerts that named one external address (Suricata: severity 1 is the most severe).
struct IdsAlertFacts {
  uint32_t count = 0;
  int best_severity = 255;
  uint64_t last_sid = 0;
  Micros last_time = 0;
};

// What a model may ask about the network while it observes an event. NetworkStats answers
// from the live tables; NetworkFacts answers for one event from a copy taken when the
// engine observed it, so models on another thread see exactly what they would have seen
// inline. Models ask only about the event's own addresses and host name.
class NetworkView {
 public:
  virtual ~NetworkView() = default;
  // Distinct internal devices that contacted this address before (the engine observes an
  // event before the models see it, so a count of 1 means "only this device").
  virtual uint32_t DevicesContacting(const IpAddr& external) const = 0;
  virtual bool DeviceContacted(const IpAddr& external, const IpAddr& device) const = 0;
  virtual uint32_t DevicesContactingName(std::string_view host_name) const = 0;
  virtual uint32_t DeviceCount() const = 0;
  // IDS alerts that named `external` within NetworkStats::kAlertMemory before `now`, or null.
  virtual const IdsAlertFacts* AlertsOn(const IpAddr& external, Micros now) const = 0;
};

class NetworkStats final : public NetworkView {
 public:
  explicit NetworkStats(size_t max_keys = 2'000'000) : max_keys_(max_keys) {}

  // Learns from one enriched event (flows, http, tls, dns). Cheap: one or two hash lookups.
  void Observe(const Event& e);

  uint32_t DevicesContacting(const IpAddr& external) const override;
  bool DeviceContacted(const IpAddr& external, const IpAddr& device) const override;
  uint32_t DevicesContactingName(std::string_view host_name) const override;
  uint32_t DeviceCount() const override { return static_cast<uint32_t>(devices_.size()); }

  using AlertFacts = IdsAlertFacts;
  static constexpr Micros kAlertMemory = 24 * kMicrosPerHour;
  const AlertFacts* AlertsOn(const IpAddr& external, Micros now) const override;
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
  // The internal devices' fingerprints. Every event probes it, so it is kept small (4
  // bytes a device: a network of 100,000 devices fits in a core's L2 cache).
  absl::flat_hash_set<uint32_t> devices_;
  absl::flat_hash_map<uint64_t, AlertFacts> alerts_;  // external address hash -> alerts
  size_t max_keys_;
  friend class NetworkFacts;
};

// NetworkStats' answers about one event, copied when the engine observed it (Capture,
// right after NetworkStats::Observe): the counts for its two addresses (an internal
// address is never counted: only internal -> external contacts are), whether each side
// had contacted the other, the IDS alerts on each, and the count for its host name (TLS
// SNI, HTTP Host). A question about anything else is a model asking what it should not
// (DCHECK-style: answered as unknown and counted in misses()).
class NetworkFacts final : public NetworkView {
 public:
  void Capture(const NetworkStats& stats, const Event& e);

  uint32_t DevicesContacting(const IpAddr& external) const override;
  bool DeviceContacted(const IpAddr& external, const IpAddr& device) const override;
  uint32_t DevicesContactingName(std::string_view host_name) const override;
  uint32_t DeviceCount() const override { return device_count_; }
  const IdsAlertFacts* AlertsOn(const IpAddr& external, Micros now) const override;
  uint64_t misses() const { return misses_; }

 private:
  struct Side {
    uint64_t key = 0;         // IpAddr::Hash of the address
    uint32_t fingerprint = 0;  // DeviceFingerprint of the address
    uint32_t contacting = 0;   // DevicesContacting
    bool contacted_by_other = false;  // DeviceContacted(this, the other side)
    bool has_alerts = false;
    IdsAlertFacts alerts;
  };
  const Side* Find(const IpAddr& a) const;
  Side sides_[2];
  int n_sides_ = 0;
  uint32_t device_count_ = 0;
  uint64_t name_key_ = 0;
  uint32_t name_contacting_ = 0;
  bool has_name_ = false;
  mutable uint64_t misses_ = 0;
};

// Evidence a network model adds when the sensor alerted on the external endpoint too: 3 bits
// for any IDS alert on it within NetworkStats::kAlertMemory, 5 when one was of severity 1 or
// 2, and the sentence that says so; 0 bits and no sentence without alerts.
struct AlertEvidence {
  double bits = 0;
  std::string reason;
  uint32_t alerts = 0;
};
AlertEvidence IdsAlertEvidence(const NetworkView& net, const IpAddr& external, std::string_view external_text,
                               Micros now);

// 32-bit fingerprint of a device address, as stored in SmallDistinct.
uint32_t DeviceFingerprint(const IpAddr& a);
// 64-bit key of a lower-cased host name.
uint64_t HostNameKey(std::string_view name);

}  // namespace vigil::detect
