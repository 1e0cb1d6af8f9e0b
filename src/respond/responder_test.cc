#include "respond/responder.h"

#include <gtest/gtest.h>

namespace vigil::respond {
namespace {

// Unit tests only: a backend that records every call, and fails when told to.
struct Calls {
  std::vector<std::string> log;  // "apply act-… 7200", "revoke act-…"
  std::vector<Micros> holds;
  bool fail = false;
};

class RecordingBackend : public Backend {
 public:
  explicit RecordingBackend(Calls* calls, std::string name = "recording")
      : calls_(calls), name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  bool Supports(std::string_view kind) const override { return kind != kIsolateEndpoint; }
  Result<std::string> Apply(const Action& a, Micros hold) override {
    calls_->log.push_back("apply " + a.id);
    calls_->holds.push_back(hold);
    if (calls_->fail) return Unavailable("backend down");
    return std::string("applied");
  }
  Result<std::string> Revoke(const Action& a) override {
    calls_->log.push_back("revoke " + a.id);
    return std::string("revoked");
  }

 private:
  Calls* calls_;
  std::string name_;
};

constexpr Micros kT0 = 1'700'000'000 * kMicrosPerSecond;

detect::Breach Beacon(Micros t, const std::string& device = "10.0.0.5",
                      const std::string& peer = "203.0.113.9", int score = 90) {
  detect::Breach b;
  b.id = "br-" + std::to_string(t);
  b.time = t;
  b.model = "network/beaconing";
  b.score = score;
  b.entity = {"device", device, "ws-5"};
  b.peer = detect::EntityInfo{"external", peer, peer};
  b.reasons = {"connects every 60 s"};
  detect::EventRef r;
  r.summary = device + ":51234 -> " + peer + ":443/tcp 1.0 KB out, 2.0 KB in, SF";
  b.events.push_back(r);
  return b;
}

ResponderSettings Settings(Mode mode) {
  ResponderSettings s;
  s.mode = mode;
  s.default_duration = 2 * kMicrosPerHour;
  s.confirm_timeout = 30 * kMicrosPerMinute;
  s.max_actions_per_hour = 5;
  PolicyRule r;
  r.model = "network/*";
  r.min_score = 70;
  r.action = std::string(kSuspendEndpoint);
  s.policy.push_back(r);
  return s;
}

Responder Make(Mode mode, Calls* calls, ResponderSettings s = {}) {
  if (s.policy.empty()) s = Settings(mode);
  s.mode = mode;
  std::vector<std::unique_ptr<Backend>> b;
  b.push_back(std::make_unique<RecordingBackend>(calls));
  return Responder(std::move(s), std::move(b));
}

TEST(Responder, ObserveModeNeverCallsABackendAndLogsWouldHaveDone) {
  Calls calls;
  Responder r = Make(Mode::kObserve, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  r.Advance(kT0 + 3 * kMicrosPerHour);
  EXPECT_TRUE(calls.log.empty());
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, kSuspendEndpoint);
  EXPECT_EQ(all[0].target.device, "10.0.0.5");
  EXPECT_EQ(all[0].target.peer, "203.0.113.9");
  EXPECT_EQ(all[0].target.port, 443);
  EXPECT_EQ(all[0].target.protocol, "tcp");
  EXPECT_EQ(all[0].state, State::kExpired);
  auto audit = r.TakeAudit();
  bool would = false;
  for (const auto& a : audit) would |= a.what == "would-have-done";
  EXPECT_TRUE(would);
}

TEST(Responder, ObservedActionSaysWhatWouldHaveBeenDoneAndUntilWhen) {
  Calls calls;
  Responder r = Make(Mode::kObserve, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  auto changed = r.TakeChanged();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].state, State::kObserved);
  EXPECT_EQ(changed[0].expires, kT0 + 2 * kMicrosPerHour);
  auto j = ActionToJson(changed[0]);
  EXPECT_EQ(j["state"], "observed");
  EXPECT_EQ(j["mode"], "observe");
  EXPECT_NE(j["would_have_done"].get<std::string>().find("203.0.113.9:443/tcp"), std::string::npos);
  EXPECT_EQ(j["reason"]["breach"], "br-" + std::to_string(kT0));
}

TEST(Responder, ConfirmModeWaitsAndExpiresWhenNobodyApproves) {
  Calls calls;
  Responder r = Make(Mode::kConfirm, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, State::kPending);
  r.Advance(kT0 + 29 * kMicrosPerMinute);
  EXPECT_EQ(r.Find(all[0].id)->state, State::kPending);
  r.Advance(kT0 + 31 * kMicrosPerMinute);
  EXPECT_EQ(r.Find(all[0].id)->state, State::kExpired);
  EXPECT_TRUE(calls.log.empty());
  EXPECT_FALSE(r.Approve(all[0].id, "alice", kT0 + 32 * kMicrosPerMinute).ok());
  EXPECT_TRUE(calls.log.empty());
}

TEST(Responder, ConfirmModeActsOnceApprovedForTheFullDuration) {
  Calls calls;
  Responder r = Make(Mode::kConfirm, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  std::string id = r.All()[0].id;
  Micros at = kT0 + 10 * kMicrosPerMinute;
  ASSERT_TRUE(r.Approve(id, "alice", at).ok());
  const Action* a = r.Find(id);
  EXPECT_EQ(a->state, State::kActive);
  EXPECT_EQ(a->approved_by, "alice");
  EXPECT_EQ(a->expires, at + 2 * kMicrosPerHour);
  ASSERT_EQ(calls.log.size(), 1u);
  EXPECT_EQ(calls.holds[0], 2 * kMicrosPerHour);
  EXPECT_FALSE(r.Approve(id, "bob", at).ok());  // not pending any more
  EXPECT_EQ(calls.log.size(), 1u);
  bool approved = false;
  for (const auto& rec : r.TakeAudit()) approved |= rec.what == "approved" && rec.who == "alice";
  EXPECT_TRUE(approved);
}

TEST(Responder, AutonomousModeActsOnceAndRevokesAtExpiry) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, State::kActive);
  EXPECT_EQ(all[0].approved_by, "policy:autonomous");
  ASSERT_EQ(calls.log.size(), 1u);
  EXPECT_EQ(calls.log[0], "apply " + all[0].id);
  r.Advance(kT0 + kMicrosPerHour);
  EXPECT_EQ(calls.log.size(), 1u);
  r.Advance(kT0 + 2 * kMicrosPerHour);
  EXPECT_EQ(r.Find(all[0].id)->state, State::kExpired);
  ASSERT_EQ(calls.log.size(), 2u);
  EXPECT_EQ(calls.log[1], "revoke " + all[0].id);
}

