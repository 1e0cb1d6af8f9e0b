#include "config/config.h"

#include <fstream>
#include <map>
#include <sstream>

namespace vigil::config {

extern const char* const kDefaultConfigYaml;

namespace {

// Item schemas for lists whose default is empty: path -> allowed keys of each item.
// A list whose default holds an item uses that item as the schema instead.
const std::map<std::string, std::vector<std::string>>& ListItemSchemas() {
  static const std::map<std::string, std::vector<std::string>> schemas = {
      {"allow", {"model", "entity", "peer", "reason"}},
      {"inputs", {"path", "format", "follow", "name"}},
      {"respond.policy",
       {"model", "min_score", "incident_score", "entity_tag", "action", "mode", "duration"}},
      {"respond.essential_services", {"address", "port", "reason"}},
      {"respond.critical", {"address", "identity", "reason"}},
      {"exports.webhooks", {"url", "headers", "retries", "timeout", "dead_letter"}},
      {"exports.syslog", {"host", "port", "transport", "facility"}},
      {"server.tokens", {"token", "role", "name"}},
      {"tags", {"entity", "tags"}},
  };
  return schemas;
}

YAML::Node DefaultsNode() {
  static const YAML::Node node = YAML::Load(kDefaultConfigYaml);
  return YAML::Clone(node);
}

std::string Join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) s += ".";
    s += p;
  }
  return s;
}

bool IsBool(const std::string& s) {
  return s == "true" || s == "false" || s == "yes" || s == "no" || s == "on" || s == "off";
}

