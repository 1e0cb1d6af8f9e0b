#include "respond/responder.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "core/time.h"

namespace vigil::respond {

namespace {

using json = nlohmann::json;

int Rank(Mode m) { return static_cast<int>(m); }  // observe < confirm < autonomous

std::string JStr(const json& j, const char* k) {
  if (!j.is_object() || !j.contains(k)) return {};
  if (j[k].is_string()) return j[k].get<std::string>();
  if (j[k].is_number_integer()) return std::to_string(j[k].get<int64_t>());
  return {};
}

// "a:p -> b:q/proto ..." from an event reference summary (the fallback when a breach's
// details do not say the port).
struct Endpoints {
  std::string orig, resp, proto;
  uint16_t resp_port = 0;
  bool ok = false;
};
Endpoints ParseSummary(std::string_view s) {
  Endpoints e;
  size_t arrow = s.find(" -> ");
  if (arrow == std::string_view::npos) return e;
  std::string_view left = s.substr(0, arrow), right = s.substr(arrow + 4);
  right = right.substr(0, right.find(' '));
  size_t slash = right.find('/');
  if (slash != std::string_view::npos) {
    e.proto = std::string(right.substr(slash + 1));
    right = right.substr(0, slash);
  }
  size_t lc = left.rfind(':'), rc = right.rfind(':');
  if (lc == std::string_view::npos || rc == std::string_view::npos) return e;
  e.orig = std::string(left.substr(0, lc));
  e.resp = std::string(right.substr(0, rc));
  int port = 0;
  for (char c : right.substr(rc + 1)) {
    if (c < '0' || c > '9' || port > 65535) return e;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return e;
  e.resp_port = static_cast<uint16_t>(port);
  e.ok = true;
  return e;
}

bool IsIp(const std::string& s) { return IpAddr::Parse(s).has_value(); }

}  // namespace

bool PolicyRule::MatchesModel(std::string_view name) const {
  if (model == "*" || model.empty()) return true;
  if (model.size() >= 2 && model.substr(model.size() - 2) == "/*")
    return name.substr(0, model.size() - 1) == std::string_view(model).substr(0, model.size() - 1);
  return name == model;
}

Result<ResponderSettings> SettingsFromConfig(const config::Config& cfg) {
  ResponderSettings s;
  auto mode = ParseMode(cfg.GetString("respond.mode"));
  if (!mode) return InvalidArgument("respond.mode must be observe, confirm or autonomous");
  s.mode = *mode;
  if (cfg.GetDuration("respond.default_duration") > 0)
    s.default_duration = cfg.GetDuration("respond.default_duration");
  if (cfg.GetDuration("respond.confirm_timeout") > 0)
    s.confirm_timeout = cfg.GetDuration("respond.confirm_timeout");
  s.max_actions_per_hour = static_cast<int>(cfg.GetNumber("respond.max_actions_per_hour"));
  s.pattern_settle = std::max<Micros>(0, cfg.GetDuration("respond.pattern_of_life.settle"));
  s.pattern_max_peers =
      static_cast<size_t>(std::max(1.0, cfg.GetNumber("respond.pattern_of_life.max_peers")));
  YAML::Node pol = cfg.Node("respond.policy");
  if (pol.IsSequence()) {
    int i = 0;
    for (const auto& item : pol) {
      ++i;
      std::string where = "respond.policy item " + std::to_string(i);
      if (!item.IsMap()) return InvalidArgument(where + " must be a mapping");
      PolicyRule r;
      if (item["model"]) r.model = item["model"].Scalar();
      if (item["min_score"]) r.min_score = std::atoi(item["min_score"].Scalar().c_str());
      if (item["incident_score"])
        r.incident_score = std::atoi(item["incident_score"].Scalar().c_str());
      if (item["entity_tag"]) r.entity_tag = item["entity_tag"].Scalar();
      r.action = item["action"] ? item["action"].Scalar() : "";
      if (!IsActionKind(r.action)) return InvalidArgument(where + ": unknown action '" + r.action + "'");
      if (item["mode"] && !item["mode"].Scalar().empty()) {
        r.mode = ParseMode(item["mode"].Scalar());
        if (!r.mode) return InvalidArgument(where + ": mode must be observe, confirm or autonomous");
      }
      if (item["duration"]) {
        auto d = ParseDuration(item["duration"].Scalar());
        if (!d || *d <= 0) return InvalidArgument(where + ": bad duration");
        r.duration = *d;
      }
      s.policy.push_back(std::move(r));
    }
  }
  auto never = [&](const std::string& text, const std::string& reason) -> Status {
    if (auto c = Cidr::Parse(text)) {
      s.never_addresses.Add(*c);
    } else if (!text.empty()) {
      s.never_identities.insert(text);
    }
    s.never_reason[text] = reason;
    return Status::Ok();
  };
  for (const auto& a : cfg.GetStrings("respond.allow"))
    VIGIL_RETURN_IF_ERROR(never(a, "on the respond allow list"));
  YAML::Node crit = cfg.Node("respond.critical");
  if (crit.IsSequence()) {
    for (const auto& item : crit) {
      if (!item.IsMap()) return InvalidArgument("respond.critical items must be mappings");
      std::string reason = item["reason"] ? item["reason"].Scalar() : "critical infrastructure";
      if (item["address"]) {
        if (!Cidr::Parse(item["address"].Scalar()))
          return InvalidArgument("respond.critical: '" + item["address"].Scalar() + "' is not an address");
        VIGIL_RETURN_IF_ERROR(never(item["address"].Scalar(), "critical infrastructure: " + reason));
      }
      if (item["identity"]) VIGIL_RETURN_IF_ERROR(never(item["identity"].Scalar(), "critical infrastructure: " + reason));
    }
  }
  // Essential services are never the peer of a block either.
  YAML::Node ess = cfg.Node("respond.essential_services");
  if (ess.IsSequence())
    for (const auto& item : ess)
      if (item.IsMap() && item["address"] && Cidr::Parse(item["address"].Scalar()))
        VIGIL_RETURN_IF_ERROR(never(item["address"].Scalar(), "an essential service"));
  YAML::Node tags = cfg.Node("tags");
  if (tags.IsSequence()) {
    for (const auto& item : tags) {
      if (!item.IsMap() || !item["entity"]) continue;
      std::vector<std::string> t;
      if (item["tags"] && item["tags"].IsSequence())
        for (const auto& x : item["tags"]) t.push_back(x.Scalar());
      else if (item["tags"]) t.push_back(item["tags"].Scalar());
      std::string e = item["entity"].Scalar();
      if (auto c = Cidr::Parse(e)) {
        CidrSet cs;
        cs.Add(*c);
        s.tags.emplace_back(std::move(cs), std::move(t));
      } else {
        auto& v = s.identity_tags[e];
        v.insert(v.end(), t.begin(), t.end());
      }
    }
  }
  return s;
}

Responder::Responder(const config::Config& cfg, std::vector<std::unique_ptr<Backend>> backends)
    : backends_(std::move(backends)) {
  auto s = SettingsFromConfig(cfg);
  if (s.ok()) s_ = std::move(*s);
  else init_status_ = s.status();
}

Responder::Responder(ResponderSettings settings, std::vector<std::unique_ptr<Backend>> backends)
    : s_(std::move(settings)), backends_(std::move(backends)) {}

std::vector<std::string> Responder::TagsOf(const std::string& entity) const {
  std::vector<std::string> out;
  if (auto it = s_.identity_tags.find(entity); it != s_.identity_tags.end()) out = it->second;
  if (auto ip = IpAddr::Parse(entity))
    for (const auto& [cidrs, tags] : s_.tags)
      if (cidrs.Contains(*ip)) out.insert(out.end(), tags.begin(), tags.end());
  return out;
}

std::optional<std::string> Responder::Refusal(const std::string& kind, const Target& t) const {
  (void)kind;
  for (const std::string* s : {&t.device, &t.peer}) {
    if (s->empty()) continue;
    if (auto ip = IpAddr::Parse(*s); ip && s_.never_addresses.Contains(*ip)) {
      for (const auto& c : s_.never_addresses.cidrs())
        if (c.Contains(*ip))
          for (const auto& [text, reason] : s_.never_reason)
            if (auto cc = Cidr::Parse(text); cc && cc->ToString() == c.ToString())
              return *s + " is " + reason;
      return *s + " is never acted on";
    }
  }
  for (const std::string* s : {&t.identity, &t.device, &t.edr_device, &t.access_key}) {
    if (!s->empty() && s_.never_identities.count(*s))
      return *s + " is " + s_.never_reason.at(*s);
  }
  return std::nullopt;
}

void Responder::OnBreach(const detect::Breach& b, Micros now) {
  if (b.weak || !b.suppressed_by.empty()) return;
  for (const auto& rule : s_.policy) {
    if (rule.incident_score >= 0) continue;
    if (!rule.MatchesModel(b.model) || b.score < rule.min_score) continue;
    if (!rule.entity_tag.empty()) {
      auto tags = TagsOf(b.entity.id);
      if (std::find(tags.begin(), tags.end(), rule.entity_tag) == tags.end()) continue;
    }
    Target t;
    t.name = b.entity.name;
    const json& d = b.details;
    if (rule.action == kDisableCloudCredential) {
      if (b.entity.type != "identity") continue;
      t.identity = b.entity.id;
      t.access_key = JStr(d, "access_key_id");
      if (t.access_key.empty()) t.access_key = JStr(d, "access_key");
    } else if (rule.action == kIsolateEndpoint) {
      if (b.entity.type != "device") continue;
      t.device = b.entity.id;
      t.edr_device = JStr(d, "mde_device_id");
      if (t.edr_device.empty()) t.edr_device = JStr(d, "device_id");
      if (t.edr_device.empty() && !IsIp(b.entity.id)) t.edr_device = b.entity.id;
    } else {
      if (b.entity.type != "device") continue;
      t.device = b.entity.id;
      if (rule.action == kBlockConnection || rule.action == kSuspendEndpoint) {
        if (!b.peer || b.peer->id.empty()) continue;  // nothing precise to act on
        t.peer = b.peer->id;
        t.direction = "outbound";
        Endpoints ep;
        if (!b.events.empty()) ep = ParseSummary(b.events.front().summary);
        if (ep.ok) {
          if (ep.resp == t.device && ep.orig == t.peer) t.direction = "inbound";
          t.port = ep.resp_port;
          if (ep.proto == "tcp" || ep.proto == "udp") t.protocol = ep.proto;
        }
        std::string port = JStr(d, "port");
        if (port.empty()) port = JStr(d, "resp_p");
        if (!port.empty()) {
          int p = std::atoi(port.c_str());
          if (p > 0 && p <= 65535) t.port = static_cast<uint16_t>(p);
        }
        std::string proto = JStr(d, "protocol");
        if (proto.empty()) proto = JStr(d, "proto");
        if (proto == "tcp" || proto == "udp") t.protocol = proto;
        if (JStr(d, "direction") == "inbound") t.direction = "inbound";
        if (rule.action == kBlockConnection && t.protocol.empty() && t.port) t.protocol = "tcp";
      } else if (rule.action == kEnforcePatternOfLife) {
        if (d.is_object() && d.contains("known_peers") && d["known_peers"].is_array()) {
          for (const auto& p : d["known_peers"])
            if (p.is_string()) t.allowed.push_back(p.get<std::string>());
        } else if (known_peers_) {
          // What the device did before: its peers from the event log, seen at least
          // `settle` before this breach. The breach's own peer is never "normal".
          for (auto& p : known_peers_(t.device, b.time - s_.pattern_settle, s_.pattern_max_peers + 1))
            if (!(b.peer && p == b.peer->id) && t.allowed.size() < s_.pattern_max_peers)
              t.allowed.push_back(std::move(p));
        }
      }
    }
    Reason r;
    r.breach = b.id;
    r.model = b.model;
    r.score = b.score;
    r.time = b.time;
    r.text = b.model + " scored " + std::to_string(b.score) + " on " + b.entity.id +
             (b.peer ? " with " + b.peer->id : std::string()) +
             (b.reasons.empty() ? std::string() : ": " + b.reasons.front());
    Propose(rule.action, std::move(t), std::move(r), rule, now);
  }
}

void Responder::OnIncident(const json& inc, Micros now) {
  if (!inc.is_object()) return;
  int score = inc.contains("score") && inc["score"].is_number() ? inc["score"].get<int>() : 0;
  std::vector<std::pair<std::string, std::string>> entities;  // (type, id)
  if (inc.contains("entities") && inc["entities"].is_array()) {
    for (const auto& e : inc["entities"]) {
      if (e.is_object()) {
        entities.emplace_back(JStr(e, "type"), JStr(e, "id"));
      } else if (e.is_string()) {
        std::string id = e.get<std::string>();
        std::string type = IsIp(id) ? "device" : (id.rfind("arn:", 0) == 0 ? "identity" : "");
        entities.emplace_back(type, id);
      }
    }
  }
  std::string id = JStr(inc, "id");
  for (const auto& rule : s_.policy) {
    if (rule.incident_score < 0 || score < rule.incident_score) continue;
    if (rule.model != "*" && !rule.model.empty()) {
      bool hit = false;
      if (inc.contains("models") && inc["models"].is_array())
        for (const auto& m : inc["models"]) hit |= m.is_string() && rule.MatchesModel(m.get<std::string>());
      if (!hit) continue;
    }
    for (const auto& [type, eid] : entities) {
      if (eid.empty()) continue;
      if (!rule.entity_tag.empty()) {
        auto tags = TagsOf(eid);
        if (std::find(tags.begin(), tags.end(), rule.entity_tag) == tags.end()) continue;
      }
      std::vector<Target> targets;
      if (rule.action == kDisableCloudCredential) {
        if (type == "identity") {
          Target t;
          t.identity = eid;
          targets.push_back(t);
        }
      } else if (type == "device") {
        if (rule.action == kBlockConnection || rule.action == kSuspendEndpoint) {
          for (const auto& [ptype, pid] : entities)
            if (ptype == "external" && IsIp(pid)) {
              Target t;
              t.device = eid;
              t.peer = pid;
              t.direction = "outbound";
              targets.push_back(t);
            }
        } else {
          Target t;
          t.device = eid;
          if (rule.action == kIsolateEndpoint && !IsIp(eid)) t.edr_device = eid;
          if (rule.action == kEnforcePatternOfLife && known_peers_) {
            // Known peers from before the incident began; its external entities never.
            Micros start = ParseIso8601(JStr(inc, "start")).value_or(now);
            std::set<std::string> involved;
            for (const auto& [ptype, pid] : entities)
              if (ptype == "external") involved.insert(pid);
            for (auto& p : known_peers_(eid, start - s_.pattern_settle, s_.pattern_max_peers + involved.size()))
              if (!involved.count(p) && t.allowed.size() < s_.pattern_max_peers)
                t.allowed.push_back(std::move(p));
          }
          targets.push_back(t);
        }
      }
      for (auto& t : targets) {
        Reason r;
        r.incident = id;
        r.score = score;
        r.time = now;
        r.text = "incident " + id + " scored " + std::to_string(score) + ": " + JStr(inc, "title");
        Propose(rule.action, std::move(t), std::move(r), rule, now);
      }
    }
  }
}

void Responder::Audit(const Action& a, Micros now, std::string who, std::string what, json detail) {
  audit_.push_back(AuditRecord{a.id, now, std::move(who), std::move(what), std::move(detail)});
}

void Responder::Touch(Action& a, Micros now) {
  a.updated = now;
  changed_.insert(a.id);
}

bool Responder::RateLimited(Micros now) {
  while (!started_.empty() && started_.front() <= now - kMicrosPerHour) started_.pop_front();
  if (s_.max_actions_per_hour > 0 && static_cast<int>(started_.size()) >= s_.max_actions_per_hour)
    return true;
  started_.push_back(now);
  return false;
}

void Responder::Propose(const std::string& kind, Target target, Reason reason,
                        const PolicyRule& rule, Micros now) {
  Micros duration = rule.duration > 0 ? rule.duration : s_.default_duration;
  Mode mode = s_.mode;
  if (rule.mode && Rank(*rule.mode) < Rank(mode)) mode = *rule.mode;
  std::string key = kind + "|" + target.Key();

  // Idempotence: a live action on the same target is extended, not duplicated; a refused or
  // rate-limited one within its would-be time just gains the reason.
  if (auto it = live_by_key_.find(key); it != live_by_key_.end()) {
    Action& a = actions_.at(it->second);
    // Refusals stand for their would-be duration; a rate-limited one only for the hour
    // whose budget it missed, after which the target may be tried again.
    bool held_back = a.state == State::kFailed && a.results.empty() && now < a.expires &&
                     (a.error.rfind("refused", 0) == 0 || now < a.created + kMicrosPerHour);
    bool same = IsLive(a.state) || held_back;
    if (same) {
      if (a.reasons.size() < kMaxReasonsPerAction) a.reasons.push_back(reason);
      Micros old = a.expires;
      json detail = {{"reason", reason.text}, {"breach", reason.breach}, {"incident", reason.incident}};
      if (a.state == State::kActive || a.state == State::kObserved) {
        a.expires = std::max(a.expires, now + duration);
        detail["expires_before"] = FormatRfc3339(old);
        detail["expires"] = FormatRfc3339(a.expires);
        if (a.state == State::kActive && a.expires != old) Activate(a, now, "extend");
      }
      Audit(a, now, "vigil:policy", a.expires != old ? "extended" : "reason-added", detail);
      Touch(a, now);
      return;
    }
  }

  Action a;
  a.kind = kind;
  a.target = std::move(target);
  a.id = MakeActionId(kind, a.target, now);
  a.mode = mode;
  a.created = now;
  a.duration = duration;
  a.reasons.push_back(std::move(reason));
  Audit(a, now, "vigil:policy", "created",
        {{"mode", ModeName(mode)}, {"kind", kind}, {"target", DescribeTarget(kind, a.target)},
         {"reason", a.reasons[0].text}});
  if (auto why = Refusal(kind, a.target)) {
    a.state = State::kFailed;
    a.error = "refused: " + *why;
    a.expires = now + duration;
    Audit(a, now, "vigil:policy", "refused", {{"error", a.error}});
  } else if (mode == Mode::kConfirm) {
    a.state = State::kPending;
    a.expires = now + s_.confirm_timeout;
    Audit(a, now, "vigil:policy", "awaiting-approval",
          {{"confirm_by", FormatRfc3339(a.expires)}});
  } else if (RateLimited(now)) {
    a.state = State::kFailed;
    a.error = "rate limit: " + std::to_string(s_.max_actions_per_hour) +
              " actions already started in the last hour (respond.max_actions_per_hour)";
    a.expires = now + duration;
    Audit(a, now, "vigil:policy", "rate-limited", {{"error", a.error}});
  } else if (mode == Mode::kObserve) {
    a.state = State::kObserved;
    a.expires = now + duration;
    Audit(a, now, "vigil:policy", "would-have-done",
          {{"kind", kind}, {"target", DescribeTarget(kind, a.target)},
           {"until", FormatRfc3339(a.expires)}});
  } else {
    a.approved_by = "policy:autonomous";
    a.expires = now + duration;
    Activate(a, now, "apply");
  }
  Touch(a, now);
  live_by_key_[key] = a.id;
  if (actions_.size() >= kMaxActionsKept) {
    // Drop the oldest finished action (ids are hashes, so scan for the oldest update).
    auto victim = actions_.end();
    for (auto it = actions_.begin(); it != actions_.end(); ++it)
      if (!IsLive(it->second.state) && (victim == actions_.end() || it->second.updated < victim->second.updated))
        victim = it;
    if (victim != actions_.end()) actions_.erase(victim);
  }
  actions_[a.id] = std::move(a);
}

void Responder::Activate(Action& a, Micros now, const char* op) {
  Micros hold = std::max<Micros>(a.expires - now, kMicrosPerSecond);
  std::vector<std::string> errors;
  std::vector<std::string> used;
  if (s_.simulate) {
    a.results.push_back({"simulated", op, true, "replay: no backend called", now});
    used.push_back("simulated");
  } else {
    for (auto& b : backends_) {
      if (!b->Supports(a.kind)) continue;
      used.emplace_back(b->name());
      auto r = b->Apply(a, hold);
      BackendResult br{std::string(b->name()), op, r.ok(), r.ok() ? *r : r.status().ToString(), now};
      Audit(a, now, "vigil:backend", std::string(op) + ":" + br.backend,
            {{"ok", br.ok}, {"detail", br.detail}});
      if (!r.ok()) errors.push_back(br.backend + ": " + r.status().ToString());
      a.results.push_back(std::move(br));
    }
    if (used.empty()) errors.push_back("no enabled backend can carry out " + a.kind);
  }
  std::string joined;
  for (const auto& u : used) joined += (joined.empty() ? "" : ",") + u;
  if (!joined.empty()) a.backend = joined;
  if (std::string(op) == "extend") {
    if (!errors.empty()) Audit(a, now, "vigil:backend", "extend-failed", {{"errors", errors}});
    return;  // the action stays active under its earlier hold
  }
  if (errors.empty()) {
    a.state = State::kActive;
    Audit(a, now, a.approved_by.empty() ? "vigil:policy" : a.approved_by, "active",
          {{"until", FormatRfc3339(a.expires)}});
  } else {
    a.state = State::kFailed;
    for (const auto& e : errors) a.error += (a.error.empty() ? "" : "; ") + e;
    Audit(a, now, "vigil:backend", "failed", {{"error", a.error}});
  }
}

void Responder::Revoke(Action& a, Micros now, State to, const std::string& who, const char* what) {
  if (a.state == State::kActive || a.state == State::kFailed) {
    std::set<std::string> applied;
    for (const auto& r : a.results)
      if (r.ok && (r.op == "apply" || r.op == "extend")) applied.insert(r.backend);
    if (s_.simulate && applied.count("simulated")) {
      a.results.push_back({"simulated", "revoke", true, "replay: no backend called", now});
    }
    for (auto& b : backends_) {
      if (s_.simulate || !applied.count(std::string(b->name()))) continue;
      auto r = b->Revoke(a);
      BackendResult br{std::string(b->name()), "revoke", r.ok(), r.ok() ? *r : r.status().ToString(), now};
      Audit(a, now, "vigil:backend", "revoke:" + br.backend, {{"ok", br.ok}, {"detail", br.detail}});
      a.results.push_back(std::move(br));
    }
  }
  a.state = to;
  if (to == State::kCancelled) a.cancelled_by = who;
  Audit(a, now, who, what);
  Touch(a, now);
}

void Responder::Advance(Micros now) {
  std::vector<std::string> done;
  for (const auto& [key, id] : live_by_key_) {
    auto it = actions_.find(id);
    if (it == actions_.end()) {
      done.push_back(key);
      continue;
    }
    Action& a = it->second;
    if (!IsLive(a.state)) {
      if (now >= a.expires) done.push_back(key);
      continue;
    }
    if (now < a.expires) continue;
    if (a.state == State::kPending) {
      a.state = State::kExpired;
      a.error = "not approved within " + FormatDuration(s_.confirm_timeout);
      Audit(a, now, "vigil:expiry", "confirmation-lapsed");
      Touch(a, now);
    } else {
      Revoke(a, now, State::kExpired, "vigil:expiry", "expired");
    }
    done.push_back(key);
  }
  for (const auto& k : done) live_by_key_.erase(k);
}

Status Responder::Approve(const std::string& id, const std::string& who, Micros now) {
  auto it = actions_.find(id);
  if (it == actions_.end()) return NotFound("no action " + id);
  Action& a = it->second;
  if (a.state != State::kPending)
    return InvalidArgument("action " + id + " is " + StateName(a.state) + ", not pending");
  if (now >= a.expires) {
    Advance(now);
    return InvalidArgument("action " + id + " expired before it was approved");
  }
  a.approved_by = who.empty() ? "unknown" : who;
  Audit(a, now, a.approved_by, "approved");
  a.expires = now + a.duration;
  started_.push_back(now);  // a person's approval is not rate-limited, but it counts
  Activate(a, now, "apply");
  Touch(a, now);
  return Status::Ok();
}

Status Responder::Cancel(const std::string& id, const std::string& who, Micros now) {
  auto it = actions_.find(id);
  if (it == actions_.end()) return NotFound("no action " + id);
  Action& a = it->second;
  if (a.state == State::kExpired || a.state == State::kCancelled)
    return InvalidArgument("action " + id + " is already " + StateName(a.state));
  Revoke(a, now, State::kCancelled, who.empty() ? "unknown" : who, "cancelled");
  return Status::Ok();
}

std::vector<Action> Responder::TakeChanged() {
  std::vector<Action> out;
  for (const auto& id : changed_)
    if (auto it = actions_.find(id); it != actions_.end()) out.push_back(it->second);
  changed_.clear();
  return out;
}

std::vector<AuditRecord> Responder::TakeAudit() { return std::exchange(audit_, {}); }

const Action* Responder::Find(const std::string& id) const {
  auto it = actions_.find(id);
  return it == actions_.end() ? nullptr : &it->second;
}

std::vector<Action> Responder::All() const {
  std::vector<Action> out;
  for (const auto& [id, a] : actions_) out.push_back(a);
  std::sort(out.begin(), out.end(), [](const Action& x, const Action& y) {
    return x.created != y.created ? x.created < y.created : x.id < y.id;
  });
  return out;
}

std::string Responder::Save() const {
  std::string out;
  for (const auto& a : All()) out += ActionToJson(a).dump() + "\n";
  return out;
}

Status Responder::Load(std::string_view saved) {
  std::istringstream in{std::string(saved)};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded()) return Corrupt("saved actions line " + std::to_string(n) + ": not JSON");
    auto a = ActionFromJson(j);
    if (!a.ok()) return Corrupt("saved actions line " + std::to_string(n) + ": " + a.status().message());
    std::string key = a->kind + "|" + a->target.Key();
    if (IsLive(a->state) || a->state == State::kFailed) live_by_key_[key] = a->id;
    if (a->state == State::kActive || a->state == State::kObserved) started_.push_back(a->created);
    actions_[a->id] = std::move(*a);
  }
  std::sort(started_.begin(), started_.end());
  return Status::Ok();
}

}  // namespace vigil::respond
