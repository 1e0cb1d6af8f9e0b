#include "analyst/analyst.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "analyst/narrative.h"

namespace vigil::analyst {
namespace {

using detect::Breach;
using detect::EntityInfo;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// 2024-03-10T09:00:00Z
const Micros kT0 = DaysFromCivil(2024, 3, 10) * kMicrosPerDay + 9 * kMicrosPerHour;
constexpr Micros kMin = kMicrosPerMinute;

EntityInfo Device(const std::string& ip) { return {"device", ip, ip}; }
EntityInfo External(const std::string& ip) { return {"external", ip, ip}; }
EntityInfo Identity(const std::string& arn, const std::string& name) {
  return {"identity", arn, name};
}

Breach Make(const std::string& model, Micros t, EntityInfo entity, std::optional<EntityInfo> peer,
            int score, std::vector<std::string> mitre,
            nlohmann::json details = nlohmann::json::object(), bool weak = false) {
  Breach b;
  b.model = model;
  b.time = t;
  b.entity = std::move(entity);
  b.peer = std::move(peer);
  b.score = score;
  b.mitre = std::move(mitre);
  b.details = std::move(details);
  b.weak = weak;
  b.reasons = {"constructed for a test"};
  detect::AssignBreachId(b);
  return b;
}

config::Config Cfg(const std::string& quiet = "12h") {
  config::Config cfg = config::Config::Defaults();
  EXPECT_TRUE(cfg.Set("analyst.quiet_period", quiet).ok());
  return cfg;
}

// Incidents by id after a run: the latest version of each, merged ones left out.
std::map<std::string, Incident> Live(const std::vector<Incident>& updates) {
  std::map<std::string, Incident> out;
  for (const auto& inc : updates) out[inc.id] = inc;
  for (auto it = out.begin(); it != out.end();) {
    it = it->second.state == "merged" ? out.erase(it) : std::next(it);
  }
  return out;
}

void Feed(Analyst& a, const std::vector<Breach>& bs, std::vector<Incident>& updates) {
  for (const auto& b : bs) {
    a.OnBreach(b);
    for (auto& inc : a.TakeUpdated()) updates.push_back(std::move(inc));
  }
}

// The seed story: an internet-facing server exploited from a VPN address, the callback,
// two downloads, beaconing, mining; Defender on the same server sees the shell and alerts.
std::vector<Breach> SeedStory() {
  const std::string server = "10.20.5.21", vpn = "146.70.192.180";
  return {
      Make("network/new-user-agent-to-internal-server", kT0, Device(server), External(vpn), 65,
           {"T1190"}, {{"user_agent", "python-requests/2.31"}}),
      Make("host/web-server-spawned-shell", kT0 + 90 * kMicrosPerSecond, Device(server),
           std::nullopt, 75, {"T1059.004"}, {{"parent", "node"}, {"child", "sh"}}),
      Make("network/callback-to-inbound-source", kT0 + 3 * kMin, Device(server), External(vpn), 80,
           {"T1071"}),
      Make("network/executable-download", kT0 + 5 * kMin, Device(server), External(vpn), 70,
           {"T1105"}, {{"filename", "vim"}}),
      Make("network/executable-download", kT0 + 6 * kMin, Device(server), External(vpn), 70,
           {"T1105"}, {{"filename", "x"}}),
      Make("integration/defender-alert", kT0 + 8 * kMin, Device(server), std::nullopt, 85,
           {"T1059"}, {{"title", "Suspicious process executed from /tmp"}, {"severity", "high"}}),
      Make("network/beaconing", kT0 + 20 * kMin, Device(server), External("203.0.113.7"), 85,
           {"T1071.001"}, {{"period_s", 60}, {"jitter", 0.1}}),
      Make("network/crypto-mining", kT0 + 35 * kMin, Device(server), External("141.94.96.71"), 90,
           {"T1496"}),
  };
}

TEST(Analyst, SeedStoryWithDefenderAlertsBecomesOneIncidentWithStagesInOrder) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  auto story = SeedStory();
  Feed(a, story, updates);
  auto live = Live(updates);
  ASSERT_EQ(live.size(), 1u);
  const Incident& inc = live.begin()->second;
  EXPECT_EQ(inc.id, "inc-" + story[0].id.substr(2));  // from the first breach
  EXPECT_EQ(inc.state, "open");
  ASSERT_EQ(inc.breaches.size(), story.size());
  ASSERT_EQ(inc.timeline.size(), story.size());
  for (size_t i = 0; i < story.size(); ++i) {
    EXPECT_EQ(inc.timeline[i].breach, story[i].id) << i;
    EXPECT_EQ(inc.timeline[i].model, story[i].model) << i;
    EXPECT_EQ(inc.timeline[i].time, story[i].time) << i;
  }
  EXPECT_EQ(inc.start, kT0);
  EXPECT_EQ(inc.end, kT0 + 35 * kMin);
  EXPECT_EQ(inc.tactics, (std::vector<std::string>{"initial-access", "execution",
                                                    "command-and-control", "impact"}));
  EXPECT_EQ(inc.timeline[0].tactic, "initial-access");
  EXPECT_EQ(inc.timeline[7].tactic, "impact");
  EXPECT_EQ(inc.summary_sentences.at(0).text,
            "Internet-facing server 10.20.5.21 was likely exploited from 146.70.192.180, then "
            "called back to it, downloaded two executables (vim and x), beaconed to 203.0.113.7 "
            "every 60 s and began crypto-mining with pool 141.94.96.71.");
  EXPECT_EQ(inc.summary_sentences.at(1).text,
            "On the same host, web server process node started sh, then Defender raised the "
            "alert \"Suspicious process executed from /tmp\" (high).");
  EXPECT_THAT(inc.title, StartsWith("Likely compromise of internet-facing server 10.20.5.21: "
                                    "exploit, web server shell, callback"));
  EXPECT_GE(inc.score, 90);
  // Entities: the server first, then the peers.
  ASSERT_GE(inc.entities.size(), 4u);
  EXPECT_EQ(inc.entities[0].id, "10.20.5.21");
  EXPECT_EQ(inc.entities[1].id, "146.70.192.180");
}

TEST(Analyst, EverySummarySentenceIsTracedToBreachesOfTheIncident) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  Feed(a, SeedStory(), updates);
  const Incident inc = Live(updates).begin()->second;
  std::set<std::string> ids(inc.breaches.begin(), inc.breaches.end());
  std::set<std::string> cited;
  ASSERT_FALSE(inc.summary_sentences.empty());
  for (const auto& s : inc.summary_sentences) {
    EXPECT_FALSE(s.breaches.empty()) << s.text;
    for (const auto& b : s.breaches) {
      EXPECT_TRUE(ids.count(b)) << b;
      cited.insert(b);
    }
  }
  EXPECT_EQ(cited, ids);  // and every breach is told
}

