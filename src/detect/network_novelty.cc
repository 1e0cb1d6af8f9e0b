// Two network models built on the novelty primitive (learn/novelty.h).
//
// network/new-user-agent-to-internal-server
//   Behaviour: an internal client sends an internal server an HTTP User-Agent that the
//   server has never been sent by anyone. Attackers' tools (python-requests, curl, Go's
//   http client, scanners) rarely match the browsers and agents a server normally sees.
//   Statistic: per server, the Good-Turing probability that the next user agent is new,
//   p_new = (N1 + 1) / (N + 1) over all requests it has answered. A server that has seen
//   14,203 requests with no one-off agents makes a new one ~14 bits of surprise (score
//   ~70); a server whose clients keep bringing new agents is not surprised. A known agent
//   from a brand-new client is not new for the server and does not fire. A new version
//   of an agent the server knows (the same string with other numbers: a browser that
//   updated itself, Chrome/131 -> Chrome/132) carries half the bits, which keeps a fleet's
//   browser update below the threshold as a weak signal while a new tool still breaches.
//   The breach is on the client (the device that acted), with the server as peer.
//
// network/rare-external-destination
//   Behaviour: an internal device exchanges data with an external address that almost no
//   device in the network has talked to, and that this device never has.
//   Statistic: surprise for the device (Good-Turing p_new over its own destinations) plus
//   surprise for the network ((others + 1) / (devices + 1), where others is how many other
//   internal devices contacted the address), added in bits. A browsing workstation that
//   meets new hosts all day has a high p_new and scores low; a server that talks to the
//   same few hosts scores high on its first rare one. Host names count too (TLS SNI, HTTP
//   Host): a server that never talked to github.com fetching from github.com and
//   objects.githubusercontent.com is unusual for that server even though the names are
//   popular, so for a device that behaves as an internet-facing server (it mostly answers
//   the internet, rarely calls out) a new name breaches without being rare network-wide;
//   `server_bits` is that prior, in bits. One breach per connection.
//   Habit: the network-rarity bits are weighted by k / (k + r), where r is how many first
//   contacts with rare addresses (names) the device made before, learning period included,
//   and k = `habit_contacts` (5). A workstation that meets sites nobody else visits every
//   day keeps little of that evidence (on a benign month of office traffic this took the
//   model from ~126 breaches per device-month to none, tests/calibration_test.cc); a
//   server that never reaches the long tail keeps all of it.
#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "core/prefetch.h"
#include "detect/model.h"
#include "detect/network_stats.h"
#include "detect/score.h"
#include "learn/novelty.h"

