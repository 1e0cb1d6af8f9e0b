// Tests for network/beaconing on a deterministic synthetic network (fixed seeds): twenty
// workstations browsing, NTP, hourly update checks to a shared host, a SaaS telemetry
// endpoint every workstation posts to, and a monitoring agent posting to an internal
// collector. The beacon under test is mixed into that baseline.
#include <algorithm>
#include <random>

#include <gtest/gtest.h>

#include "detect/model.h"
#include "detect/testing.h"

namespace vigil::detect {
namespace {

using harness::EventFactory;
using harness::Exchanged;
using harness::MakeModel;
using harness::FeedAll;
using harness::kTestEpoch;
using harness::TestContext;

std::string Ws(int i) { return "10.0.1." + std::to_string(i); }

// The benign baseline from `from` for `span`, appended to `out`. Deterministic (seed).
void Baseline(EventFactory& f, Micros from, Micros span, uint32_t seed, std::vector<Event>& out) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> browse_gap(1.0 / 20);  // a new page every ~20 s
  std::uniform_int_distribution<int> pool(1, 200);
  std::uniform_int_distribution<int> bytes(300, 90'000);
  std::uniform_real_distribution<double> small_jitter(-2, 2);
  for (int w = 1; w <= 20; ++w) {
    // Browsing: shared pool of 200 sites and a few personal ones only this device visits.
    for (double t = browse_gap(rng); t < span / 1e6; t += browse_gap(rng)) {
      int site = pool(rng);
      std::string dst = site <= 190 ? "93.184." + std::to_string(site / 100) + "." +
                                          std::to_string(site % 100 + 1)
                                    : "151.101." + std::to_string(w) + "." + std::to_string(site);
      out.push_back(f.Flow(from + static_cast<Micros>(t * 1e6), Ws(w), 50000, dst, 443,
                           Proto::kTcp, Exchanged(bytes(rng), bytes(rng))));
    }
    // NTP every 64 s to one external server.
    for (Micros t = w * kMicrosPerSecond; t < span; t += 64 * kMicrosPerSecond)
      out.push_back(f.Flow(from + t, Ws(w), 123, "162.159.200.1", 123, Proto::kUdp, Exchanged(48, 48)));
    // SaaS telemetry every 300 s (+-2 s) to the same endpoint from every workstation.
    for (Micros t = w * 7 * kMicrosPerSecond; t < span; t += 300 * kMicrosPerSecond)
      out.push_back(f.Flow(from + t + static_cast<Micros>(small_jitter(rng) * 1e6), Ws(w), 51000,
                           "52.114.128.9", 443, Proto::kTcp, Exchanged(1200, 800)));
    // OS update check every hour to a shared update service.
    for (Micros t = w * 60 * kMicrosPerSecond; t < span; t += kMicrosPerHour)
      out.push_back(f.Flow(from + t, Ws(w), 52000, "13.107.4.50", 443, Proto::kTcp,
                           Exchanged(900, 4000)));
    // Monitoring agent posting every 60 s to the internal collector.
    for (Micros t = w * 3 * kMicrosPerSecond; t < span; t += 60 * kMicrosPerSecond)
      out.push_back(f.Flow(from + t, Ws(w), 53000, "10.0.0.10", 8086, Proto::kTcp,
                           Exchanged(700, 200)));
  }
}

// A 60 s beacon with uniform +-10 % jitter from `src` to `dst` over [from, from + span).
void Beacon(EventFactory& f, std::string_view src, std::string_view dst, Micros from, Micros span,
            uint32_t seed, std::vector<Event>& out) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(-6, 6);
  std::uniform_int_distribution<int> size(380, 420);
  for (Micros t = 0; t < span; t += static_cast<Micros>((60 + jitter(rng)) * 1e6))
    out.push_back(f.Flow(from + t, std::string(src), 49000, std::string(dst), 443, Proto::kTcp,
                         Exchanged(size(rng), size(rng))));
}

void SortByTime(std::vector<Event>& v) {
  std::stable_sort(v.begin(), v.end(), [](const Event& a, const Event& b) { return a.time < b.time; });
}

TEST(Beaconing, SixtySecondBeaconToRareHostIsCaughtWithinFifteenMinutesInBusyBaseline) {
  auto model = MakeModel("network/beaconing");
  ASSERT_NE(model, nullptr);
  EventFactory f;
  std::vector<Event> events;
  const Micros span = 4 * kMicrosPerHour;
  Baseline(f, kTestEpoch, span, 42, events);
  const Micros beacon_start = kTestEpoch + 2 * kMicrosPerHour + 17 * kMicrosPerSecond;
  Beacon(f, "10.0.1.7", "198.51.100.66", beacon_start, 90 * kMicrosPerMinute, 7, events);
  SortByTime(events);
  TestContext ctx(model->info());
  ctx.set_learning_until(kTestEpoch + kMicrosPerHour);
  FeedAll(*model, ctx, events);

  auto breaches = ctx.Breaches();
  ASSERT_FALSE(breaches.empty());
  for (const auto& b : breaches) {  // every breach is the beacon: the benign traffic is quiet
    EXPECT_EQ(b.model, "network/beaconing");
    EXPECT_EQ(b.entity.id, "10.0.1.7") << b.reasons[0];
    ASSERT_TRUE(b.peer.has_value());
    EXPECT_EQ(b.peer->id, "198.51.100.66") << b.reasons[0];
  }
  const auto& first = breaches.front();
  EXPECT_GE(first.time, beacon_start);
  EXPECT_LE(first.time, beacon_start + 15 * kMicrosPerMinute);
  EXPECT_NEAR(first.details["period_s"].get<double>(), 60, 4);
  EXPECT_LT(first.details["jitter"].get<double>(), 0.1);
  EXPECT_GE(first.details["count"].get<uint64_t>(), 6u);
  EXPECT_EQ(first.details["first_seen"], FormatRfc3339(beacon_start));
  EXPECT_NE(first.reasons[0].find(" s (jitter "), std::string::npos) << first.reasons[0];
  for (const auto& b : breaches) std::printf("%s %d %s\n", FormatRfc3339(b.time).c_str(), b.score, b.reasons[0].c_str());
  // Score rises with evidence and re-emits only on escalation.
  EXPECT_GE(breaches.back().score, first.score);
  EXPECT_LE(breaches.size(), 5u);
  EXPECT_TRUE(ctx.undeclared_params().empty());
}

TEST(Beaconing, BenignPeriodicTrafficAloneDoesNotBreach) {
  auto model = MakeModel("network/beaconing");
  EventFactory f;
  std::vector<Event> events;
  Baseline(f, kTestEpoch, 6 * kMicrosPerHour, 1234, events);
  SortByTime(events);
  TestContext ctx(model->info());
  ctx.set_learning(false);  // no learning period: the look-alikes must not breach on their own
  FeedAll(*model, ctx, events);
  // The named look-alikes (NTP, update checks, SaaS telemetry, the internal collector) emit
  // nothing at all; random visits to a device's personal sites may at most be weak signals.
  for (const auto& e : ctx.emitted()) {
    std::string peer = e.breach.peer->id;
    EXPECT_EQ(peer.rfind("151.101.", 0), 0u) << peer;
    if (e.breach.score >= ctx.threshold())
      ADD_FAILURE() << e.breach.score << " " << e.breach.entity.id << " -> " << e.breach.peer->id << ": " << e.breach.reasons[0];
  }
}

TEST(Beaconing, NtpToARareServerDoesNotBreach) {
  auto model = MakeModel("network/beaconing");
  EventFactory f;
  std::vector<Event> events;
  for (int i = 1; i <= 6; ++i)  // a small network so that rarity is judged
    events.push_back(f.Flow(kTestEpoch, Ws(i), 50000, "93.184.216.34", 443));
  for (int k = 0; k < 60; ++k)
    events.push_back(f.Flow(kTestEpoch + k * 64 * kMicrosPerSecond, "10.0.1.1", 123,
                            "203.0.113.123", 123, Proto::kUdp, Exchanged(48, 48)));
  SortByTime(events);
  TestContext ctx(model->info());
  FeedAll(*model, ctx, events);
  EXPECT_TRUE(ctx.emitted().empty());
}

TEST(Beaconing, PoissonArrivalsToARareHostDoNotBreach) {
  auto model = MakeModel("network/beaconing");
  EventFactory f;
  std::vector<Event> events;
  for (int i = 1; i <= 6; ++i) events.push_back(f.Flow(kTestEpoch, Ws(i), 50000, "93.184.216.34", 443));
  std::mt19937 rng(99);
  std::exponential_distribution<double> gap(1.0 / 60);
  double t = 0;
  for (int k = 0; k < 200; ++k) {
    t += gap(rng) + 1.5;
    events.push_back(f.Flow(kTestEpoch + static_cast<Micros>(t * 1e6), "10.0.1.2", 50000,
                            "198.51.100.77", 443, Proto::kTcp, Exchanged(400, 400)));
  }
  SortByTime(events);
  TestContext ctx(model->info());
  FeedAll(*model, ctx, events);
  EXPECT_TRUE(ctx.Breaches().empty());
}

TEST(Beaconing, BeaconAlreadyRunningDuringLearningIsLearnedAsNormal) {
  auto model = MakeModel("network/beaconing");
  EventFactory f;
  std::vector<Event> events;
  for (int i = 1; i <= 6; ++i) events.push_back(f.Flow(kTestEpoch, Ws(i), 50000, "93.184.216.34", 443));
  Beacon(f, "10.0.1.3", "198.51.100.5", kTestEpoch, 3 * kMicrosPerHour, 3, events);
  SortByTime(events);
  TestContext ctx(model->info());
  ctx.set_learning_until(kTestEpoch + kMicrosPerHour);
  FeedAll(*model, ctx, events);
  EXPECT_TRUE(ctx.Breaches().empty());
}

// Long periods: a nightly job that already ran during the learning period is pattern of
// life; the same two-hourly rhythm to a rare host that starts after learning is a beacon.
TEST(Beaconing, ANightlyJobFromBeforeIsNormalAndANewTwoHourBeaconIsCaught) {
  auto model = MakeModel("network/beaconing");
  EventFactory f;
  std::vector<Event> events;
  for (int i = 1; i <= 6; ++i)  // neighbours, so rarity can be judged
    for (int d = 0; d < 12; ++d)
      events.push_back(f.Flow(kTestEpoch + d * kMicrosPerDay + i * kMicrosPerMinute, Ws(i), 50000,
                              "93.184.216." + std::to_string(d % 3 + 1), 443, Proto::kTcp, Exchanged(500, 5000)));
  for (int d = 0; d < 12; ++d)  // the nightly update check, from day 0
    events.push_back(f.Flow(kTestEpoch + d * kMicrosPerDay + 3 * kMicrosPerHour, "10.0.1.3", 50000,
                            "151.101.2.132", 443, Proto::kTcp, Exchanged(900, 40000)));
  const Micros start = kTestEpoch + 5 * kMicrosPerDay + 17 * kMicrosPerMinute;
  for (int k = 0; k < 24; ++k)  // a two-hourly beacon from day 5
    events.push_back(f.Flow(start + k * 2 * kMicrosPerHour + (k % 3) * kMicrosPerMinute, "10.0.1.4", 50000,
                            "198.51.100.77", 443, Proto::kTcp, Exchanged(400, 400)));
  SortByTime(events);
  TestContext ctx(model->info());
  ctx.set_learning_until(kTestEpoch + 3 * kMicrosPerDay);
  FeedAll(*model, ctx, events, kMicrosPerHour);
  EXPECT_TRUE(ctx.BreachesFor("10.0.1.3").empty()) << ctx.BreachesFor("10.0.1.3").front().reasons[0];
  auto b = ctx.BreachesFor("10.0.1.4");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0].peer->id, "198.51.100.77");
  EXPECT_NEAR(b[0].details["period_s"].get<double>(), 7200, 300);
  EXPECT_GE(b[0].time, start + 7 * 2 * kMicrosPerHour);  // after min_beats beats
}