TEST(Analyst, SevenStepCloudAccountTakeoverBecomesOneIncidentOnTheIdentity) {
  const auto alice = Identity("arn:aws:iam::123456789012:user/alice", "alice");
  std::vector<Breach> steps = {
      Make("cloud/unusual-credential-source", kT0, alice, std::nullopt, 75, {"T1078.004"},
           {{"source_ip", "146.70.192.180"}, {"country", "NL"}}),
      Make("cloud/unusual-cli-activity", kT0 + 10 * kMin, alice, std::nullopt, 65, {"T1059.009"},
           {{"ua_family", "aws-cli"}}),
      Make("cloud/rare-password-reset", kT0 + 15 * kMin, alice, std::nullopt, 70, {"T1098"},
           {{"event_name", "UpdateLoginProfile"}, {"target_user", "bob"}}),
      Make("cloud/discovery-burst", kT0 + 25 * kMin, alice, std::nullopt, 80,
           {"T1087.004", "T1580"}, {{"calls", 140}, {"services", 9}, {"access_denied", 23}}),
      Make("cloud/iam-privilege-change", kT0 + 40 * kMin, alice, std::nullopt, 85, {"T1098.003"},
           {{"event_name", "AttachUserPolicy"}, {"policy", "AdministratorAccess"}}),
      Make("cloud/unusual-compute-creation", kT0 + 70 * kMin, alice, std::nullopt, 80,
           {"T1578.002", "T1496"}, {{"instance_type", "p3.2xlarge"}, {"region", "ap-southeast-1"}}),
      Make("cloud/s3-tampering", kT0 + 95 * kMin, alice,
           EntityInfo{"resource", "arn:aws:s3:::corp-backups", "corp-backups"}, 90,
           {"T1485", "T1530"}, {{"event_names", {"PutBucketPolicy", "DeleteObjects"}}}),
  };
  Analyst a(Cfg());
  std::vector<Incident> updates;
  Feed(a, steps, updates);
  auto live = Live(updates);
  ASSERT_EQ(live.size(), 1u);
  const Incident& inc = live.begin()->second;
  ASSERT_EQ(inc.timeline.size(), 7u);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(inc.timeline[i].model, steps[i].model);
    EXPECT_EQ(inc.timeline[i].entity, alice.id);
  }
  EXPECT_EQ(inc.entities.at(0).id, alice.id);
  EXPECT_THAT(inc.title, StartsWith("Likely account takeover of identity alice: unusual sign-in"));
  EXPECT_EQ(inc.summary_sentences.at(0).text,
            "Identity alice signed in from an unusual source 146.70.192.180 (NL), then switched "
            "to programmatic access (aws-cli), changed login credentials (UpdateLoginProfile) of "
            "bob, ran a burst of 140 discovery calls across 9 services (23 denied), changed IAM "
            "privileges (AttachUserPolicy), granting AdministratorAccess, created unusual compute "
            "(p3.2xlarge) in ap-southeast-1 and tampered with S3 storage (bucket corp-backups) "
            "using PutBucketPolicy and DeleteObjects.");
  for (const char* t : {"initial-access", "execution", "persistence", "privilege-escalation",
                        "discovery", "collection", "impact"}) {
    EXPECT_NE(std::find(inc.tactics.begin(), inc.tactics.end(), t), inc.tactics.end()) << t;
  }
  EXPECT_GE(inc.score, 90);
}