namespace vigil::detect {
namespace {

std::string Thousands(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Days(Micros d) {
  char buf[32];
  double days = static_cast<double>(d) / kMicrosPerDay;
  if (days >= 1.0) {
    std::snprintf(buf, sizeof buf, "%.0f day%s", days, days >= 1.5 ? "s" : "");
  } else {
    double hours = static_cast<double>(d) / kMicrosPerHour;
    std::snprintf(buf, sizeof buf, "%.1f hours", hours);
  }
  return buf;
}

absl::string_view Key(std::string_view s) { return {s.data(), s.size()}; }

// A user agent's shape: every run of digits becomes one '#', so versions of one agent
// share it ("Chrome/131.0.0.0" and "Chrome/132.0.6834.83" -> "Chrome/#.#.#.#").
uint64_t AgentShape(std::string_view ua) {
  std::string shape;
  shape.reserve(ua.size());
  for (size_t i = 0; i < ua.size(); ++i) {
    bool digit = ua[i] >= '0' && ua[i] <= '9';
    if (!digit) {
      shape.push_back(ua[i]);
    } else if (shape.empty() || shape.back() != '#') {
      shape.push_back('#');
    }
  }
  return learn::HashValue(shape);
}

constexpr size_t kMaxTrackedEntities = 1'000'000;  // per model; past it new keys are not learned

class NewUserAgentModel final : public Model {
 public:
  NewUserAgentModel() {
    info_.name = "network/new-user-agent-to-internal-server";
    info_.description =
        "An internal client sent an internal server an HTTP user agent that the server has never "
        "been sent before, when the server's history says new agents are rare.";
    info_.kinds = {EventKind::kHttp};
    info_.mitre = {"T1071.001", "T1190"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_requests", 200, "Requests a server must have answered before a new agent can breach."},
        {"min_clients", 3, "Distinct clients a server must have served first."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  void Observe(const Event& e, ModelContext& ctx) override {
    if (!e.net.valid || !e.orig_internal || !e.resp_internal) return;
    const auto* h = e.As<HttpBody>();
    if (!h) return;
    std::string_view ua = h->user_agent.empty() ? std::string_view("(no user agent)") : h->user_agent;
    auto it = servers_.find(Key(e.net.resp_h_text));
    if (it == servers_.end()) {
      if (servers_.size() >= kMaxTrackedEntities) return;
      it = servers_.emplace(std::string(e.net.resp_h_text), Server{}).first;
    }
    Server& s = it->second;
    auto clients_before = s.clients.distinct();
    s.clients.Observe(e.net.orig_h.Hash(), e.time);
    auto v = s.agents.Observe(learn::HashValue(ua), e.time);
    auto shape = s.shapes.Observe(AgentShape(ua), e.time);
    if (!v.is_new || ctx.learning()) return;
    if (v.observations < static_cast<uint64_t>(ctx.param("min_requests"))) return;
    if (clients_before < static_cast<uint32_t>(ctx.param("min_clients"))) return;
    const bool new_version = !shape.is_new;  // another version of an agent it knows
    Breach b;
    b.time = e.time;
    b.score = ScoreFromBits(SurpriseBits(v.p_new) * (new_version ? 0.5 : 1.0));
    b.entity = ToEntityInfo(e.entity);
    b.peer = EntityInfo{"device", std::string(e.net.resp_h_text), std::string(e.net.resp_h_text)};
    b.reasons.push_back("user agent '" + std::string(ua.substr(0, 200)) + "' first seen by " +
                        std::string(e.net.resp_h_text) + " after " + Thousands(v.observations) +
                        " requests from " + Thousands(clients_before) + " clients in " +
                        Days(e.time - v.first_seen));
    char p[64];
    std::snprintf(p, sizeof p, "%.2g", v.p_new);
    b.reasons.push_back("the server had seen " + Thousands(v.distinct) + " distinct user agents, " +
                        Thousands(v.singletons) + " of them only once: chance of a new one ~" + p);
    if (new_version)
      b.reasons.push_back("but it is a new version of an agent the server knows (the same agent with other "
                          "numbers, seen " + Thousands(shape.value_count) + " times), so it counts half");
    b.reasons.push_back("sent by " + std::string(e.net.orig_h_text) + ": " + std::string(h->method) +
                        " " + std::string(h->host) + std::string(h->uri.substr(0, 200)));
    b.events.push_back(MakeEventRef(e));
    b.details = {{"user_agent", std::string(ua.substr(0, 200))},
                 {"server", std::string(e.net.resp_h_text)},
                 {"server_requests", v.observations},
                 {"server_clients", clients_before},
                 {"distinct_agents", v.distinct},
                 {"p_new", v.p_new},
                 {"new_version_of_known_agent", new_version},
                 {"history_since", FormatRfc3339(v.first_seen)}};
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override {
    std::vector<const std::string*> keys;
    for (const auto& [k, v] : servers_) keys.push_back(&k);
    std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
    w.U64(keys.size());
    for (const auto* k : keys) {
      const Server& s = servers_.at(*k);
      w.Str(*k);
      s.agents.Save(w);
      s.clients.Save(w);
    }
    // Appended after the servers, so a checkpoint written before shapes existed still loads.
    for (const auto* k : keys) servers_.at(*k).shapes.Save(w);
  }
  Status Load(learn::StateReader& r) override {
    servers_.clear();
    uint64_t n = r.Count(kMaxTrackedEntities);
    std::vector<std::string> order;
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      std::string k = r.Str();
      Server s;
      s.agents.Load(r);
      s.clients.Load(r);
      order.push_back(k);
      servers_.emplace(std::move(k), std::move(s));
    }
    if (r.ok() && !r.at_end())
      for (const auto& k : order) servers_[k].shapes.Load(r);
    return r.ok() ? Status::Ok() : Corrupt("new-user-agent state is truncated");
  }
  size_t MemoryUsage() const override {
    size_t m = servers_.capacity() * (sizeof(std::string) + sizeof(Server));
    for (const auto& [k, s] : servers_) m += s.agents.MemoryUsage() + s.clients.MemoryUsage() + s.shapes.MemoryUsage();
    return m;
  }

 private:
  struct Server {
    learn::NoveltySet agents{4096};
    learn::NoveltySet clients{4096};
    learn::NoveltySet shapes{1024};  // agents with their numbers blanked (AgentShape)
  };
  ModelInfo info_;
  absl::flat_hash_map<std::string, Server> servers_;
};

class RareExternalDestinationModel final : public Model {
 private:
  // What every flow touches comes first, in the slot's first cache lines; the host names
  // (TLS and HTTP events only) last.
  struct Device {
    uint64_t inbound = 0;   // connections from external hosts to it
    uint64_t outbound = 0;  // connections it made to external hosts
    // Its habit: first contacts with addresses (names) that were rare in the network at
    // the time, learning period included. Browsing workstations pile these up daily.
    uint32_t rare_firsts = 0;
    uint32_t rare_name_firsts = 0;
    learn::NoveltySet dests{4096};
    learn::NoveltySet names{4096};
  };

  // How much of the network-rarity evidence still counts for a device that has made
  // `rare_firsts` rare first contacts before: k / (k + rare_firsts), k = habit_contacts.
  // A server that never reaches the long tail keeps all of it; a workstation that meets
  // sites nobody else visits every day keeps little, so a new rare site is not an alert
  // by itself (its beaconing or downloads still are, in their own models).
  static double HabitKeep(uint32_t rare_firsts, double k) {
    k = std::max(0.0, k);
    return k <= 0 ? 1.0 : k / (k + static_cast<double>(rare_firsts));
  }
  // "the device has <what it did> before, so network rarity counts 29%".
  static std::string HabitReason(const std::string& what, double keep) {
    char k[32];
    std::snprintf(k, sizeof k, "%.0f%%", 100 * keep);
    return "the device has " + what + " before, so network rarity counts " + k;
  }

 public:
  RareExternalDestinationModel() {
    info_.name = "network/rare-external-destination";
    info_.description =
        "An internal device exchanged data with an external address that almost no device in "
        "the network has contacted and that this device never has.";
    info_.kinds = {EventKind::kFlow, EventKind::kTls, EventKind::kHttp};
    info_.mitre = {"T1071", "T1041"};
    info_.default_threshold = 60;
    info_.params = {
        {"min_history", 50, "Connections (either direction) a device must have had before novelty counts."},
        {"max_devices", 2, "Most other devices that may have contacted the host for it to be rare."},
        {"min_network_devices", 5, "Internal devices the network must have to judge rarity."},
        {"server_bits", 6, "Extra bits of surprise when the device behaves as an internet-facing server."},
        {"habit_contacts", 5,
         "Rare first contacts after which a device's network-rarity evidence counts half (0 = never discount)."},
    };
  }
  const ModelInfo& info() const override { return info_; }

  // The internal side of a flow between the network and the internet.
  static const IpAddr& DeviceOf(const Event& e) { return e.orig_internal ? e.net.orig_h : e.net.resp_h; }

  // Observe's misses, fetched ahead (flows): the device's slot, then its destination's
  // slot in the device's novelty set.
  bool prefetches() const override { return true; }
  VIGIL_KEEP_PREFETCHES void Prefetch(const Event& e, int stage) const override {
    if (e.kind != EventKind::kFlow || !e.net.valid || e.orig_internal == e.resp_internal) return;
    const IpAddr& device = DeviceOf(e);
    if (stage == 0) {
      devices_.prefetch(device.Hash());
      return;
    }
    if (!e.orig_internal) return;  // inbound: only the device's counters
    auto it = devices_.find(device.Hash());
    if (it != devices_.end()) it->second.dests.Prefetch(e.net.resp_h.Hash());
  }

  void Observe(const Event& e, ModelContext& ctx) override {
    if (!e.net.valid || e.orig_internal == e.resp_internal) return;
    if (e.kind != EventKind::kFlow) {
      ObserveName(e, ctx);
      return;
    }
    const auto* f = e.As<FlowBody>();
    if (!f) return;
    const IpAddr& device = DeviceOf(e);
    auto it = devices_.find(device.Hash());
    if (it == devices_.end()) {
      if (devices_.size() >= kMaxTrackedEntities) return;
      it = devices_.try_emplace(device.Hash()).first;
    }
    Device& d = it->second;
    if (!e.orig_internal) {  // inbound from the internet: only its role is learned
      ++d.inbound;
      return;
    }
    ++d.outbound;
    auto v = d.dests.Observe(e.net.resp_h.Hash(), e.time);
    if (!v.is_new) return;
    // Only contacts that exchanged data: a lone SYN to a rare address is scanning noise.
    if (f->resp_bytes == 0 && f->resp_pkts == 0) return;
    const NetworkView& net = ctx.network();
    if (ctx.learning()) {  // learn the habit, say nothing
      if (net.DevicesContacting(e.net.resp_h) <= 1 + static_cast<uint32_t>(ctx.param("max_devices")))
        ++d.rare_firsts;
      return;
    }
    if (d.inbound + d.outbound < static_cast<uint64_t>(ctx.param("min_history"))) return;
    uint32_t devices = net.DeviceCount();
    if (devices < static_cast<uint32_t>(ctx.param("min_network_devices"))) return;
    uint32_t contacted = net.DevicesContacting(e.net.resp_h);
    uint32_t others = contacted - (net.DeviceContacted(e.net.resp_h, e.net.orig_h) ? 1 : 0);
    if (others > static_cast<uint32_t>(ctx.param("max_devices"))) return;
    const uint32_t habit = d.rare_firsts++;
    const double keep = HabitKeep(habit, ctx.param("habit_contacts"));
    double p_network = static_cast<double>(others + 1) / static_cast<double>(devices + 1);
    double bits = SurpriseBits(v.p_new) + keep * SurpriseBits(p_network);
    // A server that mostly answers the internet and rarely calls out: its outbound
    // destinations are few and fixed, so a new rare one counts for more.
    const bool server = IsServer(d);
    if (server) bits += ctx.param("server_bits");
    Breach b;
    b.time = e.time;
    b.score = ScoreFromBits(bits);
    b.entity = ToEntityInfo(e.entity);
    b.peer = ToEntityInfo(e.peer);
    std::string dest = std::string(e.net.resp_h_text) + ":" + std::to_string(e.net.resp_p);
    b.reasons.push_back(std::string(e.net.orig_h_text) + " contacted " + dest + ", which " +
                        (others == 0 ? std::string("no other device")
                                     : "only " + std::to_string(others) + " other device" +
                                           (others == 1 ? "" : "s")) +
                        " of " + Thousands(devices) + " in the network has contacted");
    char p[64];
    std::snprintf(p, sizeof p, "%.2g", v.p_new);
    b.reasons.push_back("first contact for this device after " + Thousands(v.observations) +
                        " outbound connections to " + Thousands(v.distinct) + " destinations in " +
                        Days(e.time - v.first_seen) + " (chance of a new destination ~" + p + ")");
    if (habit > 0)
      b.reasons.push_back(HabitReason("made " + Thousands(habit) + " first contact" + (habit == 1 ? "" : "s") +
                                          " with rare addresses",
                                      keep));
    if (server) {
      b.reasons.push_back("the device behaves as a server: " + Thousands(d.inbound) +
                          " inbound connections from the internet against " +
                          Thousands(d.outbound - 1) + " outbound");
    }
    b.events.push_back(MakeEventRef(e));
    Remember(e.uid);
    b.details = {{"destination", std::string(e.net.resp_h_text)},
                 {"port", e.net.resp_p},
                 {"other_devices", others},
                 {"network_devices", devices},
                 {"device_connections", v.observations},
                 {"device_destinations", v.distinct},
                 {"server", server},
                 {"p_new", v.p_new},
                 {"earlier_rare_contacts", habit},
                 {"rarity_weight", keep}};
    ctx.Emit(std::move(b));
  }

  // Host names (TLS SNI, HTTP Host) a device reaches outside.
  void ObserveName(const Event& e, ModelContext& ctx) {
    if (!e.orig_internal) return;
    std::string_view name;
    if (const auto* t = e.As<TlsBody>()) name = t->server_name;
    if (const auto* h = e.As<HttpBody>()) name = h->host;
    if (name.empty() || IpAddr::Parse(name)) return;  // an address literal: the flow covers it
    auto it = devices_.find(e.net.orig_h.Hash());
    if (it == devices_.end()) return;  // the device's flows come first
    Device& d = it->second;
    auto v = d.names.Observe(HostNameKey(name), e.time);
    if (!v.is_new) return;
    const NetworkView& net = ctx.network();
    uint32_t contacted = net.DevicesContactingName(name);
    uint32_t others = contacted > 0 ? contacted - 1 : 0;
    const bool rare = others <= static_cast<uint32_t>(ctx.param("max_devices"));
    if (ctx.learning()) {
      if (rare) ++d.rare_name_firsts;
      return;
    }
    if (d.inbound + d.outbound < static_cast<uint64_t>(ctx.param("min_history"))) return;
    uint32_t devices = net.DeviceCount();
    if (devices < static_cast<uint32_t>(ctx.param("min_network_devices"))) return;
    const bool server = IsServer(d);
    if (!rare && !server) return;
    const uint32_t habit = rare ? d.rare_name_firsts++ : d.rare_name_firsts;
    if (Fired(e.uid)) return;  // the address of this connection already breached
    const double keep = HabitKeep(habit, ctx.param("habit_contacts"));
    double p_network = static_cast<double>(std::min(others, devices) + 1) / static_cast<double>(devices + 1);
    double bits = SurpriseBits(v.p_new) + keep * SurpriseBits(p_network) + (server ? ctx.param("server_bits") : 0);
    Breach b;
    b.time = e.time;
    b.score = ScoreFromBits(bits);
    b.entity = ToEntityInfo(e.entity);
    std::string n(name.substr(0, 253));
    b.peer = EntityInfo{"external", n, n};
    bool popular = others >= NetworkStats::kPopular - 1;
    b.reasons.push_back(std::string(e.net.orig_h_text) + " reached " + n + " (" +
                        std::string(e.net.resp_h_text) + "), a name it never used before; " +
                        (others == 0 ? std::string("no other device uses it")
                         : popular   ? std::string("many devices use it")
                                     : std::to_string(others) + " other device" + (others == 1 ? "" : "s") +
                                         " use it"));
    char p[64];
    std::snprintf(p, sizeof p, "%.2g", v.p_new);
    b.reasons.push_back("the device had used " + Thousands(v.distinct) + " names in " +
                        Thousands(v.observations) + " connections over " + Days(e.time - v.first_seen) +
                        " (chance of a new name ~" + p + ")");
    if (habit > 0)
      b.reasons.push_back(HabitReason("reached " + Thousands(habit) + " rare name" + (habit == 1 ? "" : "s") +
                                          " for the first time",
                                      keep));
    if (server) {
      b.reasons.push_back("the device behaves as a server: " + Thousands(d.inbound) +
                          " inbound connections from the internet against " + Thousands(d.outbound) +
                          " outbound; servers rarely start talking to new names");
    }
    b.events.push_back(MakeEventRef(e));
    b.details = {{"destination", n},         {"address", std::string(e.net.resp_h_text)},
                 {"other_devices", others},  {"network_devices", devices},
                 {"server", server},         {"p_new", v.p_new},
                 {"earlier_rare_contacts", habit}, {"rarity_weight", keep}};
    Remember(e.uid);
    ctx.Emit(std::move(b));
  }

  static bool IsServer(const Device& d) {
    return d.inbound >= 100 && d.inbound >= 10 * (d.outbound > 0 ? d.outbound - 1 : 0);
  }
  void Remember(std::string_view uid) {
    if (!uid.empty()) recent_[recent_next_++ % recent_.size()] = learn::HashValue(uid);
  }
  bool Fired(std::string_view uid) const {
    if (uid.empty()) return false;
    uint64_t h = learn::HashValue(uid);
    return std::find(recent_.begin(), recent_.end(), h) != recent_.end();
  }

  void Save(learn::StateWriter& w) const override {
    std::vector<uint64_t> keys;
    for (const auto& [k, v] : devices_) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    w.U64(keys.size());
    for (uint64_t k : keys) {
      const Device& d = devices_.at(k);
      w.U64(k);
      w.U64(d.inbound);
      w.U64(d.outbound);
      d.dests.Save(w);
      d.names.Save(w);
    }
    // Appended after the devices, so a checkpoint written before it existed still loads.
    for (uint64_t k : keys) {
      const Device& d = devices_.at(k);
      w.U32(d.rare_firsts);
      w.U32(d.rare_name_firsts);
    }
  }
  Status Load(learn::StateReader& r) override {
    devices_.clear();
    uint64_t n = r.Count(kMaxTrackedEntities);
    std::vector<uint64_t> order;
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      uint64_t k = r.U64();
      Device d;
      d.inbound = r.U64();
      d.outbound = r.U64();
      d.dests.Load(r);
      d.names.Load(r);
      order.push_back(k);
      devices_.emplace(std::move(k), std::move(d));
    }
    if (r.ok() && !r.at_end()) {
      for (uint64_t k : order) {
        Device& d = devices_[k];
        d.rare_firsts = r.U32();
        d.rare_name_firsts = r.U32();
      }
    }
    return r.ok() ? Status::Ok() : Corrupt("rare-external-destination state is truncated");
  }
  size_t MemoryUsage() const override {
    size_t m = devices_.capacity() * (sizeof(uint64_t) + sizeof(Device));
    for (const auto& [k, d] : devices_) m += d.dests.MemoryUsage() + d.names.MemoryUsage();
    return m;
  }

 private:
  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Device> devices_;  // by IpAddr::Hash of the device
  std::array<uint64_t, 1024> recent_{};  // uids of connections that breached, to say it once
  size_t recent_next_ = 0;
};

}  // namespace

VIGIL_REGISTER_MODEL(NewUserAgentModel);
VIGIL_REGISTER_MODEL(RareExternalDestinationModel);

}  // namespace vigil::detect
