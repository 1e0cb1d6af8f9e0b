// NetworkStats: the network-wide facts models ask about (device counts per address, IDS
// alerts per address), maintained once per event.
#include "detect/network_stats.h"

#include <gtest/gtest.h>

#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::kTestEpoch;

TEST(NetworkStats, CountsDistinctInternalDevicesPerExternalAddress) {
  EventFactory f;
  NetworkStats net;
  for (int i = 1; i <= 3; ++i) net.Observe(f.Flow(kTestEpoch, "10.0.0." + std::to_string(i), 5000, "203.0.113.9", 443));
  net.Observe(f.Flow(kTestEpoch, "10.0.0.1", 5000, "203.0.113.9", 443));  // again: still three
  net.Observe(f.Flow(kTestEpoch, "198.51.100.1", 5000, "10.0.0.1", 22));  // inbound: not a contact
  const IpAddr x = *IpAddr::Parse("203.0.113.9");
  EXPECT_EQ(net.DevicesContacting(x), 3u);
  EXPECT_TRUE(net.DeviceContacted(x, *IpAddr::Parse("10.0.0.2")));
  EXPECT_FALSE(net.DeviceContacted(x, *IpAddr::Parse("10.0.0.7")));
  EXPECT_EQ(net.DevicesContacting(*IpAddr::Parse("198.51.100.1")), 0u);
  EXPECT_EQ(net.DeviceCount(), 3u);
}

TEST(NetworkStats, IdsAlertsOnAnAddressAreEvidenceForADay) {
  EventFactory f;
  NetworkStats net;
  IdsAlertBody a;
  a.signature_id = 2403388;
  a.severity = 3;
  net.Observe(f.Alert(kTestEpoch, "45.143.200.10", 8080, "10.0.0.5", 445, a));  // inbound: the external is orig
  a.signature_id = 2027863;
  a.severity = 2;
  net.Observe(f.Alert(kTestEpoch + kMicrosPerHour, "10.0.0.5", 50000, "45.143.200.10", 443, a));
  const IpAddr x = *IpAddr::Parse("45.143.200.10");
  const auto* facts = net.AlertsOn(x, kTestEpoch + 2 * kMicrosPerHour);
  ASSERT_NE(facts, nullptr);
  EXPECT_EQ(facts->count, 2u);
  EXPECT_EQ(facts->best_severity, 2);
  EXPECT_EQ(facts->last_sid, 2027863u);
  auto ev = IdsAlertEvidence(net, x, "45.143.200.10", kTestEpoch + 2 * kMicrosPerHour);
  EXPECT_EQ(ev.bits, 5.0);  // a severity-2 alert
  EXPECT_EQ(ev.alerts, 2u);
  EXPECT_NE(ev.reason.find("2 times"), std::string::npos) << ev.reason;
  // A day after the last one they are no longer evidence; another address never was.
  EXPECT_EQ(net.AlertsOn(x, kTestEpoch + kMicrosPerHour + NetworkStats::kAlertMemory + 1), nullptr);
  EXPECT_EQ(IdsAlertEvidence(net, *IpAddr::Parse("203.0.113.1"), "203.0.113.1", kTestEpoch).bits, 0.0);
  // Alerts do not make the address "contacted" by anyone.
  EXPECT_EQ(net.DevicesContacting(x), 0u);
}

}  // namespace
}  // namespace vigil::detect
