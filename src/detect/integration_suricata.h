// integration/suricata-alert helpers shared with tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil::detect {

// The ATT&CK techniques a Suricata alert stands for: the rule's metadata ids
// (`rule_techniques`, comma-separated) when present, else from the Emerging Threats
// signature prefix or the classtype category; empty when nothing says (reputation lists,
// policy and info rules). See integration_suricata.cc.
std::vector<std::string> AlertTechniques(std::string_view signature, std::string_view category,
                                         std::string_view rule_techniques = {});

}  // namespace vigil::detect
