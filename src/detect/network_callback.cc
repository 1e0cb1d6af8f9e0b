// network/callback-to-inbound-source
//
// Behaviour: a device that was contacted from an external address starts connecting out to
// that same address (on any port) although it never connected to it before. Web servers
// receive, they do not call out: an exploit delivered from X that makes the server open a
// reverse shell or fetch a second stage from X shows up exactly like this.
//
// Statistic: per device, for each external address that contacted it, the inbound contacts
// it answered (first/last time, count) and whether the device ever opened a connection to
// it (from NetworkStats when the address first calls in, then kept up to date; addresses
// that never call in cost nothing here). The first
// outbound connection to an address with inbound history and no outbound history is the
// event. Its surprise, in bits (detect/score.h): 12 for the reversal itself (almost never
// seen in benign traffic: protocols that call back, like active FTP, do so from the client
// side after the client called out first, which is outbound history), +4 when no other
// device in the network talks to the address, +3 when the callback comes within an hour of
// the last inbound contact, +3 when the device behaves as a server (answered 3 or more
// distinct external sources and opened few outbound connections), +3 (+5 for severity 1-2)
// when the IDS alerted on the address in the last 24 h.
//
// State: at most kMaxPeersPerDevice external addresses per device (the least recently
// seen quarter is dropped when full), at most kMaxCallbackDevices devices. During the
// learning period it learns and does not emit.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/prefetch.h"
#include "detect/model.h"
#include "detect/network_stats.h"
#include "detect/score.h"

