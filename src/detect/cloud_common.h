// Shared pieces of the cloud models (cloud_*.cc): API-call classification, per-identity
// tables with a cap, "seen on how many days" novelty, burst histograms, and the breach
// builder that names the identity, the source and what normal looks like.
//
// Every cloud model keeps its own state (models never see each other); these helpers only
// keep the seven files short and their statistics the same.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include "core/event.h"
#include "detect/breach.h"
#include "detect/model.h"
#include "learn/novelty.h"
#include "learn/state_io.h"

namespace vigil::detect::cloud {

inline int64_t DayOf(Micros t) { return t >= 0 ? t / kMicrosPerDay : (t + 1) / kMicrosPerDay - 1; }

// "iam" for "iam.amazonaws.com".
std::string_view ServiceOf(std::string_view event_source);
// List*, Describe*, Get*, Head*, Lookup*, Search*, BatchGet*, and S3's ListBuckets etc.
bool IsReadCall(std::string_view event_name);
// AccessDenied, *AccessDenied*, *Unauthorized*, Forbidden.
bool IsAccessDenied(std::string_view error_code);
// True for calls that did not happen: dry runs.
bool IsDryRun(std::string_view error_code);

// Counts the distinct days something happened (days with IAM changes, active days).
struct DayCounter {
  int64_t last_day = INT64_MIN;
  uint32_t days = 0;
  // Returns true when `t` starts a new day for this counter.
  bool Touch(Micros t) {
    int64_t d = DayOf(t);
    if (d == last_day) return false;
    if (d > last_day || last_day == INT64_MIN) last_day = d;
    ++days;
    return true;
  }
  bool Today(Micros t) const { return last_day == DayOf(t); }
  void Save(learn::StateWriter& w) const {
    w.I64(last_day);
    w.U32(days);
  }
  void Load(learn::StateReader& r) {
    last_day = r.I64();
    days = r.U32();
  }
};

// Novelty counted in days: a value adds one observation the first time it is seen on a UTC
// day, however many calls carry it. So p_new is "how often, per active day, has this
// identity shown a new value", not inflated by chatty days. A value first seen today is still
// reported as new today (is_new_today), so every step of one attack from a new place counts
// that place as new, not just the first.
class DailyNovelty {
 public:
  explicit DailyNovelty(uint32_t cap = 64) : set_(cap) {}
  struct Verdict {
    bool new_today = false;  // never seen before today
    learn::NoveltyVerdict v;
  };
  Verdict Peek(uint64_t value, Micros t) const;
  void Observe(uint64_t value, Micros t);
  uint64_t observations() const { return set_.observations(); }
  uint32_t distinct() const { return set_.distinct(); }
  size_t MemoryUsage() const { return set_.MemoryUsage() + today_.capacity() * 16; }
  void Save(learn::StateWriter& w) const;
  void Load(learn::StateReader& r);

 private:
  learn::NoveltySet set_;
  int64_t day_ = INT64_MIN;
  absl::flat_hash_map<uint64_t, uint32_t> today_;  // value -> count before today
  static constexpr size_t kMaxToday = 256;
};

// Where an identity's calls come from: sources (ASN or /24), wider regions (country or
// /16) and source classes, in days. SourceBits says how surprising a call's origin is.
struct Whereabouts {
  DailyNovelty sources{128};
  DailyNovelty regions{64};
  DailyNovelty classes{8};
  DayCounter active;

  // Bits of surprise that this call comes from where it does (0 for a familiar source),
  // capped at about 9. `why` gets a sentence when it is more than 0.
  double SourceBits(const CloudApiBody& b, Micros t, std::string* why) const;
  void Learn(const CloudApiBody& b, Micros t);
  size_t MemoryUsage() const {
    return sources.MemoryUsage() + regions.MemoryUsage() + classes.MemoryUsage();
  }
  void Save(learn::StateWriter& w) const;
  void Load(learn::StateReader& r);
};

// Distribution of per-window counts in log2 buckets (0, 1, 2-3, 4-7, ...): how often has this
// identity had a window with at least this many calls?
class WindowHistogram {
 public:
  static constexpr int kBuckets = 20;
  static int Bucket(uint32_t n);
  void Add(uint32_t n);
  // Laplace-smoothed probability of a window with a count in n's bucket or above.
  double PAtLeast(uint32_t n) const;
  // The largest count bucket seen, as its lower bound ("up to about N").
  uint32_t TypicalMax() const;
  uint32_t windows() const { return windows_; }
  void Save(learn::StateWriter& w) const;
  void Load(learn::StateReader& r);

