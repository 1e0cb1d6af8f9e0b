#include "analyst/attack.h"

#include <gtest/gtest.h>

namespace vigil::analyst {
namespace {

std::vector<std::string> Ids(const std::vector<Tactic>& ts) {
  std::vector<std::string> out;
  for (Tactic t : ts) out.push_back(TacticId(t));
  return out;
}

TEST(Attack, ExploitOfPublicFacingApplicationIsInitialAccess) {
  EXPECT_EQ(Ids(TacticsForTechnique("T1190")), std::vector<std::string>{"initial-access"});
}

TEST(Attack, SubTechniqueInTheTableUsesItsOwnRow) {
  EXPECT_EQ(Ids(TacticsForTechnique("T1071.001")),
            std::vector<std::string>{"command-and-control"});
}

TEST(Attack, UnknownSubTechniqueFallsBackToItsParent) {
  EXPECT_EQ(Ids(TacticsForTechnique("T1562.999")), std::vector<std::string>{"defense-evasion"});
}

TEST(Attack, ValidAccountsServesFourTacticsInKillChainOrder) {
  EXPECT_EQ(Ids(TacticsForTechnique("T1078.004")),
            (std::vector<std::string>{"initial-access", "persistence", "privilege-escalation",
                                      "defense-evasion"}));
}

TEST(Attack, TechniquesUsedByTheModelsAllMap) {
  for (const char* t : {"T1190", "T1071", "T1071.001", "T1573", "T1571", "T1105", "T1496",
                        "T1078", "T1078.004", "T1059", "T1059.004", "T1087", "T1580", "T1526",
                        "T1069", "T1098", "T1530", "T1485", "T1562", "T1041", "T1567",
                        "T1036.005", "T1564.001", "T1505.003", "T1578.002", "T1136.003"}) {
    EXPECT_FALSE(TacticsForTechnique(t).empty()) << t;
  }
}

TEST(Attack, IngressToolTransferAndResourceHijackingMapAsDocumented) {
  EXPECT_EQ(Ids(TacticsForTechnique("T1105")), std::vector<std::string>{"command-and-control"});
  EXPECT_EQ(Ids(TacticsForTechnique("T1496")), std::vector<std::string>{"impact"});
  EXPECT_EQ(Ids(TacticsForTechnique("T1530")), std::vector<std::string>{"collection"});
  EXPECT_EQ(Ids(TacticsForTechnique("T1567")), std::vector<std::string>{"exfiltration"});
}

TEST(Attack, LowerCaseAndSpacesAreAccepted) {
  EXPECT_EQ(Ids(TacticsForTechnique(" t1496 ")), std::vector<std::string>{"impact"});
}

TEST(Attack, GarbageAndUnknownIdsGiveNoTactic) {
  EXPECT_TRUE(TacticsForTechnique("").empty());
  EXPECT_TRUE(TacticsForTechnique("T").empty());
  EXPECT_TRUE(TacticsForTechnique("T9999").empty());
  EXPECT_TRUE(TacticsForTechnique("hello world").empty());
  EXPECT_FALSE(TacticsForTechnique("T1190.").empty());  // a trailing dot: the parent
}

TEST(Attack, UnionIsSortedAlongTheKillChainWithoutDuplicates) {
  EXPECT_EQ(Ids(TacticsForTechniques({"T1496", "T1190", "T1071", "T1105", "T1190"})),
            (std::vector<std::string>{"initial-access", "command-and-control", "impact"}));
}

TEST(Attack, DefenderCategorySpellingsAreTactics) {
  EXPECT_EQ(TacticFromText("InitialAccess"), Tactic::kInitialAccess);
  EXPECT_EQ(TacticFromText("CommandAndControl"), Tactic::kCommandAndControl);
  EXPECT_EQ(TacticFromText("Initial Access"), Tactic::kInitialAccess);
  EXPECT_EQ(TacticFromText("privilege-escalation"), Tactic::kPrivilegeEscalation);
  EXPECT_EQ(TacticFromText("TA0040"), Tactic::kImpact);
  EXPECT_EQ(TacticFromText("Malware"), std::nullopt);
  EXPECT_EQ(TacticFromText(""), std::nullopt);
}

TEST(Attack, TacticNamesAndIdsAreFilledForEveryTactic) {
  for (int i = 0; i < kTacticCount; ++i) {
    auto t = static_cast<Tactic>(i);
    EXPECT_STRNE(TacticId(t), "");
    EXPECT_STRNE(TacticName(t), "");
    EXPECT_EQ(std::string(TacticAttackId(t)).substr(0, 2), "TA");
  }
}

}  // namespace
}  // namespace vigil::analyst
