#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

std::unique_ptr<Model> Make(std::string_view name) {
  for (auto& m : ModelCatalogue::Global().MakeAll())
    if (m->info().name == name) return std::move(m);
  return nullptr;
}

IdsAlertBody Alert(uint64_t sid, int severity, std::string_view sig, std::string_view cat) {
  IdsAlertBody a;
  a.signature_id = sid;
  a.rev = 3;
  a.severity = severity;
  a.signature = sig;
  a.category = cat;
  a.action = "allowed";
  return a;
}

TEST(SuricataAlert, EachAlertBecomesABreachWithSignatureAndSeverityScore) {
  auto m = Make("integration/suricata-alert");
  ASSERT_NE(m, nullptr);
  EventFactory f;
  TestContext ctx(m->info());
  Event e = f.Alert(kTestEpoch, "78.36.196.213", 51698, "192.168.1.129", 445,
                    Alert(2403388, 2, "ET CINS Active Threat Intelligence Poor Reputation IP group 89",
                          "Misc Attack"));
  Feed(*m, ctx, e);
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].model, "integration/suricata-alert");
  EXPECT_EQ(b[0].entity.id, "192.168.1.129");
  EXPECT_EQ(b[0].peer->id, "78.36.196.213");
  EXPECT_EQ(b[0].time, kTestEpoch);
  EXPECT_EQ(b[0].score, 65);
  EXPECT_EQ(b[0].details["sid"], 2403388);
  EXPECT_EQ(b[0].details["category"], "Misc Attack");
  EXPECT_NE(b[0].reasons[0].find("Poor Reputation IP group 89"), std::string::npos);
}

TEST(SuricataAlert, LowSeverityIsAWeakSignalAndRepeatsAreFoldedForAnHour) {
  auto m = Make("integration/suricata-alert");
  EventFactory f;
  TestContext ctx(m->info());
  for (int i = 0; i < 50; ++i)
    Feed(*m, ctx, f.Alert(kTestEpoch + i * kMicrosPerMinute, "45.143.200.10", 8080,
                          "192.168.1.129", 16804, Alert(2403335, 3, "ET SCAN something", "Attempted Recon")));
  ASSERT_EQ(ctx.emitted().size(), 1u);
  EXPECT_TRUE(ctx.emitted()[0].breach.weak);
  EXPECT_TRUE(ctx.Breaches().empty());
  Feed(*m, ctx, f.Alert(kTestEpoch + 61 * kMicrosPerMinute, "45.143.200.10", 8080, "192.168.1.129",
                        16804, Alert(2403335, 3, "ET SCAN something", "Attempted Recon")));
  ASSERT_EQ(ctx.emitted().size(), 2u);
  EXPECT_EQ(ctx.emitted()[1].breach.details["folded"], 49);
}

}  // namespace
}  // namespace vigil::detect
