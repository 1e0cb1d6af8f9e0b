#include "detect/testing.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace vigil::detect::harness {

EventFactory::EventFactory(CidrSet internal) : internal_(std::move(internal)) {}

std::string_view EventFactory::Keep(std::string_view s) {
  strings_.emplace_back(s);
  return strings_.back();
}

namespace {

// Re-points every string of a network body at factory-owned copies, so tests may build
// bodies from temporaries.
struct KeepBodyStrings {
  EventFactory* f;
  void operator()(std::monostate&) const {}
  void operator()(FlowBody& b) const {
    b.service = f->Keep(b.service);
    b.conn_state = f->Keep(b.conn_state);
    b.history = f->Keep(b.history);
  }
  void operator()(HttpBody& b) const {
    for (auto* s : {&b.method, &b.host, &b.uri, &b.user_agent, &b.referrer, &b.resp_mime_types,
                    &b.resp_fuids, &b.resp_filenames})
      *s = f->Keep(*s);
  }
  void operator()(DnsBody& b) const {
    for (auto* s : {&b.query, &b.qtype_name, &b.rcode_name, &b.answers}) *s = f->Keep(*s);
  }
  void operator()(TlsBody& b) const {
    for (auto* s : {&b.server_name, &b.version, &b.subject, &b.issuer, &b.ja3}) *s = f->Keep(*s);
  }
  void operator()(FileBody& b) const {
    for (auto* s : {&b.fuid, &b.source, &b.mime_type, &b.filename, &b.md5, &b.sha1, &b.sha256})
      *s = f->Keep(*s);
  }
  void operator()(IdsAlertBody& b) const {
    for (auto* s : {&b.signature, &b.category, &b.action, &b.app_proto}) *s = f->Keep(*s);
  }
  template <typename T>
  void operator()(T&) const {}  // other bodies: the caller owns the strings
};

}  // namespace

void EventFactory::Enrich(Event& e) const {
  if (!e.net.valid) return;
  e.orig_internal = internal_.Contains(e.net.orig_h);
  e.resp_internal = internal_.Contains(e.net.resp_h);
  if (e.orig_internal) {
    e.entity = {EntityType::kDevice, e.net.orig_h_text, {}};
    e.peer = {e.resp_internal ? EntityType::kDevice : EntityType::kExternal, e.net.resp_h_text,
              {}};
  } else if (e.resp_internal) {
    e.entity = {EntityType::kDevice, e.net.resp_h_text, {}};
    e.peer = {EntityType::kExternal, e.net.orig_h_text, {}};
  } else {
    e.entity = {EntityType::kExternal, e.net.orig_h_text, {}};
    e.peer = {EntityType::kExternal, e.net.resp_h_text, {}};
  }
}

Event EventFactory::Net(Micros t, EventKind kind, std::string_view orig, uint16_t orig_p,
                        std::string_view resp, uint16_t resp_p, Proto proto, EventBody body) {
  Event e;
  e.time = t;
  e.kind = kind;
  e.pos.line = next_uid_;
  e.pos.offset = next_uid_ * 100;
  e.uid = Keep("T" + std::to_string(next_uid_++));
  auto o = IpAddr::Parse(orig);
  auto r = IpAddr::Parse(resp);
  if (o && r) {
    e.net.orig_h = *o;
    e.net.resp_h = *r;
    e.net.valid = true;
  }
  e.net.orig_h_text = Keep(orig);
  e.net.resp_h_text = Keep(resp);
  e.net.orig_p = orig_p;
  e.net.resp_p = resp_p;
  e.net.proto = proto;
  std::visit(KeepBodyStrings{this}, body);
  e.body = std::move(body);
  Enrich(e);
  return e;
}

Event EventFactory::Flow(Micros t, std::string_view orig, uint16_t orig_p, std::string_view resp,
                         uint16_t resp_p, Proto proto, FlowBody body) {
  return Net(t, EventKind::kFlow, orig, orig_p, resp, resp_p, proto, body);
}

Event EventFactory::Http(Micros t, std::string_view orig, std::string_view resp, uint16_t resp_p,
                         HttpBody body) {
  return Net(t, EventKind::kHttp, orig, 40000, resp, resp_p, Proto::kTcp, body);
}

Event EventFactory::Dns(Micros t, std::string_view orig, std::string_view resp,
                        std::string_view query, std::string_view answers) {
  DnsBody d;
  d.query = query;
  d.qtype_name = "A";
  d.rcode_name = "NOERROR";
  d.answers = answers;
  return Net(t, EventKind::kDns, orig, 53000, resp, 53, Proto::kUdp, d);
}

Event EventFactory::Tls(Micros t, std::string_view orig, std::string_view resp, uint16_t resp_p,
                        std::string_view sni) {
  TlsBody b;
  b.server_name = sni;
  b.version = "TLSv12";
  b.established = true;
  return Net(t, EventKind::kTls, orig, 41000, resp, resp_p, Proto::kTcp, b);
}

Event EventFactory::File(Micros t, std::string_view orig, std::string_view resp, FileBody body) {
  return Net(t, EventKind::kFile, orig, 42000, resp, 80, Proto::kTcp, body);
}

Event EventFactory::Alert(Micros t, std::string_view orig, uint16_t orig_p, std::string_view resp,
                          uint16_t resp_p, IdsAlertBody body) {
  return Net(t, EventKind::kIdsAlert, orig, orig_p, resp, resp_p, Proto::kTcp, body);
}

