// integration/defender-alert and integration/defender-anomalous-alert-pattern
//
// integration/defender-alert
//   Behaviour: Microsoft Defender raised an alert on a device. Every new alert becomes a
//   breach on the linked device (the enrich step maps Defender's device to the device's
//   internal address), keeping the title, severity, category, MITRE techniques, threat
//   actor, an evidence summary and the link back to the alert, so Defender's findings sit in
//   the same incidents as Vigil's own.
//   Statistic: none learned for "is it bad" (Defender decided that); the score starts from
//   Defender's severity (high 85, medium 72, low 62, informational 40) and follows the
//   device's history of the same alert title: each doubling of earlier identical alerts on
//   the device takes 6 points off (a device that raises "PUA detected" every day is a known
//   nuisance, its tenth copy scores 42, a weak signal). An alert on a device that already had
//   a true-positive alert adds 5. Updates of an alert (same id: status, classification) do
//   not raise a new breach; one whose severity went up does, saying so.
//
// integration/defender-anomalous-alert-pattern
//   Behaviour: what is unusual in Defender's own detections for this device: a category or
//   detector the device never had, a severity above anything it had, or far more alerts in a
//   day than its norm.
//   Statistic: per device, Good-Turing novelty (learn::NoveltySet) of categories and
//   detectors, the highest severity seen, and a daily alert count whose norm is the mean of
//   its past days (devices with under min_days of history borrow the peer mean, alerts per
//   device-day across all devices). Surprise of a new detector is -log2(p_new) bits, less 3
//   bits when many devices (>= 8) already have that detector (a fleet-wide rollout of a new
//   signature is not about this device). The rate test is a Poisson upper tail: p = P(X >=
//   today's count | mean), scored once per device-day. Why: a steady trickle of the same
//   low-severity alert is Defender's background on that device and should stay quiet; a
//   change of kind or pace is what an analyst wants to hear about.
#include <algorithm>
#include <cmath>
#include <string>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "detect/model.h"
#include "detect/score.h"
#include "learn/distinct.h"
#include "learn/novelty.h"

