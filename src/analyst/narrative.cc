#include "analyst/narrative.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>

namespace vigil::analyst {

namespace {

using detect::Breach;
using detect::EntityInfo;

// ---------------------------------------------------------------------------------------
// Facts from breach details. Models are free to name their facts; these accessors try the
// usual spellings and never throw.

std::string DStr(const Breach& b, std::initializer_list<const char*> keys) {
  if (!b.details.is_object()) return {};
  for (const char* k : keys) {
    auto it = b.details.find(k);
    if (it == b.details.end()) continue;
    if (it->is_string() && !it->get_ref<const std::string&>().empty()) {
      return it->get<std::string>();
    }
    if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
    if (it->is_array() && !it->empty() && (*it)[0].is_string()) return (*it)[0].get<std::string>();
  }
  return {};
}

std::vector<std::string> DStrs(const Breach& b, std::initializer_list<const char*> keys) {
  std::vector<std::string> out;
  if (!b.details.is_object()) return out;
  for (const char* k : keys) {
    auto it = b.details.find(k);
    if (it == b.details.end()) continue;
    if (it->is_string() && !it->get_ref<const std::string&>().empty()) {
      out.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      for (const auto& v : *it) {
        if (v.is_string() && !v.get_ref<const std::string&>().empty()) {
          out.push_back(v.get<std::string>());
        }
      }
    }
    if (!out.empty()) break;
  }
  return out;
}

std::optional<double> DNum(const Breach& b, std::initializer_list<const char*> keys) {
  if (!b.details.is_object()) return std::nullopt;
  for (const char* k : keys) {
    auto it = b.details.find(k);
    if (it == b.details.end()) continue;
    if (it->is_number()) return it->get<double>();
    if (it->is_string()) {
      const auto& s = it->get_ref<const std::string&>();
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (end != s.c_str() && std::isfinite(v)) return v;
    }
  }
  return std::nullopt;
}

std::string Quote(std::string s, size_t max = 80) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return "\"" + s + "\"";
}

const char* kNumberWords[] = {"zero", "one", "two",   "three", "four", "five",
                              "six",  "seven", "eight", "nine",  "ten"};
std::string CountWord(size_t n) { return n <= 10 ? kNumberWords[n] : std::to_string(n); }

std::string FormatNumber(double v) {
  char buf[32];
  if (std::fabs(v - std::round(v)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  return buf;
}

std::string FormatPeriod(double seconds) {
  if (seconds >= 600) return FormatNumber(seconds / 60) + " min";
  return FormatNumber(seconds) + " s";
}

// "a", "a and b", "a, b and c".
std::string JoinAnd(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " and " : ", ";
    out += items[i];
  }
  return out;
}

// Up to `max` items, then "and N more".
std::string JoinSome(const std::vector<std::string>& items, size_t max) {
  if (items.size() <= max) return JoinAnd(items);
  std::vector<std::string> head(items.begin(), items.begin() + max);
  head.push_back(std::to_string(items.size() - max) + " more");
  return JoinAnd(head);
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::string Capitalise(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// An external host with its name when it has one: "146.70.192.180 (Surfshark VPN range)".
std::string PeerText(const EntityInfo& e) {
  if (!e.name.empty() && e.name != e.id) return e.id + " (" + e.name + ")";
  return e.id;
}

// A device or identity as written in sentences: "web01 (10.20.5.21)", "alice".
std::string EntityText(const EntityInfo& e) {
  if (e.type == "identity") return e.name.empty() ? e.id : e.name;
  if (!e.name.empty() && e.name != e.id) return e.name + " (" + e.id + ")";
  return e.id;
}

// ---------------------------------------------------------------------------------------
// Model kinds.

enum class Kind {
  kNewUserAgent,
  kIdsAlert,
  kCallback,
  kDownload,
  kBeacon,
  kMining,
  kRareDestination,
  kCredentialSource,
  kCliActivity,
  kPasswordReset,
  kDiscovery,
  kIamChange,
  kComputeCreation,
  kS3Tampering,
  kDefenderAlert,
  kDefenderPattern,
  kWebShell,
  kHiddenBinary,
  kOther,
};

Kind KindOf(const std::string& model) {
  static const std::map<std::string, Kind> kKinds = {
      {"network/new-user-agent-to-internal-server", Kind::kNewUserAgent},
      {"integration/suricata-alert", Kind::kIdsAlert},
      {"network/callback-to-inbound-source", Kind::kCallback},
      {"network/executable-download", Kind::kDownload},
      {"network/beaconing", Kind::kBeacon},
      {"network/crypto-mining", Kind::kMining},
      {"network/rare-external-destination", Kind::kRareDestination},
      {"cloud/unusual-credential-source", Kind::kCredentialSource},
      {"cloud/unusual-cli-activity", Kind::kCliActivity},
      {"cloud/rare-password-reset", Kind::kPasswordReset},
      {"cloud/discovery-burst", Kind::kDiscovery},
      {"cloud/iam-privilege-change", Kind::kIamChange},
      {"cloud/unusual-compute-creation", Kind::kComputeCreation},
      {"cloud/s3-tampering", Kind::kS3Tampering},
      {"integration/defender-alert", Kind::kDefenderAlert},
      {"integration/defender-anomalous-alert-pattern", Kind::kDefenderPattern},
      {"host/web-server-spawned-shell", Kind::kWebShell},
      {"host/hidden-binary-execution", Kind::kHiddenBinary},
  };
  auto it = kKinds.find(model);
  return it == kKinds.end() ? Kind::kOther : it->second;
}

// Host findings (Defender and its process telemetry) get their own sentence.
bool IsHostKind(const std::string& model) {
  return model.rfind("host/", 0) == 0 || model.rfind("integration/defender", 0) == 0;
}

// Inbound evidence: the entity received connections from outside.
bool IsInboundKind(Kind k) {
  return k == Kind::kNewUserAgent || k == Kind::kCallback;
}

// What happened after an exploit: the signs that an inbound request did something.
bool IsFollowUpKind(Kind k) {
  return k == Kind::kCallback || k == Kind::kDownload || k == Kind::kBeacon ||
         k == Kind::kMining || k == Kind::kWebShell || k == Kind::kHiddenBinary ||
         k == Kind::kDefenderAlert;
}

// A short noun for titles.
std::string Noun(Kind k, const Breach& b, bool exploit) {
  switch (k) {
    case Kind::kNewUserAgent: return exploit ? "exploit" : "new user agent";
    case Kind::kIdsAlert: return exploit ? "exploit" : "IDS alert";
    case Kind::kCallback: return "callback";
    case Kind::kDownload: return "executable download";
    case Kind::kBeacon: return "beaconing";
    case Kind::kMining: return "crypto-mining";
    case Kind::kRareDestination: return "rare destination";
    case Kind::kCredentialSource: return "unusual sign-in";
    case Kind::kCliActivity: return "CLI access";
    case Kind::kPasswordReset: return "password change";
    case Kind::kDiscovery: return "discovery";
    case Kind::kIamChange: return "privilege change";
    case Kind::kComputeCreation: return "compute creation";
    case Kind::kS3Tampering: return "S3 tampering";
    case Kind::kDefenderAlert: return "Defender alert";
    case Kind::kDefenderPattern: return "unusual Defender alerts";
    case Kind::kWebShell: return "web server shell";
    case Kind::kHiddenBinary: return "hidden binary";
    case Kind::kOther: break;
  }
  auto slash = b.model.find('/');
  return slash == std::string::npos ? b.model : b.model.substr(slash + 1);
}

std::vector<std::string> EventNames(const Breach& b) {
  return DStrs(b, {"event_names", "event_name", "api_calls", "api", "actions", "action"});
}

// ---------------------------------------------------------------------------------------
// Phrases. A group is the breaches of one model on one entity, in time order.

struct Ctx {
  bool exploit = false;                 // an inbound breach followed by compromise signs
  std::vector<std::string> mentioned;   // peers already named in this sentence
  std::vector<std::string> last_peers;  // peers named by the previous phrase
};

std::vector<EntityInfo> Peers(const std::vector<const Breach*>& g) {
  std::vector<EntityInfo> out;
  for (const Breach* b : g) {
    if (!b->peer || b->peer->id.empty()) continue;
    bool seen = false;
    for (const auto& p : out) seen = seen || p.id == b->peer->id;
    if (!seen) out.push_back(*b->peer);
  }
  return out;
}

std::vector<std::string> PeerTexts(const std::vector<EntityInfo>& peers) {
  std::vector<std::string> out;
  for (const auto& p : peers) out.push_back(PeerText(p));
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The verb phrase for a group of breaches of one model ("beaconed to 203.0.113.7 every
// 60 s"). Updates ctx's memory of which peers were named.
std::string Phrase(const std::vector<const Breach*>& g, Ctx& ctx) {
  const Breach& first = *g.front();
  const Kind kind = KindOf(first.model);
  const auto peers = Peers(g);
  const auto peer_texts = PeerTexts(peers);
  std::vector<std::string> peer_ids;
  for (const auto& p : peers) peer_ids.push_back(p.id);
  std::string s;
  switch (kind) {
    case Kind::kNewUserAgent: {
      std::string from = peer_texts.empty() ? "" : " from " + JoinSome(peer_texts, 3);
      if (ctx.exploit) {
        s = "was likely exploited" + from;
      } else {
        std::string ua = DStr(first, {"user_agent", "ua"});
        s = "received requests with a user agent never seen before" +
            (ua.empty() ? "" : " (" + Quote(ua, 60) + ")") + from;
      }
      break;
    }
    case Kind::kIdsAlert: {
      std::string sig = DStr(first, {"signature", "alert", "title"});
      std::string from = peer_texts.empty() ? "" : " from " + JoinSome(peer_texts, 3);
      if (ctx.exploit) {
        s = "was likely exploited" + from + (sig.empty() ? "" : " (IDS: " + Quote(sig) + ")");
      } else if (g.size() == 1) {
        s = "triggered the IDS alert" + (sig.empty() ? "" : " " + Quote(sig)) +
            (peer_texts.empty() ? "" : " with " + JoinSome(peer_texts, 3));
      } else {
        s = "triggered " + CountWord(g.size()) + " IDS alerts" +
            (sig.empty() ? "" : " (first " + Quote(sig) + ")") +
            (peer_texts.empty() ? "" : " with " + JoinSome(peer_texts, 3));
      }
      break;
    }
    case Kind::kCallback: {
      if (peers.size() == 1 && Contains(ctx.last_peers, peer_ids[0])) {
        s = "called back to it";
      } else if (!peers.empty() &&
                 std::all_of(peer_ids.begin(), peer_ids.end(),
                             [&](const std::string& p) { return Contains(ctx.mentioned, p); })) {
        s = "called back to " + JoinSome(peer_texts, 3);
      } else if (!peers.empty()) {
        s = "called back to " + JoinSome(peer_texts, 3) + ", which had connected to it first";
      } else {
        s = "called back to an address that had connected to it";
      }
      break;
    }
    case Kind::kDownload: {
      std::vector<std::string> files;
      for (const Breach* b : g) {
        for (const auto& f : DStrs(*b, {"filenames", "filename", "file_name", "file"})) {
          AddUnique(files, f);
        }
      }
      s = g.size() == 1 ? "downloaded an executable" : "downloaded " + CountWord(g.size()) + " executables";
      if (!files.empty()) s += " (" + JoinSome(files, 4) + ")";
      bool all_named = !peers.empty() && std::all_of(peer_ids.begin(), peer_ids.end(), [&](const std::string& p) {
        return Contains(ctx.mentioned, p);
      });
      if (!peers.empty() && !all_named) s += " from " + JoinSome(peer_texts, 3);
      break;
    }
    case Kind::kBeacon: {
      std::vector<std::string> parts;
      for (const auto& p : peers) {
        std::optional<double> period;
        for (const Breach* b : g) {
          if (b->peer && b->peer->id == p.id && !period) {
            period = DNum(*b, {"period_s", "period", "interval_s", "median_interval_s"});
          }
        }
        parts.push_back(PeerText(p) + (period && *period > 0 ? " every " + FormatPeriod(*period) : ""));
      }
      if (parts.empty()) {
        auto period = DNum(first, {"period_s", "period", "interval_s", "median_interval_s"});
        s = "began beaconing" + (period && *period > 0 ? " every " + FormatPeriod(*period) : "");
      } else {
        s = "beaconed to " + JoinSome(parts, 3);
      }
      break;
    }
    case Kind::kMining: {
      std::vector<std::string> pools;
      for (const Breach* b : g) AddUnique(pools, DStr(*b, {"pool", "pool_host"}));
      if (pools.empty()) pools = peer_texts;
      s = "began crypto-mining";
      if (!pools.empty()) s += std::string(pools.size() == 1 ? " with pool " : " with pools ") + JoinSome(pools, 3);
      break;
    }
    case Kind::kRareDestination: {
      if (peers.size() <= 1) {
        s = "contacted a rare external destination" + (peers.empty() ? "" : " " + peer_texts[0]);
      } else {
        s = "contacted " + CountWord(peers.size()) + " rare external destinations (" +
            JoinSome(peer_texts, 3) + ")";
      }
      break;
    }
    case Kind::kCredentialSource: {
      std::vector<std::string> sources;
      for (const Breach* b : g) {
        std::string ip = DStr(*b, {"source_ip", "sourceIPAddress", "src_ip", "ip"});
        if (ip.empty() && b->peer) ip = PeerText(*b->peer);
        AddUnique(sources, ip);
      }
      std::string country = DStr(first, {"country"});
      s = "signed in from an unusual source";
      if (!sources.empty()) s += " " + JoinSome(sources, 3);
      if (!country.empty()) s += " (" + country + ")";
      for (const auto& src : sources) ctx.mentioned.push_back(src);
      break;
    }
    case Kind::kCliActivity: {
      std::string ua = DStr(first, {"ua_family", "user_agent_family", "client", "user_agent"});
      s = "switched to programmatic access" + (ua.empty() ? "" : " (" + ua + ")");
      break;
    }
    case Kind::kPasswordReset: {
      std::vector<std::string> names;
      for (const Breach* b : g) for (const auto& n : EventNames(*b)) AddUnique(names, n);
      s = "changed login credentials" + (names.empty() ? "" : " (" + JoinSome(names, 3) + ")");
      std::string target = DStr(first, {"target_user", "target", "user"});
      if (!target.empty()) s += " of " + target;
      break;
    }
    case Kind::kDiscovery: {
      auto calls = DNum(first, {"calls", "count", "call_count", "events"});
      auto services = DNum(first, {"services", "service_count", "distinct_services"});
      auto denied = DNum(first, {"access_denied", "denied", "errors"});
      s = calls && *calls > 0 ? "ran a burst of " + FormatNumber(*calls) + " discovery calls"
                              : "ran a burst of discovery calls";
      if (services && *services > 1) s += " across " + FormatNumber(*services) + " services";
      if (denied && *denied > 0) s += " (" + FormatNumber(*denied) + " denied)";
      if (g.size() > 1) s += ", " + CountWord(g.size()) + " times";
      break;
    }
    case Kind::kIamChange: {
      std::vector<std::string> names;
      for (const Breach* b : g) for (const auto& n : EventNames(*b)) AddUnique(names, n);
      s = "changed IAM privileges" + (names.empty() ? "" : " (" + JoinSome(names, 3) + ")");
      std::string policy = DStr(first, {"policy", "policy_arn", "policy_name"});
      if (!policy.empty()) s += ", granting " + policy;
      break;
    }
    case Kind::kComputeCreation: {
      std::vector<std::string> what;
      for (const Breach* b : g) {
        for (const auto& t : DStrs(*b, {"instance_types", "instance_type", "function_name"})) {
          AddUnique(what, t);
        }
      }
      std::string region = DStr(first, {"region"});
      s = "created unusual compute";
      if (!what.empty()) s += " (" + JoinSome(what, 3) + ")";
      if (!region.empty()) s += " in " + region;
      break;
    }
    case Kind::kS3Tampering: {
      std::vector<std::string> buckets;
      for (const Breach* b : g) {
        std::string bucket = DStr(*b, {"bucket", "bucket_name"});
        if (bucket.empty() && b->peer) bucket = b->peer->name.empty() ? b->peer->id : b->peer->name;
        AddUnique(buckets, bucket);
      }
      std::vector<std::string> names;
      for (const Breach* b : g) for (const auto& n : EventNames(*b)) AddUnique(names, n);
      s = "tampered with S3 storage";
      if (!buckets.empty()) s += std::string(buckets.size() == 1 ? " (bucket " : " (buckets ") + JoinSome(buckets, 3) + ")";
      if (!names.empty()) s += " using " + JoinSome(names, 3);
      break;
    }
    case Kind::kDefenderAlert: {
      std::vector<std::string> titles;
      for (const Breach* b : g) {
        std::string t = DStr(*b, {"title", "alert_title"});
        if (!t.empty()) AddUnique(titles, Quote(t));
      }
      std::string sev = DStr(first, {"severity"});
      if (g.size() == 1) {
        s = "Defender raised the alert" + (titles.empty() ? "" : " " + titles[0]) +
            (sev.empty() ? "" : " (" + sev + ")");
      } else {
        s = "Defender raised " + CountWord(g.size()) + " alerts" +
            (titles.empty() ? "" : " (" + JoinSome(titles, 3) + ")");
      }
      break;
    }
    case Kind::kDefenderPattern:
      s = "Defender's alerts departed from the device's usual pattern";
      break;
    case Kind::kWebShell: {
      std::string parent = DStr(first, {"parent", "parent_process", "parent_file_name"});
      std::string child = DStr(first, {"child", "process", "file_name", "child_process"});
      s = (parent.empty() ? std::string("a web server process") : "web server process " + parent) +
          " started " + (child.empty() ? std::string("a shell") : child);
      if (g.size() > 1) s += " (" + CountWord(g.size()) + " times)";
      break;
    }
    case Kind::kHiddenBinary: {
      std::string file = DStr(first, {"file_name", "file", "process", "binary"});
      std::string path = DStr(first, {"folder_path", "path", "directory"});
      s = (file.empty() ? std::string("a binary") : file) + " ran from " +
          (path.empty() ? std::string("a hidden or temporary directory") : path);
      if (g.size() > 1) s += " (" + CountWord(g.size()) + " binaries)";
      break;
    }
    case Kind::kOther:
      s = "triggered " + first.model +
          (g.size() > 1 ? " " + CountWord(g.size()) + " times" : std::string()) +
          (peer_texts.empty() ? "" : " with " + JoinSome(peer_texts, 3));
      break;
  }
  ctx.last_peers = peer_ids;
  for (const auto& p : peer_ids) ctx.mentioned.push_back(p);
  return s;
}

// "a, then b, c and d" (at most kMaxSummaryClauses phrases, then "and N more").
std::string JoinPhrases(std::vector<std::string> phrases) {
  if (phrases.size() > kMaxSummaryClauses) {
    size_t more = phrases.size() - (kMaxSummaryClauses - 1);
    phrases.resize(kMaxSummaryClauses - 1);
    phrases.push_back(CountWord(more) + " more kinds of activity");
  }
  std::string out;
  for (size_t i = 0; i < phrases.size(); ++i) {
    if (i == 1) {
      out += ", then ";
    } else if (i > 1) {
      out += (i + 1 == phrases.size()) ? " and " : ", ";
    }
    out += phrases[i];
  }
  return out;
}

// Groups a subject's breaches by model, ordered by each model's first appearance.
std::vector<std::vector<const Breach*>> GroupByModel(const std::vector<const Breach*>& bs) {
  std::vector<std::vector<const Breach*>> groups;
  for (const Breach* b : bs) {
    bool placed = false;
    for (auto& g : groups) {
      if (g.front()->model == b->model) {
        g.push_back(b);
        placed = true;
        break;
      }
    }
    if (!placed) groups.push_back({b});
  }
  return groups;
}

struct Subject {
  EntityInfo entity;
  std::vector<const Breach*> breaches;  // strong, time order
};

bool ExploitFor(const Subject& s) {
  // The first breach is inbound (new user agent, IDS alert from outside) and something
  // that follows it shows the request did something.
  const Breach* first = s.breaches.front();
  Kind k = KindOf(first->model);
  if (k != Kind::kNewUserAgent && k != Kind::kIdsAlert) return false;
  if (k == Kind::kIdsAlert && (!first->peer || first->peer->type != "external")) return false;
  for (const Breach* b : s.breaches) {
    if (b != first && IsFollowUpKind(KindOf(b->model))) return true;
  }
  return false;
}

std::string SubjectText(const Subject& s, bool lower) {
  const auto& e = s.entity;
  std::string kind;
  if (e.type == "identity") {
    kind = "identity";
  } else if (e.type == "external") {
    kind = "external host";
  } else {
    bool inbound = false, server = false;
    for (const Breach* b : s.breaches) {
      Kind k = KindOf(b->model);
      inbound = inbound || IsInboundKind(k) ||
                (k == Kind::kIdsAlert && b->peer && b->peer->type == "external" && b == s.breaches.front());
      server = server || k == Kind::kWebShell;
    }
    kind = inbound ? "internet-facing server" : server ? "server" : "device";
  }
  std::string out = kind + " " + EntityText(e);
  return lower ? out : Capitalise(out);
}

bool IsCompromise(const std::vector<Tactic>& tactics) {
  if (tactics.size() >= 3) return true;
  if (tactics.size() < 2) return false;
  for (Tactic t : tactics) {
    if (t == Tactic::kCommandAndControl || t == Tactic::kImpact || t == Tactic::kExfiltration ||
        t == Tactic::kExecution || t == Tactic::kPrivilegeEscalation) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<Tactic> BreachTactics(const Breach& b) {
  std::vector<Tactic> t = TacticsForTechniques(b.mitre);
  if (t.empty()) {
    std::string category = DStr(b, {"category", "tactic"});
    if (auto c = TacticFromText(category)) t.push_back(*c);
  }
  return t;
}

std::string BreachText(const Breach& b) {
  Ctx ctx;
  std::vector<const Breach*> g = {&b};
  std::string phrase = Phrase(g, ctx);
  std::string who = EntityText(b.entity);
  std::string text = IsHostKind(b.model) ? who + ": " + phrase : who + " " + phrase;
  if (b.weak) text += " (weak signal, score " + std::to_string(b.score) + ")";
  return text;
}

Story Narrate(const std::vector<const Breach*>& members) {
  Story story;
  // Timeline: every member, already in (time, id) order.
  for (const Breach* b : members) {
    TimelineEntry e;
    e.time = b->time;
    e.text = BreachText(*b);
    e.breach = b->id;
    e.weak = b->weak;
    auto tactics = BreachTactics(*b);
    if (!tactics.empty()) e.tactic = TacticId(tactics.front());
    e.model = b->model;
    e.entity = b->entity.id;
    story.timeline.push_back(std::move(e));
  }

  // Subjects: the primary entities of breaches, in order of their first breach.
  std::vector<Subject> subjects;
  std::vector<const Breach*> weak;
  std::vector<Tactic> tactics;
  for (const Breach* b : members) {
    if (b->weak) {
      weak.push_back(b);
      continue;
    }
    for (Tactic t : BreachTactics(*b)) tactics.push_back(t);
    Subject* s = nullptr;
    for (auto& existing : subjects) {
      if (existing.entity.id == b->entity.id) s = &existing;
    }
    if (s == nullptr) {
      subjects.push_back({b->entity, {}});
      s = &subjects.back();
    }
    s->breaches.push_back(b);
  }
  std::sort(tactics.begin(), tactics.end());
  tactics.erase(std::unique(tactics.begin(), tactics.end()), tactics.end());

  std::vector<std::string> nouns;
  for (size_t i = 0; i < subjects.size() && i < kMaxSummarySubjects; ++i) {
    const Subject& subj = subjects[i];
    Ctx ctx;
    ctx.exploit = ExploitFor(subj);
    std::vector<const Breach*> net, host;
    for (const Breach* b : subj.breaches) (IsHostKind(b->model) ? host : net).push_back(b);
    for (const Breach* b : subj.breaches) {
      AddUnique(nouns, Noun(KindOf(b->model), *b, ctx.exploit && b == subj.breaches.front()));
    }
    if (!net.empty()) {
      SummarySentence sentence;
      std::vector<std::string> phrases;
      for (const auto& g : GroupByModel(net)) {
        phrases.push_back(Phrase(g, ctx));
        for (const Breach* b : g) sentence.breaches.push_back(b->id);
      }
      sentence.text = SubjectText(subj, false) + " " + JoinPhrases(phrases) + ".";
      story.sentences.push_back(std::move(sentence));
    }
    if (!host.empty()) {
      SummarySentence sentence;
      std::vector<std::string> phrases;
      Ctx host_ctx;
      for (const auto& g : GroupByModel(host)) {
        phrases.push_back(Phrase(g, host_ctx));
        for (const Breach* b : g) sentence.breaches.push_back(b->id);
      }
      std::string where = net.empty() ? "On " + SubjectText(subj, true) : "On the same host";
      sentence.text = where + ", " + JoinPhrases(phrases) + ".";
      story.sentences.push_back(std::move(sentence));
    }
  }
  if (subjects.size() > kMaxSummarySubjects) {
    SummarySentence sentence;
    std::vector<std::string> names;
    for (size_t i = kMaxSummarySubjects; i < subjects.size(); ++i) {
      names.push_back(EntityText(subjects[i].entity));
      for (const Breach* b : subjects[i].breaches) sentence.breaches.push_back(b->id);
    }
    sentence.text = Capitalise(CountWord(names.size())) + " more entities had linked breaches: " +
                    JoinSome(names, 5) + ".";
    story.sentences.push_back(std::move(sentence));
  }
  if (!weak.empty()) {
    SummarySentence sentence;
    std::vector<std::string> kinds;
    for (const Breach* b : weak) {
      AddUnique(kinds, Noun(KindOf(b->model), *b, false));
      sentence.breaches.push_back(b->id);
    }
    sentence.text = Capitalise(CountWord(weak.size())) +
                    (weak.size() == 1 ? " weaker signal" : " weaker signals") +
                    " on the same entities, too weak to breach alone, " +
                    (weak.size() == 1 ? "was" : "were") + " pulled in from the investigation window (" +
                    JoinSome(kinds, 4) + ").";
    story.sentences.push_back(std::move(sentence));
  }
  for (const auto& s : story.sentences) {
    if (!story.summary.empty()) story.summary += " ";
    story.summary += s.text;
  }

  // Title.
  if (subjects.empty()) {
    story.title = weak.empty() ? "Empty incident" : "Weak signals only";
    return story;
  }
  const Subject& lead = subjects.front();
  std::string who = SubjectText(lead, true);
  if (subjects.size() > 1) {
    size_t others = subjects.size() - 1;
    who += " and " + CountWord(others) + (others == 1 ? " other entity" : " other entities");
  }
  if (nouns.size() == 1) {
    std::string noun = Capitalise(nouns[0]);
    if (KindOf(lead.breaches.front()->model) == Kind::kDefenderAlert) {
      std::string t = DStr(*lead.breaches.front(), {"title", "alert_title"});
      if (!t.empty() && lead.breaches.size() == 1) noun += " " + Quote(t, 60);
    }
    story.title = noun + " on " + who;
  } else {
    std::string head;
    if (IsCompromise(tactics)) {
      head = lead.entity.type == "identity" ? "Likely account takeover of " : "Likely compromise of ";
    } else {
      head = "Suspicious activity on ";
    }
    std::vector<std::string> shown(nouns.begin(), nouns.begin() + std::min<size_t>(nouns.size(), 5));
    std::string list;
    for (size_t i = 0; i < shown.size(); ++i) list += (i ? ", " : "") + shown[i];
    if (nouns.size() > shown.size()) list += ", ...";
    story.title = head + who + ": " + list;
  }
  return story;
}

}  // namespace vigil::analyst
