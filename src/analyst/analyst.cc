#include "analyst/analyst.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "analyst/attack.h"
#include "analyst/narrative.h"

namespace vigil::analyst {

namespace {

using detect::Breach;
using detect::EntityInfo;

constexpr uint32_t kStateMagic = 0x314E4156;  // "VAN1"
constexpr Micros kNever = std::numeric_limits<Micros>::max();

// ---------------------------------------------------------------------------------------
// Link keys.

struct LinkKey {
  std::string key;
  bool strong = false;  // the breach's entity (or an alias of it) or an external peer
  bool entity = false;  // the breach's own entity or an alias of it
};

void AddDetailStrings(const Breach& b, std::initializer_list<const char*> names,
                      std::vector<std::string>& out) {
  if (!b.details.is_object()) return;
  for (const char* n : names) {
    auto it = b.details.find(n);
    if (it == b.details.end()) continue;
    if (it->is_string()) {
      out.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& v : *it) {
        if (v.is_string()) out.push_back(v.get<std::string>());
      }
    }
  }
}

void PushKey(std::vector<LinkKey>& keys, const std::string& k, bool strong, bool entity) {
  if (k.empty()) return;
  for (auto& existing : keys) {
    if (existing.key == k) {
      existing.strong = existing.strong || strong;
      existing.entity = existing.entity || entity;
      return;
    }
  }
  keys.push_back({k, strong, entity});
}

std::vector<LinkKey> KeysOf(const Breach& b) {
  std::vector<LinkKey> keys;
  PushKey(keys, b.entity.id, true, true);
  // Other names of the same entity: a Defender device's addresses and ids.
  std::vector<std::string> aliases;
  AddDetailStrings(b, {"device_ips", "ip_addresses", "device_ip", "device_id", "mde_device_id"},
                   aliases);
  for (const auto& a : aliases) PushKey(keys, a, true, true);
  if (b.peer && !b.peer->id.empty()) {
    PushKey(keys, b.peer->id, b.peer->type == "external", false);
  }
  // Where an identity acted from.
  std::vector<std::string> sources;
  AddDetailStrings(b, {"source_ip", "sourceIPAddress", "src_ip", "client_ip"}, sources);
  for (const auto& s : sources) PushKey(keys, s, false, false);
  return keys;
}

std::string IncidentIdFor(const std::string& breach_id) {
  std::string_view id = breach_id;
  if (id.rfind("b-", 0) == 0) id.remove_prefix(2);
  return "inc-" + std::string(id);
}

// A copy of a breach small enough to keep: one event reference, a few reasons.
Breach Trim(const Breach& b) {
  Breach t = b;
  if (t.events.size() > 1) t.events.resize(1);
  if (t.reasons.size() > 4) t.reasons.resize(4);
  return t;
}

bool MemberLess(const Breach& a, const Breach& b) {
  return a.time != b.time ? a.time < b.time : a.id < b.id;
}

// ---------------------------------------------------------------------------------------
// JSON helpers that never throw.

std::string JStr(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> JStrs(const nlohmann::json& j, const char* k) {
  std::vector<std::string> out;
  auto it = j.find(k);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

nlohmann::json EntityJson(const EntityInfo& e) {
  return {{"type", e.type}, {"id", e.id}, {"name", e.name}};
}

}  // namespace

// -----------------------------------------------------------------------------------------
// Score.

int ScoreMembers(const std::vector<const Breach*>& members, nlohmann::json* parts) {
  std::map<std::string, int> strong_by_model, weak_by_model;
  std::set<std::string> stages, entities;
  size_t strong = 0, weak = 0;
  int max_score = 0;
  for (const Breach* b : members) {
    int s = std::clamp(b->score, 0, 100);
    if (b->weak) {
      ++weak;
      int& m = weak_by_model[b->model];
      m = std::max(m, s);
      continue;
    }
    ++strong;
    max_score = std::max(max_score, s);
    int& m = strong_by_model[b->model];
    m = std::max(m, s);
    auto tactics = BreachTactics(*b);
    if (tactics.empty()) {
      stages.insert("model:" + b->model);
    } else {
      for (Tactic t : tactics) stages.insert(TacticId(t));
    }
    entities.insert(b->entity.id);
  }
  double keep = 1.0;
  for (const auto& [model, s] : strong_by_model) keep *= 1.0 - 0.7 * s / 100.0;
  for (const auto& [model, s] : weak_by_model) {
    if (!strong_by_model.count(model)) keep *= 1.0 - 0.15 * s / 100.0;
  }
  double evidence = 1.0 - keep;
  double corroboration = 0;
  if (!stages.empty()) {
    corroboration = (static_cast<double>(stages.size()) - 1) / 3.0 +
                    0.1 * (static_cast<double>(entities.size()) - 1);
  }
  corroboration = std::clamp(corroboration, 0.0, 1.0);
  int score = static_cast<int>(std::lround(100.0 * evidence * (0.6 + 0.4 * corroboration)));
  score = std::clamp(score, 0, 100);
  if (parts != nullptr) {
    *parts = {{"evidence", std::round(evidence * 1000) / 1000},
              {"corroboration", std::round(corroboration * 1000) / 1000},
              {"stages", stages.size()},
              {"entities", entities.size()},
              {"models", strong_by_model.size()},
              {"breaches", strong},
              {"weak_signals", weak},
              {"max_breach_score", max_score}};
  }
  return score;
}

// -----------------------------------------------------------------------------------------
// JSON.

nlohmann::json IncidentToJson(const Incident& inc) {
  nlohmann::json j;
  j["id"] = inc.id;
  j["title"] = inc.title;
  j["score"] = inc.score;
  j["start"] = FormatRfc3339(inc.start);
  j["end"] = FormatRfc3339(inc.end);
  nlohmann::json entities = nlohmann::json::array();
  for (const auto& e : inc.entities) entities.push_back(EntityJson(e));
  j["entities"] = std::move(entities);
  j["breaches"] = inc.breaches;
  j["tactics"] = inc.tactics;
  j["summary"] = inc.summary;
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& t : inc.timeline) {
    nlohmann::json e = {{"time", FormatRfc3339(t.time)}, {"text", t.text}, {"breach", t.breach}};
    if (t.weak) e["weak"] = true;
    if (!t.tactic.empty()) e["tactic"] = t.tactic;
    if (!t.model.empty()) e["model"] = t.model;
    if (!t.entity.empty()) e["entity"] = t.entity;
    timeline.push_back(std::move(e));
  }
  j["timeline"] = std::move(timeline);
  // Additions to the contract.
  j["weak_signals"] = inc.weak_signals;
  j["techniques"] = inc.techniques;
  j["state"] = inc.state;
  j["updated"] = FormatRfc3339(inc.updated);
  nlohmann::json sentences = nlohmann::json::array();
  for (const auto& s : inc.summary_sentences) {
    sentences.push_back({{"text", s.text}, {"breaches", s.breaches}});
  }
  j["summary_sentences"] = std::move(sentences);
  j["score_parts"] = inc.score_parts;
  if (!inc.merged_into.empty()) j["merged_into"] = inc.merged_into;
  if (inc.dropped > 0) j["dropped"] = inc.dropped;
  return j;
}

Result<Incident> IncidentFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Corrupt("incident is not a JSON object");
  Incident inc;
  inc.id = JStr(j, "id");
  if (inc.id.empty()) return Corrupt("incident has no id");
  inc.title = JStr(j, "title");
  if (auto it = j.find("score"); it != j.end() && it->is_number()) {
    inc.score = std::clamp(static_cast<int>(it->get<double>()), 0, 100);
  }
  auto start = ParseIso8601(JStr(j, "start"));
  auto end = ParseIso8601(JStr(j, "end"));
  if (!start || !end) return Corrupt("incident " + inc.id + ": start/end do not parse");
  inc.start = *start;
  inc.end = *end;
  if (auto it = j.find("entities"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_object()) continue;
      inc.entities.push_back({JStr(e, "type"), JStr(e, "id"), JStr(e, "name")});
    }
  }
  inc.breaches = JStrs(j, "breaches");
  inc.weak_signals = JStrs(j, "weak_signals");
  inc.tactics = JStrs(j, "tactics");
  inc.techniques = JStrs(j, "techniques");
  inc.summary = JStr(j, "summary");
  if (auto it = j.find("timeline"); it != j.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_object()) continue;
      TimelineEntry t;
      t.time = ParseIso8601(JStr(e, "time")).value_or(0);
      t.text = JStr(e, "text");
      t.breach = JStr(e, "breach");
      auto w = e.find("weak");
      t.weak = w != e.end() && w->is_boolean() && w->get<bool>();
      t.tactic = JStr(e, "tactic");
      t.model = JStr(e, "model");
      t.entity = JStr(e, "entity");
      inc.timeline.push_back(std::move(t));
    }
  }
  if (auto it = j.find("summary_sentences"); it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (!s.is_object()) continue;
      inc.summary_sentences.push_back({JStr(s, "text"), JStrs(s, "breaches")});
    }
  }
  std::string state = JStr(j, "state");
  if (!state.empty()) inc.state = state;
  inc.updated = ParseIso8601(JStr(j, "updated")).value_or(inc.end);
  inc.merged_into = JStr(j, "merged_into");
  if (auto it = j.find("dropped"); it != j.end() && it->is_number_unsigned()) {
    inc.dropped = it->get<uint64_t>();
  }
  if (auto it = j.find("score_parts"); it != j.end() && it->is_object()) inc.score_parts = *it;
  return inc;
}

