// Tests of the seven cloud models on the synthetic account (cloud_synthetic.h): four weeks of
// an administrator, a CI role and two developers, then a seven-step takeover of dev-bob.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "detect/cloud_synthetic.h"
#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect::cloud {
namespace {

using harness::MakeModel;

constexpr const char* kModels[] = {
    "cloud/unusual-credential-source", "cloud/unusual-cli-activity",
    "cloud/rare-password-reset",       "cloud/discovery-burst",
    "cloud/iam-privilege-change",      "cloud/unusual-compute-creation",
    "cloud/s3-tampering"};

struct Replayed {
  std::unique_ptr<Model> model;
  std::unique_ptr<harness::TestContext> ctx;
};

Replayed Replay(std::string_view name, const SyntheticAccount& acct) {
  Replayed r;
  r.model = MakeModel(name);
  if (!r.model) return r;
  r.ctx = std::make_unique<harness::TestContext>(r.model->info());
  r.ctx->set_learning_until(acct.start + 3 * kMicrosPerDay);  // learning.period 72h
  harness::FeedAll(*r.model, *r.ctx, acct.events);
  return r;
}

std::string Dump(const std::vector<Breach>& bs) {
  std::string s;
  for (const auto& b : bs) {
    s += FormatRfc3339(b.time) + " " + b.model + " " + std::to_string(b.score) + " " + b.entity.id;
    for (const auto& r : b.reasons) s += "\n    " + r;
    s += "\n";
  }
  return s;
}

TEST(CloudTakeover, EachOfTheSevenStepsIsItsOwnBreachOnTheVictimAndNothingElseFires) {
  auto acct = GenerateAccount(28, /*with_attack=*/true);
  ASSERT_EQ(acct->steps.size(), 7u);
  for (const AttackStep& step : acct->steps) {
    SCOPED_TRACE(step.model);
    Replayed r = Replay(step.model, *acct);
    ASSERT_TRUE(r.model) << "model not registered";
    EXPECT_TRUE(r.ctx->undeclared_params().empty());
    std::vector<Breach> all = r.ctx->Breaches();
    // Nothing in four weeks of benign activity, and nothing on any other identity.
    for (const Breach& b : all) {
      EXPECT_EQ(b.entity.id, SyntheticAccount::kVictim) << Dump(all);
      EXPECT_GE(b.time, acct->attack_start) << Dump(all);
    }
    // The step itself: the right identity, source and time window.
    bool hit = false;
    for (const Breach& b : all) {
      if (b.time < step.begin || b.time > step.end) continue;
      hit = true;
      EXPECT_EQ(b.model, step.model);
      EXPECT_EQ(b.entity.type, "identity");
      ASSERT_TRUE(b.peer.has_value());
      EXPECT_EQ(b.peer->id, SyntheticAccount::kAttackerIp);
      EXPECT_EQ(b.peer->type, "external");
      EXPECT_GE(b.reasons.size(), 2u);
      EXPECT_FALSE(b.mitre.empty());
      EXPECT_EQ(b.details["identity_arn"], SyntheticAccount::kVictim);
      ASSERT_EQ(b.events.size(), 1u);
      EXPECT_EQ(b.events[0].kind, "cloud-api");
    }
    EXPECT_TRUE(hit) << "no breach in the step's window; emitted:\n" << [&] {
      std::vector<Breach> em;
      for (const auto& x : r.ctx->emitted())
        if (x.breach.time >= acct->attack_start) em.push_back(x.breach);
      return Dump(em);
    }();
  }
}

TEST(CloudTakeover, TheBenignBaselineAloneRaisesNoBreach) {
  auto acct = GenerateAccount(35, /*with_attack=*/false);
  for (const char* name : kModels) {
    SCOPED_TRACE(name);
    Replayed r = Replay(name, *acct);
    ASSERT_TRUE(r.model);
    EXPECT_TRUE(r.ctx->Breaches().empty()) << Dump(r.ctx->Breaches());
  }
}

TEST(CloudIamPrivilegeChange, TheAdministratorsMonthlyChangeScoresLow) {
  auto acct = GenerateAccount(28, /*with_attack=*/false);
  Replayed r = Replay("cloud/iam-privilege-change", *acct);
  ASSERT_TRUE(r.model);
  int admin_changes = 0;
  for (const auto& x : r.ctx->emitted()) {
    if (x.breach.entity.id != SyntheticAccount::kAdmin) continue;
    ++admin_changes;
    EXPECT_LT(x.breach.score, 40) << Dump(std::vector<Breach>{x.breach});
  }
  // Days 9 and 23 both reached the model (it judged them) and both stayed low.
  EXPECT_GE(admin_changes, 2);
}

TEST(CloudRarePasswordReset, TheAdministratorsResetOfANewHireIsNotABreach) {
  auto acct = GenerateAccount(28, /*with_attack=*/false);
  Replayed r = Replay("cloud/rare-password-reset", *acct);
  ASSERT_TRUE(r.model);
  bool judged = false;
  for (const auto& x : r.ctx->emitted()) {
    if (x.breach.entity.id != SyntheticAccount::kAdmin) continue;
    judged = true;
    EXPECT_LT(x.breach.score, 60);
    EXPECT_EQ(x.breach.details["target_user"], "new-hire-1");
  }
  EXPECT_TRUE(judged);
}

TEST(CloudModels, StateSurvivesACheckpointAndGivesTheSameBreaches) {
  auto acct = GenerateAccount(28, /*with_attack=*/true);
  size_t cut = 0;
  while (cut < acct->events.size() && acct->events[cut].time < acct->attack_start) ++cut;
  for (const char* name : kModels) {
    SCOPED_TRACE(name);
    Replayed whole = Replay(name, *acct);
    // The same, stopped before the attack, saved, loaded into a fresh model, resumed.
    auto first = MakeModel(name);
    harness::TestContext ctx1(first->info());
    ctx1.set_learning_until(acct->start + 3 * kMicrosPerDay);
    std::vector<Event> before(acct->events.begin(), acct->events.begin() + static_cast<long>(cut));
    std::vector<Event> after(acct->events.begin() + static_cast<long>(cut), acct->events.end());
    harness::FeedAll(*first, ctx1, before, kMicrosPerMinute, false);
    learn::StateWriter w;
    first->Save(w);
    auto second = MakeModel(name);
    learn::StateReader rd(w.data());
    ASSERT_TRUE(second->Load(rd).ok());
    EXPECT_TRUE(rd.at_end());
    harness::TestContext ctx2(second->info());
    ctx2.set_learning(false);
    harness::FeedAll(*second, ctx2, after);
    std::vector<Breach> a = whole.ctx->Breaches(), b = ctx2.Breaches();
    ASSERT_EQ(a.size(), b.size()) << Dump(a) << "---\n" << Dump(b);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].time, b[i].time);
      EXPECT_EQ(a[i].score, b[i].score);
    }
    // Garbage is rejected, not trusted.
    auto third = MakeModel(name);
    std::string junk(7, '\xff');
    learn::StateReader bad(junk);
    EXPECT_FALSE(third->Load(bad).ok());
  }
}

