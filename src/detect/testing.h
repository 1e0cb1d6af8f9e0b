// Test harness for models: drive a Model directly with hand-built events, no engine.
// (Namespace vigil::detect::harness, not "testing", so it never shadows gtest's ::testing.)
//
//   detect::harness::EventFactory f;                 // owns the strings events point at
//   detect::harness::TestContext ctx(model.info());  // params at their declared defaults
//   ctx.set_learning_until(t0 + 3 * kMicrosPerDay);  // optional: a learning period
//   harness::Feed(model, ctx, f.Flow(t, "10.0.0.5", 50000, "203.0.113.7", 443));
//   ASSERT_EQ(ctx.Breaches().size(), 1u);            // emitted, not learning, >= threshold
//
// Feed does what the engine does for one event: sets now() to the event time, lets the
// context's NetworkStats learn the event first, then calls Observe if the model watches
// the event's kind. FeedAll also ticks the model every `tick` of event time, like the
// engine's engine.tick_interval, and once with final=true at the end.
//
// Lifetimes: every Event a factory makes points only at strings the factory owns (kept in a
// std::deque, so they never move); events are valid while the factory lives. Strings that
// tests put in bodies themselves must be literals or come from EventFactory::Keep.
//
// Not thread-safe; one test drives one context. Part of the detect library (no gtest
// dependency) so every model author's tests and benchmarks can use it.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/ip.h"
#include "detect/breach.h"
#include "detect/model.h"
#include "detect/network_stats.h"

namespace vigil::detect::harness {

// Builds events the way the decoders and the enrich network step would.
class EventFactory {
 public:
  // `internal` decides orig_internal/resp_internal and who the entity is, like
  // networks.internal does for the real enricher.
  explicit EventFactory(CidrSet internal = DefaultInternalNetworks());

  // Copies `s` into storage that lives as long as the factory; the view never moves.
  std::string_view Keep(std::string_view s);

  // A network event with a 5-tuple, enriched (internal flags, entity, peer) like
  // enrich::Enricher's network step. `orig`/`resp` must be IP address text; a bad address
  // leaves net.valid false (a programmer error in the test, visible in the event).
  Event Net(Micros t, EventKind kind, std::string_view orig, uint16_t orig_p,
            std::string_view resp, uint16_t resp_p, Proto proto, EventBody body);

  Event Flow(Micros t, std::string_view orig, uint16_t orig_p, std::string_view resp,
             uint16_t resp_p, Proto proto = Proto::kTcp, FlowBody body = {});
  Event Http(Micros t, std::string_view orig, std::string_view resp, uint16_t resp_p,
             HttpBody body);
  Event Dns(Micros t, std::string_view orig, std::string_view resp, std::string_view query,
            std::string_view answers = {});
  Event Tls(Micros t, std::string_view orig, std::string_view resp, uint16_t resp_p,
            std::string_view sni);
  Event File(Micros t, std::string_view orig, std::string_view resp, FileBody body);
  Event Alert(Micros t, std::string_view orig, uint16_t orig_p, std::string_view resp,
              uint16_t resp_p, IdsAlertBody body);

  // Any other event (cloud, EDR, host): no 5-tuple; entity and peer as given (their ids and
  // names are copied into the factory).
  Event Other(Micros t, EventKind kind, EventBody body, EntityRef entity, EntityRef peer = {});

  // Applies the network enrichment step to an event that has a valid 5-tuple.
  void Enrich(Event& e) const;

  const CidrSet& internal() const { return internal_; }

 private:
  CidrSet internal_;
  std::deque<std::string> strings_;
  uint64_t next_uid_ = 1;
};

// A ModelContext that records what a model emits.
class TestContext : public ModelContext {
 public:
  // Params start at their ModelInfo defaults; the threshold at info.default_threshold.
  explicit TestContext(const ModelInfo& info);
  ~TestContext() override;

  Micros now() const override { return now_; }
  Micros history_start() const override { return history_start_; }
  bool learning() const override;
  // Inside Feed: a view that answers from the live stats and checks that the facts the
  // engine copies for a model thread (NetworkFacts) give the same answer; a difference
  // aborts the test with the question asked. Elsewhere: the live stats.
  const NetworkView& network() const override;
  // Returns the value set with set_param, else the declared default. A name the model did
  // not declare returns 0 and is remembered in undeclared_params() (tests should assert it
  // stays empty: the engine only knows declared params).
  double param(std::string_view name) const override;
  // Records the breach (id assigned, weak set below threshold, learning noted).
  void Emit(Breach breach) override;

  void set_now(Micros t);
  void set_history_start(Micros t) { history_start_ = t; }
  // Forces learning() on or off, overriding set_learning_until.
  void set_learning(bool on) {
    forced_learning_ = true;
    learning_ = on;
  }
  // learning() is true while now() < t (the engine's learning.period from history_start).
  void set_learning_until(Micros t) {
    forced_learning_ = false;
    learning_until_ = t;
  }
  void set_param(std::string_view name, double value) { params_[std::string(name)] = value; }
  void set_threshold(int t) { threshold_ = t; }
  int threshold() const { return threshold_; }

  NetworkStats& mutable_network() { return network_; }
  // Feed: copies the facts for `e` (after the stats observed it) and checks them until
  // EndFacts.
  void BeginFacts(const Event& e);
  void EndFacts();

  struct Emitted {
    Breach breach;
    bool during_learning = false;
  };
  // Everything emitted, in order, including weak ones and those during learning.
  const std::vector<Emitted>& emitted() const { return emitted_; }
  // What the engine would raise: emitted outside learning with score >= threshold.
  std::vector<Breach> Breaches() const;
  // Breaches() restricted to one entity id.
  std::vector<Breach> BreachesFor(std::string_view entity_id) const;
  void Clear() { emitted_.clear(); }
  const std::vector<std::string>& undeclared_params() const { return undeclared_; }

 private:
  class CheckedNetwork;
  ModelInfo info_;
  NetworkStats network_;
  NetworkFacts facts_;
  std::unique_ptr<CheckedNetwork> checked_;
  bool in_feed_ = false;
  std::map<std::string, double, std::less<>> params_;
  std::vector<Emitted> emitted_;
  mutable std::vector<std::string> undeclared_;
  Micros now_ = 0;
  Micros history_start_ = 0;
  bool history_set_ = false;
  Micros learning_until_ = 0;
  bool forced_learning_ = false;
  bool learning_ = false;
  int threshold_ = 60;
};

// One event through the model as the engine would: now = event time (history_start set
// on the first event), network stats learn it, then Observe if the model watches the kind.
void Feed(Model& model, TestContext& ctx, const Event& e);
// Ticks the model at event time t.
void Tick(Model& model, TestContext& ctx, Micros t, bool final = false);
// Feeds events in order (they must be in event-time order), ticking the model each time
// event time crosses a multiple of `tick`, then a final tick at the last event's time.
void FeedAll(Model& model, TestContext& ctx, const std::vector<Event>& events,
             Micros tick = kMicrosPerMinute, bool final_tick = true);

// A completed TCP exchange's flow body: `out` bytes sent, `in` bytes answered, a packet per
// 500 bytes (at least one each way), state SF.
FlowBody Exchanged(uint64_t out, uint64_t in);

// A fresh instance of the registered model `name`, or null when there is none.
std::unique_ptr<Model> MakeModel(std::string_view name);

// 2024-01-01T00:00:00Z, a convenient fixed origin for synthetic timelines.
inline constexpr Micros kTestEpoch = 1'704'067'200LL * kMicrosPerSecond;

}  // namespace vigil::detect::harness