bool IsNumber(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

bool LooksLikeDuration(const std::string& s) {
  return !s.empty() && !IsNumber(s) && ParseDuration(s).has_value();
}

Diagnostic At(const std::string& file, const YAML::Node& n, std::string msg) {
  Diagnostic d;
  d.file = file;
  if (n.IsDefined()) {
    d.line = n.Mark().line + 1;
    d.column = n.Mark().column + 1;
  }
  d.message = std::move(msg);
  return d;
}

void Validate(const YAML::Node& user, const YAML::Node& def, std::vector<std::string>& path,
              const std::string& file, std::vector<Diagnostic>& errors);

void ValidateScalar(const YAML::Node& user, const YAML::Node& def, const std::string& where,
                    const std::string& file, std::vector<Diagnostic>& errors) {
  if (!user.IsScalar()) {
    errors.push_back(At(file, user, "'" + where + "' must be a single value"));
    return;
  }
  if (!def.IsDefined() || !def.IsScalar() || def.IsNull()) return;
  const std::string d = def.Scalar();
  const std::string u = user.Scalar();
  if (IsBool(d) && !IsBool(u)) {
    errors.push_back(At(file, user, "'" + where + "' must be true or false, not '" + u + "'"));
  } else if (LooksLikeDuration(d) && !ParseDuration(u)) {
    errors.push_back(
        At(file, user, "'" + where + "' must be a duration such as 90s, 15m, 72h; got '" + u + "'"));
  } else if (IsNumber(d) && !IsNumber(u)) {
    errors.push_back(At(file, user, "'" + where + "' must be a number, not '" + u + "'"));
  }
}

void ValidateMapAgainstKeys(const YAML::Node& user, const std::vector<std::string>& keys,
                            const std::string& where, const std::string& file,
                            std::vector<Diagnostic>& errors) {
  if (!user.IsMap()) {
    errors.push_back(At(file, user, "each item of '" + where + "' must be a mapping"));
    return;
  }
  for (const auto& kv : user) {
    std::string k = kv.first.Scalar();
    bool known = false;
    for (const auto& a : keys) known |= a == k;
    if (!known) {
      std::string list;
      for (const auto& a : keys) list += (list.empty() ? "" : ", ") + a;
      errors.push_back(At(file, kv.first,
                          "unknown key '" + k + "' in an item of '" + where + "' (known: " + list + ")"));
    }
  }
}

void Validate(const YAML::Node& user, const YAML::Node& def, std::vector<std::string>& path,
              const std::string& file, std::vector<Diagnostic>& errors) {
  const std::string where = Join(path);
  if (user.IsNull()) return;  // "key:" with nothing: keep the default
  if (def.IsMap()) {
    if (!user.IsMap()) {
      errors.push_back(At(file, user, "'" + (where.empty() ? "the file" : where) + "' must be a mapping"));
      return;
    }
    for (const auto& kv : user) {
      std::string k = kv.first.Scalar();
      YAML::Node d = def[k];
      if (!d.IsDefined()) {
        std::string known;
        for (const auto& dk : def) known += (known.empty() ? "" : ", ") + dk.first.Scalar();
        errors.push_back(At(file, kv.first,
                            "unknown key '" + k + "'" + (where.empty() ? "" : " in '" + where + "'") +
                                " (known: " + known + ")"));
        continue;
      }
      path.push_back(k);
      Validate(kv.second, d, path, file, errors);
      path.pop_back();
    }
  } else if (def.IsSequence()) {
    if (!user.IsSequence()) {
      errors.push_back(At(file, user, "'" + where + "' must be a list"));
      return;
    }
    auto it = ListItemSchemas().find(where);
    for (const auto& item : user) {
      if (def.size() > 0 && def[0].IsMap()) {
        std::vector<std::string> keys;
        for (const auto& kv : def[0]) keys.push_back(kv.first.Scalar());
        if (it != ListItemSchemas().end()) keys.insert(keys.end(), it->second.begin(), it->second.end());
        ValidateMapAgainstKeys(item, keys, where, file, errors);
      } else if (it != ListItemSchemas().end()) {
        ValidateMapAgainstKeys(item, it->second, where, file, errors);
      } else if (!item.IsScalar()) {
        errors.push_back(At(file, item, "items of '" + where + "' must be single values"));
      }
    }
  } else {
    ValidateScalar(user, def, where, file, errors);
  }
}

YAML::Node Merge(const YAML::Node& def, const YAML::Node& user) {
  if (!user.IsDefined() || user.IsNull()) return YAML::Clone(def);
  if (def.IsMap() && user.IsMap()) {
    YAML::Node out = YAML::Clone(def);
    for (const auto& kv : user) {
      std::string k = kv.first.Scalar();
      out[k] = Merge(def[k], kv.second);
    }
    return out;
  }
  return YAML::Clone(user);
}

// The node at `path`, as a copy of that subtree only. The walk goes through const nodes
// (a non-const operator[] would add the key it looks for) and rebinds with reset()
// (assigning one yaml-cpp Node to another copies into the tree it refers to). It used to
// clone the whole merged document for every lookup: the models' params alone made that a
// quarter of a small replay's time.
YAML::Node Lookup(const YAML::Node& root, std::string_view path) {
  YAML::Node n;
  n.reset(root);
  for (const auto& seg : SplitPath(path)) {
    if (!n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& map = n;
    YAML::Node next = map[seg];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    n.reset(next);
  }
  return YAML::Clone(n);
}

}  // namespace

std::vector<std::string> SplitPath(std::string_view path) {
  // A segment may contain '/', never '.'. Model names have no dots.
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    out.emplace_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return out;
}

std::string Diagnostic::ToText() const {
  std::ostringstream os;
  os << (file.empty() ? "<config>" : file);
  if (line) os << ":" << line << ":" << column;
  os << ": " << message;
  return os.str();
}

Config Config::Defaults() {
  Config c;
  c.merged_ = DefaultsNode();
  c.Finish();
  return c;
}

void Config::Finish() {
  internal_ = CidrSet();
  for (const auto& s : GetStrings("networks.internal"))
    if (auto c = Cidr::Parse(s)) internal_.Add(*c);
}

YAML::Node Config::Node(std::string_view path) const { return Lookup(merged_, path); }

bool Config::Has(std::string_view path) const { return Node(path).IsDefined(); }

std::string Config::GetString(std::string_view path) const {
  YAML::Node n = Node(path);
  return n.IsScalar() ? n.Scalar() : std::string();
}

double Config::GetNumber(std::string_view path) const {
  YAML::Node n = Node(path);
  if (!n.IsScalar()) return 0;
  return std::strtod(n.Scalar().c_str(), nullptr);
}

bool Config::GetBool(std::string_view path) const {
  std::string s = GetString(path);
  return s == "true" || s == "yes" || s == "on";
}

Micros Config::GetDuration(std::string_view path) const {
  return ParseDuration(GetString(path)).value_or(0);
}

std::vector<std::string> Config::GetStrings(std::string_view path) const {
  std::vector<std::string> out;
  YAML::Node n = Node(path);
  if (n.IsSequence()) {
    for (const auto& i : n)
      if (i.IsScalar()) out.push_back(i.Scalar());
  } else if (n.IsScalar() && !n.Scalar().empty()) {
    out.push_back(n.Scalar());
  }
  return out;
}

Status Config::Set(std::string_view path, std::string_view yaml) {
  YAML::Node value;
  try {
    value = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return InvalidArgument("bad value for " + std::string(path) + ": " + e.what());
  }
  auto segs = SplitPath(path);
  YAML::Node def = Lookup(DefaultsNode(), path);
  if (!def.IsDefined()) return InvalidArgument("unknown setting '" + std::string(path) + "'");
  std::vector<Diagnostic> errors;
  std::vector<std::string> p = segs;
  Validate(value, def, p, "command line", errors);
  if (!errors.empty()) return InvalidArgument(errors[0].message);
  if (path == "networks.internal") {
    for (const auto& i : value) {
      if (!i.IsScalar() || !Cidr::Parse(i.Scalar()))
        return InvalidArgument("'" + (i.IsScalar() ? i.Scalar() : std::string("?")) +
                               "' is not a CIDR network");
    }
  }
  // Walk down, creating maps, and set the leaf.
  std::vector<YAML::Node> chain{merged_};
  for (size_t i = 0; i + 1 < segs.size(); ++i) chain.push_back(chain.back()[segs[i]]);
  chain.back()[segs.back()] = value;
  Finish();
  return Status::Ok();
}

LoadResult LoadConfigText(std::string_view text, std::string file) {
  LoadResult r;
  YAML::Node user;
  try {
    user = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    Diagnostic d;
    d.file = file;
    d.line = e.mark.line + 1;
    d.column = e.mark.column + 1;
    d.message = "YAML syntax: " + e.msg;
    r.errors.push_back(d);
    return r;
  } catch (const YAML::Exception& e) {
    r.errors.push_back({file, 0, 0, std::string("YAML: ") + e.what()});
    return r;
  }
  YAML::Node def = DefaultsNode();
  if (user.IsDefined() && !user.IsNull()) {
    std::vector<std::string> path;
    try {
      Validate(user, def, path, file, r.errors);
    } catch (const YAML::Exception& e) {
      r.errors.push_back({file, 0, 0, std::string("YAML: ") + e.what()});
    }
  }
  // Semantic checks that the schema cannot express.
  if (r.errors.empty() && user.IsMap() && user["networks"] && user["networks"]["internal"]) {
    for (const auto& i : user["networks"]["internal"]) {
      if (!Cidr::Parse(i.Scalar()))
        r.errors.push_back(At(file, i, "'" + i.Scalar() + "' is not a CIDR network such as 10.0.0.0/8"));
    }
  }
  if (!r.errors.empty()) return r;
  Config c;
  c.merged_ = Merge(def, user);
  c.source_ = file;
  c.Finish();
  r.config = std::move(c);
  return r;
}

LoadResult LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({path, 0, 0, "cannot open the config file"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), path);
}

std::string LoadResult::ToText() const {
  std::string s;
  for (const auto& e : errors) s += "error: " + e.ToText() + "\n";
  for (const auto& w : warnings) s += "warning: " + w.ToText() + "\n";
  return s;
}

nlohmann::json LoadResult::ToJson() const {
  auto list = [](const std::vector<Diagnostic>& ds) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& d : ds)
      a.push_back({{"file", d.file}, {"line", d.line}, {"column", d.column}, {"message", d.message}});
    return a;
  };
  return {{"ok", ok()}, {"errors", list(errors)}, {"warnings", list(warnings)}};
}

}  // namespace vigil::config