// In the learning period a breach would be dropped, so the models do not build one (the
// reasons, the details) at all. What they learn must not depend on it: a model that learned
// the four weeks in silence judges the takeover exactly as one that judged all along.
TEST(CloudModels, InLearningNothingIsEmittedAndTheSameIsLearned) {
  auto acct = GenerateAccount(28, /*with_attack=*/true);
  for (const char* name : kModels) {
    SCOPED_TRACE(name);
    auto silent = MakeModel(name), judging = MakeModel(name);
    ASSERT_TRUE(silent && judging);
    harness::TestContext learning(silent->info()), not_learning(judging->info());
    learning.set_learning_until(acct->attack_start);
    not_learning.set_learning(false);
    harness::FeedAll(*silent, learning, acct->events);
    harness::FeedAll(*judging, not_learning, acct->events);
    auto from_attack = [&](const harness::TestContext& ctx) {
      std::vector<Breach> out;
      for (const auto& x : ctx.emitted())
        if (x.breach.time >= acct->attack_start) out.push_back(x.breach);
      return out;
    };
    std::vector<Breach> a = from_attack(learning), b = from_attack(not_learning);
    EXPECT_EQ(a.size(), learning.emitted().size()) << "emitted during learning";
    ASSERT_FALSE(a.empty()) << "the takeover step was not judged";
    ASSERT_EQ(a.size(), b.size()) << Dump(a) << "---\n" << Dump(b);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].time, b[i].time);
      EXPECT_EQ(a[i].score, b[i].score);
      EXPECT_EQ(a[i].reasons, b[i].reasons);
    }
  }
}

TEST(CloudModels, ServicesAndUnknownIdentitiesAreIgnored) {
  harness::EventFactory f;
  for (const char* name : kModels) {
    auto m = MakeModel(name);
    ASSERT_TRUE(m);
    harness::TestContext ctx(m->info());
    ctx.set_learning(false);
    for (int i = 0; i < 300; ++i) {
      CloudApiBody b;
      b.event_source = "iam.amazonaws.com";
      b.event_name = i % 2 ? "AttachRolePolicy" : "ListRoles";
      b.identity_type = "AWSService";
      b.not_a_person = true;
      b.source_ip = "cloudformation.amazonaws.com";
      Event e = f.Other(harness::kTestEpoch + i * kMicrosPerSecond, EventKind::kCloudApi, b,
                        {EntityType::kIdentity, "cloudformation.amazonaws.com", {}});
      harness::Feed(*m, ctx, e);
    }
    EXPECT_TRUE(ctx.emitted().empty()) << name;
  }
}

}  // namespace
}  // namespace vigil::detect::cloud

namespace vigil::detect::cloud {
namespace {

TEST(CloudSynthetic, WritesOneCloudTrailRecordALinePerEvent) {
  auto acct = GenerateAccount(7, /*with_attack=*/true);
  std::string text = ToCloudTrailJsonl(*acct);
  size_t lines = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    auto j = nlohmann::json::parse(text.substr(pos, nl - pos), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << text.substr(pos, 200);
    EXPECT_EQ(j["eventTime"], FormatRfc3339(acct->events[lines].time));
    EXPECT_EQ(j["eventName"], std::string(acct->events[lines].As<CloudApiBody>()->event_name));
    ++lines;
    pos = nl + 1;
  }
  EXPECT_EQ(lines, acct->events.size());
  // A developer aid: VIGIL_CLOUD_SYNTH_OUT=path writes the four-week account with the attack.
  if (const char* out = std::getenv("VIGIL_CLOUD_SYNTH_OUT")) {
    std::ofstream(out) << ToCloudTrailJsonl(*GenerateAccount(28, true));
  }
}

}  // namespace
}  // namespace vigil::detect::cloud
