// Tests of integration/defender-alert and integration/defender-anomalous-alert-pattern.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::MakeModel;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

struct AlertSpec {
  std::string id;
  std::string title = "Suspicious PowerShell command line";
  std::string severity = "high";
  std::string category = "Execution";
  std::string detector = "det-ps";
  std::string status = "new";
  std::string classification;
  bool is_update = false;
};

Event AlertEvent(EventFactory& f, Micros t, const std::string& device_ip, const AlertSpec& s) {
  EdrAlertBody b;
  b.provider = "defender";
  b.alert_id = f.Keep(s.id);
  b.title = f.Keep(s.title);
  b.severity = f.Keep(s.severity);
  b.category = f.Keep(s.category);
  b.detector_id = f.Keep(s.detector);
  b.status = f.Keep(s.status);
  b.classification = f.Keep(s.classification);
  b.mitre_techniques = "T1059.001,T1105";
  b.threat_actor = "";
  b.device_id = "mde-1";
  b.device_name = "web01";
  b.evidence = f.Keep(
      R"([{"@odata.type":"#microsoft.graph.security.deviceEvidence"},{"@odata.type":"#microsoft.graph.security.processEvidence"},{"@odata.type":"#microsoft.graph.security.processEvidence"}])");
  b.web_url = f.Keep("https://security.microsoft.com/alerts/" + s.id);
  b.created = t;
  b.last_updated = t;
  b.is_update = s.is_update;
  Event e = f.Other(t, EventKind::kEdrAlert, b, {EntityType::kDevice, device_ip, "web01"});
  e.uid = e.As<EdrAlertBody>()->alert_id;
  return e;
}

TEST(DefenderAlert, EveryNewAlertIsABreachOnTheLinkedDeviceAtItsTime) {
  auto m = MakeModel("integration/defender-alert");
  ASSERT_NE(m, nullptr);
  TestContext ctx(m->info());
  EventFactory f;
  Micros t = kTestEpoch + 5 * kMicrosPerHour;
  Feed(*m, ctx, AlertEvent(f, t, "10.1.2.3", {.id = "a1"}));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "integration/defender-alert");
  EXPECT_EQ(b[0].entity.type, "device");
  EXPECT_EQ(b[0].entity.id, "10.1.2.3");
  EXPECT_EQ(b[0].entity.name, "web01");
  EXPECT_EQ(b[0].time, t);
  EXPECT_EQ(b[0].score, 85);
  EXPECT_EQ(b[0].mitre, (std::vector<std::string>{"T1059.001", "T1105"}));
  EXPECT_EQ(b[0].details["url"], "https://security.microsoft.com/alerts/a1");
  EXPECT_EQ(b[0].details["evidence"], "device, process x2");
  EXPECT_EQ(b[0].details["title"], "Suspicious PowerShell command line");
  ASSERT_EQ(b[0].events.size(), 1u);
  EXPECT_EQ(b[0].events[0].uid, "a1");
  EXPECT_TRUE(ctx.undeclared_params().empty());
}

TEST(DefenderAlert, UpdatesDoNotReAlertUnlessTheSeverityRises) {
  auto m = MakeModel("integration/defender-alert");
  TestContext ctx(m->info());
  EventFactory f;
  Micros t = kTestEpoch;
  Feed(*m, ctx, AlertEvent(f, t, "10.1.2.3", {.id = "a1", .severity = "medium"}));
  ASSERT_EQ(ctx.Breaches().size(), 1u);
  // Status change: no new breach.
  Feed(*m, ctx, AlertEvent(f, t + kMicrosPerHour, "10.1.2.3",
                           {.id = "a1", .severity = "medium", .status = "inProgress",
                            .is_update = true}));
  EXPECT_EQ(ctx.emitted().size(), 1u);
  // The same alert sent again without the update flag (a file export of alert states): same.
  Feed(*m, ctx, AlertEvent(f, t + 2 * kMicrosPerHour, "10.1.2.3",
                           {.id = "a1", .severity = "medium", .status = "resolved"}));
  EXPECT_EQ(ctx.emitted().size(), 1u);
  // Severity raised to high: a breach that says so.
  Micros t3 = t + 3 * kMicrosPerHour;
  Feed(*m, ctx, AlertEvent(f, t3, "10.1.2.3", {.id = "a1", .severity = "high", .is_update = true}));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].time, t3);
  EXPECT_EQ(b[1].score, 85);
  EXPECT_EQ(b[1].details["update"], true);
  EXPECT_NE(b[1].reasons[0].find("from medium to high"), std::string::npos);
}

