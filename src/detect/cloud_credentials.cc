// cloud/unusual-credential-source and cloud/unusual-cli-activity: how an identity gets in.
//
// unusual-credential-source. Behaviour: a console login, or the first call made with an
// access key the identity has not used before, from a source (ASN or /24, country or /16,
// source class) that this identity has never used and that is rare for the whole account.
// Statistic: Good-Turing novelty counted in days (DailyNovelty) per identity, plus the same
// over every identity of the account. Why: stolen credentials are used from the attacker's
// infrastructure; an identity that logged in from two offices for a month rarely shows up
// from a third network, and a network nobody in the account uses is rarer still. An
// identity whose sources change every day (a roaming laptop, CI runners) has a high p_new and
// is not surprised. Credentials with no history are not judged.
//
// unusual-cli-activity. Behaviour: an identity starts programmatic access (aws-cli, boto,
// SDKs, terraform) when its history is console-only, or makes programmatic calls from a
// source it never used programmatically. Statistic: days of console-only history (Laplace:
// p = 1 / (active days + 1)) and day-counted novelty of programmatic sources. Why: an
// attacker who phished a console password turns it into keys and scripts; a person who
// always clicks in the console does not, one day, start running the CLI from a new network.
#include <algorithm>

#include "detect/cloud_common.h"
#include "detect/model.h"
#include "detect/score.h"

namespace vigil::detect::cloud {
namespace {

class UnusualCredentialSource : public Model {
 public:
  UnusualCredentialSource() {
    info_.name = "cloud/unusual-credential-source";
    info_.description =
        "A console login or first use of an access key from a source never seen for the "
        "identity and rare for the account.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1078.004"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_active_days", 5, "Days of history an identity needs before its sources are judged"},
        {"max_identities", 100000, "Identities remembered (least recently seen dropped first)"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    State& s = ids_.Get(IdentityKey(e, *b), e.time);
    Account& a = accounts_.Get(b->account_id, e.time);
    bool login = b->event_name == "ConsoleLogin" && b->console_login_result != "Failure";
    uint64_t key = b->access_key_id.empty() ? 0 : learn::HashValue(b->access_key_id);
    bool new_key = key != 0 && !s.keys.Contains(key);
    if ((login || new_key) && !ctx.learning() && s.where.active.days >= ctx.param("min_active_days")) {
      Judge(e, *b, s, a, login, ctx);
    }
    if (key != 0) s.keys.Observe(key, e.time);
    s.where.Learn(*b, e.time);
    if (b->source_key != 0) {
      a.sources.Observe(b->source_key, e.time);
      a.regions.Observe(b->source_region_key, e.time);
    }
  }

  void Save(learn::StateWriter& w) const override {
    ids_.Save(w);
    accounts_.Save(w);
  }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    accounts_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/unusual-credential-source state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(4096) + accounts_.MemoryUsage(8192); }

 private:
  struct State {
    Whereabouts where;
    learn::NoveltySet keys{32};
    void Save(learn::StateWriter& w) const {
      where.Save(w);
      keys.Save(w);
    }
    void Load(learn::StateReader& r) {
      where.Load(r);
      keys.Load(r);
    }
  };
  struct Account {
    DailyNovelty sources{4096};
    DailyNovelty regions{1024};
    void Save(learn::StateWriter& w) const {
      sources.Save(w);
      regions.Save(w);
    }
    void Load(learn::StateReader& r) {
      sources.Load(r);
      regions.Load(r);
    }
  };

  void Judge(const Event& e, const CloudApiBody& b, const State& s, const Account& a, bool login,
             ModelContext& ctx) {
    std::string where_why;
    double bits = s.where.SourceBits(b, e.time, &where_why);
    if (bits <= 0) return;
    auto acc = a.sources.Peek(b.source_key, e.time);
    std::string account_why;
    if (acc.new_today) {
      bits += std::min(5.0, SurpriseBits(acc.v.p_new));
      auto reg = a.regions.Peek(b.source_region_key, e.time);
      if (reg.new_today) bits += std::min(2.0, 0.5 * SurpriseBits(reg.v.p_new));
      account_why = "no identity in account " + std::string(b.account_id) +
                    " has used this source before (" + std::to_string(a.sources.distinct()) +
                    " sources known for the account)";
    } else {
      bits *= 0.6;  // other identities of the account use it: an office, a VPN
      account_why = "other identities of the account have used this source on " +
                    std::to_string(acc.v.value_count) + " day(s)";
    }
    std::string who = WhoName(e);
    std::string what = login ? "console login" : "first use of access key " + std::string(b.access_key_id);
    std::vector<std::string> reasons = {
        who + ": " + what + " from " + DescribeSource(b), where_why, account_why};
    Breach br = MakeBreach(info_.name, e, b, bits, std::move(reasons), info_.mitre);
    br.details["known_sources"] = s.where.sources.distinct();
    br.details["active_days"] = s.where.active.days;
    if (!gate_.Allow(e.entity.id, e.time, br.score)) return;
    ctx.Emit(std::move(br));
  }

