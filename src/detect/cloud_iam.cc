// cloud/rare-password-reset and cloud/iam-privilege-change: changes to who can do what.
//
// rare-password-reset. Behaviour: ChangePassword, UpdateLoginProfile, CreateLoginProfile,
// DeleteLoginProfile (and the console's PasswordUpdated) by an actor that rarely or never
// does this, worse when it resets another user's password, from a new source or by CLI.
// Statistic: the share of the actor's active days with a password change, Laplace-smoothed,
// p = (password days + 1) / (active days + 2), in bits; plus the actor's source novelty.
// Why: attackers reset passwords to lock owners out or to gain console access; an
// administrator who resets a colleague's password once a month has p around 1/10 (3 bits)
// and from the usual place scores low.
//
// iam-privilege-change. Behaviour: policy attach/put, role trust changes, new users, access
// keys or roles, group membership, policy versions, by an actor for whom such changes are
// rare; more when the grant is administrative (AdministratorAccess, IAMFullAccess, "*"
// actions) or targets the actor itself, and when it comes from a new source.
// Statistic: the same day-share rarity, novelty of the IAM verb for the actor, source
// novelty, fixed extra bits for admin grants (+3) and self-targeting (+3).
// Why: escalation and persistence in AWS are IAM writes. A benign administrator's monthly
// change (a known verb, from the office, to someone else, non-admin) stays near 3-4 bits.
#include <algorithm>

#include "detect/cloud_common.h"
#include "detect/model.h"
#include "detect/score.h"

namespace vigil::detect::cloud {
namespace {

bool IsPasswordCall(std::string_view n) {
  return n == "ChangePassword" || n == "UpdateLoginProfile" || n == "CreateLoginProfile" ||
         n == "DeleteLoginProfile" || n == "PasswordUpdated";
}

bool IsIamChange(const CloudApiBody& b) {
  if (b.event_source != "iam.amazonaws.com") return false;
  static constexpr std::string_view kCalls[] = {
      "AttachUserPolicy", "AttachRolePolicy",      "AttachGroupPolicy",       "PutUserPolicy",
      "PutRolePolicy",    "PutGroupPolicy",        "UpdateAssumeRolePolicy",  "CreateUser",
      "CreateAccessKey",  "CreateRole",            "AddUserToGroup",          "CreatePolicyVersion",
      "SetDefaultPolicyVersion", "CreatePolicy",   "PutUserPermissionsBoundary",
      "DeleteUserPermissionsBoundary", "DeleteRolePermissionsBoundary", "UpdateAccessKey",
      "CreateServiceSpecificCredential", "AddRoleToInstanceProfile"};
  for (auto c : kCalls)
    if (b.event_name == c) return true;
  return false;
}

// The user or role the call acts on, from requestParameters.
std::string_view TargetOf(const CloudApiBody& b) {
  std::string_view t = JsonMember(b.request_parameters, "userName");
  if (t.empty()) t = JsonMember(b.request_parameters, "roleName");
  if (t.empty()) t = JsonMember(b.request_parameters, "groupName");
  return t;
}

// The actor's own user or role name: IAM user name, or the role of an assumed-role session.
std::string_view ActorName(const CloudApiBody& b) {
  if (!b.user_name.empty() && b.identity_type == "IAMUser") return b.user_name;
  std::string_view arn = b.principal_arn;
  if (b.identity_type == "IAMUser") {
    size_t p = arn.rfind('/');
    return p == std::string_view::npos ? std::string_view{} : arn.substr(p + 1);
  }
  size_t p = arn.find(":assumed-role/");
  if (p == std::string_view::npos) return {};
  std::string_view rest = arn.substr(p + 14);
  return rest.substr(0, rest.find('/'));
}

bool IsAdminGrant(const CloudApiBody& b) {
  std::string_view rp = b.request_parameters;
  return rp.find("/AdministratorAccess") != std::string_view::npos ||
         rp.find("/IAMFullAccess") != std::string_view::npos ||
         rp.find("/PowerUserAccess") != std::string_view::npos ||
         rp.find("Action\\\":\\\"*\\\"") != std::string_view::npos ||
         rp.find("\"Action\":\"*\"") != std::string_view::npos ||
         rp.find("Action\\\":[\\\"*\\\"]") != std::string_view::npos ||
         rp.find("iam:*") != std::string_view::npos;
}

// Per-actor state shared by both models' shape: where they work from, on how many days they
// were active, and on how many of those days they made this kind of change.
struct ActorState {
  Whereabouts where;
  DayCounter action_days;
  learn::NoveltySet verbs{64};
  void Save(learn::StateWriter& w) const {
    where.Save(w);
    action_days.Save(w);
    verbs.Save(w);
  }
  void Load(learn::StateReader& r) {
    where.Load(r);
    action_days.Load(r);
    verbs.Load(r);
  }
};

// Rarity of the action for the actor, in bits, with "normal" in words.
double RarityBits(const ActorState& s, Micros t, std::string* normal, std::string_view what) {
  uint32_t active = s.where.active.days;
  uint32_t done = s.action_days.days - (s.action_days.Today(t) ? 1 : 0);
  double p = (done + 1.0) / (active + 2.0);
  *normal = std::string(what) + " on " + std::to_string(done) + " of " + std::to_string(active) +
            " active day(s) before (" + Pct(p) + " of days, smoothed)";
  return SurpriseBits(p);
}

class RarePasswordReset : public Model {
 public:
  RarePasswordReset() {
    info_.name = "cloud/rare-password-reset";
    info_.description =
        "Password and login-profile changes (own or others') that are rare for the actor.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1098"};
    info_.default_threshold = 60;
    info_.params = {{"max_identities", 100000, "Identities remembered"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    ActorState& s = ids_.Get(IdentityKey(e, *b), e.time);
    bool pw = IsPasswordCall(b->event_name);
    if (pw && !ctx.learning()) Judge(e, *b, s, ctx);
    s.where.Learn(*b, e.time);
    if (pw) s.action_days.Touch(e.time);
  }
  void Save(learn::StateWriter& w) const override { ids_.Save(w); }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/rare-password-reset state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(4096); }