TEST(Responder, SecondBreachExtendsTheActionInsteadOfDuplicatingIt) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  Micros t1 = kT0 + 30 * kMicrosPerMinute;
  r.OnBreach(Beacon(t1), t1);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].expires, t1 + 2 * kMicrosPerHour);
  EXPECT_EQ(all[0].reasons.size(), 2u);
  ASSERT_EQ(calls.log.size(), 2u);  // apply, then re-apply with the longer hold
  EXPECT_EQ(calls.holds[1], 2 * kMicrosPerHour);
  // Still active past the first expiry, expired after the second.
  r.Advance(kT0 + 2 * kMicrosPerHour + kMicrosPerMinute);
  EXPECT_EQ(r.Find(all[0].id)->state, State::kActive);
  r.Advance(t1 + 2 * kMicrosPerHour);
  EXPECT_EQ(r.Find(all[0].id)->state, State::kExpired);
  // After expiry a new breach makes a new action (a new id, the same target).
  Micros t2 = t1 + 3 * kMicrosPerHour;
  r.OnBreach(Beacon(t2), t2);
  EXPECT_EQ(r.All().size(), 2u);
}

TEST(Responder, ActionIdsAreDeterministic) {
  Calls c1, c2;
  Responder a = Make(Mode::kObserve, &c1);
  Responder b = Make(Mode::kObserve, &c2);
  a.OnBreach(Beacon(kT0), kT0);
  b.OnBreach(Beacon(kT0), kT0);
  EXPECT_EQ(a.All()[0].id, b.All()[0].id);
  EXPECT_EQ(a.All()[0].id.substr(0, 4), "act-");
}

