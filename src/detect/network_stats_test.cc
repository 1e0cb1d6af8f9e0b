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

// The facts copied for one event (what a model on the model thread reads) answer every
// question about the event's own addresses and name as the live stats did at that moment,
// stay as they were when later events change the stats, and count a question about
// anything else as a miss.
TEST(NetworkFacts, AnswerAsTheLiveStatsDidWhenTheEventWasObserved) {
  EventFactory f;
  NetworkStats net;
  IdsAlertBody a;
  a.signature_id = 2027863;
  a.severity = 1;
  net.Observe(f.Alert(kTestEpoch, "10.0.0.5", 50000, "45.143.200.10", 443, a));
  net.Observe(f.Flow(kTestEpoch, "10.0.0.2", 5000, "45.143.200.10", 443));
  Event out = f.Flow(kTestEpoch + kMicrosPerMinute, "10.0.0.5", 5001, "45.143.200.10", 443);
  net.Observe(out);
  NetworkFacts facts;
  facts.Capture(net, out);
  const IpAddr x = *IpAddr::Parse("45.143.200.10");
  const IpAddr d = *IpAddr::Parse("10.0.0.5");
  const Micros now = kTestEpoch + kMicrosPerMinute;
  EXPECT_EQ(facts.DevicesContacting(x), 2u);
  EXPECT_TRUE(facts.DeviceContacted(x, d));
  EXPECT_EQ(facts.DeviceCount(), net.DeviceCount());
  ASSERT_NE(facts.AlertsOn(x, now), nullptr);
  EXPECT_EQ(facts.AlertsOn(x, now)->best_severity, 1);
  EXPECT_EQ(IdsAlertEvidence(facts, x, "45.143.200.10", now).reason, IdsAlertEvidence(net, x, "45.143.200.10", now).reason);
  EXPECT_EQ(facts.AlertsOn(x, kTestEpoch + NetworkStats::kAlertMemory + 1), nullptr);  // the same day rule
  EXPECT_EQ(facts.DevicesContacting(d), 0u);  // the internal side
  EXPECT_EQ(facts.misses(), 0u);

  // Later events move the live stats, not the copy.
  net.Observe(f.Flow(now, "10.0.0.9", 5000, "45.143.200.10", 443));
  EXPECT_EQ(net.DevicesContacting(x), 3u);
  EXPECT_EQ(facts.DevicesContacting(x), 2u);

  // An inbound flow: the external originator's facts, and whether the device had called it.
  Event in = f.Flow(now, "45.143.200.10", 4444, "10.0.0.7", 8080);
  net.Observe(in);
  facts.Capture(net, in);
  EXPECT_EQ(facts.DevicesContacting(x), net.DevicesContacting(x));
  EXPECT_FALSE(facts.DeviceContacted(x, *IpAddr::Parse("10.0.0.7")));
  EXPECT_EQ(facts.misses(), 0u);

  // A host name: the event's own SNI.
  Event tls = f.Tls(now, "10.0.0.5", "45.143.200.10", 443, "Rare-Host.example.");
  net.Observe(tls);
  facts.Capture(net, tls);
  EXPECT_EQ(facts.DevicesContactingName("rare-host.example"), 1u);
  EXPECT_EQ(facts.misses(), 0u);

  // Anything else is not in the copy: answered as unknown, and counted.
  EXPECT_EQ(facts.DevicesContacting(*IpAddr::Parse("203.0.113.1")), 0u);
  EXPECT_EQ(facts.DevicesContactingName("other.example"), 0u);
  EXPECT_EQ(facts.misses(), 2u);
}

}  // namespace
}  // namespace vigil::detect

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::kTestEpoch;

// A checkpoint restores the counts; and one written when each device came with its
// last-seen time (the time is now written as 0 and ignored) still loads whole.
TEST(NetworkStats, ACheckpointRestoresDevicesAndCountsAlsoInTheFormatWithTimes) {
  EventFactory f;
  NetworkStats net;
  for (int i = 1; i <= 4; ++i) net.Observe(f.Flow(kTestEpoch + i, "10.0.0." + std::to_string(i), 5000, "203.0.113.9", 443));
  net.Observe(f.Flow(kTestEpoch, "10.0.0.9", 5000, "10.0.0.1", 445));  // internal: a device, no contact
  learn::StateWriter w;
  net.Save(w);
  NetworkStats back;
  learn::StateReader r(w.data());
  back.Load(r);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(back.DeviceCount(), 5u);
  EXPECT_EQ(back.DevicesContacting(*IpAddr::Parse("203.0.113.9")), 4u);
  learn::StateWriter again;
  back.Save(again);
  EXPECT_EQ(again.data(), w.data());

  // The older layout: no addresses, no names, two devices with their last-seen times.
  learn::StateWriter old;
  old.U64(0);
  old.U64(0);
  old.U64(2);
  old.U64(DeviceFingerprint(*IpAddr::Parse("10.0.0.1")));
  old.I64(kTestEpoch + 17);
  old.U64(DeviceFingerprint(*IpAddr::Parse("10.0.0.2")));
  old.I64(kTestEpoch + 99);
  NetworkStats from_old;
  learn::StateReader ro(old.data());
  from_old.Load(ro);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(from_old.DeviceCount(), 2u);
  from_old.Observe(f.Flow(kTestEpoch + 200, "10.0.0.2", 5000, "203.0.113.9", 443));  // known: still two
  EXPECT_EQ(from_old.DeviceCount(), 2u);
}

}  // namespace
}  // namespace vigil::detect
