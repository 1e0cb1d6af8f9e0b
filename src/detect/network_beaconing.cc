// network/beaconing
//
// Behaviour: an internal device connects to one external endpoint (address and port) on a
// clock: implants check in with their command-and-control server every N seconds, with a
// little random jitter, whether or not anyone is at the keyboard.
//
// Statistic: per (device, external address, port) the last 16 inter-arrival gaps
// (learn::ArrivalRing; connections within 1 s of each other are one beat). From the gaps:
// median period, MAD jitter (MAD / median), Bowley skew, and how many gaps fall within
// +-20 % of the median; the binomial tail of that count under a memoryless null (Poisson
// arrivals with the same typical gap) is the periodicity surprise in bits
// (learn::AnalyzeGaps). Half of those bits count, discounted linearly as the jitter nears
// max_jitter, plus evidence in bits: the destination is
// rare in the network (contacted by this device only: +4, by two: +2), and beat sizes are
// regular (size MAD / median below 0.2: +3), and the IDS alerted on the endpoint in the last
// 24 h (+3, +5 for severity 1-2; detect/network_stats.h). Bits map to 0-100 on the shared curve
// (detect/score.h). Why: median/MAD survive missed and doubled beats that break mean and
// variance, the binomial tail grows with the number of regular beats (more evidence, more
// certainty), and rarity separates a lone implant from the periodic traffic every device
// makes.
//
// Benign periodic traffic that does not breach, by design:
//   - internal destinations (a monitoring agent posting to an internal collector): only
//     internal -> external pairs are tracked;
//   - infrastructure protocols that are periodic by design: NTP (udp/123), DNS (53),
//     DHCP (67/68);
//   - popular destinations (OS update checks, a SaaS telemetry endpoint every workstation
//     talks to): an address contacted by at least `popular_devices` devices, or by at least
//     `popular_fraction` of the network's devices (and 2 or more), is never a beacon target;
//   - pairs already periodic during the learning period are learned as normal, and so are
//     long-period pairs (an hour or more: nightly updates, backups) that existed then;
//   - in a network too small to say what is rare (fewer than 3 devices), periodicity alone
//     stays a weak signal: vendor heartbeats are as regular as implants.
// Evaluated on every new beat, so a 60 s beacon with 10 % jitter to a rare host reaches
// the default threshold after about 8 beats (~8 minutes of event time).
//
// Output: one breach per pair when it first reaches the weak-signal floor, then again only
// when the score rises by 10 or more, or a day after the last one. The breach states the
// period, jitter, beat count and since when; details {period_s, jitter, count, first_seen,
// skew, in_band, size_jitter, devices_contacting, port}.
//
// State: an endpoint seen once costs 16 bytes (`firsts`); its arrival ring is made on its
// second beat. At most `max_pairs_per_device` of each per device (the least recently seen
// is dropped); pairs idle for more than max(1 h, 10 periods), or `max_period_s` while their
// period is unknown, age out on Tick; at most kMaxBeaconDevices devices.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <absl/container/flat_hash_map.h>

#include "core/prefetch.h"
#include "detect/model.h"
#include "detect/network_stats.h"
#include "detect/score.h"
#include "learn/novelty.h"
#include "learn/periodicity.h"