// -----------------------------------------------------------------------------------------
// Analyst.

struct Analyst::Impl {
  struct Open {
    Incident inc;
    std::vector<Breach> members;  // sorted by (time, id)
    std::map<std::string, bool> keys;  // link key -> strong
    std::set<std::string> entity_keys; // entity ids (and aliases) of its breaches
    Micros last_strong = 0;
    Micros last_activity = 0;
    bool reported = false;
    bool stale = true;  // members changed since the last Render
  };
  struct Closed {
    Incident inc;
    bool reported = false;
  };

  Micros window_before = kMicrosPerHour;
  Micros window_after = kMicrosPerHour;
  Micros quiet = 12 * kMicrosPerHour;
  int min_score = 0;

  std::map<std::string, Open> open;  // by id: iteration order is deterministic
  std::unordered_map<std::string, std::string> member_of;  // breach id -> open incident id
  // Link key -> open incidents holding it, so linking a breach costs O(its keys).
  std::unordered_map<std::string, std::set<std::string>> key_index;
  std::map<std::string, Closed> closed;
  std::deque<std::string> closed_order;
  std::map<std::string, std::deque<Breach>> weak;  // entity id -> buffered weak signals
  std::vector<std::string> dirty_order;
  std::set<std::string> dirty;
  Micros now = std::numeric_limits<Micros>::min();
  Micros next_close = kNever;
  Micros next_prune = std::numeric_limits<Micros>::min();