 private:
  std::array<uint32_t, kBuckets> counts_{};
  uint32_t windows_ = 0;
};

// Per-identity (or per-account) state with a cap: past max entries, the eighth least
// recently seen are dropped (they start again with no history, so they stay quiet).
template <typename State>
class KeyedTable {
 public:
  explicit KeyedTable(size_t max_entries = 100'000) : max_(max_entries) {}
  State& Get(std::string_view key, Micros t) { return Get(learn::HashValue(key), t); }
  // By the key's hash (learn::HashValue), when the caller has it already (IdentityKey).
  State& Get(uint64_t k, Micros t) {
    auto it = map_.find(k);
    if (it == map_.end()) {
      if (map_.size() >= max_) Evict();
      it = map_.try_emplace(k).first;
    }
    it->second.last = std::max(it->second.last, t);
    return it->second.state;
  }
  size_t size() const { return map_.size(); }
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [k, e] : map_) f(k, e.state);
  }
  size_t MemoryUsage(size_t per_entry) const { return map_.capacity() * (24 + per_entry); }
  void Save(learn::StateWriter& w) const {
    w.U64(map_.size());
    for (const auto& [k, e] : map_) {
      w.U64(k);
      w.I64(e.last);
      e.state.Save(w);
    }
  }
  void Load(learn::StateReader& r) {
    map_.clear();
    uint64_t n = r.Count(max_);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      uint64_t k = r.U64();
      Entry& e = map_[k];
      e.last = r.I64();
      e.state.Load(r);
    }
  }

 private:
  struct Entry {
    State state;
    Micros last = 0;
  };
  void Evict() {
    std::vector<Micros> lasts;
    lasts.reserve(map_.size());
    for (const auto& [k, e] : map_) lasts.push_back(e.last);
    size_t cut = lasts.size() / 8;
    std::nth_element(lasts.begin(), lasts.begin() + static_cast<long>(cut), lasts.end());
    Micros cutoff = lasts[cut];
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->second.last <= cutoff) map_.erase(it++);
      else ++it;
    }
  }
  absl::flat_hash_map<uint64_t, Entry> map_;
  size_t max_;
};

// Suppresses repeats: one breach per identity per model within `quiet` of the last, unless
// the new score is at least 10 points higher.
class EmitGate {
 public:
  bool Allow(std::string_view entity, Micros t, int score, Micros quiet = kMicrosPerHour);

 private:
  struct Last {
    Micros t = 0;
    int score = 0;
  };
  absl::flat_hash_map<uint64_t, Last> last_;
};

// "203.0.113.7 (203.0.113.0/24, external)" or "(AS64500 DE, external)".
std::string DescribeSource(const CloudApiBody& b);
// The identity's display name (entity name, else id).
std::string WhoName(const Event& e);

// A breach on the event's identity with the source as peer; reasons and mitre as given.
// details carry identity_arn, source_ip, event_name, user_agent family, source class, region.
Breach MakeBreach(std::string_view model, const Event& e, const CloudApiBody& b, double bits,
                  std::vector<std::string> reasons, std::vector<std::string> mitre);

// learn::HashValue of the event's identity id, as the cloud identity enrich step stored it
// (CloudApiBody::identity_key), so that the seven models do not each hash the same ARN;
// hashed here for an event that did not go through that step.
inline uint64_t IdentityKey(const Event& e, const CloudApiBody& b) {
  return b.identity_key != 0 ? b.identity_key : learn::HashValue(e.entity.id);
}

// True when the model should look at this call at all: it has an identity and a person
// (or a person's automation) behind it.
bool IsPersonCall(const Event& e, const CloudApiBody& b);

// "p3.16xlarge" style accelerator instance families (GPU, Inferentia, Trainium, Gaudi).
bool IsAcceleratorInstanceType(std::string_view type);

std::string Pct(double p);  // "3.2%"

// The value of the first string member `key` in the JSON text `raw` (requestParameters), as
// written, or "". A light scan like ingest::cloudtrail::FindStringMember (detect/ may not
// depend on ingest/); escaped keys are not found.
std::string_view JsonMember(std::string_view raw, std::string_view key);

}  // namespace vigil::detect::cloud
