// cloud/discovery-burst: an identity enumerates the account.
//
// Behaviour: within one window (10 minutes by default) an identity makes far more
// List/Describe/Get calls, across far more services, with far more AccessDenied errors,
// than in any window of its own history. Statistic: for each of the three counts, the
// Laplace-smoothed share of the identity's past active windows that reached the same log2
// bucket, p = (windows at or above + 1) / (windows + 2), in bits; the score uses the largest
// of the three plus half of the other two (they are correlated, so not a plain sum).
// Why: after getting in, attackers run enumeration tools (Pacu, ScoutSuite, the CLI in a
// loop) that touch dozens of services in minutes and hit permissions they lack; a
// developer's or a console page's reads stay within the identity's own usual range. An
// identity's own history is the yardstick, so a busy automation role is not surprised by
// its usual hundreds of calls.
#include <algorithm>

#include "detect/cloud_common.h"
#include "detect/model.h"
#include "detect/score.h"

namespace vigil::detect::cloud {
namespace {

class DiscoveryBurst : public Model {
 public:
  DiscoveryBurst() {
    info_.name = "cloud/discovery-burst";
    info_.description =
        "A burst of List/Describe/Get calls, breadth across services and AccessDenied errors "
        "far above the identity's own rate.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1580", "T1526", "T1087.004"};
    info_.default_threshold = 60;
    info_.params = {
        {"window_minutes", 10, "Length of the counting window"},
        {"min_calls", 30, "Reads in a window before it is judged"},
        {"min_denied", 8, "AccessDenied errors in a window before it is judged"},
        {"max_identities", 100000, "Identities remembered"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    bool read = IsReadCall(b->event_name);
    bool denied = IsAccessDenied(b->error_code);
    if (!read && !denied) return;
    State& s = ids_.Get(IdentityKey(e, *b), e.time);
    Micros window = static_cast<Micros>(std::max(1.0, ctx.param("window_minutes"))) * kMicrosPerMinute;
    Micros start = e.time - ((e.time % window) + window) % window;
    if (start != s.window_start) {
      Close(s);
      s.window_start = start;
    }
    if (read) ++s.reads;
    if (denied) ++s.denied;
    uint64_t svc = learn::HashValue(ServiceOf(b->event_source));
    if (s.services.size() < 64) s.services.insert(svc);
    uint32_t nsvc = static_cast<uint32_t>(s.services.size());
    bool due = (s.reads >= ctx.param("min_calls") && s.reads >= s.next_check) ||
               (s.denied >= ctx.param("min_denied") && s.denied >= s.next_denied_check);
    if (!due) return;
    s.next_check = std::max<uint32_t>(s.reads * 2, static_cast<uint32_t>(ctx.param("min_calls")));
    s.next_denied_check = std::max<uint32_t>(s.denied * 2, static_cast<uint32_t>(ctx.param("min_denied")));
    double br = SurpriseBits(s.h_reads.PAtLeast(s.reads));
    double bs = SurpriseBits(s.h_services.PAtLeast(nsvc));
    double bd = s.denied > 0 ? SurpriseBits(s.h_denied.PAtLeast(s.denied)) : 0;
    double top = std::max({br, bs, bd});
    double bits = top + 0.5 * (br + bs + bd - top);
    if (bits <= s.emitted_bits + 1) return;
    s.emitted_bits = bits;
    if (ctx.learning()) return;  // what it learned is kept; a breach would be dropped
    std::string who = WhoName(e);
    std::vector<std::string> reasons = {
        who + " made " + std::to_string(s.reads) + " List/Describe/Get calls across " +
            std::to_string(nsvc) + " service(s) with " + std::to_string(s.denied) +
            " AccessDenied error(s) in " + std::to_string(window / kMicrosPerMinute) +
            " minutes, from " + DescribeSource(*b),
        "normal for " + who + ": up to about " + std::to_string(s.h_reads.TypicalMax()) +
            " reads, " + std::to_string(s.h_services.TypicalMax()) + " services and " +
            std::to_string(s.h_denied.TypicalMax()) + " denials in a window, over " +
            std::to_string(s.h_reads.windows()) + " active windows (" +
            Pct(s.h_reads.PAtLeast(s.reads)) + " of windows reach this many reads, smoothed)"};
    Breach out = MakeBreach(info_.name, e, *b, bits, std::move(reasons), info_.mitre);
    out.details["window_start"] = FormatRfc3339(s.window_start);
    out.details["reads"] = s.reads;
    out.details["services"] = nsvc;
    out.details["denied"] = s.denied;
    out.details["history_windows"] = s.h_reads.windows();
    ctx.Emit(std::move(out));
  }

  void Save(learn::StateWriter& w) const override { ids_.Save(w); }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/discovery-burst state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(sizeof(State) + 512); }

 private:
  struct State {
    WindowHistogram h_reads, h_services, h_denied;
    Micros window_start = INT64_MIN;
    uint32_t reads = 0, denied = 0;
    uint32_t next_check = 0, next_denied_check = 0;
    double emitted_bits = 0;
    absl::flat_hash_set<uint64_t> services;
    void Save(learn::StateWriter& w) const {
      h_reads.Save(w);
      h_services.Save(w);
      h_denied.Save(w);
    }
    void Load(learn::StateReader& r) {
      h_reads.Load(r);
      h_services.Load(r);
      h_denied.Load(r);
    }
  };

  // Folds the finished window into the identity's history.
  static void Close(State& s) {
    if (s.window_start != INT64_MIN && (s.reads > 0 || s.denied > 0)) {
      s.h_reads.Add(s.reads);
      s.h_services.Add(static_cast<uint32_t>(s.services.size()));
      s.h_denied.Add(s.denied);
    }
    s.reads = s.denied = 0;
    s.next_check = s.next_denied_check = 0;
    s.emitted_bits = 0;
    s.services.clear();
  }

  ModelInfo info_;
  KeyedTable<State> ids_{100'000};
};

}  // namespace

VIGIL_REGISTER_MODEL(DiscoveryBurst);

}  // namespace vigil::detect::cloud
