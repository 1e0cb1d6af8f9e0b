// integration/suricata-alert
//
// Behaviour: Suricata raised a signature alert (an ET rule, a local rule). Each alert becomes
// a breach carrying the signature, sid, category and severity, so IDS findings sit in the
// same incident timeline as Vigil's own models (and count as evidence for them: the
// crypto-mining model also reads mining signatures).
//
// ATT&CK: the rule's own metadata (alert.metadata.mitre_technique_id, in eve.json when the
// rule carries it and the sensor logs metadata, Suricata's default) first; without it, the
// ruleset's conventions: the Emerging Threats signature prefix ("ET SCAN", "ET MALWARE",
// "ET COINMINING" ...), then the classtype category ("Web Application Attack" -> T1190 ...);
// AlertTechniques lists the table. Rules that say nothing (reputation lists like "ET CINS",
// policy rules) carry no technique rather than a guessed one.
//
// Statistic: none learned; the score is the sensor's severity on the shared scale
// (severity 1 -> 80, 2 -> 65, 3 -> 45, anything else -> 30), and a blocked action adds
// nothing (the sensor stopped it, but the attempt is still evidence). The same signature
// between the same device and peer is raised once an hour (later ones are counted in the
// next breach's reasons), so a scanner tripping one rule 700 times is one breach an hour.
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "detect/integration_suricata.h"
#include "detect/model.h"
#include "detect/score.h"
#include "learn/novelty.h"

namespace vigil::detect {
namespace {

constexpr size_t kMaxAlertKeys = 200'000;  // (device, peer, sid) keys remembered

}  // namespace

std::vector<std::string> AlertTechniques(std::string_view signature, std::string_view category,
                                         std::string_view rule_techniques) {
  // The rule's own metadata, when the sensor logged it, is the authority.
  if (!rule_techniques.empty()) {
    std::vector<std::string> out;
    while (!rule_techniques.empty()) {
      size_t comma = rule_techniques.find(',');
      std::string_view id = rule_techniques.substr(0, comma);
      if (!id.empty()) out.emplace_back(id);
      if (comma == std::string_view::npos) break;
      rule_techniques.remove_prefix(comma + 1);
    }
    if (!out.empty()) return out;
  }
  // Emerging Threats prefixes: what the rule family detects.
  static const std::pair<std::string_view, std::vector<std::string>> kPrefixes[] = {
      {"ET SCAN ", {"T1046"}},                    // Network Service Discovery
      {"ET EXPLOIT ", {"T1190"}},                 // Exploit Public-Facing Application
      {"ET WEB_SERVER ", {"T1190"}},
      {"ET WEB_SPECIFIC_APPS ", {"T1190"}},
      {"ET MALWARE ", {"T1071"}},                 // Application Layer Protocol (C2)
      {"ET TROJAN ", {"T1071"}},
      {"ET CNC ", {"T1071"}},
      {"ET MOBILE_MALWARE ", {"T1071"}},
      {"ET COINMINING ", {"T1496"}},              // Resource Hijacking
      {"ET COINMINER ", {"T1496"}},
      {"ET CURRENT_EVENTS ", {"T1566"}},          // Phishing (the family's bulk)
      {"ET PHISHING ", {"T1566"}},
      {"ET EXPLOIT_KIT ", {"T1189"}},             // Drive-by Compromise
      {"ET ATTACK_RESPONSE ", {"T1059"}},         // Command and Scripting Interpreter
      {"ET SHELLCODE ", {"T1203"}},               // Exploitation for Client Execution
      {"ET TOR ", {"T1090.003"}},                 // Multi-hop Proxy
      {"ET DNS ", {"T1071.004"}},
      {"ET HUNTING ", {}},
      {"ET POLICY ", {}},
      {"ET INFO ", {}},
  };
  for (const auto& [prefix, ids] : kPrefixes)
    if (signature.substr(0, prefix.size()) == prefix && !ids.empty()) return ids;
  // Suricata classtypes (classification.config): the category text.
  static const std::pair<std::string_view, std::vector<std::string>> kCategories[] = {
      {"Web Application Attack", {"T1190"}},
      {"Attempted Administrator Privilege Gain", {"T1068"}},
      {"Successful Administrator Privilege Gain", {"T1068"}},
      {"Attempted User Privilege Gain", {"T1068"}},
      {"Successful User Privilege Gain", {"T1068"}},
      {"A Network Trojan was detected", {"T1071"}},
      {"A Network Trojan was Detected", {"T1071"}},
      {"Malware Command and Control Activity Detected", {"T1071"}},
      {"Domain Observed Used for C2 Detected", {"T1071", "T1568"}},
      {"Crypto Currency Mining Activity Detected", {"T1496"}},
      {"Detection of a Network Scan", {"T1046"}},
      {"Attempted Information Leak", {"T1046"}},
      {"Executable code was detected", {"T1105"}},
      {"Exploit Kit Activity Detected", {"T1189"}},
      {"Attempted Denial of Service", {"T1499"}},
      {"Denial of Service", {"T1499"}},
      {"Possible Social Engineering Attempted", {"T1566"}},
      {"Credential Theft Detected", {"T1056"}},
  };
  for (const auto& [name, ids] : kCategories)
    if (category == name) return ids;
  return {};
}

namespace {

class SuricataAlertModel final : public Model {
 public:
  SuricataAlertModel() {
    info_.name = "integration/suricata-alert";
    info_.description = "A Suricata signature alert, carried as a breach with its signature.";
    info_.kinds = {EventKind::kIdsAlert};
    info_.mitre = {};  // per alert (AlertTechniques); none is better than a guess
    info_.default_threshold = 60;
    info_.params = {{"repeat_window_s", 3600, "Same signature, device and peer: raised once per window."}};
  }
  const ModelInfo& info() const override { return info_; }

