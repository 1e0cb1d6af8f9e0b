// Tests of the Defender device linking step.
#include "enrich/defender_devices.h"

#include <gtest/gtest.h>

namespace vigil::enrich {
namespace {

Event NetworkInfo(std::string_view id, std::string_view name, std::string_view ips) {
  Event e;
  e.kind = EventKind::kDeviceNetwork;
  auto& b = e.Set<DeviceNetworkBody>();
  b.device_id = id;
  b.device_name = name;
  b.ip_addresses = ips;
  return e;
}

Event Alert(std::string_view id, std::string_view name, std::string_view ips) {
  Event e;
  e.kind = EventKind::kEdrAlert;
  auto& b = e.Set<EdrAlertBody>();
  b.alert_id = "a1";
  b.device_id = id;
  b.device_name = name;
  b.device_ips = ips;
  return e;
}

TEST(DefenderDevices, NetworkInfoLinksTheDeviceSoLaterAlertsLandOnItsInternalAddress) {
  DefenderDeviceStep step(DefaultInternalNetworks());
  // Before linking: the alert is about Defender's id.
  Event early = Alert("mde-1", "web01.corp", "");
  step.Enrich(early);
  EXPECT_EQ(early.entity.type, EntityType::kDevice);
  EXPECT_EQ(early.entity.id, "mde-1");
  Event net = NetworkInfo("mde-1", "web01.corp", "fe80::1,203.0.113.7,10.1.2.3,fd00::5");
  step.Enrich(net);
  EXPECT_EQ(net.entity.id, "10.1.2.3");
  Event alert = Alert("mde-1", "web01.corp", "");
  step.Enrich(alert);
  EXPECT_EQ(alert.entity.type, EntityType::kDevice);
  EXPECT_EQ(alert.entity.id, "10.1.2.3");
  EXPECT_EQ(alert.entity.name, "web01.corp");
  Event proc;
  proc.kind = EventKind::kProcess;
  proc.Set<ProcessBody>().device_id = "mde-1";
  step.Enrich(proc);
  EXPECT_EQ(proc.entity.id, "10.1.2.3");
  EXPECT_EQ(proc.entity.name, "web01.corp");  // from the table
  EXPECT_EQ(step.AddressOf("mde-1"), "10.1.2.3");
}

TEST(DefenderDevices, AlertEvidenceAddressesLinkButExternalOnesDoNot) {
  DefenderDeviceStep step(DefaultInternalNetworks());
  Event a = Alert("mde-2", "tempDns", "1.1.1.1");
  step.Enrich(a);
  EXPECT_EQ(a.entity.id, "mde-2");  // 1.1.1.1 is not internal
  Event b = Alert("mde-2", "tempDns", "1.1.1.1,192.168.5.20");
  step.Enrich(b);
  EXPECT_EQ(b.entity.id, "192.168.5.20");
}

TEST(DefenderDevices, ZeroDeviceIdsLinkByNameAndTheTableSurvivesACheckpoint) {
  DefenderDeviceStep step(DefaultInternalNetworks());
  Event net = NetworkInfo("00000000-0000-0000-0000-000000000000", "ADFS01.simulandlabs.com",
                          "10.0.0.8");
  step.Enrich(net);
  learn::StateWriter w;
  step.Save(w);
  DefenderDeviceStep restored(DefaultInternalNetworks());
  learn::StateReader r(w.data());
  restored.Load(r);
  ASSERT_TRUE(r.ok());
  Event p;
  p.kind = EventKind::kProcess;
  auto& body = p.Set<ProcessBody>();
  body.device_id = "00000000-0000-0000-0000-000000000000";
  body.device_name = "adfs01.simulandlabs.com";
  restored.Enrich(p);
  EXPECT_EQ(p.entity.id, "10.0.0.8");
  EXPECT_EQ(restored.PickAddress("127.0.0.1, 169.254.1.1, \"10.9.9.9\""), "10.9.9.9");
}

}  // namespace
}  // namespace vigil::enrich
