// integration/suricata-alert helpers shared with tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil::detect {

// The ATT&CK techniques a Suricata alert stands for, from the Emerging Threats signature
// prefix or else the classtype category; empty when neither says (reputation lists, policy
// and info rules). See integration_suricata.cc.
std::vector<std::string> AlertTechniques(std::string_view signature, std::string_view category);

}  // namespace vigil::detect