  void MarkDirty(const std::string& id) {
    if (dirty.insert(id).second) dirty_order.push_back(id);
  }

  void AddMember(Open& o, const Breach& b) {
    o.inc.updated = std::max({o.inc.updated, now, b.time});
    o.inc.start = std::min(o.inc.start, b.time);
    o.inc.end = std::max(o.inc.end, b.time);
    o.last_activity = std::max(o.last_activity, b.time);
    if (!b.weak) o.last_strong = std::max(o.last_strong, b.time);
    if (o.members.size() >= kMaxIncidentMembers) {
      ++o.inc.dropped;
      return;
    }
    Breach t = Trim(b);
    auto pos = std::upper_bound(o.members.begin(), o.members.end(), t, MemberLess);
    o.members.insert(pos, std::move(t));
    member_of[b.id] = o.inc.id;
    o.stale = true;
    if (!b.weak) {
      for (const auto& k : KeysOf(b)) {
        key_index[k.key].insert(o.inc.id);
        bool& strong = o.keys[k.key];
        strong = strong || k.strong;
        if (k.entity) o.entity_keys.insert(k.key);
      }
    }
  }

  // Recomputes everything shown from the members; done lazily (when reported, found or
  // retired), since an incident may take many breaches between two reports.
  void Render(Open& o) {
    if (!o.stale) return;
    o.stale = false;
    std::vector<const Breach*> ptrs;
    ptrs.reserve(o.members.size());
    for (const auto& m : o.members) ptrs.push_back(&m);
    Story story = Narrate(ptrs);
    Incident& inc = o.inc;
    inc.title = std::move(story.title);
    inc.summary = std::move(story.summary);
    inc.summary_sentences = std::move(story.sentences);
    inc.timeline = std::move(story.timeline);
    inc.score = ScoreMembers(ptrs, &inc.score_parts);
    if (inc.dropped > 0) inc.score_parts["dropped"] = inc.dropped;
    inc.breaches.clear();
    inc.weak_signals.clear();
    inc.techniques.clear();
    inc.entities.clear();
    std::vector<Tactic> tactics;
    Micros start = kNever, end = std::numeric_limits<Micros>::min();
    auto add_entity = [&](const EntityInfo& e) {
      if (e.id.empty() || inc.entities.size() >= kMaxIncidentEntities) return;
      for (const auto& x : inc.entities) {
        if (x.id == e.id) return;
      }
      inc.entities.push_back(e);
    };
    for (const Breach* b : ptrs) {
      start = std::min(start, b->time);
      end = std::max(end, b->time);
      if (b->weak) {
        inc.weak_signals.push_back(b->id);
        continue;
      }
      inc.breaches.push_back(b->id);
      for (const auto& t : b->mitre) {
        if (std::find(inc.techniques.begin(), inc.techniques.end(), t) == inc.techniques.end()) {
          inc.techniques.push_back(t);
        }
      }
      for (Tactic t : BreachTactics(*b)) tactics.push_back(t);
      add_entity(b->entity);
    }
    for (const Breach* b : ptrs) {
      if (!b->weak && b->peer) add_entity(*b->peer);
    }
    for (const Breach* b : ptrs) {
      if (b->weak) add_entity(b->entity);
    }
    std::sort(tactics.begin(), tactics.end());
    tactics.erase(std::unique(tactics.begin(), tactics.end()), tactics.end());
    inc.tactics.clear();
    for (Tactic t : tactics) inc.tactics.push_back(TacticId(t));
    if (start != kNever) {
      inc.start = start;
      inc.end = std::max(end, inc.end);
    }
  }

