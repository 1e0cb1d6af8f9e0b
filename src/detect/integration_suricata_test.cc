#include <gtest/gtest.h>

#include "detect/integration_suricata.h"
#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::MakeModel;
using harness::Feed;
using harness::kTestEpoch;
using harness::TestContext;

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
  auto m = MakeModel("integration/suricata-alert");
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
  EXPECT_TRUE(b[0].mitre.empty());  // a reputation list says nothing about technique
}

TEST(SuricataAlert, BreachesCarryTheTechniqueOfTheRuleFamilyOrCategory) {
  auto m = MakeModel("integration/suricata-alert");
  EventFactory f;
  TestContext ctx(m->info());
  Feed(*m, ctx, f.Alert(kTestEpoch, "192.168.1.129", 51000, "185.220.101.4", 443,
                        Alert(2027863, 1, "ET MALWARE Observed Cobalt Strike User-Agent", "A Network Trojan was detected")));
  Feed(*m, ctx, f.Alert(kTestEpoch + 1, "45.143.200.10", 8080, "192.168.1.129", 80,
                        Alert(2011716, 1, "GPL WEB_SERVER something", "Web Application Attack")));
  auto b = ctx.Breaches();
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].mitre, std::vector<std::string>{"T1071"});
  EXPECT_EQ(b[1].mitre, std::vector<std::string>{"T1190"});
  EXPECT_EQ(AlertTechniques("ET SCAN Suspicious inbound to MSSQL port 1433", "Potentially Bad Traffic"),
            std::vector<std::string>{"T1046"});
  EXPECT_EQ(AlertTechniques("ET COINMINING Stratum login", ""), std::vector<std::string>{"T1496"});
  EXPECT_EQ(AlertTechniques("ET POLICY curl User-Agent Outbound", "Attempted Information Leak"),
            std::vector<std::string>{"T1046"});  // policy says nothing; the category does
  EXPECT_TRUE(AlertTechniques("ET INFO Observed DNS Query to .cloud TLD", "Potentially Bad Traffic").empty());
  // The rule's own metadata wins over the family and the category.
  EXPECT_EQ(AlertTechniques("ET SCAN something", "Web Application Attack", "T1595.002,T1046"),
            (std::vector<std::string>{"T1595.002", "T1046"}));
}

TEST(SuricataAlert, LowSeverityIsAWeakSignalAndRepeatsAreFoldedForAnHour) {
  auto m = MakeModel("integration/suricata-alert");
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