// Suricata alerts count as evidence: the same beacon scores higher, and says why, when the
// sensor alerted on its endpoint; an alert on another endpoint changes nothing.
TEST(Beaconing, AnIdsAlertOnTheEndpointIsEvidence) {
  auto score_with = [](std::string_view alerted) {
    auto model = MakeModel("network/beaconing");
    EventFactory f;
    std::vector<Event> events;
    for (int i = 1; i <= 6; ++i) events.push_back(f.Flow(kTestEpoch, Ws(i), 50000, "93.184.216.34", 443));
    if (!alerted.empty()) {
      IdsAlertBody a;
      a.signature_id = 2027863;
      a.signature = "ET MALWARE Cobalt Strike Beacon";
      a.severity = 1;
      events.push_back(f.Alert(kTestEpoch + 2 * kMicrosPerHour, "10.0.1.3", 49000, alerted, 443, a));
    }
    Beacon(f, "10.0.1.3", "198.51.100.5", kTestEpoch + 2 * kMicrosPerHour + kMicrosPerMinute, kMicrosPerHour, 3,
           events);
    SortByTime(events);
    TestContext ctx(model->info());
    ctx.set_learning_until(kTestEpoch + kMicrosPerHour);
    FeedAll(*model, ctx, events);
    auto b = ctx.BreachesFor("10.0.1.3");
    return b.empty() ? Breach{} : b.front();
  };
  Breach plain = score_with(""), other = score_with("203.0.113.99"), alerted = score_with("198.51.100.5");
  ASSERT_GT(plain.score, 0);
  EXPECT_EQ(other.score, plain.score);
  EXPECT_GT(alerted.score, plain.score);
  EXPECT_EQ(alerted.details["ids_alerts"], 1);
  EXPECT_NE(alerted.reasons.back().find("the IDS alerted on 198.51.100.5 1 time"), std::string::npos)
      << alerted.reasons.back();
}

