// Tests of DeviceFacts: Defender device facts and open CVEs for the device summary.
#include "topology/device_facts.h"

#include <gtest/gtest.h>

namespace vigil::topology {
namespace {

constexpr Micros kT0 = 1'709'287'200LL * kMicrosPerSecond;  // 2024-03-01T10:00:00Z

Event Info(Micros t) {
  Event e;
  e.time = t;
  e.kind = EventKind::kDeviceInfo;
  auto& b = e.Set<DeviceInfoBody>();
  b.device_id = "mde-1";
  b.device_name = "web01.corp";
  b.os_platform = "Ubuntu";
  b.os_version = "22.04";
  b.public_ip = "203.0.113.7";
  e.entity = {EntityType::kDevice, "10.1.2.3", "web01.corp"};
  return e;
}

Event Vuln(Micros t, std::string_view cve, std::string_view sev, std::string_view sw) {
  Event e;
  e.time = t;
  e.kind = EventKind::kVulnerability;
  auto& b = e.Set<VulnerabilityBody>();
  b.device_id = "mde-1";
  b.device_name = "web01.corp";
  b.cve_id = cve;
  b.severity = sev;
  b.software_name = sw;
  b.software_vendor = "openssl";
  b.software_version = "3.0.2";
  e.entity = {EntityType::kDevice, "10.1.2.3", "web01.corp"};
  return e;
}

TEST(DeviceFacts, DeviceInfoBecomesEntityFactsOnTheLinkedDevice) {
  DeviceFacts facts;
  facts.Observe(Info(kT0));
  auto ents = facts.TakeEntities();
  ASSERT_EQ(ents.size(), 1u);
  EXPECT_EQ(ents[0].type, "device");
  EXPECT_EQ(ents[0].id, "10.1.2.3");
  EXPECT_EQ(ents[0].name, "web01.corp");
  EXPECT_EQ(ents[0].facts["os"], "Ubuntu");
  EXPECT_EQ(ents[0].facts["os_version"], "22.04");
  EXPECT_EQ(ents[0].facts["public_ip"], "203.0.113.7");
  EXPECT_EQ(ents[0].facts["defender_device_id"], "mde-1");
  EXPECT_EQ(ents[0].facts["defender_last_seen"], "2024-03-01T10:00:00Z");
  EXPECT_TRUE(facts.TakeEntities().empty());  // nothing changed since
  facts.Observe(Info(kT0));                   // the same report again: still nothing new
  EXPECT_TRUE(facts.TakeEntities().empty());
  facts.Observe(Info(kT0 + kMicrosPerHour));  // seen later: last seen moves
  auto later = facts.TakeEntities();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].facts["defender_last_seen"], "2024-03-01T11:00:00Z");
}

TEST(DeviceFacts, OpenCvesAreListedPerDeviceWithSeverityAndSoftware) {
  DeviceFacts facts;
  facts.Observe(Vuln(kT0, "CVE-2023-0286", "High", "openssl"));
  facts.Observe(Vuln(kT0, "CVE-2022-3602", "Critical", "openssl"));
  facts.Observe(Vuln(kT0, "", "", "edge"));  // inventory row, not a CVE
  auto v = facts.TakeVulnerabilities();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].first, "10.1.2.3");
  ASSERT_EQ(v[0].second.size(), 2u);
  EXPECT_EQ(v[0].second[0]["cve"], "CVE-2022-3602");
  EXPECT_EQ(v[0].second[0]["severity"], "Critical");
  EXPECT_EQ(v[0].second[1]["software"], "openssl");
  EXPECT_EQ(v[0].second[1]["version"], "3.0.2");
  EXPECT_TRUE(facts.TakeVulnerabilities().empty());
}

}  // namespace
}  // namespace vigil::topology