  // Open incidents linked to a breach with these keys, by id.
  std::set<std::string> Linked(const std::vector<LinkKey>& keys) const {
    std::set<std::string> out;
    for (const auto& k : keys) {
      auto ix = key_index.find(k.key);
      if (ix == key_index.end()) continue;
      for (const auto& id : ix->second) {
        auto o = open.find(id);
        if (o == open.end()) continue;
        auto strong = o->second.keys.find(k.key);
        if (k.strong || (strong != o->second.keys.end() && strong->second)) out.insert(id);
      }
    }
    return out;
  }

  void Unindex(const Open& o) {
    for (const auto& m : o.members) member_of.erase(m.id);
    for (const auto& [key, strong] : o.keys) {
      auto ix = key_index.find(key);
      if (ix == key_index.end()) continue;
      ix->second.erase(o.inc.id);
      if (ix->second.empty()) key_index.erase(ix);
    }
  }

  void Retire(Open&& o, const std::string& state, const std::string& merged_into) {
    Render(o);
    o.inc.state = state;
    o.inc.merged_into = merged_into;
    o.inc.updated = std::max(now, o.inc.end);
    std::string id = o.inc.id;
    if (o.reported || o.inc.score >= min_score) MarkDirty(id);
    closed[id] = Closed{std::move(o.inc), o.reported};
    closed_order.push_back(id);
    while (closed.size() > kMaxClosedIncidents && !closed_order.empty()) {
      closed.erase(closed_order.front());
      closed_order.pop_front();
    }
  }