TEST(Responder, RateLimitStopsAFloodOfBreaches) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);  // max 5 an hour
  for (int i = 0; i < 8; ++i) {
    Micros t = kT0 + i * kMicrosPerSecond;
    r.OnBreach(Beacon(t, "10.0.0." + std::to_string(10 + i)), t);
  }
  int active = 0, limited = 0;
  for (const auto& a : r.All()) {
    if (a.state == State::kActive) ++active;
    if (a.state == State::kFailed && a.error.rfind("rate limit", 0) == 0) ++limited;
  }
  EXPECT_EQ(active, 5);
  EXPECT_EQ(limited, 3);
  EXPECT_EQ(calls.log.size(), 5u);
  // An hour later the budget is back.
  Micros later = kT0 + kMicrosPerHour + 10 * kMicrosPerSecond;
  // Within the hour a held-back target only gains the reason (no new record, no call) ...
  r.OnBreach(Beacon(kT0 + 30 * kMicrosPerMinute, "10.0.0.15"), kT0 + 30 * kMicrosPerMinute);
  EXPECT_EQ(r.All().size(), 8u);
  EXPECT_EQ(calls.log.size(), 5u);
  r.OnBreach(Beacon(later, "10.0.0.99"), later);
  EXPECT_EQ(calls.log.size(), 6u);
  // ... and once the budget is back it is acted on.
  r.OnBreach(Beacon(later + 1, "10.0.0.15"), later + 1);
  EXPECT_EQ(calls.log.size(), 7u);
}

TEST(Responder, CriticalInfrastructureIsNeverActedOn) {
  Calls calls;
  ResponderSettings s = Settings(Mode::kAutonomous);
  s.never_addresses.Add(*Cidr::Parse("10.0.1.0/24"));
  s.never_reason["10.0.1.0/24"] = "critical infrastructure: domain controllers";
  s.never_addresses.Add(*Cidr::Parse("198.51.100.53"));
  s.never_reason["198.51.100.53"] = "an essential service";
  Responder r = Make(Mode::kAutonomous, &calls, s);
  r.OnBreach(Beacon(kT0, "10.0.1.10"), kT0);                    // critical device
  r.OnBreach(Beacon(kT0, "10.0.0.5", "198.51.100.53"), kT0);    // essential peer
  r.OnBreach(Beacon(kT0 + 1, "10.0.1.10"), kT0 + 1);            // again: no new action
  EXPECT_TRUE(calls.log.empty());
  auto all = r.All();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& a : all) {
    EXPECT_EQ(a.state, State::kFailed);
    EXPECT_EQ(a.error.rfind("refused: ", 0), 0u) << a.error;
  }
  int named = 0;
  for (const auto& a : all) named += a.error.find("domain controllers") != std::string::npos;
  EXPECT_EQ(named, 1);  // the refusal says which list and why
}

TEST(Responder, FailingBackendLeavesTheActionFailedAndTheEngineGoesOn) {
  Calls calls;
  calls.fail = true;
  Responder r = Make(Mode::kAutonomous, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, State::kFailed);
  EXPECT_NE(all[0].error.find("backend down"), std::string::npos);
  ASSERT_EQ(all[0].results.size(), 1u);
  EXPECT_FALSE(all[0].results[0].ok);
  calls.fail = false;
  r.OnBreach(Beacon(kT0 + 5, "10.0.0.6"), kT0 + 5);
  bool active = false;
  for (const auto& a : r.All()) active |= a.state == State::kActive && a.target.device == "10.0.0.6";
  EXPECT_TRUE(active);
}

TEST(Responder, CancelRevokesAnActiveAction) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  std::string id = r.All()[0].id;
  ASSERT_TRUE(r.Cancel(id, "bob", kT0 + kMicrosPerMinute).ok());
  EXPECT_EQ(r.Find(id)->state, State::kCancelled);
  EXPECT_EQ(r.Find(id)->cancelled_by, "bob");
  ASSERT_EQ(calls.log.size(), 2u);
  EXPECT_EQ(calls.log[1], "revoke " + id);
  EXPECT_FALSE(r.Cancel(id, "bob", kT0 + 2 * kMicrosPerMinute).ok());
  EXPECT_EQ(r.Cancel("act-nope", "bob", kT0).code(), StatusCode::kNotFound);
}