TEST(Analyst, UnrelatedBreachesOnTwoDevicesOnTheSameDayStayTwoIncidents) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  Feed(a,
       {Make("network/beaconing", kT0, Device("10.1.1.10"), External("198.51.100.1"), 80,
             {"T1071"}),
        Make("network/executable-download", kT0 + 5 * kMicrosPerHour, Device("10.1.1.20"),
             External("192.0.2.50"), 75, {"T1105"})},
       updates);
  auto live = Live(updates);
  ASSERT_EQ(live.size(), 2u);
  for (const auto& [id, inc] : live) {
    EXPECT_EQ(inc.breaches.size(), 1u);
    EXPECT_EQ(inc.entities.at(0).type, "device");
  }
  EXPECT_NE(live.begin()->second.entities[0].id, std::next(live.begin())->second.entities[0].id);
}

TEST(Analyst, ASingleWeakBreachMakesNoIncident) {
  Analyst a(Cfg());
  a.OnBreach(Make("network/rare-external-destination", kT0, Device("10.1.1.10"),
                  External("198.51.100.1"), 50, {"T1071"}, {}, /*weak=*/true));
  EXPECT_TRUE(a.TakeUpdated().empty());
  a.Advance(kT0 + 2 * kMicrosPerDay);
  EXPECT_TRUE(a.TakeUpdated().empty());
  EXPECT_EQ(a.open_count(), 0u);
}

TEST(Analyst, ASingleBreachAloneIsNotAHighScoringIncident) {
  Analyst a(Cfg());
  auto b = Make("integration/defender-alert", kT0, Device("10.1.1.10"), std::nullopt, 100,
                {"T1059"}, {{"title", "Mimikatz"}});
  a.OnBreach(b);
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_LE(up[0].score, 42);
  EXPECT_GT(up[0].score, 0);
  EXPECT_EQ(up[0].title, "Defender alert \"Mimikatz\" on device 10.1.1.10");
}