  void CloseOne(std::map<std::string, Open>::iterator it) {
    Unindex(it->second);
    Open o = std::move(it->second);
    open.erase(it);
    Retire(std::move(o), "closed", "");
  }

  void PruneWeak(Micros t) {
    Micros horizon = t - window_before;
    for (auto it = weak.begin(); it != weak.end();) {
      auto& q = it->second;
      while (!q.empty() && q.front().time < horizon) q.pop_front();
      it = q.empty() ? weak.erase(it) : std::next(it);
    }
  }

  void BufferWeak(const Breach& b) {
    auto it = weak.find(b.entity.id);
    if (it == weak.end()) {
      if (weak.size() >= kMaxWeakSignalEntities) PruneWeak(now);
      if (weak.size() >= kMaxWeakSignalEntities) {
        // Evict the entity whose newest signal is oldest.
        auto victim = weak.begin();
        for (auto w = weak.begin(); w != weak.end(); ++w) {
          if (w->second.back().time < victim->second.back().time) victim = w;
        }
        weak.erase(victim);
      }
      it = weak.emplace(b.entity.id, std::deque<Breach>{}).first;
    }
    auto& q = it->second;
    for (const auto& existing : q) {
      if (existing.id == b.id) return;
    }
    q.push_back(Trim(b));
    if (q.size() > kMaxWeakSignalsPerEntity) q.pop_front();
  }

  // Moves buffered weak signals of `entity` from [t - window_before, t + window_after] into o.
  void PullWeak(Open& o, const std::string& entity, Micros t) {
    auto it = weak.find(entity);
    if (it == weak.end()) return;
    auto& q = it->second;
    for (auto w = q.begin(); w != q.end();) {
      if (w->time >= t - window_before && w->time <= t + window_after) {
        AddMember(o, *w);
        w = q.erase(w);
      } else {
        ++w;
      }
    }
    if (q.empty()) weak.erase(it);
  }

  void Advance(Micros t) {
    if (t > now) now = t;
    if (now >= next_prune) {
      PruneWeak(now);
      next_prune = now + std::max<Micros>(window_before / 4, kMicrosPerMinute);
    }
    if (now < next_close) return;
    Micros next = kNever;
    for (auto it = open.begin(); it != open.end();) {
      auto cur = it++;
      if (cur->second.last_activity + quiet <= now) {
        CloseOne(cur);
      } else {
        next = std::min(next, cur->second.last_activity + quiet);
      }
    }
    next_close = next;
  }

  void OnWeak(const Breach& b) {
    Open* target = nullptr;
    auto ix = key_index.find(b.entity.id);
    if (ix == key_index.end()) {
      BufferWeak(b);
      return;
    }
    for (const auto& id : ix->second) {
      Open& o = open.at(id);
      if (!o.entity_keys.count(b.entity.id)) continue;
      if (b.time > o.last_strong + window_after || b.time < o.inc.start - window_before) continue;
      if (target == nullptr || o.inc.start < target->inc.start) target = &o;
    }
    if (target == nullptr) {
      BufferWeak(b);
      return;
    }
    AddMember(*target, b);
    MarkDirty(target->inc.id);
  }