TEST(Responder, ReplayRunsTheStateMachineOnEventTimeWithoutCallingBackends) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);
  r.set_simulate(true);
  Micros day = 86400 * kMicrosPerSecond;
  r.OnBreach(Beacon(kT0 - day), kT0 - day);  // a month-old log replayed now: event time rules
  r.Advance(kT0 - day + kMicrosPerHour);
  auto a = r.All()[0];
  EXPECT_EQ(a.state, State::kActive);
  EXPECT_EQ(a.created, kT0 - day);
  EXPECT_EQ(a.expires, kT0 - day + 2 * kMicrosPerHour);
  r.Advance(kT0 - day + 2 * kMicrosPerHour);
  EXPECT_EQ(r.Find(a.id)->state, State::kExpired);
  EXPECT_TRUE(calls.log.empty());
  EXPECT_EQ(r.Find(a.id)->results[0].backend, "simulated");
}

TEST(Responder, WeakAndLowScoreAndOtherModelBreachesDoNotAct) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);
  auto weak = Beacon(kT0);
  weak.weak = true;
  r.OnBreach(weak, kT0);
  r.OnBreach(Beacon(kT0, "10.0.0.5", "203.0.113.9", 69), kT0);
  auto cloud = Beacon(kT0);
  cloud.model = "cloud/discovery-burst";
  r.OnBreach(cloud, kT0);
  EXPECT_TRUE(r.All().empty());
  EXPECT_TRUE(calls.log.empty());
}

TEST(Responder, IncidentScoreQuarantinesTheDevices) {
  Calls calls;
  ResponderSettings s = Settings(Mode::kAutonomous);
  PolicyRule q;
  q.incident_score = 90;
  q.action = std::string(kQuarantineDevice);
  s.policy.push_back(q);
  Responder r = Make(Mode::kAutonomous, &calls, s);
  nlohmann::json inc = {{"id", "inc-1"},
                        {"score", 95},
                        {"title", "beacon then exfil"},
                        {"entities", {{{"type", "device"}, {"id", "10.0.0.5"}},
                                      {{"type", "external"}, {"id", "203.0.113.9"}}}}};
  r.OnIncident(inc, kT0);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, kQuarantineDevice);
  EXPECT_EQ(all[0].target.device, "10.0.0.5");
  EXPECT_EQ(all[0].reasons[0].incident, "inc-1");
  inc["score"] = 80;
  inc["id"] = "inc-2";
  inc["entities"][0]["id"] = "10.0.0.6";
  r.OnIncident(inc, kT0);
  EXPECT_EQ(r.All().size(), 1u);
}

// enforce-pattern-of-life keeps what the device did before: its known peers come from the
// session's event log (set_known_peers), seen at least `settle` before the breach, never
// the breach's own peer, at most max_peers; a second breach extends the one action.
TEST(Responder, PatternOfLifeKeepsTheKnownPeersFromBeforeTheBreach) {
  Calls calls;
  ResponderSettings s = Settings(Mode::kAutonomous);
  s.policy[0].action = std::string(kEnforcePatternOfLife);
  s.pattern_settle = 24 * kMicrosPerHour;
  s.pattern_max_peers = 2;
  Responder r = Make(Mode::kAutonomous, &calls, s);
  std::vector<std::pair<std::string, Micros>> asked;
  r.set_known_peers([&](const std::string& device, Micros before, size_t limit) {
    asked.emplace_back(device, before);
    EXPECT_EQ(limit, 3u);  // one spare: the breach's peer may be among them
    return std::vector<std::string>{"203.0.113.9", "10.0.0.53", "192.0.2.80"};
  });
  r.OnBreach(Beacon(kT0), kT0);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, kEnforcePatternOfLife);
  EXPECT_EQ(all[0].target.device, "10.0.0.5");
  EXPECT_EQ(all[0].target.allowed, (std::vector<std::string>{"10.0.0.53", "192.0.2.80"}));
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], std::make_pair(std::string("10.0.0.5"), kT0 - 24 * kMicrosPerHour));
  // The next breach on the device extends the same action.
  r.OnBreach(Beacon(kT0 + kMicrosPerHour), kT0 + kMicrosPerHour);
  EXPECT_EQ(r.All().size(), 1u);
  // Peers listed in the breach itself win over the log.
  detect::Breach b = Beacon(kT0, "10.0.0.7");
  b.details["known_peers"] = {"198.51.100.4"};
  r.OnBreach(b, kT0);
  const Action* a = nullptr;
  for (const auto& x : r.All())
    if (x.target.device == "10.0.0.7") a = r.Find(x.id);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->target.allowed, std::vector<std::string>{"198.51.100.4"});
}

