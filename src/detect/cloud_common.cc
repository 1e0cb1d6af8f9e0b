#include "detect/cloud_common.h"

#include "core/json_scan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "detect/score.h"
#include "enrich/cloud_identity.h"

namespace vigil::detect::cloud {
namespace {
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
}  // namespace

std::string_view ServiceOf(std::string_view src) {
  size_t dot = src.find('.');
  return dot == std::string_view::npos ? src : src.substr(0, dot);
}

bool IsReadCall(std::string_view n) {
  // Several models ask this of every call: one switch on the first letter, then one prefix.
  if (n.empty()) return false;
  switch (n[0]) {
    case 'L': return StartsWith(n, "List") || StartsWith(n, "Lookup");
    case 'D': return StartsWith(n, "Describe");
    case 'G': return StartsWith(n, "Get");
    case 'H': return StartsWith(n, "Head");
    case 'S': return StartsWith(n, "Search") || StartsWith(n, "Scan");
    case 'B': return StartsWith(n, "BatchGet");
    default: return false;
  }
}

bool IsAccessDenied(std::string_view c) {
  if (c.empty()) return false;
  return c.find("AccessDenied") != std::string_view::npos ||
         c.find("Unauthorized") != std::string_view::npos || c == "Forbidden" ||
         c.find("NotAuthorized") != std::string_view::npos;
}

bool IsDryRun(std::string_view c) { return c.find("DryRunOperation") != std::string_view::npos; }

DailyNovelty::Verdict DailyNovelty::Peek(uint64_t value, Micros t) const {
  Verdict out;
  out.v = set_.Peek(value);
  if (out.v.is_new) {
    out.new_today = true;
  } else if (day_ == DayOf(t)) {
    auto it = today_.find(value);
    out.new_today = it != today_.end() && it->second == 0;
  }
  return out;
}

void DailyNovelty::Observe(uint64_t value, Micros t) {
  int64_t d = DayOf(t);
  if (d != day_) {
    today_.clear();
    day_ = d;
  }
  if (today_.contains(value)) return;
  uint32_t before = set_.Contains(value) ? 1 : 0;
  if (today_.size() < kMaxToday) today_.emplace(value, before);
  set_.Observe(value, t);
}

void DailyNovelty::Save(learn::StateWriter& w) const {
  set_.Save(w);
  w.I64(day_);
  w.U64(today_.size());
  for (const auto& [k, v] : today_) {
    w.U64(k);
    w.U32(v);
  }
}

void DailyNovelty::Load(learn::StateReader& r) {
  set_.Load(r);
  day_ = r.I64();
  uint64_t n = r.Count(kMaxToday);
  today_.clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    uint64_t k = r.U64();
    today_[k] = r.U32();
  }
}

double Whereabouts::SourceBits(const CloudApiBody& b, Micros t, std::string* why) const {
  if (b.source_key == 0 || active.days == 0) return 0;
  auto s = sources.Peek(b.source_key, t);
  if (!s.new_today) return 0;
  double bits = std::min(6.0, SurpriseBits(s.v.p_new));
  auto r = regions.Peek(b.source_region_key, t);
  if (r.new_today) bits += std::min(3.0, 0.5 * SurpriseBits(r.v.p_new));
  auto c = classes.Peek(static_cast<uint64_t>(b.source_class) + 1, t);
  if (c.new_today) bits += std::min(3.0, 0.5 * SurpriseBits(c.v.p_new));
  if (why && bits > 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "the source %s is new for this identity, which used %u source(s) on %u active "
                  "day(s) before%s",
                  DescribeSource(b).c_str(), sources.distinct(), active.days,
                  c.new_today ? (std::string(", never from a ") + CloudSourceClassName(b.source_class) +
                                 " address")
                                    .c_str()
                              : "");
    *why = buf;
  }
  return bits;
}

void Whereabouts::Learn(const CloudApiBody& b, Micros t) {
  active.Touch(t);
  if (b.source_key == 0) return;
  sources.Observe(b.source_key, t);
  regions.Observe(b.source_region_key, t);
  classes.Observe(static_cast<uint64_t>(b.source_class) + 1, t);
}

void Whereabouts::Save(learn::StateWriter& w) const {
  sources.Save(w);
  regions.Save(w);
  classes.Save(w);
  active.Save(w);
}
void Whereabouts::Load(learn::StateReader& r) {
  sources.Load(r);
  regions.Load(r);
  classes.Load(r);
  active.Load(r);
}

