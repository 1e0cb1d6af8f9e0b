#include "analyst/attack.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace vigil::analyst {

namespace {

struct TacticRow {
  const char* id;
  const char* name;
  const char* attack_id;
};

constexpr std::array<TacticRow, kTacticCount> kTactics = {{
    {"reconnaissance", "reconnaissance", "TA0043"},
    {"resource-development", "resource development", "TA0042"},
    {"initial-access", "initial access", "TA0001"},
    {"execution", "execution", "TA0002"},
    {"persistence", "persistence", "TA0003"},
    {"privilege-escalation", "privilege escalation", "TA0004"},
    {"defense-evasion", "defense evasion", "TA0005"},
    {"credential-access", "credential access", "TA0006"},
    {"discovery", "discovery", "TA0007"},
    {"lateral-movement", "lateral movement", "TA0008"},
    {"collection", "collection", "TA0009"},
    {"command-and-control", "command and control", "TA0011"},
    {"exfiltration", "exfiltration", "TA0010"},
    {"impact", "impact", "TA0040"},
}};

using T = Tactic;
struct TechniqueRow {
  const char* id;
  std::initializer_list<Tactic> tactics;
};

// Techniques models and Defender use. Kept sorted by id for readability only (lookup is a
// scan of ~110 rows, done once per breach).
const TechniqueRow kTechniques[] = {
    {"T1003", {T::kCredentialAccess}},  // OS credential dumping
    {"T1005", {T::kCollection}},        // data from local system
    {"T1016", {T::kDiscovery}},
    {"T1018", {T::kDiscovery}},
    {"T1020", {T::kExfiltration}},
    {"T1021", {T::kLateralMovement}},
    {"T1027", {T::kDefenseEvasion}},
    {"T1036", {T::kDefenseEvasion}},  // masquerading (vim, kworker from the wrong path)
    {"T1041", {T::kExfiltration}},    // exfiltration over C2 channel
    {"T1046", {T::kDiscovery}},
    {"T1048", {T::kExfiltration}},
    {"T1049", {T::kDiscovery}},
    {"T1053", {T::kExecution, T::kPersistence, T::kPrivilegeEscalation}},
    {"T1057", {T::kDiscovery}},
    {"T1059", {T::kExecution}},  // command and scripting interpreter
    {"T1068", {T::kPrivilegeEscalation}},
    {"T1069", {T::kDiscovery}},  // permission groups discovery
    {"T1070", {T::kDefenseEvasion}},
    {"T1071", {T::kCommandAndControl}},  // application layer protocol
    {"T1074", {T::kCollection}},
    {"T1078", {T::kInitialAccess, T::kPersistence, T::kPrivilegeEscalation,
               T::kDefenseEvasion}},  // valid accounts
    {"T1082", {T::kDiscovery}},
    {"T1083", {T::kDiscovery}},
    {"T1087", {T::kDiscovery}},  // account discovery
    {"T1090", {T::kCommandAndControl}},
    {"T1095", {T::kCommandAndControl}},
    {"T1098", {T::kPersistence, T::kPrivilegeEscalation}},  // account manipulation
    {"T1102", {T::kCommandAndControl}},
    {"T1105", {T::kCommandAndControl}},  // ingress tool transfer
    {"T1110", {T::kCredentialAccess}},
    {"T1119", {T::kCollection}},
    {"T1132", {T::kCommandAndControl}},
    {"T1133", {T::kInitialAccess, T::kPersistence}},
    {"T1136", {T::kPersistence}},  // create account
    {"T1189", {T::kInitialAccess}},
    {"T1190", {T::kInitialAccess}},  // exploit public-facing application
    {"T1199", {T::kInitialAccess}},
    {"T1203", {T::kExecution}},
    {"T1204", {T::kExecution}},
    {"T1210", {T::kLateralMovement}},
    {"T1218", {T::kDefenseEvasion}},
    {"T1219", {T::kCommandAndControl}},
    {"T1485", {T::kImpact}},  // data destruction
    {"T1486", {T::kImpact}},
    {"T1489", {T::kImpact}},
    {"T1490", {T::kImpact}},
    {"T1491", {T::kImpact}},
    {"T1496", {T::kImpact}},  // resource hijacking (crypto-mining)
    {"T1498", {T::kImpact}},
    {"T1499", {T::kImpact}},
    {"T1505", {T::kPersistence}},  // server software component (web shell)
    {"T1518", {T::kDiscovery}},
    {"T1526", {T::kDiscovery}},  // cloud service discovery
    {"T1528", {T::kCredentialAccess}},
    {"T1530", {T::kCollection}},  // data from cloud storage
    {"T1531", {T::kImpact}},
    {"T1535", {T::kDefenseEvasion}},  // unused/unsupported cloud regions
    {"T1537", {T::kExfiltration}},    // transfer data to cloud account
    {"T1538", {T::kDiscovery}},
    {"T1543", {T::kPersistence, T::kPrivilegeEscalation}},
    {"T1547", {T::kPersistence, T::kPrivilegeEscalation}},
    {"T1548", {T::kPrivilegeEscalation, T::kDefenseEvasion}},
    {"T1550", {T::kDefenseEvasion, T::kLateralMovement}},
    {"T1552", {T::kCredentialAccess}},  // unsecured credentials (.005 instance metadata)
    {"T1555", {T::kCredentialAccess}},
    {"T1556", {T::kPersistence, T::kDefenseEvasion, T::kCredentialAccess}},
    {"T1560", {T::kCollection}},
    {"T1562", {T::kDefenseEvasion}},  // impair defenses
    {"T1564", {T::kDefenseEvasion}},  // hide artifacts (.001 hidden files)
    {"T1565", {T::kImpact}},
    {"T1566", {T::kInitialAccess}},
    {"T1567", {T::kExfiltration}},  // exfiltration over web service
    {"T1568", {T::kCommandAndControl}},
    {"T1570", {T::kLateralMovement}},
    {"T1571", {T::kCommandAndControl}},  // non-standard port
    {"T1572", {T::kCommandAndControl}},
    {"T1573", {T::kCommandAndControl}},  // encrypted channel
    {"T1578", {T::kDefenseEvasion}},     // modify cloud compute infrastructure
    {"T1580", {T::kDiscovery}},          // cloud infrastructure discovery
    {"T1583", {T::kResourceDevelopment}},
    {"T1588", {T::kResourceDevelopment}},
    {"T1592", {T::kReconnaissance}},
    {"T1595", {T::kReconnaissance}},
    {"T1619", {T::kDiscovery}},
    {"T1621", {T::kCredentialAccess}},
    {"T1648", {T::kExecution}},  // serverless execution
    {"T1651", {T::kExecution}},  // cloud administration command
};

std::string Normalise(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

const TechniqueRow* Find(std::string_view id) {
  for (const auto& row : kTechniques) {
    if (id == row.id) return &row;
  }
  return nullptr;
}

// Lower-case letters and digits only: "Initial Access", "initial-access" and
// "InitialAccess" all become "initialaccess".
std::string Squash(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

}  // namespace

const char* TacticId(Tactic t) {
  auto i = static_cast<size_t>(t);
  return i < kTactics.size() ? kTactics[i].id : "";
}
const char* TacticName(Tactic t) {
  auto i = static_cast<size_t>(t);
  return i < kTactics.size() ? kTactics[i].name : "";
}
const char* TacticAttackId(Tactic t) {
  auto i = static_cast<size_t>(t);
  return i < kTactics.size() ? kTactics[i].attack_id : "";
}

std::vector<Tactic> TacticsForTechnique(std::string_view technique) {
  std::string id = Normalise(technique);
  if (id.size() < 5 || id[0] != 'T') return {};
  const TechniqueRow* row = Find(id);
  if (row == nullptr) {
    auto dot = id.find('.');
    if (dot != std::string::npos) row = Find(std::string_view(id).substr(0, dot));
  }
  if (row == nullptr) return {};
  std::vector<Tactic> out(row->tactics);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<Tactic> TacticFromText(std::string_view text) {
  std::string s = Squash(text);
  if (s.empty()) return std::nullopt;
  for (int i = 0; i < kTacticCount; ++i) {
    if (s == Squash(kTactics[i].id) || s == Squash(kTactics[i].attack_id)) {
      return static_cast<Tactic>(i);
    }
  }
  return std::nullopt;
}

std::vector<Tactic> TacticsForTechniques(const std::vector<std::string>& techniques) {
  std::vector<Tactic> out;
  for (const auto& t : techniques) {
    for (Tactic tactic : TacticsForTechnique(t)) out.push_back(tactic);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace vigil::analyst
