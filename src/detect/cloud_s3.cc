// cloud/s3-tampering: storage exposed, unprotected or emptied.
//
// Behaviour: (a) bucket configuration changes (policy, ACL, public access block,
// replication, encryption, lifecycle, logging, versioning) by an actor that rarely makes
// them, more when the change makes data public or removes a protection; (b) bursts of object
// deletion, or bulk reads, far above the identity's own per-window history.
// Statistic: (a) the actor's Laplace-smoothed share of active days with bucket changes, in
// bits, plus source novelty and fixed extra bits for exposure (+3) and removed protection
// (+2); (b) the same per-window log2 histogram as discovery-burst, for DeleteObject(s) and
// GetObject counts.
// Why: exfiltration (T1530) starts by opening a bucket or reading it in bulk; destruction and
// ransom (T1485) by deleting objects or adding an expiring lifecycle; anti-forensics
// (T1562.008) by turning off logging. Storage administrators change these rarely and from
// familiar places, so their changes stay low.
#include <algorithm>

#include "detect/cloud_common.h"
#include "detect/model.h"
#include "detect/score.h"

namespace vigil::detect::cloud {
namespace {

enum class S3Kind { kNone, kConfig, kDelete, kRead };

S3Kind Classify(const CloudApiBody& b) {
  if (b.event_source != "s3.amazonaws.com") return S3Kind::kNone;
  std::string_view n = b.event_name;
  if (n == "DeleteObject" || n == "DeleteObjects") return S3Kind::kDelete;
  if (n == "GetObject") return S3Kind::kRead;
  static constexpr std::string_view kConfig[] = {
      "PutBucketPolicy",      "DeleteBucketPolicy",      "PutBucketAcl",
      "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock",
      "PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock",
      "PutBucketReplication", "DeleteBucketReplication", "PutBucketEncryption",
      "DeleteBucketEncryption", "PutBucketLifecycle",    "PutBucketLifecycleConfiguration",
      "DeleteBucketLifecycle", "PutBucketLogging",       "PutBucketVersioning",
      "PutObjectAcl",         "PutBucketOwnershipControls"};
  for (auto c : kConfig)
    if (n == c) return S3Kind::kConfig;
  return S3Kind::kNone;
}

bool Exposes(const CloudApiBody& b) {
  std::string_view rp = b.request_parameters;
  auto has = [&](std::string_view s) { return rp.find(s) != std::string_view::npos; };
  if (b.event_name == "DeleteBucketPublicAccessBlock" ||
      b.event_name == "DeleteAccountPublicAccessBlock")
    return true;
  if (b.event_name == "PutBucketPublicAccessBlock" && has("false")) return true;
  return has("\"Principal\":\"*\"") || has("Principal\\\":\\\"*\\\"") ||
         has("\"AWS\":\"*\"") || has("AWS\\\":\\\"*\\\"") || has("AllUsers") ||
         has("AuthenticatedUsers") || has("public-read");
}

bool RemovesProtection(const CloudApiBody& b) {
  std::string_view n = b.event_name;
  std::string_view rp = b.request_parameters;
  return n == "DeleteBucketEncryption" || n == "DeleteBucketReplication" ||
         n == "PutBucketReplication" ||
         (n == "PutBucketVersioning" && rp.find("Suspended") != std::string_view::npos) ||
         (n == "PutBucketLogging" && rp.find("LoggingEnabled") == std::string_view::npos) ||
         ((n == "PutBucketLifecycle" || n == "PutBucketLifecycleConfiguration") &&
          rp.find("Expiration") != std::string_view::npos);
}

class S3Tampering : public Model {
 public:
  S3Tampering() {
    info_.name = "cloud/s3-tampering";
    info_.description =
        "Bucket policy, ACL, public access block, replication, encryption and lifecycle "
        "changes rare for the actor, and bursts of object deletion or bulk reads.";
    info_.kinds = {EventKind::kCloudApi};
    info_.mitre = {"T1530", "T1485", "T1562.008"};
    info_.default_threshold = 60;
    info_.params = {
        {"window_minutes", 10, "Length of the counting window for deletes and reads"},
        {"min_deletes", 20, "Object deletions in a window before it is judged"},
        {"min_reads", 100, "Object reads in a window before it is judged"},
        {"max_identities", 100000, "Identities remembered"}};
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* b = e.As<CloudApiBody>();
    if (b == nullptr || !IsPersonCall(e, *b)) return;
    State& s = ids_.Get(IdentityKey(e, *b), e.time);
    S3Kind k = Classify(*b);
    if (k == S3Kind::kConfig && !ctx.learning()) JudgeConfig(e, *b, s, ctx);
    if (k == S3Kind::kDelete || k == S3Kind::kRead) Count(e, *b, s, k, ctx);
    s.where.Learn(*b, e.time);
    if (k == S3Kind::kConfig && b->error_code.empty()) s.config_days.Touch(e.time);
  }

