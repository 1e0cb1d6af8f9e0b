// DeviceFacts: what Defender says about a device, shaped for the store's entity records.
//
// The pipeline hands every kDeviceInfo, kDeviceNetwork and kVulnerability event (after
// enrichment, so entity.id is the device's internal address when linked) to Observe. The
// lead's code then drains the changes with TakeEntities() (facts merged into the entity:
// os, os_version, os_build, public_ip, defender_device_id, defender_last_seen, device_type,
// machine_group, mac_address; addresses from DeviceNetworkInfo) and TakeVulnerabilities()
// (the device's full list of open CVEs, which replaces the stored list). Topology comes
// before store, so these are plain structs and nlohmann::json that mirror
// store::EntityRecord and Store::PutVulnerabilities.
//
// Open CVEs: every (cve, software) pair reported for the device is kept, newest report
// wins; rows without a CVE id (software inventory rows of the export) are not CVEs and are
// ignored. Capped at kMaxCvesPerDevice per device and kMaxFactDevices devices.
// Not thread-safe: one instance per pipeline thread that writes the store.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event.h"

namespace vigil::topology {

inline constexpr size_t kMaxCvesPerDevice = 5'000;
inline constexpr size_t kMaxFactDevices = 500'000;

// Mirrors store::EntityRecord (the fields DeviceFacts fills).
struct DeviceFactRecord {
  std::string type = "device";
  std::string id;    // entity id: internal address, or Defender's device id until linked
  std::string name;  // DNS name
  std::vector<std::string> addresses;
  Micros first_seen = 0;
  Micros last_seen = 0;
  nlohmann::json facts = nlohmann::json::object();
};

class DeviceFacts {
 public:
  // Learns from one enriched Defender device event; other kinds are ignored.
  void Observe(const Event& e);
  // Devices whose facts changed since the last call, with their current facts.
  std::vector<DeviceFactRecord> TakeEntities();
  // (entity id, JSON array of {cve, severity, software, vendor, version, os_platform,
  // first_seen, last_seen}) for devices whose CVE list changed since the last call.
  std::vector<std::pair<std::string, nlohmann::json>> TakeVulnerabilities();

 private:
  struct Cve {
    std::string severity, vendor, version, os_platform;
    Micros first_seen = 0, last_seen = 0;
  };
  struct Device {
    DeviceFactRecord record;
    std::map<std::pair<std::string, std::string>, Cve> cves;  // (cve, software) -> details
    bool entity_dirty = false;
    bool cves_dirty = false;
  };
  Device* Get(const Event& e);

  std::map<std::string, Device> devices_;
};

}  // namespace vigil::topology