TEST(Analyst, IncidentsBelowTheMinimumScoreAreHeldBackUntilTheyGrow) {
  config::Config cfg = Cfg();
  ASSERT_TRUE(cfg.Set("analyst.min_incident_score", "30").ok());
  Analyst a(cfg);
  a.OnBreach(Make("network/rare-external-destination", kT0, Device("10.1.1.10"),
                  External("198.51.100.1"), 60, {"T1071"}));
  EXPECT_TRUE(a.TakeUpdated().empty());  // 100 * 0.42 * 0.6 = 25 < 30
  a.OnBreach(Make("network/crypto-mining", kT0 + kMin, Device("10.1.1.10"),
                  External("198.51.100.1"), 80, {"T1496"}));
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].breaches.size(), 2u);
  EXPECT_GE(up[0].score, 30);
}

TEST(Analyst, AnIncidentGrowsAndIsNeverDuplicated) {
  Analyst a(Cfg());
  auto story = SeedStory();
  a.OnBreach(story[0]);
  auto first = a.TakeUpdated();
  ASSERT_EQ(first.size(), 1u);
  a.OnBreach(story[2]);
  a.OnBreach(story[3]);
  auto second = a.TakeUpdated();
  ASSERT_EQ(second.size(), 1u);  // once per call, latest version
  EXPECT_EQ(second[0].id, first[0].id);
  EXPECT_EQ(second[0].breaches.size(), 3u);
  EXPECT_GT(second[0].score, first[0].score);
  EXPECT_NE(second[0].title, first[0].title);
  EXPECT_TRUE(a.TakeUpdated().empty());  // nothing changed since
  a.OnBreach(story[3]);                  // the same breach again
  EXPECT_TRUE(a.TakeUpdated().empty());
  EXPECT_EQ(a.open_count(), 1u);
}

TEST(Analyst, AnIncidentClosesAfterTheQuietPeriodAndLaterBreachesOpenANewOne) {
  Analyst a(Cfg("2h"));
  auto b1 = Make("network/beaconing", kT0, Device("10.1.1.10"), External("198.51.100.1"), 80,
                 {"T1071"});
  a.OnBreach(b1);
  auto opened = a.TakeUpdated();
  ASSERT_EQ(opened.size(), 1u);
  a.Advance(kT0 + 2 * kMicrosPerHour - 1);
  EXPECT_TRUE(a.TakeUpdated().empty());
  a.Advance(kT0 + 2 * kMicrosPerHour);
  auto closed = a.TakeUpdated();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].id, opened[0].id);
  EXPECT_EQ(closed[0].state, "closed");
  EXPECT_EQ(a.open_count(), 0u);
  ASSERT_NE(a.Find(opened[0].id), nullptr);
  EXPECT_EQ(a.Find(opened[0].id)->state, "closed");
  a.OnBreach(Make("network/beaconing", kT0 + 3 * kMicrosPerHour, Device("10.1.1.10"),
                  External("198.51.100.1"), 80, {"T1071"}));
  auto reopened = a.TakeUpdated();
  ASSERT_EQ(reopened.size(), 1u);
  EXPECT_NE(reopened[0].id, opened[0].id);
  EXPECT_EQ(reopened[0].state, "open");
}

