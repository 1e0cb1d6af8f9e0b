// network/crypto-mining
//
// Behaviour: a device joins a cryptocurrency mining pool (the last step of many web-server
// compromises: XMRig talking stratum to a Monero pool).
//
// Evidence, each a fixed amount of surprise in bits (detect/score.h), added per event:
//   - the device resolves or names (DNS query, TLS SNI, HTTP Host) a known pool domain
//     (kPoolPatterns below: nanopool, supportxmr, minexmr, 2miners, f2pool, moneroocean,
//     nicehash, suprnova, hashvault, herominers, c3pool, xmrpool, ethermine, ...): 20 bits;
//   - a Suricata alert whose signature or category names mining (CoinMiner, Stratum, XMRig,
//     "Crypto Currency Mining"): 20 bits;
//   - an external connection to a stratum port (kStratumPorts: 3333, 4444, 5555, 7777, 8888,
//     9999, 14433, 14444, 45560, 45700 ...) that is long-lived (>= 5 min) with small packets
//     both ways (mean < 400 bytes a packet, >= 10 packets each way): 14 bits, +4 when no
//     other device contacts the address; a short or one-sided connection to such a port
//     alone is 6 bits (a weak signal at most);
//   - a new long-lived (>= 30 min) connection from a server (a device that answered 3 or more
//     external sources) to an address no other device contacts: 9 bits (weak by itself;
//     what XMRig on a non-standard port looks like).
// Why fixed bits rather than learned frequencies: pool domains and stratum shapes are not
// "rare for this device", they are never normal in a business network; the amounts say how
// specific each clue is. One breach per (device, pool or address) per day.
#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <absl/container/flat_hash_map.h>

#include "detect/model.h"
#include "detect/network_stats.h"
#include "detect/score.h"
#include "learn/distinct.h"
#include "learn/novelty.h"

