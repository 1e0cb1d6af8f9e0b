#include "respond/nftables_backend.h"

#include "respond/subprocess.h"

namespace vigil::respond {

namespace {

using json = nlohmann::json;

bool ValidName(const std::string& s, size_t max, bool allow_dash_dot) {
  if (s.empty() || s.size() > max) return false;
  if (s[0] == '-' || s[0] == '.') return false;  // never an option to `ip` or a path step
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (allow_dash_dot && (c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

json Payload(const char* proto, const char* field) {
  return {{"payload", {{"protocol", proto}, {"field", field}}}};
}
json Meta(const char* key) { return {{"meta", {{"key", key}}}}; }
json Concat(std::initializer_list<json> parts) { return {{"concat", json::array_t(parts)}}; }
json InSet(json left, const std::string& set) {
  return {{"match", {{"op", "=="}, {"left", std::move(left)}, {"right", "@" + set}}}};
}

// The address family of a set element: "4" or "6" suffix.
const char* Fam(const IpAddr& a) { return a.is_v4() ? "4" : "6"; }

// A typed address from text: the only way an address reaches an element.
Result<IpAddr> Addr(const std::string& text, const char* what) {
  auto a = IpAddr::Parse(text);
  if (!a || a->is_unspecified())
    return InvalidArgument(std::string(what) + " is not an IP address");
  return *a;
}

struct Elem {
  std::string set;
  json key;
};

}  // namespace

Result<std::unique_ptr<NftablesBackend>> NftablesBackend::Make(NftablesOptions o) {
  if (!ValidName(o.table, 32, false))
    return InvalidArgument("respond.backends.nftables.table must match [A-Za-z0-9_]{1,32}");
  if (o.family != "inet")
    return InvalidArgument("respond.backends.nftables.family must be 'inet' (one table for "
                           "IPv4 and IPv6)");
  if (!o.netns.empty() && !ValidName(o.netns, 64, true))
    return InvalidArgument("respond.backends.nftables.netns must match [A-Za-z0-9_.-]{1,64}");
  if (o.nft.empty()) return InvalidArgument("respond.backends.nftables.nft must name a binary");
  return std::unique_ptr<NftablesBackend>(new NftablesBackend(std::move(o)));
}

bool NftablesBackend::Supports(std::string_view kind) const {
  return kind == kBlockConnection || kind == kSuspendEndpoint || kind == kQuarantineDevice ||
         kind == kEnforcePatternOfLife;
}

std::vector<std::string> NftablesBackend::NftArgv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (!o_.netns.empty()) argv = {"ip", "netns", "exec", o_.netns};
  argv.push_back(o_.nft);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

json NftablesBackend::SetupBatch() const {
  const std::string& t = o_.table;
  json cmds = json::array();
  auto add = [&](const char* what, json body) {
    body["family"] = "inet";
    body["table"] = t;
    cmds.push_back({{"add", {{what, std::move(body)}}}});
  };
  cmds.push_back({{"add", {{"table", {{"family", "inet"}, {"name", t}}}}}});
  for (const char* f : {"4", "6"}) {
    const char* addr = f[0] == '4' ? "ipv4_addr" : "ipv6_addr";
    auto set = [&](const std::string& name, json type, bool timeout) {
      json s = {{"name", name + f}, {"type", std::move(type)}};
      if (timeout) s["flags"] = json::array({"timeout"});
      add("set", std::move(s));
    };
    set("conn", json::array({addr, addr, "inet_proto", "inet_service"}), true);
    set("host", json::array({addr, addr}), true);
    set("quar", addr, true);
    set("pold", addr, true);
    set("pol", json::array({addr, addr}), true);
    set("ess", json::array({addr, "inet_service"}), false);
    set("essh", addr, false);
  }
  add("chain", {{"name", "block"}});
  add("chain", {{"name", "enforce"}});
  for (const char* hook : {"input", "forward", "output"})
    add("chain", {{"name", hook},
                  {"type", "filter"},
                  {"hook", hook},
                  {"prio", -10},
                  {"policy", "accept"}});
  // Rewrite the rules (atomically, in this one batch); set elements are kept.
  for (const char* c : {"block", "enforce", "input", "forward", "output"})
    cmds.push_back({{"flush", {{"chain", {{"family", "inet"}, {"table", t}, {"name", c}}}}}});
  auto rule = [&](const char* chain, json expr) {
    add("rule", {{"chain", chain}, {"expr", std::move(expr)}});
  };
  for (const char* hook : {"input", "forward", "output"})
    rule(hook, json::array({{{"jump", {{"target", "enforce"}}}}}));
  rule("block", json::array({{{"match", {{"op", "=="}, {"left", Meta("l4proto")}, {"right", "tcp"}}}},
                             {{"counter", nullptr}},
                             {{"reject", {{"type", "tcp reset"}}}}}));
  rule("block", json::array({{{"counter", nullptr}}, {{"drop", nullptr}}}));
  const json go_block = {{"goto", {{"target", "block"}}}};
  const json ret = {{"return", nullptr}};
  for (const char* f : {"4", "6"}) {
    const char* ip = f[0] == '4' ? "ip" : "ip6";
    const std::string sf = f;
    json saddr = Payload(ip, "saddr"), daddr = Payload(ip, "daddr");
    json dport = Payload("th", "dport"), sport = Payload("th", "sport");
    // Explicit blocks first.
    rule("enforce", json::array({InSet(Concat({saddr, daddr, Meta("l4proto"), dport}), "conn" + sf),
                                 go_block}));
    rule("enforce", json::array({InSet(Concat({saddr, daddr}), "host" + sf), go_block}));
    // Quarantined and pattern-of-life devices keep their essential services (both ways).
    for (const char* dev : {"quar", "pold"}) {
      std::string dset = dev + sf;
      rule("enforce", json::array({InSet(saddr, dset), InSet(Concat({daddr, dport}), "ess" + sf), ret}));
      rule("enforce", json::array({InSet(saddr, dset), InSet(daddr, "essh" + sf), ret}));
      rule("enforce", json::array({InSet(daddr, dset), InSet(Concat({saddr, sport}), "ess" + sf), ret}));
      rule("enforce", json::array({InSet(daddr, dset), InSet(saddr, "essh" + sf), ret}));
    }
    // Pattern of life: the device's known peers stay reachable.
    rule("enforce", json::array({InSet(saddr, "pold" + sf), InSet(Concat({saddr, daddr}), "pol" + sf), ret}));
    rule("enforce", json::array({InSet(daddr, "pold" + sf), InSet(Concat({daddr, saddr}), "pol" + sf), ret}));
    for (const char* dev : {"quar", "pold"}) {
      rule("enforce", json::array({InSet(saddr, dev + sf), go_block}));
      rule("enforce", json::array({InSet(daddr, dev + sf), go_block}));
    }
  }
  // Essential services: rewritten from config each time.
  for (const char* s : {"ess4", "ess6", "essh4", "essh6"})
    cmds.push_back({{"flush", {{"set", {{"family", "inet"}, {"table", t}, {"name", s}}}}}});
  for (const auto& e : o_.essential) {
    std::string f = Fam(e.address);
    json elem = e.port ? Concat({e.address.ToString(), e.port}) : json(e.address.ToString());
    add("element", {{"name", (e.port ? "ess" : "essh") + f}, {"elem", json::array({elem})}});
  }
  return {{"nftables", std::move(cmds)}};
}

namespace {

// The set elements an action stands for.
Result<std::vector<Elem>> Elements(const Action& a) {
  std::vector<Elem> out;
  const Target& t = a.target;
  auto dev = Addr(t.device, "the device");
  if (!dev.ok()) return dev.status();
  std::string f = Fam(*dev);
  if (a.kind == kBlockConnection || a.kind == kSuspendEndpoint) {
    auto peer = Addr(t.peer, "the peer");
    if (!peer.ok()) return peer.status();
    if (peer->is_v4() != dev->is_v4())
      return InvalidArgument("the device and the peer are of different address families");
    bool inbound = t.direction == "inbound";
    std::string src = (inbound ? *peer : *dev).ToString();
    std::string dst = (inbound ? *dev : *peer).ToString();
    if (t.port) {
      std::vector<std::string> protos;
      if (t.protocol == "tcp" || t.protocol == "udp") protos = {t.protocol};
      else if (t.protocol.empty()) protos = {"tcp", "udp"};
      else return InvalidArgument("protocol must be tcp or udp");
      for (const auto& p : protos) out.push_back({"conn" + f, Concat({src, dst, p, t.port})});
    } else {
      out.push_back({"host" + f, Concat({src, dst})});
      out.push_back({"host" + f, Concat({dst, src})});
    }
  } else if (a.kind == kQuarantineDevice) {
    out.push_back({"quar" + f, dev->ToString()});
  } else if (a.kind == kEnforcePatternOfLife) {
    out.push_back({"pold" + f, dev->ToString()});
    for (const auto& s : t.allowed) {
      auto p = IpAddr::Parse(s);
      if (!p || p->is_v4() != dev->is_v4()) continue;  // non-address entries: not enforceable here
      out.push_back({"pol" + f, Concat({dev->ToString(), p->ToString()})});
    }
  } else {
    return InvalidArgument("nftables cannot carry out " + a.kind);
  }
  return out;
}

json ElemCmd(const char* op, const std::string& table, const Elem& e, int64_t timeout_s) {
  json elem = timeout_s > 0 ? json{{"elem", {{"val", e.key}, {"timeout", timeout_s}}}} : e.key;
  return {{op, {{"element", {{"family", "inet"}, {"table", table}, {"name", e.set},
                              {"elem", json::array({elem})}}}}}};
}

}  // namespace

Result<json> NftablesBackend::ApplyBatch(const Action& a, Micros hold) const {
  auto elems = Elements(a);
  if (!elems.ok()) return elems.status();
  int64_t secs = std::max<int64_t>(1, (hold + kMicrosPerSecond - 1) / kMicrosPerSecond);
  json cmds = json::array();
  // add (so the delete cannot fail), delete, add with the new timeout: an extension replaces
  // the element's timeout in one atomic batch.
  for (const auto& e : *elems) {
    cmds.push_back(ElemCmd("add", o_.table, e, 1));
    cmds.push_back(ElemCmd("delete", o_.table, e, 0));
    cmds.push_back(ElemCmd("add", o_.table, e, secs));
  }
  return json{{"nftables", std::move(cmds)}};
}

Result<json> NftablesBackend::RevokeBatch(const Action& a) const {
  auto elems = Elements(a);
  if (!elems.ok()) return elems.status();
  json cmds = json::array();
  for (const auto& e : *elems) {
    cmds.push_back(ElemCmd("add", o_.table, e, 1));
    cmds.push_back(ElemCmd("delete", o_.table, e, 0));
  }
  return json{{"nftables", std::move(cmds)}};
}

Status NftablesBackend::Run(const json& batch) {
  auto r = RunProcess(NftArgv({"-j", "-f", "-"}), batch.dump(), o_.timeout);
  if (!r.ok()) return r.status();
  if (r->timed_out) return Unavailable("nft timed out");
  if (r->exit_code != 0) {
    std::string err = r->err.substr(0, 400);
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return Unavailable("nft exited with " + std::to_string(r->exit_code) + ": " + err);
  }
  return Status::Ok();
}

Status NftablesBackend::EnsureTable() {
  VIGIL_RETURN_IF_ERROR(Run(SetupBatch()));
  table_ready_ = true;
  return Status::Ok();
}

Status NftablesBackend::RemoveTable() {
  json batch = {{"nftables",
                 json::array({{{"add", {{"table", {{"family", "inet"}, {"name", o_.table}}}}}},
                              {{"delete", {{"table", {{"family", "inet"}, {"name", o_.table}}}}}}})}};
  table_ready_ = false;
  return Run(batch);
}

Result<std::string> NftablesBackend::Apply(const Action& a, Micros hold) {
  auto batch = ApplyBatch(a, hold);
  if (!batch.ok()) return batch.status();
  if (!table_ready_) VIGIL_RETURN_IF_ERROR(EnsureTable());
  Status st = Run(*batch);
  if (!st.ok()) {
    // The table may have been removed behind our back: recreate it once and retry.
    VIGIL_RETURN_IF_ERROR(EnsureTable());
    VIGIL_RETURN_IF_ERROR(Run(*batch));
  }
  size_t n = (*batch)["nftables"].size() / 3;
  return "inet " + o_.table + ": " + std::to_string(n) + " element(s) for " +
         FormatDuration(((hold + kMicrosPerSecond - 1) / kMicrosPerSecond) * kMicrosPerSecond);
}

Result<std::string> NftablesBackend::Revoke(const Action& a) {
  auto batch = RevokeBatch(a);
  if (!batch.ok()) return batch.status();
  if (!table_ready_) VIGIL_RETURN_IF_ERROR(EnsureTable());
  VIGIL_RETURN_IF_ERROR(Run(*batch));
  return "inet " + o_.table + ": removed " + std::to_string((*batch)["nftables"].size() / 2) +
         " element(s)";
}

}  // namespace vigil::respond