TEST(Analyst, WeakSignalsWithinWindowBeforeArePulledInAndOlderOnesAreNot) {
  Analyst a(Cfg());
  const auto dev = Device("10.1.1.10");
  auto old_weak = Make("network/rare-external-destination", kT0 - 3 * kMicrosPerHour, dev,
                       External("192.0.2.1"), 40, {"T1071"}, {}, true);
  auto recent_weak = Make("network/rare-external-destination", kT0 - 30 * kMin, dev,
                          External("192.0.2.2"), 45, {"T1071"}, {}, true);
  auto other_entity_weak = Make("network/rare-external-destination", kT0 - 20 * kMin,
                                Device("10.1.1.99"), External("192.0.2.3"), 45, {"T1071"}, {}, true);
  auto breach = Make("network/beaconing", kT0, dev, External("198.51.100.1"), 80, {"T1071"});
  for (const auto& b : {old_weak, recent_weak, other_entity_weak, breach}) a.OnBreach(b);
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  const Incident& inc = up[0];
  EXPECT_EQ(inc.weak_signals, std::vector<std::string>{recent_weak.id});
  EXPECT_EQ(inc.breaches, std::vector<std::string>{breach.id});
  ASSERT_EQ(inc.timeline.size(), 2u);
  EXPECT_TRUE(inc.timeline[0].weak);
  EXPECT_EQ(inc.timeline[0].breach, recent_weak.id);
  EXPECT_THAT(inc.timeline[0].text, HasSubstr("weak signal"));
  EXPECT_FALSE(inc.timeline[1].weak);
  EXPECT_EQ(inc.start, kT0 - 30 * kMin);
  EXPECT_THAT(inc.summary, HasSubstr("One weaker signal"));
}

TEST(Analyst, WeakSignalsWithinWindowAfterAttachWhileOpenAndLaterOnesDoNot) {
  Analyst a(Cfg());
  const auto dev = Device("10.1.1.10");
  auto breach = Make("network/beaconing", kT0, dev, External("198.51.100.1"), 80, {"T1071"});
  auto soon = Make("network/rare-external-destination", kT0 + 40 * kMin, dev,
                   External("192.0.2.2"), 45, {"T1071"}, {}, true);
  auto late = Make("network/rare-external-destination", kT0 + 3 * kMicrosPerHour, dev,
                   External("192.0.2.3"), 45, {"T1071"}, {}, true);
  auto elsewhere = Make("network/rare-external-destination", kT0 + 10 * kMin, Device("10.9.9.9"),
                        External("198.51.100.1"), 45, {"T1071"}, {}, true);
  a.OnBreach(breach);
  a.TakeUpdated();
  a.OnBreach(soon);
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].weak_signals, std::vector<std::string>{soon.id});
  EXPECT_TRUE(up[0].timeline.back().weak);
  a.OnBreach(elsewhere);  // shares only the peer: weak signals never link entities
  a.OnBreach(late);
  EXPECT_TRUE(a.TakeUpdated().empty());
  EXPECT_EQ(a.Find(up[0].id)->weak_signals.size(), 1u);
}

TEST(Analyst, IdentityActingFromADeviceJoinsTheDevicesIncident) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  Feed(a,
       {Make("network/beaconing", kT0, Device("10.20.7.7"), External("198.51.100.1"), 80,
             {"T1071"}),
        Make("cloud/discovery-burst", kT0 + 30 * kMin,
             Identity("arn:aws:iam::1:user/ci", "ci"), std::nullopt, 80, {"T1580"},
             {{"source_ip", "10.20.7.7"}})},
       updates);
  auto live = Live(updates);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->second.breaches.size(), 2u);
  EXPECT_EQ(live.begin()->second.summary_sentences.size(), 2u);
}

TEST(Analyst, TwoIdentitiesBehindTheSameEgressAddressStayApart) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  Feed(a,
       {Make("cloud/discovery-burst", kT0, Identity("arn:aws:iam::1:user/a", "a"), std::nullopt,
             80, {"T1580"}, {{"source_ip", "203.0.113.200"}}),
        Make("cloud/discovery-burst", kT0 + kMin, Identity("arn:aws:iam::1:user/b", "b"),
             std::nullopt, 80, {"T1580"}, {{"source_ip", "203.0.113.200"}})},
       updates);
  EXPECT_EQ(Live(updates).size(), 2u);
}