namespace vigil::detect {
namespace {

// Substrings of host names that identify mining pools (lower case). Documented in
// docs/models/network.md; extend here.
constexpr std::array<std::string_view, 26> kPoolPatterns = {
    "nanopool.org", "supportxmr.com", "minexmr.com", "2miners.com",  "f2pool.com",
    "moneroocean.stream", "nicehash.com", "suprnova.cc", "hashvault.pro", "herominers.com",
    "c3pool.com", "xmrpool.eu", "ethermine.org", "miningpoolhub.com", "viabtc.com",
    "antpool.com", "poolin.com", "dwarfpool.com", "minergate.com", "coinhive.com",
    "xmrig.com", "monerohash.com", "zpool.ca", "unmineable.com", "pool.minexmr",
    "mining-pool"};

constexpr std::array<uint16_t, 14> kStratumPorts = {3333, 3334, 4444, 5555, 6666, 7777, 8888,
                                                    9999, 14433, 14444, 20535, 45560, 45700, 3357};

constexpr size_t kMaxMiningDevices = 200'000;
constexpr size_t kMaxEmitKeys = 200'000;

bool ContainsLower(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() &&
           std::tolower(static_cast<unsigned char>(hay[i + j])) == needle[j])
      ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

std::string_view PoolPattern(std::string_view host) {
  if (host.empty()) return {};
  for (auto p : kPoolPatterns)
    if (ContainsLower(host, p)) return p;
  return {};
}

bool StratumPort(uint16_t p) {
  return std::find(kStratumPorts.begin(), kStratumPorts.end(), p) != kStratumPorts.end();
}

bool MiningSignature(const IdsAlertBody& a) {
  for (std::string_view k : {"coinminer", "coin miner", "stratum", "xmrig", "cryptocurrency mining",
                             "crypto currency mining", "monero", "cryptonight", "mining pool"})
    if (ContainsLower(a.signature, k) || ContainsLower(a.category, k)) return true;
  return false;
}

class CryptoMiningModel final : public Model {
 public:
  CryptoMiningModel() {
    info_.name = "network/crypto-mining";
    info_.description =
        "A device used a cryptocurrency mining pool: pool domains, stratum-shaped connections, "
        "mining IDS signatures, or a server's new long-lived connection to a rare host.";
    info_.kinds = {EventKind::kDns, EventKind::kTls, EventKind::kHttp, EventKind::kFlow,
                   EventKind::kIdsAlert};
    info_.mitre = {"T1496"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_stratum_duration_s", 300, "Duration that makes a stratum-port connection long-lived."},
        {"min_server_longlived_s", 1800, "Duration of a server's long-lived rare connection."},
        {"min_server_sources", 3, "Distinct external sources answered that make a device a server."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    if (!e.net.valid) return;
    switch (e.kind) {
      case EventKind::kDns:
        if (auto* d = e.As<DnsBody>(); d && e.orig_internal)
          HostEvidence(e, d->query, "resolved", ctx);
        return;
      case EventKind::kTls:
        if (auto* t = e.As<TlsBody>(); t && e.orig_internal)
          HostEvidence(e, t->server_name, "opened TLS to", ctx);
        return;
      case EventKind::kHttp:
        if (auto* h = e.As<HttpBody>(); h && e.orig_internal)
          HostEvidence(e, h->host, "sent HTTP to", ctx);
        return;
      case EventKind::kIdsAlert:
        if (auto* a = e.As<IdsAlertBody>(); a && MiningSignature(*a)) {
          Emit(e, ctx, 20, learn::HashValue(a->signature),
               {"Suricata mining signature [" + std::to_string(a->signature_id) + "] " +
                std::string(a->signature)},
               {{"signature", std::string(a->signature)}, {"sid", a->signature_id}});
        }
        return;
      case EventKind::kFlow:
        FlowEvidence(e, ctx);
        return;
      default:
        return;
    }
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(devices_.size());
    for (const auto& [k, d] : devices_) {
      w.U64(k);
      d.inbound.Save(w);
    }
    w.U64(emitted_.size());
    for (const auto& [k, t] : emitted_) {
      w.U64(k);
      w.I64(t);
    }
  }
  Status Load(learn::StateReader& r) override {
    devices_.clear();
    emitted_.clear();
    uint64_t n = r.Count(kMaxMiningDevices);
    for (uint64_t i = 0; i < n && r.ok(); ++i) devices_[r.U64()].inbound.Load(r);
    uint64_t m = r.Count(kMaxEmitKeys + 1);
    for (uint64_t i = 0; i < m && r.ok(); ++i) {
      uint64_t k = r.U64();
      emitted_[k] = r.I64();
    }
    return r.ok() ? Status::Ok() : Corrupt("crypto-mining state is truncated");
  }
  size_t MemoryUsage() const override {
    return devices_.capacity() * (sizeof(uint64_t) + sizeof(Device) + 1) +
           emitted_.capacity() * 17;
  }

 private:
  struct Device {
    learn::SmallDistinct inbound;  // external sources the device answered
  };

  void HostEvidence(const Event& e, std::string_view host, const char* verb, ModelContext& ctx) {
    std::string_view pat = PoolPattern(host);
    if (pat.empty()) return;
    Emit(e, ctx, 20, learn::HashValue(pat),
         {std::string(e.net.orig_h_text) + " " + verb + " " + std::string(host.substr(0, 200)) +
          ", a mining pool domain (matches '" + std::string(pat) + "')"},
         {{"pool_host", std::string(host.substr(0, 200))}, {"pattern", std::string(pat)}});
  }

  void FlowEvidence(const Event& e, ModelContext& ctx) {
    const auto* f = e.As<FlowBody>();
    if (!f) return;
    if (!e.orig_internal && e.resp_internal) {  // inbound: learn server-ness
      if (f->resp_pkts == 0 && f->resp_bytes == 0) return;
      auto it = devices_.find(e.net.resp_h.Hash());
      if (it == devices_.end()) {
        if (devices_.size() >= kMaxMiningDevices) return;
        it = devices_.try_emplace(e.net.resp_h.Hash()).first;
      }
      it->second.inbound.Add(DeviceFingerprint(e.net.orig_h));
      return;
    }
    if (!e.orig_internal || e.resp_internal || !f->has_duration) return;
    double dur_s = static_cast<double>(f->duration) / kMicrosPerSecond;
    uint32_t contacting = ctx.network().DevicesContacting(e.net.resp_h);
    bool alone = contacting <= 1;
    uint64_t key = learn::MixHash(e.net.resp_h.Hash(), e.net.resp_p);
    if (StratumPort(e.net.resp_p)) {
      uint64_t pkts = f->orig_pkts + f->resp_pkts;
      double per_pkt = pkts ? static_cast<double>(f->orig_bytes + f->resp_bytes) / pkts : 1e9;
      bool shaped = dur_s >= ctx.param("min_stratum_duration_s") && f->orig_pkts >= 10 &&
                    f->resp_pkts >= 10 && per_pkt < 400;
      double bits = shaped ? 14 + (alone ? 4 : 0) : 6;
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.0f s, %llu/%llu packets, %.0f bytes a packet", dur_s,
                    static_cast<unsigned long long>(f->orig_pkts),
                    static_cast<unsigned long long>(f->resp_pkts), per_pkt);
      Emit(e, ctx, bits, key,
           {std::string(e.net.orig_h_text) + " connected to " + std::string(e.net.resp_h_text) +
                ":" + std::to_string(e.net.resp_p) + ", a stratum mining port" +
                (shaped ? ", long-lived with small packets both ways (" : " (") + buf + ")",
            alone ? "no other device in the network talks to " + std::string(e.net.resp_h_text)
                  : std::to_string(contacting) + " devices talk to " +
                        std::string(e.net.resp_h_text)},
           {{"port", e.net.resp_p}, {"duration_s", dur_s}, {"stratum_shape", shaped}});
      return;
    }
    if (dur_s < ctx.param("min_server_longlived_s") || !alone) return;
    auto it = devices_.find(e.net.orig_h.Hash());
    if (it == devices_.end() ||
        it->second.inbound.count() < static_cast<uint32_t>(ctx.param("min_server_sources")))
      return;
    Emit(e, ctx, 9, key,
         {"server " + std::string(e.net.orig_h_text) + " held a " + FormatDuration(f->duration) +
              " connection to " + std::string(e.net.resp_h_text) + ":" +
              std::to_string(e.net.resp_p) + ", which no other device contacts",
          "the device answered " + std::to_string(it->second.inbound.count()) +
              (it->second.inbound.saturated() ? "+" : "") + " external sources"},
         {{"port", e.net.resp_p}, {"duration_s", dur_s}, {"server", true}});
  }

  void Emit(const Event& e, ModelContext& ctx, double bits, uint64_t indicator,
            std::vector<std::string> reasons, nlohmann::json details) {
    if (ctx.learning()) return;
    uint64_t key = learn::MixHash(e.net.orig_h.Hash(), indicator);
    auto [it, fresh] = emitted_.try_emplace(key, e.time);
    if (!fresh) {
      if (e.time - it->second < kMicrosPerDay) return;
      it->second = e.time;
    }
    if (emitted_.size() > kMaxEmitKeys) emitted_.clear();
    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.score = ScoreFromBits(bits);
    b.entity = ToEntityInfo(e.entity);
    if (!e.peer.empty()) b.peer = ToEntityInfo(e.peer);
    if (const auto* d = e.As<DnsBody>(); d && !d->query.empty()) {
      // For a lookup, the peer that matters is the pool, not the resolver that answered.
      std::string pool(d->query.substr(0, 253));
      b.peer = EntityInfo{"external", pool, pool};
    }
    b.reasons = std::move(reasons);
    b.events.push_back(MakeEventRef(e));
    b.mitre = info_.mitre;
    b.details = std::move(details);
    b.details["bits"] = bits;
    ctx.Emit(std::move(b));
  }

  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Device> devices_;
  absl::flat_hash_map<uint64_t, Micros> emitted_;
};

}  // namespace

VIGIL_REGISTER_MODEL(CryptoMiningModel);

}  // namespace vigil::detect
