// Pieces the SQLite and PostgreSQL stores share: the migration list type, the entity merge
// rules, how a breach is kept as a JSON document, and JSON text helpers. Internal to
// src/store/ (and its tests); other stages use store.h only.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace vigil::store {

// One schema step. Versions run 1, 2, 3 ... without gaps; a database records the last
// version applied. Opening applies, in one transaction, every migration newer than the
// database's version, and refuses a database whose version is newer than the last one
// known here (written by a newer Vigil). To change the schema, append one entry to the
// backend's list (sqlite_store.cc / postgres_store.cc); never edit an applied one.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;  // one or more statements, no data
};

// The migration lists of each backend, oldest first.
std::span<const Migration> SqliteMigrations();
std::span<const Migration> PostgresMigrations();

// As OpenSqliteStore / OpenPostgresStore, with an explicit migration list (tests use it to
// build databases of older and newer schema versions).
Result<std::unique_ptr<Store>> OpenSqliteStoreWith(const std::string& dir,
                                                   std::span<const Migration> migrations);
Result<std::unique_ptr<Store>> OpenPostgresStoreWith(const std::string& conninfo,
                                                     std::span<const Migration> migrations);

// The SQLite event log's segment size in rows (event_files.h). Tests shrink it
// to exercise queries across segments; 0 restores the default.
inline constexpr int64_t kDefaultEventSegmentRows = 250'000;
void SetEventSegmentRowsForTest(int64_t rows);

// Checks that versions run 1..n; a broken list is a programmer error (kInternal).
Status CheckMigrationList(std::span<const Migration> migrations);
// The Status for a database written by a newer Vigil.
Status NewerSchemaError(const std::string& where, int found, int latest);

// Cap on each of an entity's lists (addresses, names, tags). A device on DHCP or an
// identity used from many places would otherwise grow without bound; past the cap the
// oldest entries are dropped, the newest kept.
inline constexpr size_t kMaxEntityListItems = 256;

// Merges `add` into `into` by the rules of Store::UpsertEntities: min first_seen (0 means
// unknown and never wins), max last_seen, union of addresses/names/tags (existing order,
// new ones appended, capped at kMaxEntityListItems), events added, facts merged
// recursively (objects merge key by key, any other value of `add` replaces), a non-empty
// name/role/type of `add` replaces the stored one and an empty one keeps it.
void MergeEntity(EntityRecord& into, const EntityRecord& add);

// Collapses records with the same id into one (MergeEntity), sorted by id. Upserts work on
// this so that several writers lock rows in the same order.
std::vector<EntityRecord> CoalesceEntities(const std::vector<EntityRecord>& entities);

// JSON text for storage. Invalid UTF-8 in strings is replaced (U+FFFD) instead of throwing.
std::string DumpJson(const nlohmann::json& j);
// Parses stored JSON text; a document that does not parse is kCorrupt naming `what`.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what);

nlohmann::json StringsToJson(const std::vector<std::string>& v);
std::vector<std::string> StringsFromJson(const nlohmann::json& j);
// The same as JSON text, quickly for plain ASCII strings (an entity's addresses and names
// are stored per upsert); other strings go through nlohmann. FromJsonText is kCorrupt
// naming `what` when the text is not JSON, and skips elements that are not strings.
std::string StringsToJsonText(const std::vector<std::string>& v);
Result<std::vector<std::string>> StringsFromJsonText(std::string_view text, std::string_view what);

// A breach as stored: detect::BreachToJson plus what that record leaves out
// (events[].input_index), so every field of the breach survives a round trip.
nlohmann::json BreachToDoc(const detect::Breach& b);
Result<detect::Breach> BreachFromDoc(const nlohmann::json& doc);

// An audit row as ListAudit returns it.
nlohmann::json AuditToJson(const std::string& action_id, Micros at, const std::string& who,
                           const std::string& what, nlohmann::json detail);

}  // namespace vigil::store