Event EventFactory::Other(Micros t, EventKind kind, EventBody body, EntityRef entity,
                          EntityRef peer) {
  Event e;
  e.time = t;
  e.kind = kind;
  e.pos.line = next_uid_;
  e.pos.offset = next_uid_ * 100;
  e.uid = Keep("E" + std::to_string(next_uid_++));
  e.body = std::move(body);
  e.entity = {entity.type, Keep(entity.id), Keep(entity.name)};
  e.peer = {peer.type, Keep(peer.id), Keep(peer.name)};
  return e;
}

// Answers from the live stats, and checks each answer against the copied facts.
class TestContext::CheckedNetwork final : public NetworkView {
 public:
  CheckedNetwork(const NetworkStats& live, const NetworkFacts& facts) : live_(live), facts_(facts) {}
  uint32_t DevicesContacting(const IpAddr& a) const override {
    return Same("DevicesContacting(" + a.ToString() + ")", live_.DevicesContacting(a), facts_.DevicesContacting(a));
  }
  bool DeviceContacted(const IpAddr& a, const IpAddr& d) const override {
    return Same("DeviceContacted(" + a.ToString() + ", " + d.ToString() + ")", live_.DeviceContacted(a, d),
                facts_.DeviceContacted(a, d));
  }
  uint32_t DevicesContactingName(std::string_view n) const override {
    return Same("DevicesContactingName(" + std::string(n) + ")", live_.DevicesContactingName(n),
                facts_.DevicesContactingName(n));
  }
  uint32_t DeviceCount() const override { return Same("DeviceCount()", live_.DeviceCount(), facts_.DeviceCount()); }
  const IdsAlertFacts* AlertsOn(const IpAddr& a, Micros now) const override {
    const IdsAlertFacts* l = live_.AlertsOn(a, now);
    const IdsAlertFacts* f = facts_.AlertsOn(a, now);
    bool same = (l == nullptr) == (f == nullptr) &&
                (!l || (l->count == f->count && l->best_severity == f->best_severity && l->last_sid == f->last_sid &&
                        l->last_time == f->last_time));
    Same("AlertsOn(" + a.ToString() + ")", same, true);
    return l;
  }

 private:
  template <typename T>
  T Same(const std::string& what, T live, T copied) const {
    if (live != copied) {
      std::fprintf(stderr, "NetworkFacts differ from NetworkStats: %s is %s live but %s copied\n", what.c_str(),
                   std::to_string(live).c_str(), std::to_string(copied).c_str());
      std::abort();
    }
    return live;
  }
  const NetworkStats& live_;
  const NetworkFacts& facts_;
};

TestContext::TestContext(const ModelInfo& info)
    : info_(info), checked_(std::make_unique<CheckedNetwork>(network_, facts_)), threshold_(info.default_threshold) {}

TestContext::~TestContext() = default;

const NetworkView& TestContext::network() const {
  if (in_feed_) return *checked_;
  return network_;
}

void TestContext::BeginFacts(const Event& e) {
  facts_.Capture(network_, e);
  in_feed_ = true;
}

void TestContext::EndFacts() { in_feed_ = false; }

bool TestContext::learning() const {
  if (forced_learning_) return learning_;
  return now_ < learning_until_;
}

void TestContext::set_now(Micros t) {
  now_ = t;
  if (!history_set_) {
    history_start_ = t;
    history_set_ = true;
  }
}

double TestContext::param(std::string_view name) const {
  if (auto it = params_.find(name); it != params_.end()) return it->second;
  for (const auto& p : info_.params)
    if (p.name == name) return p.default_value;
  if (std::find(undeclared_.begin(), undeclared_.end(), name) == undeclared_.end())
    undeclared_.emplace_back(name);
  return 0;
}

void TestContext::Emit(Breach breach) {
  if (breach.model.empty()) breach.model = info_.name;
  breach.weak = breach.score < threshold_;
  AssignBreachId(breach);
  emitted_.push_back({std::move(breach), learning()});
}

std::vector<Breach> TestContext::Breaches() const {
  std::vector<Breach> out;
  for (const auto& e : emitted_)
    if (!e.during_learning && e.breach.score >= threshold_) out.push_back(e.breach);
  return out;
}

std::vector<Breach> TestContext::BreachesFor(std::string_view entity_id) const {
  std::vector<Breach> out;
  for (auto& b : Breaches())
    if (b.entity.id == entity_id) out.push_back(std::move(b));
  return out;
}

void Feed(Model& model, TestContext& ctx, const Event& e) {
  ctx.set_now(e.time);
  ctx.mutable_network().Observe(e);
  ctx.BeginFacts(e);
  if (model.info().kinds.contains(e.kind)) model.Observe(e, ctx);
  ctx.EndFacts();
}

void Tick(Model& model, TestContext& ctx, Micros t, bool final) {
  ctx.set_now(t);
  model.Tick(ctx, final);
}

void FeedAll(Model& model, TestContext& ctx, const std::vector<Event>& events, Micros tick,
             bool final_tick) {
  if (events.empty()) return;
  Micros next_tick = (events.front().time / tick + 1) * tick;
  for (const auto& e : events) {
    while (e.time >= next_tick) {
      Tick(model, ctx, next_tick);
      next_tick += tick;
    }
    Feed(model, ctx, e);
  }
  if (final_tick) Tick(model, ctx, events.back().time, true);
}

FlowBody Exchanged(uint64_t out, uint64_t in) {
  FlowBody f;
  f.orig_bytes = out;
  f.resp_bytes = in;
  f.orig_pkts = out / 500 + 1;
  f.resp_pkts = in / 500 + 1;
  f.conn_state = "SF";
  return f;
}

std::unique_ptr<Model> MakeModel(std::string_view name) {
  for (auto& m : ModelCatalogue::Global().MakeAll())
    if (m->info().name == name) return std::move(m);
  return nullptr;
}

}  // namespace vigil::detect::harness