namespace vigil::detect {
namespace {

constexpr size_t kMaxBeaconDevices = 500'000;
constexpr int kEmitFloor = 30;  // below this nothing is emitted (the weak-signal default)
constexpr double kBandTolerance = 0.2;  // a gap within +-20 % of the median period is regular
constexpr double kLongPeriodS = 3600;   // periods from an hour up: scheduled jobs' territory

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// "62 s" below two minutes, else FormatDuration ("35m33s").
std::string Period(double seconds) {
  if (seconds < 120) return Fmt("%.0f s", seconds);
  return FormatDuration(static_cast<Micros>(seconds) * kMicrosPerSecond);
}

bool InfrastructurePort(uint16_t port, Proto proto) {
  if (proto == Proto::kUdp && (port == 123 || port == 67 || port == 68)) return true;
  return port == 53;
}

class BeaconingModel final : public Model {
 public:
  BeaconingModel() {
    info_.name = "network/beaconing";
    info_.description =
        "An internal device connects to a rare external endpoint at regular intervals, like an "
        "implant checking in with its command-and-control server.";
    info_.kinds = {EventKind::kFlow};
    info_.mitre = {"T1071", "T1573", "T1029"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_beats", 8, "Regular connections needed before a pair can score."},
        {"min_period_s", 2, "Shortest period considered (shorter gaps are folded into one beat)."},
        {"max_period_s", 86400, "Longest period considered, seconds."},
        {"max_jitter", 0.3, "Largest MAD/median jitter still called periodic."},
        {"popular_devices", 5, "Devices contacting an address that make it popular (never a beacon)."},
        {"popular_fraction", 0.5, "Fraction of the network's devices that makes an address popular."},
        {"max_pairs_per_device", 256, "Endpoints tracked per device; least recent dropped."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  // The flows the model learns from: an internal device to an external endpoint, not on
  // an infrastructure port. Their body, or null.
  static const FlowBody* Tracked(const Event& e) {
    if (!e.net.valid || !e.orig_internal || e.resp_internal) return nullptr;
    if (InfrastructurePort(e.net.resp_p, e.net.proto)) return nullptr;
    return e.As<FlowBody>();
  }
  // A device's endpoint: the external address and port.
  static uint64_t PairKey(const Event& e) { return learn::MixHash(e.net.resp_h.Hash(), e.net.resp_p); }

  void Observe(const Event& e, ModelContext& ctx) override {
    const FlowBody* f = Tracked(e);
    if (!f) return;
    const uint64_t dev_key = e.net.orig_h.Hash();
    auto dit = devices_.find(dev_key);
    if (dit == devices_.end()) {
      if (devices_.size() >= kMaxBeaconDevices) return;
      dit = devices_.try_emplace(dev_key).first;
    }
    if (learning_end_ == 0 && !ctx.learning()) learning_end_ = e.time;
    Device& dev = dit->second;
    const uint64_t pair_key = PairKey(e);
    const uint64_t size = f->orig_bytes + f->resp_bytes;
    const Micros min_gap = static_cast<Micros>(ctx.param("min_period_s") * kMicrosPerSecond);
    auto pit = dev.pairs.find(pair_key);
    if (pit == dev.pairs.end()) {
      // Most endpoints are met once; they wait in `firsts` (16 bytes) and get a ring only
      // on their second beat, which is what the ring would have recorded anyway.
      size_t cap = static_cast<size_t>(std::max(1.0, ctx.param("max_pairs_per_device")));
      auto fit = dev.firsts.find(pair_key);
      if (fit == dev.firsts.end()) {
        if (dev.firsts.size() >= cap) EvictOldestFirst(dev);
        dev.firsts.emplace(pair_key, First{e.time, size});
        return;  // one arrival makes no gap
      }
      if (e.time - fit->second.t < min_gap) {  // folded into that beat, as the ring would
        fit->second.size += size;
        return;
      }
      First first = fit->second;
      dev.firsts.erase(fit);
      if (dev.pairs.size() >= cap) EvictLeastRecent(dev);
      pit = dev.pairs.try_emplace(pair_key).first;
      pit->second.ring.Add(first.t, first.size, min_gap);
    }
    Pair& p = pit->second;
    if (!p.ring.Add(e.time, size, min_gap)) return;
    if (p.ring.count() < static_cast<uint64_t>(ctx.param("min_beats"))) return;
    Evaluate(e, p, ctx);
  }

  // Observe's misses, fetched ahead: the device's slot, then its endpoint tables' slots.
  bool prefetches() const override { return true; }
  VIGIL_KEEP_PREFETCHES void Prefetch(const Event& e, int stage) const override {
    if (!Tracked(e)) return;
    const uint64_t dev_key = e.net.orig_h.Hash();
    if (stage == 0) {
      devices_.prefetch(dev_key);
      return;
    }
    auto dit = devices_.find(dev_key);
    if (dit == devices_.end()) return;
    const uint64_t pair_key = PairKey(e);
    dit->second.pairs.prefetch(pair_key);
    dit->second.firsts.prefetch(pair_key);
  }

  void Tick(ModelContext& ctx, bool final) override {
    if (final || ctx.now() - last_sweep_ < kMicrosPerHour) return;
    last_sweep_ = ctx.now();
    // One-beat endpoints are many and age slowly: they are swept a quarter as often.
    const bool sweep_firsts = ctx.now() - last_first_sweep_ >= UnknownPeriodCap(ctx) / 4;
    if (sweep_firsts) last_first_sweep_ = ctx.now();
    for (auto dit = devices_.begin(); dit != devices_.end();) {
      Device& d = dit->second;
      // A pair whose period is not known yet waits as long as the longest period
      // considered, so a beacon every few hours is not forgotten between its beats.
      const Micros unknown_cap = UnknownPeriodCap(ctx);
      absl::erase_if(d.pairs, [&](const auto& kv) {
        const Pair& p = kv.second;
        Micros idle_cap = p.period_us > 0 ? std::max<Micros>(kMicrosPerHour, 10 * p.period_us) : unknown_cap;
        return ctx.now() - p.ring.last_seen() > idle_cap;
      });
      if (sweep_firsts)
        absl::erase_if(d.firsts, [&](const auto& kv) { return ctx.now() - kv.second.t > unknown_cap; });
      if (d.pairs.empty() && d.firsts.empty()) {
        devices_.erase(dit++);
      } else {
        ++dit;
      }
    }
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(devices_.size());
    for (const auto& [dk, d] : devices_) {
      w.U64(dk);
      w.U64(d.pairs.size());
      for (const auto& [pk, p] : d.pairs) {
        w.U64(pk);
        p.ring.Save(w);
        w.I64(p.last_emit_time);
        w.I64(p.period_us);
        w.U32(static_cast<uint32_t>(p.last_emit_score));
        w.U8(p.learned_normal ? 1 : 0);
      }
    }
    w.I64(last_sweep_);
    // One-beat endpoints, appended so a checkpoint written before they existed still loads.
    uint64_t n_firsts = 0;
    for (const auto& [dk, d] : devices_) n_firsts += d.firsts.size();
    w.U64(n_firsts);
    for (const auto& [dk, d] : devices_) {
      for (const auto& [pk, f] : d.firsts) {
        w.U64(dk);
        w.U64(pk);
        w.I64(f.t);
        w.U64(f.size);
      }
    }
    w.I64(learning_end_);
  }

  Status Load(learn::StateReader& r) override {
    devices_.clear();
    uint64_t n = r.Count(kMaxBeaconDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      uint64_t dk = r.U64();
      Device& d = devices_[dk];
      uint64_t m = r.Count(1u << 16);
      for (uint64_t j = 0; j < m && r.ok(); ++j) {
        uint64_t pk = r.U64();
        Pair& p = d.pairs[pk];
        if (!p.ring.Load(r)) return Corrupt("beaconing state: bad arrival ring");
        p.last_emit_time = r.I64();
        p.period_us = r.I64();
        p.last_emit_score = static_cast<int>(r.U32());
        p.learned_normal = r.U8() != 0;
      }
    }
    last_sweep_ = r.I64();
    if (r.ok() && !r.at_end()) {
      uint64_t nf = r.Count(static_cast<uint64_t>(kMaxBeaconDevices) << 16);
      for (uint64_t i = 0; i < nf && r.ok(); ++i) {
        uint64_t dk = r.U64(), pk = r.U64();
        First f;
        f.t = r.I64();
        f.size = r.U64();
        if (r.ok()) devices_[dk].firsts[pk] = f;
      }
      if (r.ok() && !r.at_end()) learning_end_ = r.I64();
    }
    return r.ok() ? Status::Ok() : Corrupt("beaconing state is truncated");
  }

  size_t MemoryUsage() const override {
    size_t m = devices_.capacity() * (sizeof(uint64_t) + sizeof(Device));
    for (const auto& [k, d] : devices_)
      m += d.pairs.capacity() * (sizeof(uint64_t) + sizeof(Pair) + 1) +
           d.firsts.capacity() * (sizeof(uint64_t) + sizeof(First) + 1);
    return m;
  }

 private:
  struct Pair {
    learn::ArrivalRing ring;
    Micros last_emit_time = 0;
    Micros period_us = 0;
    int last_emit_score = 0;
    bool learned_normal = false;  // periodic already during the learning period
  };
  struct First {  // an endpoint seen on one beat so far
    Micros t = 0;
    uint64_t size = 0;
  };
  struct Device {
    absl::flat_hash_map<uint64_t, Pair> pairs;    // two beats or more: arrival rings
    absl::flat_hash_map<uint64_t, First> firsts;  // one beat
  };

  // How long a pair whose period is not known yet is kept idle: the longest period considered.
  static Micros UnknownPeriodCap(ModelContext& ctx) {
    return std::max<Micros>(kMicrosPerHour, static_cast<Micros>(ctx.param("max_period_s") * kMicrosPerSecond));
  }

  static void EvictOldestFirst(Device& d) {
    auto victim = d.firsts.begin();
    for (auto it = d.firsts.begin(); it != d.firsts.end(); ++it)
      if (it->second.t < victim->second.t) victim = it;
    if (victim != d.firsts.end()) d.firsts.erase(victim);
  }

  static void EvictLeastRecent(Device& d) {
    auto victim = d.pairs.begin();
    for (auto it = d.pairs.begin(); it != d.pairs.end(); ++it)
      if (it->second.ring.last_seen() < victim->second.ring.last_seen()) victim = it;
    if (victim != d.pairs.end()) d.pairs.erase(victim);
  }

  void Evaluate(const Event& e, Pair& p, ModelContext& ctx) {
    double gaps[learn::ArrivalRing::kGaps];
    size_t n = p.ring.Gaps(gaps);
    learn::PeriodicityStats s = learn::AnalyzeGaps(gaps, n, kBandTolerance);
    p.period_us = static_cast<Micros>(s.median_s * kMicrosPerSecond);
    if (s.median_s > ctx.param("max_period_s") || s.jitter > ctx.param("max_jitter")) return;
    // Scheduled jobs (a nightly update check, a backup, a licence ping) repeat every few
    // hours or days: too slowly to be judged inside the learning period, so a long-period
    // pair that already existed then is the device's pattern of life. A long-period beacon
    // counts only when it started after learning.
    if (s.median_s >= kLongPeriodS && (learning_end_ == 0 || p.ring.first_seen() < learning_end_)) return;

    // Popularity: a destination many devices use is not a lone implant's server.
    const NetworkView& net = ctx.network();
    uint32_t contacting = net.DevicesContacting(e.net.resp_h);
    uint32_t network_devices = net.DeviceCount();
    if (contacting >= static_cast<uint32_t>(ctx.param("popular_devices"))) return;
    if (contacting >= 2 && network_devices > 0 &&
        contacting >= ctx.param("popular_fraction") * network_devices)
      return;

    double sizes[learn::ArrivalRing::kGaps];
    size_t ns = p.ring.Sizes(sizes);
    learn::RobustSummary sz = learn::MedianMad(sizes, ns);
    double size_jitter = sz.median > 0 ? sz.mad / sz.median : 1.0;

    // Half the regularity bits count, discounted linearly as jitter nears max_jitter: a
    // clock with 5 % jitter keeps most of its evidence, one at 25 % little of it.
    double max_jitter = std::max(1e-6, ctx.param("max_jitter"));
    double bits = 0.5 * s.band_bits * std::max(0.0, 1.0 - s.jitter / max_jitter);
    if (network_devices >= 3) bits += contacting <= 1 ? 4.0 : (contacting == 2 ? 2.0 : 0.0);
    if (size_jitter < 0.2) bits += 3.0;
    const AlertEvidence ids = IdsAlertEvidence(net, e.net.resp_h, e.net.resp_h_text, e.time);
    bits += ids.bits;
    int score = ScoreFromBits(bits);
    // Without a network to compare with (fewer than 3 devices seen), a clock alone is what
    // every agent's heartbeat to its vendor looks like (antivirus, sync clients, telemetry):
    // it stays a weak signal for the analyst and never becomes a breach by itself.
    if (network_devices < 3) score = std::min(score, info_.default_threshold - 1);

    if (ctx.learning()) {
      if (score >= info_.default_threshold) p.learned_normal = true;
      return;
    }
    if (p.learned_normal || score < kEmitFloor) return;
    bool escalated = score >= p.last_emit_score + 10;
    bool stale = p.last_emit_time != 0 && e.time - p.last_emit_time >= kMicrosPerDay;
    if (p.last_emit_time != 0 && !escalated && !stale) return;
    p.last_emit_time = e.time;
    p.last_emit_score = score;

    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.score = score;
    b.entity = ToEntityInfo(e.entity);
    b.peer = ToEntityInfo(e.peer);
    std::string dest = std::string(e.net.resp_h_text) + ":" + std::to_string(e.net.resp_p) +
                       (e.net.proto != Proto::kUnknown ? std::string("/") + ProtoName(e.net.proto)
                                                       : std::string());
    b.reasons.push_back(std::string(e.net.orig_h_text) + " connected to " + dest + " every " +
                        Period(s.median_s) + " (jitter " + Fmt("%.0f", s.jitter * 100) +
                        " %) " + std::to_string(p.ring.count()) + " times since " +
                        FormatRfc3339(p.ring.first_seen()));
    b.reasons.push_back(std::to_string(s.in_band) + " of the last " + std::to_string(s.gaps) +
                        " gaps within 20 % of the period: " + Fmt("%.1f", s.band_bits) +
                        " bits against chance");
    b.reasons.push_back(contacting <= 1 ? std::string("no other device in the network contacts ") +
                                              std::string(e.net.resp_h_text)
                                        : std::to_string(contacting) + " of " +
                                              std::to_string(network_devices) +
                                              " devices contact " + std::string(e.net.resp_h_text));
    if (size_jitter < 0.2)
      b.reasons.push_back("each check-in moves about the same number of bytes (median " +
                          Fmt("%.0f", sz.median) + ")");
    if (ids.bits > 0) b.reasons.push_back(ids.reason);
    b.events.push_back(MakeEventRef(e));
    b.mitre = info_.mitre;
    b.details = {{"period_s", std::round(s.median_s * 10) / 10},
                 {"jitter", std::round(s.jitter * 1000) / 1000},
                 {"count", p.ring.count()},
                 {"first_seen", FormatRfc3339(p.ring.first_seen())},
                 {"skew", std::round(s.skew * 100) / 100},
                 {"in_band", s.in_band},
                 {"size_jitter", std::round(size_jitter * 1000) / 1000},
                 {"devices_contacting", contacting},
                 {"ids_alerts", ids.alerts},
                 {"port", e.net.resp_p}};
    ctx.Emit(std::move(b));
  }

  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Device> devices_;
  Micros last_sweep_ = 0;
  Micros last_first_sweep_ = 0;  // not checkpointed: after a restart the first sweep comes early
  Micros learning_end_ = 0;      // the first event time after the learning period (0: not yet)
};

}  // namespace

VIGIL_REGISTER_MODEL(BeaconingModel);

}  // namespace vigil::detect