  static int ScoreFromSeverity(int severity) {
    switch (severity) {
      case 1: return 80;
      case 2: return 65;
      case 3: return 45;
      default: return 30;
    }
  }

  void Observe(const Event& e, ModelContext& ctx) override {
    const auto* a = e.As<IdsAlertBody>();
    if (!a) return;
    uint64_t key = learn::MixHash(learn::HashValue(e.entity.id),
                                  learn::MixHash(learn::HashValue(e.peer.id), a->signature_id));
    auto [it, fresh] = last_.try_emplace(key);
    Window& w = it->second;
    Micros window = static_cast<Micros>(ctx.param("repeat_window_s") * kMicrosPerSecond);
    if (!fresh && e.time - w.last_emit < window) {
      ++w.suppressed;
      return;
    }
    uint64_t suppressed = w.suppressed;
    w.last_emit = e.time;
    w.suppressed = 0;
    if (last_.size() > kMaxAlertKeys) last_.clear();  // crude cap: forget, at worst re-raise
    if (ctx.learning()) return;

    Breach b;
    b.time = e.time;
    b.model = info_.name;
    b.score = ScoreFromSeverity(a->severity);
    b.entity = ToEntityInfo(e.entity);
    if (!e.peer.empty()) b.peer = ToEntityInfo(e.peer);
    std::string tuple = e.net.valid ? std::string(e.net.orig_h_text) + ":" +
                                          std::to_string(e.net.orig_p) + " -> " +
                                          std::string(e.net.resp_h_text) + ":" +
                                          std::to_string(e.net.resp_p)
                                    : std::string();
    b.reasons.push_back("Suricata alert [" + std::to_string(a->signature_id) + ":" +
                        std::to_string(a->rev) + "] " + std::string(a->signature) + " on " + tuple);
    b.reasons.push_back("category '" + std::string(a->category) + "', severity " +
                        std::to_string(a->severity) + ", action " + std::string(a->action));
    if (suppressed > 0)
      b.reasons.push_back(std::to_string(suppressed) +
                          " earlier alerts of this signature between the same hosts were folded");
    b.events.push_back(MakeEventRef(e));
    b.mitre = AlertTechniques(a->signature, a->category, a->mitre_techniques);
    b.details = {{"signature", std::string(a->signature)},
                 {"sid", a->signature_id},
                 {"rev", a->rev},
                 {"category", std::string(a->category)},
                 {"severity", a->severity},
                 {"action", std::string(a->action)},
                 {"folded", suppressed}};
    ctx.Emit(std::move(b));
  }

  void Save(learn::StateWriter& w) const override {
    w.U64(last_.size());
    for (const auto& [k, v] : last_) {
      w.U64(k);
      w.I64(v.last_emit);
      w.U64(v.suppressed);
    }
  }
  Status Load(learn::StateReader& r) override {
    last_.clear();
    uint64_t n = r.Count(kMaxAlertKeys + 1);
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Window& w = last_[r.U64()];
      w.last_emit = r.I64();
      w.suppressed = r.U64();
    }
    return r.ok() ? Status::Ok() : Corrupt("suricata-alert state is truncated");
  }
  size_t MemoryUsage() const override { return last_.capacity() * (sizeof(uint64_t) + sizeof(Window) + 1); }

 private:
  struct Window {
    Micros last_emit = 0;
    uint64_t suppressed = 0;
  };
  ModelInfo info_;
  absl::flat_hash_map<uint64_t, Window> last_;
};

}  // namespace

VIGIL_REGISTER_MODEL(SuricataAlertModel);

}  // namespace vigil::detect