TEST(DefenderAlert, SteadyTrickleOfTheSameLowAlertFadesToWeakSignals) {
  auto m = MakeModel("integration/defender-alert");
  TestContext ctx(m->info());
  EventFactory f;
  for (int day = 0; day < 30; ++day) {
    Feed(*m, ctx, AlertEvent(f, kTestEpoch + day * kMicrosPerDay, "10.1.2.9",
                             {.id = "pua-" + std::to_string(day), .title = "PUA detected",
                              .severity = "low", .category = "UnwantedSoftware"}));
  }
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);  // only the first one
  EXPECT_EQ(b[0].time, kTestEpoch);
  EXPECT_EQ(b[0].score, 62);
  EXPECT_LT(ctx.emitted().back().breach.score, 40);
  EXPECT_TRUE(ctx.emitted().back().breach.weak);
}

TEST(DefenderAlert, StateSurvivesSaveAndLoad) {
  auto m = MakeModel("integration/defender-alert");
  TestContext ctx(m->info());
  EventFactory f;
  Feed(*m, ctx, AlertEvent(f, kTestEpoch, "10.1.2.3", {.id = "a1"}));
  learn::StateWriter w;
  m->Save(w);
  auto m2 = MakeModel("integration/defender-alert");
  learn::StateReader r(w.data());
  ASSERT_TRUE(m2->Load(r).ok());
  TestContext ctx2(m2->info());
  Feed(*m2, ctx2, AlertEvent(f, kTestEpoch + 1, "10.1.2.3", {.id = "a1", .is_update = true}));
  EXPECT_TRUE(ctx2.emitted().empty());
  learn::StateReader bad(std::string_view(w.data()).substr(0, 5));
  EXPECT_FALSE(MakeModel("integration/defender-alert")->Load(bad).ok());
}

// A device with a month of one low "PUA" alert a day (the benign trickle).
void Trickle(Model& m, TestContext& ctx, EventFactory& f, const std::string& ip, int days) {
  for (int day = 0; day < days; ++day) {
    Feed(m, ctx, AlertEvent(f, kTestEpoch + day * kMicrosPerDay + 3 * kMicrosPerHour, ip,
                            {.id = ip + "-pua-" + std::to_string(day), .title = "PUA detected",
                             .severity = "low", .category = "UnwantedSoftware",
                             .detector = "det-pua"}));
  }
}

TEST(DefenderAlertPattern, SteadyTrickleOfTheSameLowAlertStaysQuiet) {
  auto m = MakeModel("integration/defender-anomalous-alert-pattern");
  ASSERT_NE(m, nullptr);
  TestContext ctx(m->info());
  EventFactory f;
  Trickle(*m, ctx, f, "10.1.2.9", 60);
  Trickle(*m, ctx, f, "10.1.2.10", 60);
  EXPECT_TRUE(ctx.emitted().empty());
  EXPECT_TRUE(ctx.undeclared_params().empty());
}

TEST(DefenderAlertPattern, NewDetectorCategoryAndSeverityOnTheDeviceFire) {
  auto m = MakeModel("integration/defender-anomalous-alert-pattern");
  TestContext ctx(m->info());
  EventFactory f;
  Trickle(*m, ctx, f, "10.1.2.9", 30);
  Micros t = kTestEpoch + 30 * kMicrosPerDay + 2 * kMicrosPerHour;
  Feed(*m, ctx, AlertEvent(f, t, "10.1.2.9",
                           {.id = "cred-1", .title = "LSASS memory read", .severity = "high",
                            .category = "CredentialAccess", .detector = "det-lsass"}));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "integration/defender-anomalous-alert-pattern");
  EXPECT_EQ(b[0].entity.id, "10.1.2.9");
  EXPECT_EQ(b[0].time, t);
  EXPECT_GE(b[0].score, 60);
  EXPECT_EQ(b[0].reasons.size(), 3u);  // detector, category, severity
  // A re-send of the same alert (an update) is not a second breach.
  Feed(*m, ctx, AlertEvent(f, t + kMicrosPerHour, "10.1.2.9",
                           {.id = "cred-1", .title = "LSASS memory read", .severity = "high",
                            .category = "CredentialAccess", .detector = "det-lsass",
                            .status = "resolved", .is_update = true}));
  EXPECT_EQ(ctx.Breaches().size(), 1u);
}

TEST(DefenderAlertPattern, BurstFarAboveTheDevicesDailyNormFiresOncePerDay) {
  auto m = MakeModel("integration/defender-anomalous-alert-pattern");
  TestContext ctx(m->info());
  EventFactory f;
  Trickle(*m, ctx, f, "10.1.2.9", 30);
  Micros day = kTestEpoch + 30 * kMicrosPerDay;
  for (int i = 0; i < 15; ++i) {
    Feed(*m, ctx, AlertEvent(f, day + i * kMicrosPerMinute, "10.1.2.9",
                             {.id = "burst-" + std::to_string(i), .title = "PUA detected",
                              .severity = "low", .category = "UnwantedSoftware",
                              .detector = "det-pua"}));
  }
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].entity.id, "10.1.2.9");
  EXPECT_GE(b[0].time, day);
  EXPECT_LT(b[0].time, day + 15 * kMicrosPerMinute);
  EXPECT_NE(b[0].reasons[0].find("alerts on the device today"), std::string::npos);
}

}  // namespace
}  // namespace vigil::detect