  void OnStrong(const Breach& b) {
    auto keys = KeysOf(b);
    auto linked_set = Linked(keys);
    std::vector<std::string> linked(linked_set.begin(), linked_set.end());
    std::string target_id;
    if (linked.empty()) {
      if (open.size() >= kMaxOpenIncidents) {
        auto victim = open.begin();
        for (auto it = open.begin(); it != open.end(); ++it) {
          if (it->second.last_activity < victim->second.last_activity) victim = it;
        }
        CloseOne(victim);
      }
      target_id = IncidentIdFor(b.id);
      while (open.count(target_id) || closed.count(target_id)) target_id += "+";
      Open o;
      o.inc.id = target_id;
      o.inc.start = b.time;
      o.inc.end = b.time;
      open.emplace(target_id, std::move(o));
      next_close = std::min(next_close, b.time + quiet);
    } else {
      // The oldest linked incident absorbs the others.
      std::sort(linked.begin(), linked.end(), [&](const std::string& x, const std::string& y) {
        const auto& a = open.at(x).inc;
        const auto& c = open.at(y).inc;
        return a.start != c.start ? a.start < c.start : a.id < c.id;
      });
      target_id = linked.front();
      Open& target = open.at(target_id);
      for (size_t i = 1; i < linked.size(); ++i) {
        auto it = open.find(linked[i]);
        Unindex(it->second);
        Open other = std::move(it->second);
        open.erase(it);
        for (const auto& m : other.members) AddMember(target, m);
        target.inc.dropped += other.inc.dropped;
        target.reported = target.reported || other.reported;
        Retire(std::move(other), "merged", target_id);
      }
    }
    Open& o = open.at(target_id);
    AddMember(o, b);
    for (const auto& k : keys) {
      if (k.entity) PullWeak(o, k.key, b.time);
    }
    MarkDirty(target_id);
  }
};

Analyst::Analyst(const config::Config& cfg) : impl_(std::make_unique<Impl>()) {
  if (cfg.Has("analyst.window_before")) impl_->window_before = cfg.GetDuration("analyst.window_before");
  if (cfg.Has("analyst.window_after")) impl_->window_after = cfg.GetDuration("analyst.window_after");
  if (cfg.Has("analyst.quiet_period")) impl_->quiet = cfg.GetDuration("analyst.quiet_period");
  if (cfg.Has("analyst.min_incident_score")) {
    impl_->min_score = static_cast<int>(cfg.GetNumber("analyst.min_incident_score"));
  }
  impl_->window_before = std::max<Micros>(impl_->window_before, 0);
  impl_->window_after = std::max<Micros>(impl_->window_after, 0);
  impl_->quiet = std::max<Micros>(impl_->quiet, kMicrosPerSecond);
}

Analyst::~Analyst() = default;

void Analyst::OnBreach(const Breach& in) {
  if (!in.suppressed_by.empty()) return;
  const Breach* bp = &in;
  Breach with_id;
  if (in.id.empty()) {
    with_id = in;
    detect::AssignBreachId(with_id);
    bp = &with_id;
  }
  const Breach& b = *bp;
  impl_->Advance(b.time);
  if (impl_->member_of.count(b.id)) return;
  if (b.weak) {
    impl_->OnWeak(b);
  } else {
    impl_->OnStrong(b);
  }
}

void Analyst::Advance(Micros now) { impl_->Advance(now); }

std::vector<Incident> Analyst::TakeUpdated() {
  std::vector<Incident> out;
  for (const auto& id : impl_->dirty_order) {
    if (auto it = impl_->open.find(id); it != impl_->open.end()) {
      auto& o = it->second;
      impl_->Render(o);
      if (o.reported || o.inc.score >= impl_->min_score) {
        o.reported = true;
        out.push_back(o.inc);
      }
    } else if (auto c = impl_->closed.find(id); c != impl_->closed.end()) {
      if (c->second.reported || c->second.inc.score >= impl_->min_score) {
        c->second.reported = true;
        out.push_back(c->second.inc);
      }
    }
  }
  impl_->dirty_order.clear();
  impl_->dirty.clear();
  return out;
}

const Incident* Analyst::Find(const std::string& id) const {
  if (auto it = impl_->open.find(id); it != impl_->open.end()) {
    impl_->Render(it->second);  // the Impl is not part of the const state
    return &it->second.inc;
  }
  if (auto it = impl_->closed.find(id); it != impl_->closed.end()) return &it->second.inc;
  return nullptr;
}

size_t Analyst::open_count() const { return impl_->open.size(); }

