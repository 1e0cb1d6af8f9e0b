// Defender device linking: which network device a Microsoft Defender device is.
//
// Defender names a device by its own id (mdeDeviceId / DeviceId) and DNS name; Vigil's
// network models name it by its internal IP address. This step keeps a table Defender
// device id -> internal address (and DNS name), learned from DeviceNetworkInfo rows
// (IPAddresses) and from alert device evidence (ipInterfaces), and sets the entity of every
// Defender event (alerts, process and file events, device facts, vulnerabilities) to
//     {type "device", id = the internal address when known (else Defender's device id),
//      name = the DNS name}
// so a Defender alert lands on the same device entity as the network breaches around it.
//
// Address choice: the first address inside networks.internal that is not loopback or
// link-local, IPv4 before IPv6. Rows whose device id is empty or all zeros (some exports)
// are linked by lower-cased device name instead.
//
// The table is a lookup table, not history (ARCHITECTURE.md "enrich/"): one entry per
// device, the latest address wins. Capped at kMaxDefenderDevices devices and
// kMaxInternedStrings distinct strings; past the caps new devices keep Defender's id.
// Entity strings point into the event's record or into this step's interned strings,
// which are never freed while the step lives.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "core/ip.h"
#include "enrich/enricher.h"

namespace vigil::enrich {

inline constexpr size_t kMaxDefenderDevices = 500'000;
inline constexpr size_t kMaxInternedStrings = 2'000'000;

class DefenderDeviceStep : public EnrichStep {
 public:
  explicit DefenderDeviceStep(CidrSet internal) : internal_(std::move(internal)) {}
  const char* name() const override { return "defender-devices"; }
  KindSet kinds() const override {
    return {EventKind::kEdrAlert, EventKind::kProcess, EventKind::kFileActivity,
            EventKind::kDeviceInfo, EventKind::kDeviceNetwork, EventKind::kVulnerability};
  }
  void Enrich(Event& e) override;
  void Save(learn::StateWriter& w) const override;
  void Load(learn::StateReader& r) override;

  // The internal address linked to a Defender device id, or "" (for tests and `vigil device`).
  std::string_view AddressOf(std::string_view defender_id) const;
  // Picks the linking address from "10.0.0.5,fe80::1" style text, or "".
  std::string_view PickAddress(std::string_view list) const;
  size_t size() const { return by_id_.size(); }

 private:
  struct Entry {
    std::string_view address;  // interned
    std::string_view name;     // interned
  };
  std::string_view Intern(std::string_view s);
  void Link(std::string_view id, std::string_view name, std::string_view address);

  CidrSet internal_;
  std::deque<std::string> strings_;
  absl::flat_hash_set<std::string_view> interned_;
  absl::flat_hash_map<std::string_view, Entry> by_id_;    // keys interned
  absl::flat_hash_map<std::string_view, Entry> by_name_;  // lower-case names, interned
};

}  // namespace vigil::enrich