TEST(Responder, PatternOfLifeForAnIncidentLeavesOutItsExternalEntities) {
  Calls calls;
  ResponderSettings s = Settings(Mode::kAutonomous);
  PolicyRule q;
  q.incident_score = 90;
  q.action = std::string(kEnforcePatternOfLife);
  s.policy = {q};
  Responder r = Make(Mode::kAutonomous, &calls, s);
  Micros before = 0;
  r.set_known_peers([&](const std::string&, Micros b, size_t) {
    before = b;
    return std::vector<std::string>{"203.0.113.9", "10.0.0.53"};
  });
  nlohmann::json inc = {{"id", "inc-1"},
                        {"score", 95},
                        {"start", FormatRfc3339(kT0)},
                        {"entities", {{{"type", "device"}, {"id", "10.0.0.5"}},
                                      {{"type", "external"}, {"id", "203.0.113.9"}}}}};
  r.OnIncident(inc, kT0 + kMicrosPerHour);
  auto all = r.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].target.allowed, std::vector<std::string>{"10.0.0.53"});
  EXPECT_EQ(before, kT0 - 24 * kMicrosPerHour);
}

TEST(Responder, SaveAndLoadKeepLiveActionsSoASecondBreachStillExtends) {
  Calls calls;
  Responder r = Make(Mode::kAutonomous, &calls);
  r.OnBreach(Beacon(kT0), kT0);
  std::string saved = r.Save();
  Calls calls2;
  Responder r2 = Make(Mode::kAutonomous, &calls2);
  ASSERT_TRUE(r2.Load(saved).ok());
  EXPECT_TRUE(calls2.log.empty());  // not re-applied on load
  r2.OnBreach(Beacon(kT0 + kMicrosPerMinute), kT0 + kMicrosPerMinute);
  EXPECT_EQ(r2.All().size(), 1u);
  EXPECT_EQ(r2.All()[0].expires, kT0 + kMicrosPerMinute + 2 * kMicrosPerHour);
  EXPECT_FALSE(r2.Load("{not json\n").ok());
}

TEST(Responder, SettingsComeFromConfigAndBadPolicyIsAnError) {
  auto loaded = config::LoadConfigText(R"(
respond:
  mode: confirm
  max_actions_per_hour: 3
  critical:
    - {address: 10.9.0.0/16, reason: plant network}
  policy:
    - {model: network/beaconing, min_score: 60, action: block-connection, duration: 10m}
)",
                                       "test.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.ToText();
  auto s = SettingsFromConfig(*loaded.config);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->mode, Mode::kConfirm);
  EXPECT_EQ(s->max_actions_per_hour, 3);
  ASSERT_EQ(s->policy.size(), 1u);
  EXPECT_EQ(s->policy[0].duration, 10 * kMicrosPerMinute);
  EXPECT_TRUE(s->never_addresses.Contains(*IpAddr::Parse("10.9.3.4")));
  auto bad = config::LoadConfigText("respond:\n  policy:\n    - {model: x, action: nuke-it}\n", "b.yaml");
  ASSERT_TRUE(bad.ok());
  auto bs = SettingsFromConfig(*bad.config);
  EXPECT_FALSE(bs.ok());
  EXPECT_NE(bs.status().message().find("nuke-it"), std::string::npos);
  // The defaults load and default to observe.
  auto d = SettingsFromConfig(config::Config::Defaults());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->mode, Mode::kObserve);
}

TEST(ActionJson, RoundTripsEveryField) {
  Action a;
  a.id = "act-1";
  a.kind = std::string(kBlockConnection);
  a.target.device = "10.0.0.5";
  a.target.peer = "203.0.113.9";
  a.target.port = 8080;
  a.target.protocol = "tcp";
  a.target.direction = "inbound";
  a.mode = Mode::kConfirm;
  a.state = State::kActive;
  a.reasons.push_back({"br-1", "", "network/beaconing", 88, kT0, "why"});
  a.created = kT0;
  a.expires = kT0 + kMicrosPerHour;
  a.duration = kMicrosPerHour;
  a.approved_by = "alice";
  a.results.push_back({"nftables", "apply", true, "ok", kT0});
  auto back = ActionFromJson(ActionToJson(a));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ActionToJson(*back), ActionToJson(a));
  auto j = ActionToJson(a);
  j["state"] = "exploded";
  EXPECT_FALSE(ActionFromJson(j).ok());
}

}  // namespace
}  // namespace vigil::respond