  void Save(learn::StateWriter& w) const override { ids_.Save(w); }
  Status Load(learn::StateReader& r) override {
    ids_.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("bad cloud/s3-tampering state");
  }
  size_t MemoryUsage() const override { return ids_.MemoryUsage(sizeof(State) + 4096); }

 private:
  struct State {
    Whereabouts where;
    DayCounter config_days;
    WindowHistogram h_deletes, h_reads;
    Micros window_start = INT64_MIN;
    uint32_t deletes = 0, reads = 0, next_delete_check = 0, next_read_check = 0;
    void Save(learn::StateWriter& w) const {
      where.Save(w);
      config_days.Save(w);
      h_deletes.Save(w);
      h_reads.Save(w);
    }
    void Load(learn::StateReader& r) {
      where.Load(r);
      config_days.Load(r);
      h_deletes.Load(r);
      h_reads.Load(r);
    }
  };

  void JudgeConfig(const Event& e, const CloudApiBody& b, const State& s, ModelContext& ctx) {
    uint32_t active = s.where.active.days;
    uint32_t done = s.config_days.days - (s.config_days.Today(e.time) ? 1 : 0);
    double p = (done + 1.0) / (active + 2.0);
    double bits = SurpriseBits(p);
    std::string who = WhoName(e);
    std::string bucket(JsonMember(b.request_parameters, "bucketName"));
    std::vector<std::string> reasons = {
        who + " called " + std::string(b.event_name) +
            (bucket.empty() ? std::string() : " on bucket " + bucket) + " from " +
            DescribeSource(b),
        who + " changed bucket configuration on " + std::to_string(done) + " of " +
            std::to_string(active) + " active day(s) before (" + Pct(p) + " of days, smoothed)"};
    std::vector<std::string> mitre;
    if (Exposes(b)) {
      bits += 3;
      reasons.push_back("the change makes the data reachable by anyone (public principal, "
                        "ACL or a removed public access block)");
      mitre.push_back("T1530");
    }
    if (RemovesProtection(b)) {
      bits += 2;
      reasons.push_back("the change removes a protection (encryption, versioning, logging) or "
                        "copies or expires data");
      mitre.push_back(b.event_name == "PutBucketLogging" ? "T1562.008" : "T1485");
    }
    if (mitre.empty()) mitre.push_back("T1530");
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
    if (!bucket.empty()) br.details["bucket"] = bucket;
    if (!gate_.Allow(e.entity.id, e.time, br.score)) return;
    ctx.Emit(std::move(br));
  }

  void Count(const Event& e, const CloudApiBody& b, State& s, S3Kind k, ModelContext& ctx) {
    Micros window = static_cast<Micros>(std::max(1.0, ctx.param("window_minutes"))) * kMicrosPerMinute;
    Micros start = e.time - ((e.time % window) + window) % window;
    if (start != s.window_start) {
      if (s.window_start != INT64_MIN) {
        if (s.deletes > 0 || s.reads > 0) {
          s.h_deletes.Add(s.deletes);
          s.h_reads.Add(s.reads);
        }
      }
      s.window_start = start;
      s.deletes = s.reads = s.next_delete_check = s.next_read_check = 0;
    }
    bool del = k == S3Kind::kDelete;
    uint32_t& n = del ? s.deletes : s.reads;
    uint32_t& next = del ? s.next_delete_check : s.next_read_check;
    ++n;
    double min = ctx.param(del ? "min_deletes" : "min_reads");
    if (n < min || n < next) return;
    next = n * 2;
    if (ctx.learning()) return;  // the window is counted; a breach would be dropped
    const WindowHistogram& h = del ? s.h_deletes : s.h_reads;
    double p = h.PAtLeast(n);
    double bits = SurpriseBits(p);
    std::string who = WhoName(e);
    std::string what = del ? "object deletions" : "object reads";
    std::vector<std::string> reasons = {
        who + " made " + std::to_string(n) + " " + what + " in " +
            std::to_string(window / kMicrosPerMinute) + " minutes from " + DescribeSource(b),
        "normal for " + who + ": up to about " + std::to_string(h.TypicalMax()) + " " + what +
            " in a window, over " + std::to_string(h.windows()) + " active windows (" + Pct(p) +
            " reach this many, smoothed)"};
    Breach br = MakeBreach(info_.name, e, b, bits, std::move(reasons),
                           {del ? "T1485" : "T1530"});
    br.details["window_start"] = FormatRfc3339(s.window_start);
    br.details[del ? "deletes" : "reads"] = n;
    ctx.Emit(std::move(br));
  }

  ModelInfo info_;
  KeyedTable<State> ids_{100'000};
  EmitGate gate_;
};

}  // namespace

VIGIL_REGISTER_MODEL(S3Tampering);

}  // namespace vigil::detect::cloud