TEST(Analyst, CloudLoginFromTheExploitAddressJoinsTheNetworkIncident) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  auto story = SeedStory();
  story.push_back(Make("cloud/unusual-credential-source", kT0 + 50 * kMin,
                       Identity("arn:aws:iam::1:user/web", "web"), std::nullopt, 70, {"T1078.004"},
                       {{"source_ip", "146.70.192.180"}}));
  Feed(a, story, updates);
  auto live = Live(updates);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live.begin()->second.breaches.size(), story.size());
  EXPECT_THAT(live.begin()->second.title, HasSubstr("and one other entity"));
}

TEST(Analyst, ABreachLinkingTwoIncidentsMergesThemIntoTheOlder) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  auto b1 = Make("network/beaconing", kT0, Device("10.1.1.10"), External("198.51.100.1"), 80,
                 {"T1071"});
  auto b2 = Make("network/executable-download", kT0 + 10 * kMin, Device("10.1.1.20"),
                 External("192.0.2.50"), 75, {"T1105"});
  auto bridge = Make("network/beaconing", kT0 + 20 * kMin, Device("10.1.1.20"),
                     External("198.51.100.1"), 80, {"T1071"});
  Feed(a, {b1, b2}, updates);
  ASSERT_EQ(Live(updates).size(), 2u);
  std::string older = "inc-" + b1.id.substr(2), younger = "inc-" + b2.id.substr(2);
  a.OnBreach(bridge);
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 2u);
  std::map<std::string, Incident> by_id;
  for (auto& i : up) by_id[i.id] = i;
  EXPECT_EQ(by_id.at(younger).state, "merged");
  EXPECT_EQ(by_id.at(younger).merged_into, older);
  EXPECT_EQ(by_id.at(older).breaches,
            (std::vector<std::string>{b1.id, b2.id, bridge.id}));
  EXPECT_EQ(a.open_count(), 1u);
}

TEST(Analyst, ReplayIsDeterministic) {
  auto run = [] {
    Analyst a(Cfg());
    std::vector<Incident> updates;
    Feed(a, SeedStory(), updates);
    std::string out;
    for (const auto& i : updates) out += IncidentToJson(i).dump() + "\n";
    return out;
  };
  std::string first = run();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, run());
}

TEST(Analyst, MissingOrMistypedDetailsStillGiveReadableText) {
  Analyst a(Cfg());
  a.OnBreach(Make("network/beaconing", kT0, Device("10.1.1.10"), External("198.51.100.1"), 80,
                  {"T1071"}, {{"period_s", "not a number"}, {"filename", 7}}));
  a.OnBreach(Make("network/executable-download", kT0 + kMin, Device("10.1.1.10"), std::nullopt,
                  80, {"T1105"}, nlohmann::json::array({1, 2})));
  a.OnBreach(Make("network/something-new", kT0 + 2 * kMin, Device("10.1.1.10"), std::nullopt,
                  70, {}, nullptr));
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].summary_sentences.at(0).text,
            "Device 10.1.1.10 beaconed to 198.51.100.1, then downloaded an executable and "
            "triggered network/something-new.");
}

TEST(Analyst, SuppressedBreachesAreIgnored) {
  Analyst a(Cfg());
  auto b = Make("network/beaconing", kT0, Device("10.1.1.10"), External("198.51.100.1"), 80,
                {"T1071"});
  b.suppressed_by = "monitoring agent";
  a.OnBreach(b);
  EXPECT_TRUE(a.TakeUpdated().empty());
  EXPECT_EQ(a.open_count(), 0u);
}

// --- caps -------------------------------------------------------------------------------

TEST(AnalystCaps, MembersPastTheCapAreCountedNotKept) {
  Analyst a(Cfg());
  for (size_t i = 0; i < kMaxIncidentMembers + 100; ++i) {
    a.OnBreach(Make("network/beaconing", kT0 + static_cast<Micros>(i) * kMicrosPerSecond,
                    Device("10.1.1.10"), External("198.51.100.1"), 80, {"T1071"}));
  }
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].breaches.size(), kMaxIncidentMembers);
  EXPECT_EQ(up[0].dropped, 100u);
  EXPECT_EQ(up[0].end, kT0 + static_cast<Micros>(kMaxIncidentMembers + 99) * kMicrosPerSecond);
}