void Analyst::Save(learn::StateWriter& w) const {
  w.U32(kStateMagic);
  w.I64(impl_->now);
  w.U64(impl_->open.size());
  for (const auto& [id, o] : impl_->open) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& m : o.members) members.push_back(detect::BreachToJson(m));
    nlohmann::json doc = {{"id", id},
                          {"reported", o.reported},
                          {"dropped", o.inc.dropped},
                          {"end", o.inc.end},
                          {"updated", o.inc.updated},
                          {"last_strong", o.last_strong},
                          {"last_activity", o.last_activity},
                          {"members", std::move(members)}};
    w.Str(doc.dump());
  }
  w.U64(impl_->weak.size());
  for (const auto& [entity, q] : impl_->weak) {
    w.Str(entity);
    w.U64(q.size());
    for (const auto& b : q) w.Str(detect::BreachToJson(b).dump());
  }
}

Status Analyst::Load(learn::StateReader& r) {
  if (r.U32() != kStateMagic || !r.ok()) return Corrupt("analyst state: bad magic");
  auto fresh = std::make_unique<Impl>();
  fresh->window_before = impl_->window_before;
  fresh->window_after = impl_->window_after;
  fresh->quiet = impl_->quiet;
  fresh->min_score = impl_->min_score;
  fresh->now = r.I64();
  uint64_t n = r.Count(kMaxSavedIncidents);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    auto doc = nlohmann::json::parse(r.Str(), nullptr, /*allow_exceptions=*/false);
    if (!r.ok() || doc.is_discarded() || !doc.is_object()) {
      return Corrupt("analyst state: incident " + std::to_string(i) + " does not parse");
    }
    Impl::Open o;
    o.inc.id = JStr(doc, "id");
    if (o.inc.id.empty()) return Corrupt("analyst state: incident without id");
    auto members = doc.find("members");
    if (members == doc.end() || !members->is_array() || members->empty() ||
        members->size() > kMaxIncidentMembers) {
      return Corrupt("analyst state: incident " + o.inc.id + " has bad members");
    }
    auto num = [&](const char* k) -> Micros {
      auto it = doc.find(k);
      return it != doc.end() && it->is_number_integer() ? it->get<Micros>() : 0;
    };
    auto reported = doc.find("reported");
    o.reported = reported != doc.end() && reported->is_boolean() && reported->get<bool>();
    auto dropped = doc.find("dropped");
    o.inc.dropped = dropped != doc.end() && dropped->is_number_unsigned() ? dropped->get<uint64_t>() : 0;
    o.inc.end = num("end");
    o.inc.start = kNever;
    for (const auto& m : *members) {
      auto b = detect::BreachFromJson(m);
      if (!b.ok()) return Corrupt("analyst state: " + b.status().message());
      fresh->AddMember(o, *b);
    }
    o.inc.start = o.members.front().time;
    o.last_strong = std::max(o.last_strong, num("last_strong"));
    o.last_activity = std::max(o.last_activity, num("last_activity"));
    fresh->Render(o);
    o.inc.updated = num("updated");
    std::string id = o.inc.id;
    fresh->next_close = std::min(fresh->next_close, o.last_activity + fresh->quiet);
    fresh->open.emplace(id, std::move(o));
  }
  uint64_t entities = r.Count(kMaxWeakSignalEntities);
  for (uint64_t i = 0; i < entities && r.ok(); ++i) {
    std::string entity = r.Str();
    uint64_t count = r.Count(kMaxWeakSignalsPerEntity);
    auto& q = fresh->weak[entity];
    for (uint64_t k = 0; k < count && r.ok(); ++k) {
      auto doc = nlohmann::json::parse(r.Str(), nullptr, false);
      if (!r.ok() || doc.is_discarded()) return Corrupt("analyst state: weak signal does not parse");
      auto b = detect::BreachFromJson(doc);
      if (!b.ok()) return Corrupt("analyst state: " + b.status().message());
      q.push_back(std::move(*b));
    }
    if (q.empty()) fresh->weak.erase(entity);
  }
  if (!r.ok()) return Corrupt("analyst state: truncated");
  impl_ = std::move(fresh);
  return Status::Ok();
}

}  // namespace vigil::analyst