namespace vigil::detect {
namespace {

constexpr size_t kMaxKnownAlerts = 500'000;  // alert ids remembered for updates
constexpr size_t kMaxDevices = 200'000;      // devices with learned alert history
constexpr uint32_t kMaxValuesPerDevice = 256;

int SeverityRank(std::string_view s) {
  if (s == "high" || s == "High") return 4;
  if (s == "medium" || s == "Medium") return 3;
  if (s == "low" || s == "Low") return 2;
  if (s == "informational" || s == "Informational") return 1;
  return 0;  // unknown / unknownFutureValue
}

const char* SeverityName(int r) {
  switch (r) {
    case 4: return "high";
    case 3: return "medium";
    case 2: return "low";
    case 1: return "informational";
    default: return "unknown";
  }
}

// The device the alert is about: the enriched entity, else Defender's own id.
EntityRef AlertDevice(const Event& e, const EdrAlertBody& a) {
  if (!e.entity.empty()) return e.entity;
  if (!a.device_id.empty()) return {EntityType::kDevice, a.device_id, a.device_name};
  if (!a.device_name.empty()) return {EntityType::kDevice, a.device_name, a.device_name};
  return {EntityType::kDevice, "defender-unknown-device", {}};
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t c = s.find(',');
    std::string_view part = s.substr(0, c);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (!part.empty()) out.emplace_back(part);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

// "device x1, file x2, process x1" from the evidence JSON's @odata.type values.
std::string EvidenceSummary(std::string_view ev) {
  constexpr std::string_view kPrefix = "#microsoft.graph.security.";
  std::vector<std::pair<std::string, int>> counts;
  size_t pos = 0;
  while ((pos = ev.find(kPrefix, pos)) != std::string_view::npos) {
    pos += kPrefix.size();
    size_t end = ev.find('"', pos);
    if (end == std::string_view::npos) break;
    std::string type(ev.substr(pos, end - pos));
    if (type.size() > 8 && type.compare(type.size() - 8, 8, "Evidence") == 0)
      type.resize(type.size() - 8);
    auto it = std::find_if(counts.begin(), counts.end(), [&](auto& p) { return p.first == type; });
    if (it == counts.end()) counts.emplace_back(type, 1);
    else ++it->second;
    pos = end;
  }
  std::string s;
  for (const auto& [t, n] : counts) {
    if (!s.empty()) s += ", ";
    s += t + (n > 1 ? " x" + std::to_string(n) : "");
  }
  return s;
}

// ---------------------------------------------------------------------------------------

class DefenderAlertModel final : public Model {
 public:
  DefenderAlertModel() {
    info_.name = "integration/defender-alert";
    info_.description =
        "A Microsoft Defender alert, carried as a breach on the linked device with its title, "
        "severity, MITRE techniques and link.";
    info_.kinds = {EventKind::kEdrAlert};
    info_.default_threshold = 60;
    info_.params = {
        {"repeat_penalty", 6, "Points taken off for each doubling of earlier identical alerts "
                              "(same title) on the device."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* a = e.As<EdrAlertBody>();
    if (a == nullptr || a->alert_id.empty()) return;
    EntityRef dev = AlertDevice(e, *a);
    uint64_t id = learn::HashValue(a->alert_id);
    int sev = SeverityRank(a->severity);
    bool true_positive = a->classification == "truePositive";
    uint64_t dkey = learn::HashValue(dev.id);

    auto known = alerts_.find(id);
    if (known != alerts_.end()) {
      // A later state of an alert already raised: update, raise again only if it got worse.
      Known& k = known->second;
      int old_sev = k.severity;
      k.severity = std::max(k.severity, sev);
      if (true_positive && !k.true_positive) {
        k.true_positive = true;
        devices_[dkey].true_positives++;
      }
      if (sev <= old_sev || ctx.learning()) return;
      Breach b = Base(e, *a, dev, ctx);
      b.score = std::max(b.score, SeverityScore(sev));
      b.reasons.insert(b.reasons.begin(), std::string("Defender raised the severity of alert ") +
                                              std::string(a->alert_id) + " from " +
                                              SeverityName(old_sev) + " to " +
                                              SeverityName(sev));
      b.details["update"] = true;
      ctx.Emit(std::move(b));
      return;
    }
    if (alerts_.size() >= kMaxKnownAlerts) alerts_.clear();  // at worst an update re-raises
    alerts_[id] = Known{sev, true_positive};

    Device& d = devices_[dkey];
    uint64_t title_key = learn::HashValue(a->title);
    uint32_t& same = d.titles[title_key];
    uint32_t earlier = same;
    ++same;
    uint32_t earlier_tp = d.true_positives;
    if (true_positive) ++d.true_positives;
    ++d.alerts;
    if (d.titles.size() > kMaxValuesPerDevice) d.titles.clear();
    if (ctx.learning()) return;

    Breach b = Base(e, *a, dev, ctx);
    int score = SeverityScore(sev);
    double penalty = ctx.param("repeat_penalty") * std::log2(1.0 + earlier);
    score -= static_cast<int>(std::lround(penalty));
    if (earlier > 0)
      b.reasons.push_back("the device had this alert " + std::to_string(earlier) +
                          " time(s) before: -" + std::to_string(std::lround(penalty)) + " points");
    else
      b.reasons.push_back("first time the device raised this alert");
    if (earlier_tp > 0) {
      score += 5;
      b.reasons.push_back("the device already had " + std::to_string(earlier_tp) +
                          " alert(s) classified true positive: +5");
    }
    b.score = std::clamp(score, 1, 100);
    b.details["earlier_same_title"] = earlier;
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(alerts_.size());
    for (const auto& [k, v] : alerts_) {
      w.U64(k);
      w.U8(static_cast<uint8_t>(v.severity));
      w.U8(v.true_positive ? 1 : 0);
    }
    w.U64(devices_.size());
    for (const auto& [k, d] : devices_) {
      w.U64(k);
      w.U64(d.alerts);
      w.U32(d.true_positives);
      w.U64(d.titles.size());
      for (const auto& [t, n] : d.titles) {
        w.U64(t);
        w.U32(n);
      }
    }
  }
  Status Load(learn::StateReader& r) override {
    alerts_.clear();
    devices_.clear();
    uint64_t n = r.Count(kMaxKnownAlerts);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      uint64_t k = r.U64();
      Known v;
      v.severity = r.U8();
      v.true_positive = r.U8() != 0;
      alerts_[k] = v;
    }
    uint64_t nd = r.Count(kMaxDevices);
    for (uint64_t i = 0; i < nd && r.ok(); ++i) {
      Device& d = devices_[r.U64()];
      d.alerts = r.U64();
      d.true_positives = r.U32();
      uint64_t nt = r.Count(kMaxValuesPerDevice + 1);
      for (uint64_t j = 0; j < nt && r.ok(); ++j) {
        uint64_t t = r.U64();
        d.titles[t] = r.U32();
      }
    }
    return r.ok() ? Status::Ok() : Corrupt("defender-alert state is truncated or not ours");
  }
  size_t MemoryUsage() const override {
    size_t s = alerts_.capacity() * (sizeof(uint64_t) + sizeof(Known) + 1);
    for (const auto& [k, d] : devices_) s += 64 + d.titles.capacity() * 13;
    return s;
  }

 private:
  struct Known {
    int severity = 0;
    bool true_positive = false;
  };
  struct Device {
    uint64_t alerts = 0;
    uint32_t true_positives = 0;
    absl::flat_hash_map<uint64_t, uint32_t> titles;  // title hash -> times raised
  };

  static int SeverityScore(int rank) {
    switch (rank) {
      case 4: return 85;
      case 3: return 72;
      case 2: return 62;
      case 1: return 40;
      default: return 55;
    }
  }

  Breach Base(const Event& e, const EdrAlertBody& a, const EntityRef& dev, ModelContext&) {
    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.entity = ToEntityInfo(dev);
    b.mitre = SplitList(a.mitre_techniques);
    std::string title = "Defender alert '" + std::string(a.title) + "' (" +
                        std::string(a.severity.empty() ? "unknown" : a.severity) + ", " +
                        std::string(a.category.empty() ? "no category" : a.category) + ")";
    if (!a.device_name.empty()) title += " on " + std::string(a.device_name);
    b.reasons.push_back(std::move(title));
    if (!a.threat_actor.empty())
      b.reasons.push_back("threat actor: " + std::string(a.threat_actor));
    std::string evidence = EvidenceSummary(a.evidence);
    if (!evidence.empty()) b.reasons.push_back("evidence: " + evidence);
    if (!a.web_url.empty()) b.reasons.push_back("in Defender: " + std::string(a.web_url));
    b.events.push_back(MakeEventRef(e));
    b.details = {{"alert_id", std::string(a.alert_id)},
                 {"incident_id", std::string(a.incident_id)},
                 {"title", std::string(a.title)},
                 {"severity", std::string(a.severity)},
                 {"category", std::string(a.category)},
                 {"status", std::string(a.status)},
                 {"classification", std::string(a.classification)},
                 {"detection_source", std::string(a.detection_source)},
                 {"service_source", std::string(a.service_source)},
                 {"threat_actor", std::string(a.threat_actor)},
                 {"defender_device_id", std::string(a.device_id)},
                 {"evidence", evidence},
                 {"url", std::string(a.web_url)},
                 {"created", a.created ? FormatRfc3339(a.created) : std::string()}};
    return b;
  }

  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Known> alerts_;
  absl::flat_hash_map<uint64_t, Device> devices_;
};

// ---------------------------------------------------------------------------------------

class DefenderAlertPatternModel final : public Model {
 public:
  DefenderAlertPatternModel() {
    info_.name = "integration/defender-anomalous-alert-pattern";
    info_.description =
        "Defender's detections on a device change kind or pace: a category, detector or "
        "severity the device never had, or far more alerts a day than its norm.";
    info_.kinds = {EventKind::kEdrAlert};
    info_.default_threshold = 60;
    info_.params = {
        {"min_alerts", 5, "Alerts a device must have had before novelty on it is judged."},
        {"min_days", 7, "Days of history before a device's own daily rate is its norm "
                        "(before that the peer rate is used)."},
        {"min_burst", 5, "Alerts in a day below which the rate test stays quiet."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* a = e.As<EdrAlertBody>();
    if (a == nullptr || a->is_update || a->alert_id.empty()) return;
    // Defender re-sends an alert when it changes; only the first sight counts.
    uint64_t aid = learn::HashValue(a->alert_id);
    if (!seen_.insert(aid).second) return;
    if (seen_.size() > kMaxKnownAlerts) seen_.clear();

    EntityRef dev = AlertDevice(e, *a);
    uint64_t dkey = learn::HashValue(dev.id);
    if (!devices_.contains(dkey) && devices_.size() >= kMaxDevices) return;
    Device& d = devices_[dkey];
    int64_t day = e.time / kMicrosPerDay;
    RollDay(d, day);

    const uint64_t prior_alerts = d.alerts;
    const bool mature = prior_alerts >= static_cast<uint64_t>(ctx.param("min_alerts"));
    uint64_t cat = learn::HashValue(a->category);
    uint64_t det = learn::HashValue(a->detector_id.empty() ? a->title : a->detector_id);
    auto vc = d.categories.Observe(cat, e.time);
    auto vd = d.detectors.Observe(det, e.time);
    int sev = SeverityRank(a->severity);
    int prev_max_sev = d.max_severity;
    d.max_severity = std::max(d.max_severity, sev);
    ++d.alerts;
    ++d.today;
    // Peers: how many devices have this detector.
    auto& fleet = detector_devices_[det];
    fleet.Add(static_cast<uint32_t>(dkey));
    uint32_t peers_with_detector = fleet.count();
    if (detector_devices_.size() > kMaxDevices) detector_devices_.clear();

    if (ctx.learning()) return;

    std::vector<std::string> reasons;
    double bits = 0;
    nlohmann::json details = {{"alert_id", std::string(a->alert_id)},
                              {"category", std::string(a->category)},
                              {"detector", std::string(a->detector_id)},
                              {"severity", std::string(a->severity)},
                              {"device_alerts_before", prior_alerts}};
    if (mature && vd.is_new) {
      double b = SurpriseBits(vd.p_new);
      std::string r = "detector '" + std::string(a->detector_id.empty() ? a->title : a->detector_id) +
                      "' ('" + std::string(a->title) + "') is new for the device after " +
                      std::to_string(vd.observations) + " alerts of " +
                      std::to_string(vd.distinct) + " detectors (p_new " + Fmt(vd.p_new) + ")";
      if (peers_with_detector >= learn::SmallDistinct::kCap) {
        b = std::max(0.0, b - 3);
        r += "; " + std::to_string(peers_with_detector) + "+ devices have it (fleet-wide)";
      } else if (peers_with_detector <= 1) {
        b += 2;
        r += "; no other device has it";
      }
      bits = std::max(bits, b);
      reasons.push_back(r);
    }
    if (mature && vc.is_new && !a->category.empty()) {
      double b = SurpriseBits(vc.p_new);
      bits = std::max(bits, b) + (bits > 0 ? 1 : 0);
      reasons.push_back("category '" + std::string(a->category) + "' is new for the device (" +
                        std::to_string(vc.distinct) + " categories in " +
                        std::to_string(vc.observations) + " alerts, p_new " + Fmt(vc.p_new) + ")");
    }
    if (mature && sev > prev_max_sev && prev_max_sev > 0) {
      bits += 2.0 * (sev - prev_max_sev);
      reasons.push_back(std::string("severity ") + SeverityName(sev) +
                        " is above anything the device had (" + SeverityName(prev_max_sev) + ")");
    }
    // Rate: today's count against the device's (or the peers') daily mean.
    if (d.rate_emitted_day != day && d.today >= static_cast<uint64_t>(ctx.param("min_burst"))) {
      bool own = d.days >= static_cast<uint64_t>(ctx.param("min_days"));
      double mean = own ? static_cast<double>(d.past_alerts) / static_cast<double>(d.days)
                        : PeerMean();
      mean = std::max(mean, 0.1);
      double p = PoissonUpperTail(static_cast<double>(d.today), mean);
      double b = SurpriseBits(p);
      if (b >= 10) {
        d.rate_emitted_day = day;
        bits = std::max(bits, b) + (bits > 0 ? 1 : 0);
        reasons.push_back(std::to_string(d.today) + " Defender alerts on the device today against " +
                          (own ? "its" : "the peer") + " norm of " + Fmt(mean) +
                          " a day (Poisson p " + Fmt(p) + ")");
        details["today"] = d.today;
        details["daily_mean"] = mean;
      }
    }
    if (reasons.empty() || bits <= 0) return;
    Breach br;
    br.time = e.time;
    br.model = info_.name;
    br.entity = ToEntityInfo(dev);
    br.score = ScoreFromBits(bits);
    br.reasons = std::move(reasons);
    br.events.push_back(MakeEventRef(e));
    br.mitre = SplitList(a->mitre_techniques);
    br.details = std::move(details);
    ctx.Emit(std::move(br));
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(devices_.size());
    for (const auto& [k, d] : devices_) {
      w.U64(k);
      w.U64(d.alerts);
      w.I64(d.day);
      w.U64(d.today);
      w.U64(d.days);
      w.U64(d.past_alerts);
      w.I64(d.rate_emitted_day);
      w.U32(static_cast<uint32_t>(d.max_severity));
      d.categories.Save(w);
      d.detectors.Save(w);
    }
    w.U64(total_device_days_);
    w.U64(total_past_alerts_);
    w.U64(seen_.size());
    for (uint64_t id : seen_) w.U64(id);
    w.U64(detector_devices_.size());
    for (const auto& [k, v] : detector_devices_) {
      w.U64(k);
      v.Save(w);
    }
  }
  Status Load(learn::StateReader& r) override {
    devices_.clear();
    uint64_t n = r.Count(kMaxDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Device& d = devices_[r.U64()];
      d.alerts = r.U64();
      d.day = r.I64();
      d.today = r.U64();
      d.days = r.U64();
      d.past_alerts = r.U64();
      d.rate_emitted_day = r.I64();
      d.max_severity = static_cast<int>(r.U32());
      d.categories.Load(r);
      d.detectors.Load(r);
    }
    total_device_days_ = r.U64();
    total_past_alerts_ = r.U64();
    seen_.clear();
    uint64_t ns = r.Count(kMaxKnownAlerts + 1);
    for (uint64_t i = 0; i < ns && r.ok(); ++i) seen_.insert(r.U64());
    detector_devices_.clear();
    uint64_t nd = r.Count(kMaxDevices + 1);
    for (uint64_t i = 0; i < nd && r.ok(); ++i) detector_devices_[r.U64()].Load(r);
    return r.ok() ? Status::Ok() : Corrupt("defender-anomalous-alert-pattern state is truncated");
  }
  size_t MemoryUsage() const override {
    size_t s = seen_.capacity() * 9 + detector_devices_.capacity() * 48;
    for (const auto& [k, d] : devices_)
      s += sizeof(Device) + d.categories.MemoryUsage() + d.detectors.MemoryUsage();
    return s;
  }

 private:
  struct Device {
    uint64_t alerts = 0;
    int64_t day = -1;             // the day `today` counts
    uint64_t today = 0;
    uint64_t days = 0;            // closed days since the first alert (quiet days included)
    uint64_t past_alerts = 0;     // alerts in closed days
    int64_t rate_emitted_day = -1;
    int max_severity = 0;
    learn::NoveltySet categories{kMaxValuesPerDevice};
    learn::NoveltySet detectors{kMaxValuesPerDevice};
  };

  void RollDay(Device& d, int64_t day) {
    if (d.day < 0) {
      d.day = day;
      return;
    }
    if (day <= d.day) return;
    uint64_t closed = static_cast<uint64_t>(day - d.day);
    d.days += closed;
    d.past_alerts += d.today;
    total_device_days_ += closed;
    total_past_alerts_ += d.today;
    d.today = 0;
    d.day = day;
  }
  double PeerMean() const {
    if (total_device_days_ == 0) return 1.0;
    return static_cast<double>(total_past_alerts_) / static_cast<double>(total_device_days_);
  }
  // P(X >= k) for X ~ Poisson(mean).
  static double PoissonUpperTail(double k, double mean) {
    if (k <= 0) return 1.0;
    double log_t = -mean + k * std::log(mean) - std::lgamma(k + 1);
    double sum = 0;
    for (int i = 0; i < 1000; ++i) {
      double t = std::exp(log_t);
      sum += t;
      if (t < sum * 1e-12) break;
      log_t += std::log(mean / (k + i + 1));
    }
    return std::clamp(sum, 1e-12, 1.0);
  }
  static std::string Fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 0.01 ? "%.2g" : "%.2f", v);
    return buf;
  }

  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Device> devices_;
  absl::flat_hash_set<uint64_t> seen_;
  absl::flat_hash_map<uint64_t, learn::SmallDistinct> detector_devices_;
  uint64_t total_device_days_ = 0;
  uint64_t total_past_alerts_ = 0;
};

}  // namespace

VIGIL_REGISTER_MODEL(DefenderAlertModel);
VIGIL_REGISTER_MODEL(DefenderAlertPatternModel);

}  // namespace vigil::detect
