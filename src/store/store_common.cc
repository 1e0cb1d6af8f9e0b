#include <algorithm>
#include <unordered_set>

#include "config/config.h"
#include "store/event_rows.h"
#include "store/store_internal.h"

namespace vigil::store {

Status CheckMigrationList(std::span<const Migration> migrations) {
  if (migrations.empty()) return Internal("store: empty migration list");
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Internal("store: migration " + std::to_string(i) + " has version " +
                      std::to_string(migrations[i].version) + ", expected " +
                      std::to_string(i + 1));
    }
  }
  return Status::Ok();
}

Status NewerSchemaError(const std::string& where, int found, int latest) {
  return InvalidArgument(where + ": database schema version " + std::to_string(found) +
                         " is newer than this Vigil supports (" + std::to_string(latest) +
                         "); it was written by a newer Vigil: upgrade Vigil or use another "
                         "state directory");
}

namespace {

void UnionInto(std::vector<std::string>& into, const std::vector<std::string>& add) {
  for (const auto& s : add) {
    if (s.empty()) continue;
    if (std::find(into.begin(), into.end(), s) == into.end()) into.push_back(s);
  }
  if (into.size() > kMaxEntityListItems) {
    into.erase(into.begin(), into.begin() + (into.size() - kMaxEntityListItems));
  }
}

void MergeFacts(nlohmann::json& into, const nlohmann::json& add) {
  if (!into.is_object() || !add.is_object()) {
    if (!add.is_null()) into = add;
    return;
  }
  for (auto it = add.begin(); it != add.end(); ++it) {
    auto found = into.find(it.key());
    if (found != into.end() && found->is_object() && it->is_object()) {
      MergeFacts(*found, *it);
    } else {
      into[it.key()] = *it;
    }
  }
}

}  // namespace

void MergeEntity(EntityRecord& into, const EntityRecord& add) {
  if (!add.type.empty()) into.type = add.type;
  if (!add.name.empty()) into.name = add.name;
  if (!add.role.empty()) into.role = add.role;
  if (add.first_seen != 0 && (into.first_seen == 0 || add.first_seen < into.first_seen)) {
    into.first_seen = add.first_seen;
  }
  into.last_seen = std::max(into.last_seen, add.last_seen);
  UnionInto(into.addresses, add.addresses);
  UnionInto(into.names, add.names);
  UnionInto(into.tags, add.tags);
  into.events += add.events;
  MergeFacts(into.facts, add.facts);
}

std::vector<EntityRecord> CoalesceEntities(const std::vector<EntityRecord>& entities) {
  std::vector<EntityRecord> out;
  out.reserve(entities.size());
  std::vector<size_t> order(entities.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Stable: records of one id merge in the order given. The engine hands them over sorted
  // by id already, which one pass confirms.
  auto by_id = [&](size_t a, size_t b) { return entities[a].id < entities[b].id; };
  if (!std::is_sorted(order.begin(), order.end(), by_id)) std::stable_sort(order.begin(), order.end(), by_id);
  for (size_t i : order) {
    const EntityRecord& e = entities[i];
    if (!out.empty() && out.back().id == e.id) {
      MergeEntity(out.back(), e);
    } else {
      // Start from an empty record so that one record's own lists are deduplicated and
      // capped exactly as a merge would.
      EntityRecord fresh;
      fresh.id = e.id;
      fresh.facts = nlohmann::json::object();
      MergeEntity(fresh, e);
      out.push_back(std::move(fresh));
    }
  }
  return out;
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Corrupt("store: " + std::string(what) + " is not valid JSON");
  return j;
}

nlohmann::json StringsToJson(const std::vector<std::string>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

namespace {

// Plain strings need no escaping: printable ASCII without quote or backslash.
bool Plain(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

}  // namespace

std::string StringsToJsonText(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) {
    if (out.size() > 1) out += ',';
    if (Plain(s)) {
      out += '"';
      out += s;
      out += '"';
    } else {
      out += DumpJson(nlohmann::json(s));
    }
  }
  out += ']';
  return out;
}

Result<std::vector<std::string>> StringsFromJsonText(std::string_view text, std::string_view what) {
  // The common case, as StringsToJsonText writes it: ["a","b"] of plain strings.
  std::vector<std::string> v;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    std::string_view rest = text.substr(1, text.size() - 2);
    bool plain = true;
    while (plain && !rest.empty()) {
      size_t close = rest.size() >= 2 && rest[0] == '"' ? rest.find('"', 1) : std::string_view::npos;
      if (close == std::string_view::npos || !Plain(rest.substr(1, close - 1))) {
        plain = false;
        break;
      }
      v.emplace_back(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
      if (!rest.empty()) {
        if (rest[0] != ',' || rest.size() == 1) plain = false;
        rest.remove_prefix(1);
      }
    }
    if (plain) return v;
  }
  auto j = ParseJson(text, what);
  if (!j.ok()) return j.status();
  return StringsFromJson(*j);
}

std::vector<std::string> StringsFromJson(const nlohmann::json& j) {
  std::vector<std::string> v;
  if (!j.is_array()) return v;
  for (const auto& e : j) {
    if (e.is_string()) v.push_back(e.get<std::string>());
  }
  return v;
}

nlohmann::json BreachToDoc(const detect::Breach& b) {
  nlohmann::json doc = detect::BreachToJson(b);
  auto& events = doc["events"];
  for (size_t i = 0; i < b.events.size() && i < events.size(); ++i) {
    events[i]["input_index"] = b.events[i].input_index;
  }
  return doc;
}

Result<detect::Breach> BreachFromDoc(const nlohmann::json& doc) {
  auto b = detect::BreachFromJson(doc);
  if (!b.ok()) return b.status();
  auto ev = doc.find("events");
  if (ev != doc.end() && ev->is_array()) {
    for (size_t i = 0; i < b->events.size() && i < ev->size(); ++i) {
      const auto& e = (*ev)[i];
      auto ii = e.find("input_index");
      if (ii != e.end() && ii->is_number_unsigned()) {
        b->events[i].input_index = ii->get<uint32_t>();
      }
    }
  }
  return b;
}

nlohmann::json AuditToJson(const std::string& action_id, Micros at, const std::string& who,
                           const std::string& what, nlohmann::json detail) {
  return {{"action_id", action_id}, {"at", FormatRfc3339(at)},    {"at_us", at}, {"who", who},
          {"what", what},           {"detail", std::move(detail)}};
}

Result<std::unique_ptr<Store>> OpenStore(const config::Config& cfg, const std::string& dir) {
  std::string backend = cfg.GetString("store.backend");
  if (backend.empty() || backend == "sqlite") return OpenSqliteStore(dir);
  if (backend == "postgres") {
    std::string conninfo = cfg.GetString("store.postgres");
    if (conninfo.empty()) {
      return InvalidArgument("store.backend is postgres but store.postgres (conninfo) is empty");
    }
    return OpenPostgresStore(conninfo);
  }
  return InvalidArgument("store.backend: unknown backend '" + backend +
                         "' (expected sqlite or postgres)");
}

Status Store::PutEvents(const std::vector<EventRecord>& events) {
  EventRows rows(events);
  return PutEventRows(rows);
}

}  // namespace vigil::store