int WindowHistogram::Bucket(uint32_t n) {
  int b = 0;
  while (n > 0 && b < kBuckets - 1) {
    n >>= 1;
    ++b;
  }
  return b;
}

void WindowHistogram::Add(uint32_t n) {
  ++counts_[static_cast<size_t>(Bucket(n))];
  ++windows_;
}

double WindowHistogram::PAtLeast(uint32_t n) const {
  uint64_t at_least = 0;
  for (int b = Bucket(n); b < kBuckets; ++b) at_least += counts_[static_cast<size_t>(b)];
  return (static_cast<double>(at_least) + 1.0) / (static_cast<double>(windows_) + 2.0);
}

uint32_t WindowHistogram::TypicalMax() const {
  for (int b = kBuckets - 1; b > 0; --b)
    if (counts_[static_cast<size_t>(b)] > 0) return (1u << b) - 1;
  return 0;
}

void WindowHistogram::Save(learn::StateWriter& w) const {
  w.U32(windows_);
  for (uint32_t c : counts_) w.U32(c);
}
void WindowHistogram::Load(learn::StateReader& r) {
  windows_ = r.U32();
  for (uint32_t& c : counts_) c = r.U32();
}

bool EmitGate::Allow(std::string_view entity, Micros t, int score, Micros quiet) {
  Last& l = last_[learn::HashValue(entity)];
  if (l.t != 0 && t - l.t < quiet && score < l.score + 10) return false;
  if (last_.size() > 200'000) last_.clear();  // a cap: forgetting only allows one repeat
  l.t = t;
  l.score = score;
  return true;
}

std::string DescribeSource(const CloudApiBody& b) {
  std::string out(b.source_ip.empty() ? "an unknown source" : b.source_ip);
  std::string where;
  if (b.asn != 0) where = "AS" + std::to_string(b.asn);
  if (!b.country.empty()) where += (where.empty() ? "" : " ") + std::string(b.country);
  if (where.empty()) where = enrich::SourcePrefixText(b.source_ip);
  out += " (";
  if (!where.empty()) out += where + ", ";
  out += CloudSourceClassName(b.source_class);
  out += ")";
  return out;
}

std::string WhoName(const Event& e) {
  return std::string(!e.entity.name.empty() ? e.entity.name : e.entity.id);
}

Breach MakeBreach(std::string_view model, const Event& e, const CloudApiBody& b, double bits,
                  std::vector<std::string> reasons, std::vector<std::string> mitre) {
  Breach br;
  br.time = e.time;
  br.model = std::string(model);
  br.score = ScoreFromBits(bits);
  br.entity = ToEntityInfo(e.entity);
  if (!e.peer.empty()) br.peer = ToEntityInfo(e.peer);
  br.reasons = std::move(reasons);
  br.events.push_back(MakeEventRef(e));
  br.mitre = std::move(mitre);
  br.details["identity_arn"] = std::string(e.entity.id);
  br.details["principal_arn"] = std::string(b.principal_arn);
  br.details["source_ip"] = std::string(b.source_ip);
  br.details["source_class"] = CloudSourceClassName(b.source_class);
  br.details["event_name"] = std::string(b.event_name);
  br.details["event_source"] = std::string(b.event_source);
  br.details["user_agent"] = std::string(b.user_agent);
  br.details["ua_family"] = CloudUaFamilyName(b.ua_family);
  br.details["region"] = std::string(b.region);
  br.details["account"] = std::string(b.account_id);
  br.details["bits"] = std::round(bits * 100) / 100;
  return br;
}

bool IsPersonCall(const Event& e, const CloudApiBody& b) {
  return e.entity.type == EntityType::kIdentity && !e.entity.id.empty() && !b.not_a_person;
}

bool IsAcceleratorInstanceType(std::string_view t) {
  static constexpr std::string_view kFamilies[] = {"p2.", "p3.", "p3dn.", "p4d.", "p4de.", "p5.",
                                                   "p5e.", "g3.", "g3s.", "g4dn.", "g4ad.", "g5.",
                                                   "g5g.", "g6.", "g6e.", "gr6.", "inf1.", "inf2.",
                                                   "trn1.", "trn1n.", "trn2.", "dl1.", "dl2q."};
  for (auto f : kFamilies)
    if (StartsWith(t, f)) return true;
  return false;
}

std::string Pct(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * p);
  return buf;
}

std::string_view JsonMember(std::string_view raw, std::string_view key) {
  return FindJsonStringMember(raw, key);  // core/json_scan.h
}

}  // namespace vigil::detect::cloud
