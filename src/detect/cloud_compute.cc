// cloud/unusual-compute-creation: an identity starts compute it does not normally start.
//
// Behaviour: EC2 RunInstances / RequestSpotInstances / CreateFleet, Lambda CreateFunction and
// UpdateFunctionCode, ECS RunTask / CreateService, EKS CreateCluster / CreateNodegroup, by an
// actor that rarely does so; more when the instance type or region is new for the account,
// when the type is a GPU/accelerator family, when many instances are asked for at once, and
// when the call comes from a source new for the actor.
// Statistic: the actor's share of active days with compute creation, Laplace-smoothed, in
// bits; day-counted Good-Turing novelty of instance types and regions per account (capped at
// 4 bits each); +3 bits for accelerator types, +1 for 10 or more instances; source novelty.
// Why: cryptojacking and staging (T1496, T1578.002) need compute; a CI role that launches
// t3.medium in us-east-1 every night has p near 1 and stays silent, a developer launching
// p3.16xlarge in a region the account never used does not.
#include <algorithm>
#include <cstdlib>

#include "detect/cloud_common.h"
#include "detect/model.h"
#include "detect/score.h"

namespace vigil::detect::cloud {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool IsComputeCreation(const CloudApiBody& b) {
  std::string_view n = b.event_name;
  std::string_view svc = ServiceOf(b.event_source);
  if (svc == "ec2") return n == "RunInstances" || n == "RequestSpotInstances" || n == "CreateFleet";
  if (svc == "lambda") return StartsWith(n, "CreateFunction") || StartsWith(n, "UpdateFunctionCode");
  if (svc == "ecs") return n == "RunTask" || n == "CreateService" || n == "StartTask";
  if (svc == "eks") return n == "CreateCluster" || n == "CreateNodegroup";
  return false;
}

class UnusualComputeCreation : public Model {
 public:
  UnusualComputeCreation() {
    info_.name = "cloud/unusual-compute-creation";
    info_.description =
        "EC2 instances (new types or regions for the account, GPU types), Lambda functions and "
        "ECS/EKS tasks and services created by an identity that rarely does so.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1578.002", "T1496"};
    info_.default_threshold = 60;
    info_.params = {{"max_identities", 100000, "Identities remembered"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    State& s = ids_.Get(IdentityKey(e, *b), e.time);
    bool compute = IsComputeCreation(*b) && !IsDryRun(b->error_code);
    std::string_view type = compute ? JsonMember(b->request_parameters, "instanceType") : "";
    Account* a = compute ? &accounts_.Get(b->account_id, e.time) : nullptr;
    if (compute && !ctx.learning()) Judge(e, *b, s, *a, type, ctx);
    s.where.Learn(*b, e.time);
    if (compute) {
      s.compute_days.Touch(e.time);
      if (!type.empty()) a->types.Observe(learn::HashValue(type), e.time);
      if (!b->region.empty()) a->regions.Observe(learn::HashValue(b->region), e.time);
    }
  }

  void Save(learn::StateWriter& w) const override {
    ids_.Save(w);
    accounts_.Save(w);
  }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    accounts_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/unusual-compute-creation state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(4096) + accounts_.MemoryUsage(4096); }

 private:
  struct State {
    Whereabouts where;
    DayCounter compute_days;
    void Save(learn::StateWriter& w) const {
      where.Save(w);
      compute_days.Save(w);
    }
    void Load(learn::StateReader& r) {
      where.Load(r);
      compute_days.Load(r);
    }
  };
  struct Account {
    DailyNovelty types{256};
    DailyNovelty regions{64};
    void Save(learn::StateWriter& w) const {
      types.Save(w);
      regions.Save(w);
    }
    void Load(learn::StateReader& r) {
      types.Load(r);
      regions.Load(r);
    }
  };

  void Judge(const Event& e, const CloudApiBody& b, const State& s, const Account& a,
             std::string_view type, ModelContext& ctx) {
    uint32_t active = s.where.active.days;
    uint32_t done = s.compute_days.days - (s.compute_days.Today(e.time) ? 1 : 0);
    double p = (done + 1.0) / (active + 2.0);
    double bits = SurpriseBits(p);
    std::string who = WhoName(e);
    std::string what = std::string(b.event_name) +
                       (type.empty() ? std::string() : " (" + std::string(type) + ")") + " in " +
                       std::string(b.region);
    std::vector<std::string> reasons = {
        who + " called " + what + " from " + DescribeSource(b),
        who + " created compute on " + std::to_string(done) + " of " + std::to_string(active) +
            " active day(s) before (" + Pct(p) + " of days, smoothed)"};
    bool gpu = IsAcceleratorInstanceType(type);
    if (!type.empty()) {
      auto t = a.types.Peek(learn::HashValue(type), e.time);
      if (t.new_today && a.types.observations() > 0) {
        bits += std::min(4.0, SurpriseBits(t.v.p_new));
        reasons.push_back("instance type " + std::string(type) + " is new for account " +
                          std::string(b.account_id) + " (" + std::to_string(a.types.distinct()) +
                          " type(s) launched before)");
      }
    }
    if (!b.region.empty()) {
      auto r = a.regions.Peek(learn::HashValue(b.region), e.time);
      if (r.new_today && a.regions.observations() > 0) {
        bits += std::min(4.0, SurpriseBits(r.v.p_new));
        reasons.push_back("region " + std::string(b.region) +
                          " has never had compute created in this account (" +
                          std::to_string(a.regions.distinct()) + " region(s) used before)");
      }
    }
    if (gpu) {
      bits += 3;
      reasons.push_back(std::string(type) + " is a GPU/accelerator type, the usual choice for "
                                            "cryptomining");
    }
    std::string_view count = JsonMember(b.request_parameters, "maxCount");
    long n = count.empty() ? 0 : std::strtol(std::string(count).c_str(), nullptr, 10);
    if (n == 0) {
      size_t k = b.request_parameters.find("\"maxCount\":");
      if (k != std::string_view::npos)
        n = std::strtol(std::string(b.request_parameters.substr(k + 11, 8)).c_str(), nullptr, 10);
    }
    if (n >= 10) {
      bits += 1;
      reasons.push_back(std::to_string(n) + " instances requested at once");
    }
    std::string where_why;
    double src = s.where.SourceBits(b, e.time, &where_why);
    if (src > 0) {
      bits += src;
      reasons.push_back(where_why);
    }
    std::vector<std::string> mitre = {"T1578.002"};
    if (gpu || n >= 10) mitre.push_back("T1496");
    Breach br = MakeBreach(info_.name, e, b, bits, std::move(reasons), std::move(mitre));
    if (!type.empty()) br.details["instance_type"] = std::string(type);
    br.details["accelerator"] = gpu;
    if (!gate_.Allow(e.entity.id, e.time, br.score)) return;
    ctx.Emit(std::move(br));
  }

  ModelInfo info_;
  KeyedTable<State> ids_{100'000};
  KeyedTable<Account> accounts_{10'000};
  EmitGate gate_;
};

}  // namespace

VIGIL_REGISTER_MODEL(UnusualComputeCreation);

}  // namespace vigil::detect::cloud