namespace vigil::detect {
namespace {

constexpr size_t kMaxPeersPerDevice = 4096;
constexpr size_t kMaxCallbackDevices = 200'000;

class CallbackModel final : public Model {
 public:
  CallbackModel() {
    info_.name = "network/callback-to-inbound-source";
    info_.description =
        "A device connected out to an external address that had connected in to it, with no "
        "earlier outbound connection to that address.";
    info_.kinds = {EventKind::kFlow};
    info_.mitre = {"T1190", "T1059", "T1071"};
    info_.default_threshold = 60;
    info_.params = {
        {"max_callback_delay_h", 168, "Inbound contacts older than this (hours) do not count."},
        {"min_server_sources", 3, "Distinct external sources answered that make a device a server."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  // A flow between the network and the internet: the internal device, the external host,
  // and whether the external host started it. Null sides when both or neither are internal.
  struct Sides {
    const IpAddr* device = nullptr;
    const IpAddr* external = nullptr;
    bool inbound = false;
  };
  static Sides SidesOf(const Event& e) {
    if (e.orig_internal == e.resp_internal) return {};
    const bool inbound = e.resp_internal;
    return {inbound ? &e.net.resp_h : &e.net.orig_h, inbound ? &e.net.orig_h : &e.net.resp_h, inbound};
  }

  // Observe's misses, fetched ahead: the device's slot, then its peer's slot.
  bool prefetches() const override { return true; }
  VIGIL_KEEP_PREFETCHES void Prefetch(const Event& e, int stage) const override {
    if (!e.net.valid || e.net.proto == Proto::kIcmp) return;
    const Sides sides = SidesOf(e);
    if (!sides.device) return;
    if (stage == 0) {
      devices_.prefetch(sides.device->Hash());
      return;
    }
    auto dit = devices_.find(sides.device->Hash());
    if (dit == devices_.end()) return;
    dit->second.peers.prefetch(sides.external->Hash());
  }

  void Observe(const Event& e, ModelContext& ctx) override {
    if (!e.net.valid || e.net.proto == Proto::kIcmp) return;
    const auto* f = e.As<FlowBody>();
    if (!f) return;
    now_hint_ = e.time;
    const Sides sides = SidesOf(e);
    if (!sides.device) return;
    const bool inbound = sides.inbound;
    const IpAddr& device = *sides.device;
    const IpAddr& external = *sides.external;
    auto dit = devices_.find(device.Hash());
    if (dit == devices_.end()) {
      if (devices_.size() >= kMaxCallbackDevices) return;
      dit = devices_.try_emplace(device.Hash()).first;
    }
    Device& d = dit->second;
    if (inbound) {
      // Only contacts the device answered: a dropped scan is not a conversation.
      if (f->resp_pkts == 0 && f->resp_bytes == 0) return;
      const bool fresh = !d.peers.contains(external.Hash());
      Peer& p = Touch(d, external.Hash());
      if (fresh) {
        // Outbound history is not kept per peer (most of a device's outbound peers never
        // call in); NetworkStats knows whether this device ever contacted the address. An
        // address too many devices talk to for that to be exact counts as contacted: a
        // callback to a popular address is not judged.
        const NetworkView& net = ctx.network();
        p.out_seen = net.DeviceContacted(external, device) ||
                     net.DevicesContacting(external) >= NetworkStats::kPopular;
      }
      if (p.in_count == 0) {
        p.first_in = e.time;
        ++d.inbound_sources;
      }
      p.last_in = std::max(p.last_in, e.time);
      ++p.in_count;
      return;
    }
    ++d.outbound_count;
    auto pit = d.peers.find(external.Hash());
    if (pit == d.peers.end()) return;  // never called in: NetworkStats remembers this contact
    Peer& p = pit->second;
    bool first_out = !p.out_seen;
    p.out_seen = true;
    if (!first_out || p.in_count == 0 || ctx.learning()) return;
    Micros delay = e.time - p.last_in;
    if (delay < 0 || delay > static_cast<Micros>(ctx.param("max_callback_delay_h") * kMicrosPerHour))
      return;

    const NetworkView& net = ctx.network();
    uint32_t contacting = net.DevicesContacting(external);
    bool alone = contacting <= 1;
    bool quick = delay <= kMicrosPerHour;
    bool server = d.inbound_sources >= static_cast<uint32_t>(ctx.param("min_server_sources")) &&
                  d.outbound_count <= 10 * d.inbound_sources;
    const AlertEvidence ids = IdsAlertEvidence(net, external, e.net.resp_h_text, e.time);
    double bits = 12 + (alone ? 4 : 0) + (quick ? 3 : 0) + (server ? 3 : 0) + ids.bits;

    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.score = ScoreFromBits(bits);
    b.entity = ToEntityInfo(e.entity);
    b.peer = ToEntityInfo(e.peer);
    std::string x(e.net.resp_h_text);
    b.reasons.push_back(std::string(e.net.orig_h_text) + " connected out to " + x + ":" +
                        std::to_string(e.net.resp_p) + ", which had connected in to it " +
                        std::to_string(p.in_count) + " time" + (p.in_count == 1 ? "" : "s") +
                        " (first " + FormatRfc3339(p.first_in) + ", last " +
                        FormatRfc3339(p.last_in) + ")");
    b.reasons.push_back("the device had never connected to " + x + " before; callback " +
                        FormatDuration(delay) + " after the last inbound contact");
    if (server)
      b.reasons.push_back("the device behaves as a server: it answered " +
                          std::to_string(d.inbound_sources) + " external sources");
    b.reasons.push_back(alone ? "no other device in the network talks to " + x
                              : std::to_string(contacting) + " devices in the network talk to " + x);
    if (ids.bits > 0) b.reasons.push_back(ids.reason);
    b.events.push_back(MakeEventRef(e));
    b.mitre = info_.mitre;
    b.details = {{"inbound_count", p.in_count},
                 {"first_inbound", FormatRfc3339(p.first_in)},
                 {"last_inbound", FormatRfc3339(p.last_in)},
                 {"delay_s", delay / kMicrosPerSecond},
                 {"port", e.net.resp_p},
                 {"server", server},
                 {"devices_contacting", contacting},
                 {"ids_alerts", ids.alerts}};
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(devices_.size());
    for (const auto& [dk, d] : devices_) {
      w.U64(dk);
      w.U32(d.inbound_sources);
      w.U64(d.outbound_count);
      w.U64(d.peers.size());
      for (const auto& [pk, p] : d.peers) {
        w.U64(pk);
        w.I64(p.first_in);
        w.I64(p.last_in);
        w.I64(p.last_seen);
        w.U32(p.in_count);
        w.U8(p.out_seen);
      }
    }
  }
  Status Load(learn::StateReader& r) override {
    devices_.clear();
    uint64_t n = r.Count(kMaxCallbackDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Device& d = devices_[r.U64()];
      d.inbound_sources = r.U32();
      d.outbound_count = r.U64();
      uint64_t m = r.Count(kMaxPeersPerDevice);
      for (uint64_t j = 0; j < m && r.ok(); ++j) {
        Peer& p = d.peers[r.U64()];
        p.first_in = r.I64();
        p.last_in = r.I64();
        p.last_seen = r.I64();
        p.in_count = r.U32();
        p.out_seen = r.U8() != 0;
      }
    }
    return r.ok() ? Status::Ok() : Corrupt("callback state is truncated");
  }
  size_t MemoryUsage() const override {
    size_t m = devices_.capacity() * (sizeof(uint64_t) + sizeof(Device));
    for (const auto& [k, d] : devices_) m += d.peers.capacity() * (sizeof(uint64_t) + sizeof(Peer) + 1);
    return m;
  }

 private:
  struct Peer {
    Micros first_in = 0;
    Micros last_in = 0;
    Micros last_seen = 0;
    uint32_t in_count = 0;
    bool out_seen = false;
  };
  struct Device {
    absl::flat_hash_map<uint64_t, Peer> peers;
    uint32_t inbound_sources = 0;
    uint64_t outbound_count = 0;
  };

  Peer& Touch(Device& d, uint64_t key) {
    if (d.peers.size() >= kMaxPeersPerDevice && !d.peers.contains(key)) {
      std::vector<Micros> times;
      times.reserve(d.peers.size());
      for (const auto& [k, p] : d.peers) times.push_back(p.last_seen);
      size_t cut = times.size() / 4;
      std::nth_element(times.begin(), times.begin() + static_cast<long>(cut), times.end());
      Micros cutoff = times[cut];
      absl::erase_if(d.peers, [cutoff](const auto& kv) { return kv.second.last_seen <= cutoff; });
    }
    Peer& p = d.peers[key];
    p.last_seen = std::max(p.last_seen, now_hint_);
    return p;
  }

  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Device> devices_;
  Micros now_hint_ = 0;
};

}  // namespace

VIGIL_REGISTER_MODEL(CallbackModel);

}  // namespace vigil::detect