  ModelInfo info_;
  KeyedTable<State> ids_{100'000};
  KeyedTable<Account> accounts_{10'000};
  EmitGate gate_;
};

class UnusualCliActivity : public Model {
 public:
  UnusualCliActivity() {
    info_.name = "cloud/unusual-cli-activity";
    info_.description =
        "An identity starts programmatic access (CLI, SDK, terraform) when its history is "
        "console-only, or from a host it never used.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1059.009"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_active_days", 3, "Days of history an identity needs before it is judged"},
        {"max_identities", 100000, "Identities remembered (least recently seen dropped first)"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    State& s = ids_.Get(IdentityKey(e, *b), e.time);
    bool prog = IsProgrammatic(b->ua_family);
    if (prog && !ctx.learning() && s.where.active.days >= ctx.param("min_active_days"))
      Judge(e, *b, s, ctx);
    s.where.Learn(*b, e.time);
    if (prog) {
      s.prog_days.Touch(e.time);
      s.families.Observe(static_cast<uint64_t>(b->ua_family) + 1, e.time);
      if (b->source_key != 0) s.prog_sources.Observe(b->source_key, e.time);
    } else if (b->ua_family == CloudUaFamily::kConsole) {
      s.console_days.Touch(e.time);
    }
  }

  void Save(learn::StateWriter& w) const override { ids_.Save(w); }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/unusual-cli-activity state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(4096); }

 private:
  struct State {
    Whereabouts where;
    DayCounter prog_days;
    DayCounter console_days;
    DailyNovelty families{8};
    DailyNovelty prog_sources{64};
    void Save(learn::StateWriter& w) const {
      where.Save(w);
      prog_days.Save(w);
      console_days.Save(w);
      families.Save(w);
      prog_sources.Save(w);
    }
    void Load(learn::StateReader& r) {
      where.Load(r);
      prog_days.Load(r);
      console_days.Load(r);
      families.Load(r);
      prog_sources.Load(r);
    }
  };

  void Judge(const Event& e, const CloudApiBody& b, const State& s, ModelContext& ctx) {
    std::string who = WhoName(e);
    std::vector<std::string> reasons;
    double bits = 0;
    // Console-only until today (the first programmatic day is being learned right now).
    bool console_only =
        s.prog_days.days == 0 || (s.prog_days.days == 1 && s.prog_days.Today(e.time));
    if (console_only) {
      if (s.console_days.days == 0) return;  // no console history either: nothing to compare
      bits = 1.5 * SurpriseBits(1.0 / (s.where.active.days + 1.0));
      reasons.push_back(who + " made a programmatic call (" + CloudUaFamilyName(b.ua_family) +
                        ", " + std::string(b.event_name) + ") from " + DescribeSource(b));
      reasons.push_back("its history is console-only: " + std::to_string(s.console_days.days) +
                        " console day(s) out of " + std::to_string(s.where.active.days) +
                        " active day(s), no CLI or SDK use");
    } else {
      auto src = s.prog_sources.Peek(b.source_key, e.time);
      if (b.source_key == 0 || !src.new_today) return;
      bits = std::min(8.0, SurpriseBits(src.v.p_new));
      reasons.push_back(who + " made a programmatic call (" + CloudUaFamilyName(b.ua_family) +
                        ", " + std::string(b.event_name) + ") from " + DescribeSource(b) +
                        ", a host it never used programmatically");
      reasons.push_back("its programmatic calls came from " +
                        std::to_string(s.prog_sources.distinct()) + " source(s) over " +
                        std::to_string(s.prog_days.days) + " day(s)");
      auto fam = s.families.Peek(static_cast<uint64_t>(b.ua_family) + 1, e.time);
      if (fam.new_today) bits += std::min(2.0, 0.5 * SurpriseBits(fam.v.p_new));
    }
    std::string where_why;
    double src_bits = s.where.SourceBits(b, e.time, &where_why);
    if (console_only) {
      bits += src_bits;
      if (src_bits > 0) reasons.push_back(where_why);
    }
    if (bits <= 0) return;
    Breach br = MakeBreach(info_.name, e, b, bits, std::move(reasons), info_.mitre);
    br.details["console_days"] = s.console_days.days;
    br.details["programmatic_days"] = s.prog_days.days;
    if (!gate_.Allow(e.entity.id, e.time, br.score, kMicrosPerDay)) return;
    ctx.Emit(std::move(br));
  }

  ModelInfo info_;
  KeyedTable<State> ids_{100'000};
  EmitGate gate_;
};

}  // namespace

VIGIL_REGISTER_MODEL(UnusualCredentialSource);
VIGIL_REGISTER_MODEL(UnusualCliActivity);

}  // namespace vigil::detect::cloud