 private:
  void Judge(const Event& e, const CloudApiBody& b, const ActorState& s, ModelContext& ctx) {
    std::string normal;
    double bits = RarityBits(s, e.time, &normal, "password or login-profile changes");
    std::string who = WhoName(e);
    std::string_view target = JsonMember(b.request_parameters, "userName");
    bool other = !target.empty() && target != ActorName(b);
    std::vector<std::string> reasons = {
        who + " called " + std::string(b.event_name) +
            (other ? " on another user, " + std::string(target) : std::string(" on itself")) +
            " from " + DescribeSource(b),
        who + " made " + normal};
    if (other) bits += 2;
    if (IsProgrammatic(b.ua_family)) {
      bits += 1;
      reasons.push_back(std::string("the change was scripted (") + CloudUaFamilyName(b.ua_family) +
                        "), not made in the console");
    }
    std::string where_why;
    double src = s.where.SourceBits(b, e.time, &where_why);
    if (src > 0) {
      bits += src;
      reasons.push_back(where_why);
    }
    Breach br = MakeBreach(info_.name, e, b, bits, std::move(reasons), info_.mitre);
    if (other) br.details["target_user"] = std::string(target);
    if (!gate_.Allow(e.entity.id, e.time, br.score)) return;
    ctx.Emit(std::move(br));
  }

  ModelInfo info_;
  KeyedTable<ActorState> ids_{100'000};
  EmitGate gate_;
};

class IamPrivilegeChange : public Model {
 public:
  IamPrivilegeChange() {
    info_.name = "cloud/iam-privilege-change";
    info_.description =
        "IAM policy attach/put, trust changes, new users, keys or roles and group changes that "
        "are rare for the actor; higher for admin grants and grants to itself.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1098", "T1098.003", "T1136.003", "T1098.001"};
    info_.default_threshold = 60;
    info_.params = {{"max_identities", 100000, "Identities remembered"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    ActorState& s = ids_.Get(IdentityKey(e, *b), e.time);
    bool change = IsIamChange(*b);
    if (change && !ctx.learning()) Judge(e, *b, s, ctx);
    s.where.Learn(*b, e.time);
    if (change) {
      s.action_days.Touch(e.time);
      s.verbs.Observe(learn::HashValue(b->event_name), e.time);
    }
  }
  void Save(learn::StateWriter& w) const override { ids_.Save(w); }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/iam-privilege-change state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(4096); }

 private:
  void Judge(const Event& e, const CloudApiBody& b, const ActorState& s, ModelContext& ctx) {
    std::string normal;
    double bits = RarityBits(s, e.time, &normal, "IAM changes");
    std::string who = WhoName(e);
    std::string_view target = TargetOf(b);
    std::vector<std::string> reasons = {
        who + " called " + std::string(b.event_name) +
            (target.empty() ? std::string() : " on " + std::string(target)) + " from " +
            DescribeSource(b),
        who + " made " + normal};
    std::vector<std::string> mitre = {"T1098"};
    if (b.event_name == "CreateUser" || b.event_name == "CreateRole") mitre = {"T1136.003"};
    if (b.event_name == "CreateAccessKey" || b.event_name == "UpdateAccessKey" ||
        b.event_name == "CreateServiceSpecificCredential")
      mitre = {"T1098.001"};
    if (b.event_name.find("Policy") != std::string_view::npos ||
        b.event_name == "AddUserToGroup")
      mitre = {"T1098", "T1098.003"};
    auto verb = s.verbs.Peek(learn::HashValue(b.event_name));
    if (verb.is_new && verb.observations > 0) {
      bits += std::min(3.0, SurpriseBits(verb.p_new));
      reasons.push_back(who + " never called " + std::string(b.event_name) + " before (" +
                        std::to_string(verb.distinct) + " IAM call type(s) seen)");
    }
    if (IsAdminGrant(b)) {
      bits += 3;
      reasons.push_back("the change grants administrative rights");
    }
    std::string_view self = ActorName(b);
    if (!target.empty() && target == self && b.event_name != "CreateAccessKey") {
      bits += 3;
      reasons.push_back(who + " changed its own permissions");
    }
    std::string where_why;
    double src = s.where.SourceBits(b, e.time, &where_why);
    if (src > 0) {
      bits += src;
      reasons.push_back(where_why);
    }
    if (!b.error_code.empty()) {
      bits = std::max(0.0, bits - 2);
      reasons.push_back("the call failed: " + std::string(b.error_code));
    }
    Breach br = MakeBreach(info_.name, e, b, bits, std::move(reasons), std::move(mitre));
    if (!target.empty()) br.details["target"] = std::string(target);
    br.details["admin_grant"] = IsAdminGrant(b);
    if (!gate_.Allow(e.entity.id, e.time, br.score)) return;
    ctx.Emit(std::move(br));
  }

  ModelInfo info_;
  KeyedTable<ActorState> ids_{100'000};
  EmitGate gate_;
};

}  // namespace

VIGIL_REGISTER_MODEL(RarePasswordReset);
VIGIL_REGISTER_MODEL(IamPrivilegeChange);

}  // namespace vigil::detect::cloud
