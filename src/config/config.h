// Configuration: config/vigil.yaml is compiled in and is both the documented defaults and
// the schema. A user file overlays it; every key of the user file must exist in the
// defaults (or in a list-item schema below), and each scalar must have the default's type.
// Loading returns every error and warning with file:line:column, as text for a terminal
// and JSON for the UI (STYLE.md rule 15).
//
// Lookups are by dotted path ("networks.internal", "models.network/beaconing.threshold");
// a model name is one path segment even though it contains a '/'. A path that is not in
// the defaults is a programmer error and returns the type's zero value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "core/ip.h"
#include "core/status.h"
#include "core/time.h"

namespace vigil::config {

struct LoadResult;
class Config;
LoadResult LoadConfigText(std::string_view text, std::string file);

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string message;
  std::string ToText() const;  // "file:line:column: message"
};

class Config {
 public:
  // The compiled-in defaults alone.
  static Config Defaults();

  // Merged lookups (user value if set, else the default).
  YAML::Node Node(std::string_view path) const;
  std::string GetString(std::string_view path) const;
  double GetNumber(std::string_view path) const;
  bool GetBool(std::string_view path) const;
  Micros GetDuration(std::string_view path) const;
  std::vector<std::string> GetStrings(std::string_view path) const;
  bool Has(std::string_view path) const;

  // Overrides from the command line ("--internal", "--learning-period"): `yaml` is parsed
  // as a YAML value and checked against the schema like a file value.
  Status Set(std::string_view path, std::string_view yaml);

  // networks.internal as a CidrSet (validated at load).
  const CidrSet& internal_networks() const { return internal_; }
  // Where the user config came from ("" for defaults only).
  const std::string& source() const { return source_; }
  const YAML::Node& root() const { return merged_; }

 private:
  friend struct LoadResult;
  friend LoadResult LoadConfigText(std::string_view text, std::string file);
  void Finish();

  YAML::Node merged_;
  CidrSet internal_;
  std::string source_;
};

struct LoadResult {
  std::optional<Config> config;  // set when there are no errors
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool ok() const { return errors.empty() && config.has_value(); }
  std::string ToText() const;
  nlohmann::json ToJson() const;
};

// Loads and validates a YAML config file.
LoadResult LoadConfigFile(const std::string& path);
// Same, from text; `file` names it in diagnostics.
LoadResult LoadConfigText(std::string_view text, std::string file);

// Splits a dotted path into segments; "models.network/beaconing.threshold" gives
// {"models", "network/beaconing", "threshold"}.
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace vigil::config