TEST(Beaconing, PairsPerDeviceAreCappedAndStateRoundTrips) {
  auto model = MakeModel("network/beaconing");
  EventFactory f;
  TestContext ctx(model->info());
  ctx.set_param("max_pairs_per_device", 8);
  for (int k = 0; k < 100; ++k)
    harness::Feed(*model, ctx,
                  f.Flow(kTestEpoch + k * kMicrosPerSecond, "10.0.1.1", 50000,
                         "198.51.100." + std::to_string(k + 1), 443));
  size_t capped = model->MemoryUsage();
  learn::StateWriter w;
  model->Save(w);
  auto other = MakeModel("network/beaconing");
  learn::StateReader r(w.data());
  ASSERT_TRUE(other->Load(r).ok());
  learn::StateWriter w2;
  other->Save(w2);
  EXPECT_EQ(w2.data().size(), w.data().size());
  // 8 pairs kept, not 100: the checkpoint holds 8 rings.
  EXPECT_LT(w.data().size(), 8 * 200u + 100);
  EXPECT_GT(capped, 0u);
  std::string junk = w.data().substr(0, w.data().size() / 2);
  learn::StateReader bad(junk);
  auto third = MakeModel("network/beaconing");
  EXPECT_FALSE(third->Load(bad).ok());
}

}  // namespace
}  // namespace vigil::detect