TEST(AnalystCaps, WeakSignalsPerEntityAreBounded) {
  Analyst a(Cfg());
  const auto dev = Device("10.1.1.10");
  for (size_t i = 0; i < kMaxWeakSignalsPerEntity + 10; ++i) {
    a.OnBreach(Make("network/rare-external-destination", kT0 + static_cast<Micros>(i) * kMin, dev,
                    External("192.0.2." + std::to_string(i + 1)), 40, {"T1071"}, {}, true));
  }
  a.OnBreach(Make("network/beaconing", kT0 + 30 * kMin, dev, External("198.51.100.1"), 80,
                  {"T1071"}));
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].weak_signals.size(), kMaxWeakSignalsPerEntity);
}

TEST(AnalystCaps, EntitiesListedPerIncidentAreBounded) {
  Analyst a(Cfg());
  for (int i = 0; i < 100; ++i) {
    a.OnBreach(Make("network/rare-external-destination", kT0 + i * kMicrosPerSecond,
                    Device("10.1.1.10"), External("192.0.2." + std::to_string(i + 1)), 70,
                    {"T1071"}));
  }
  auto up = a.TakeUpdated();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].entities.size(), kMaxIncidentEntities);
}

TEST(AnalystCaps, OpenIncidentsAreBoundedByClosingTheLeastRecent) {
  Analyst a(Cfg());
  for (size_t i = 0; i < kMaxOpenIncidents + 5; ++i) {
    std::string ip = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    a.OnBreach(Make("network/beaconing", kT0 + static_cast<Micros>(i), Device(ip),
                    External("198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250)),
                    80, {"T1071"}));
  }
  EXPECT_EQ(a.open_count(), kMaxOpenIncidents);
  size_t closed = 0;
  for (const auto& inc : a.TakeUpdated()) closed += inc.state == "closed";
  EXPECT_EQ(closed, 5u);
}

// --- records ------------------------------------------------------------------------------

TEST(IncidentJson, FieldNamesAreExactlyTheContract) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  Feed(a, SeedStory(), updates);
  nlohmann::json j = IncidentToJson(Live(updates).begin()->second);
  for (const char* k : {"id", "title", "score", "start", "end", "entities", "breaches", "tactics",
                        "summary", "timeline"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["start"], "2024-03-10T09:00:00Z");
  EXPECT_EQ(j["end"], "2024-03-10T09:35:00Z");
  EXPECT_TRUE(j["score"].is_number_integer());
  EXPECT_TRUE(j["summary"].is_string());
  ASSERT_TRUE(j["entities"].is_array());
  EXPECT_EQ(j["entities"][0], (nlohmann::json{{"type", "device"}, {"id", "10.20.5.21"},
                                               {"name", "10.20.5.21"}}));
  ASSERT_TRUE(j["timeline"].is_array());
  for (const auto& e : j["timeline"]) {
    EXPECT_TRUE(e["time"].is_string());
    EXPECT_TRUE(e["text"].is_string());
    EXPECT_TRUE(e["breach"].is_string());
  }
  EXPECT_EQ(j["timeline"][0]["time"], "2024-03-10T09:00:00Z");
  EXPECT_EQ(j["tactics"][0], "initial-access");
}

TEST(IncidentJson, RoundTripKeepsEveryField) {
  Analyst a(Cfg());
  std::vector<Incident> updates;
  auto story = SeedStory();
  story.insert(story.begin(), Make("network/rare-external-destination", kT0 - 10 * kMin,
                                   Device("10.20.5.21"), External("192.0.2.9"), 40, {"T1071"},
                                   {}, true));
  Feed(a, story, updates);
  nlohmann::json j = IncidentToJson(Live(updates).begin()->second);
  auto back = IncidentFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(IncidentToJson(*back), j);
  EXPECT_EQ(back->weak_signals.size(), 1u);
}

TEST(IncidentJson, BadDocumentsAreCorruptNotExceptions) {
  EXPECT_EQ(IncidentFromJson(nlohmann::json::array()).status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(IncidentFromJson({{"title", "no id"}}).status().code(), StatusCode::kCorrupt);
  EXPECT_EQ(IncidentFromJson({{"id", "inc-1"}, {"start", 5}, {"end", "x"}}).status().code(),
            StatusCode::kCorrupt);
  auto odd = IncidentFromJson({{"id", "inc-1"},
                               {"start", "2024-03-10T09:00:00Z"},
                               {"end", "2024-03-10T09:00:00Z"},
                               {"score", "high"},
                               {"entities", {1, 2}},
                               {"timeline", {{{"time", 3}}}},
                               {"breaches", "b-1"}});
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->score, 0);
  EXPECT_TRUE(odd->entities.empty());
  EXPECT_TRUE(odd->breaches.empty());
  ASSERT_EQ(odd->timeline.size(), 1u);
}

// --- checkpoints ---------------------------------------------------------------------------

TEST(AnalystState, SaveLoadKeepsOpenIncidentsAndBufferedWeakSignals) {
  auto story = SeedStory();
  auto weak = Make("network/rare-external-destination", kT0 - 5 * kMin, Device("10.8.8.8"),
                   External("192.0.2.77"), 40, {"T1071"}, {}, true);
  auto later_weak_entity_breach =
      Make("network/beaconing", kT0 + 2 * kMin, Device("10.8.8.8"), External("192.0.2.78"), 80,
           {"T1071"});
  Analyst a(Cfg());
  a.OnBreach(weak);
  for (size_t i = 0; i < 4; ++i) a.OnBreach(story[i]);
  a.TakeUpdated();
  learn::StateWriter w;
  a.Save(w);

  Analyst b(Cfg());
  learn::StateReader r(w.data());
  ASSERT_TRUE(b.Load(r).ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(b.open_count(), 1u);
  std::string id = "inc-" + story[0].id.substr(2);
  ASSERT_NE(b.Find(id), nullptr);
  EXPECT_EQ(IncidentToJson(*b.Find(id)), IncidentToJson(*a.Find(id)));

  // Both continue identically: the incident grows, the buffered weak signal is pulled in.
  for (Analyst* x : {&a, &b}) {
    for (size_t i = 4; i < story.size(); ++i) x->OnBreach(story[i]);
    x->OnBreach(later_weak_entity_breach);
  }
  auto ua = a.TakeUpdated(), ub = b.TakeUpdated();
  ASSERT_EQ(ua.size(), ub.size());
  for (size_t i = 0; i < ua.size(); ++i) EXPECT_EQ(IncidentToJson(ua[i]), IncidentToJson(ub[i]));
  bool pulled = false;
  for (const auto& inc : ub) pulled = pulled || inc.weak_signals == std::vector<std::string>{weak.id};
  EXPECT_TRUE(pulled);
}

TEST(AnalystState, LoadRejectsBytesItDidNotWrite) {
  Analyst a(Cfg());
  for (const auto& b : SeedStory()) a.OnBreach(b);
  learn::StateWriter w;
  a.Save(w);
  std::string good = w.data();
  {
    Analyst b(Cfg());
    learn::StateReader r("not a checkpoint at all");
    EXPECT_FALSE(b.Load(r).ok());
  }
  for (size_t cut : {size_t{3}, size_t{12}, good.size() / 2, good.size() - 1}) {
    Analyst b(Cfg());
    learn::StateReader r(std::string_view(good).substr(0, cut));
    EXPECT_FALSE(b.Load(r).ok()) << cut;
    EXPECT_EQ(b.open_count(), 0u);
  }
  std::string flipped = good;
  flipped[40] = '{';
  flipped[41] = '{';
  Analyst c(Cfg());
  learn::StateReader r(flipped);
  EXPECT_FALSE(c.Load(r).ok());
}

}  // namespace
}  // namespace vigil::analyst
