// The SQLite store: one file, dir/vigil.db, in WAL mode so readers (the UI, `vigil
// device`) never block the engine's writes. One connection guarded by a mutex; prepared
// statements are cached on it; every call is one transaction (batches included).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <tuple>
#include <mutex>
#include <unordered_map>

#include "core/hash.h"
#include "store/store_internal.h"

namespace vigil::store {
namespace {

// Migration 1: the initial schema. JSON columns hold text; times are microseconds UTC.
constexpr std::string_view kSqliteV1 = R"sql(
CREATE TABLE entities (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  addresses TEXT NOT NULL DEFAULT '[]',
  names TEXT NOT NULL DEFAULT '[]',
  first_seen INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER NOT NULL DEFAULT 0,
  role TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '[]',
  events INTEGER NOT NULL DEFAULT 0,
  facts TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX entities_type ON entities(type, id);
CREATE TABLE breaches (
  id TEXT PRIMARY KEY,
  time INTEGER NOT NULL,
  model TEXT NOT NULL,
  score INTEGER NOT NULL,
  entity_id TEXT NOT NULL,
  peer_id TEXT NOT NULL DEFAULT '',
  weak INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL
);
CREATE INDEX breaches_time ON breaches(time);
CREATE INDEX breaches_model ON breaches(model, time);
CREATE INDEX breaches_entity ON breaches(entity_id, time);
CREATE INDEX breaches_peer ON breaches(peer_id, time);
CREATE INDEX breaches_score ON breaches(score);
CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  "start" INTEGER NOT NULL,
  "end" INTEGER NOT NULL,
  score INTEGER NOT NULL,
  state TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX incidents_start ON incidents("start");
CREATE TABLE actions (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  expires INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX actions_expires ON actions(expires);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  action_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  who TEXT NOT NULL,
  what TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_action ON audit(action_id, at, seq);
CREATE TABLE checkpoint (
  slot INTEGER PRIMARY KEY CHECK (slot = 1),
  event_time INTEGER NOT NULL,
  state BLOB NOT NULL,
  saved_at INTEGER NOT NULL
);
CREATE TABLE positions (
  input TEXT PRIMARY KEY,
  file TEXT NOT NULL,
  "offset" INTEGER NOT NULL,
  line INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  fingerprint TEXT NOT NULL
);
CREATE TABLE rejects (
  input TEXT NOT NULL,
  format TEXT NOT NULL,
  code TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_line INTEGER NOT NULL,
  first_offset INTEGER NOT NULL,
  first_reason TEXT NOT NULL,
  PRIMARY KEY (input, format, code)
);
CREATE TABLE ingest_stats (
  slot INTEGER PRIMARY KEY CHECK (slot = 1),
  doc TEXT NOT NULL
);
CREATE TABLE vulnerabilities (
  device_id TEXT PRIMARY KEY,
  doc TEXT NOT NULL
);
)sql";

// Migration 2: the event log, kept in segments (see "The event log" below): a catalogue
// of segment tables events_<id>, created as rows arrive.
constexpr std::string_view kSqliteV2 = R"sql(
CREATE TABLE event_segments (
  id INTEGER PRIMARY KEY,
  first_time INTEGER NOT NULL,
  last_time INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  sealed INTEGER NOT NULL DEFAULT 0
);
)sql";

constexpr Migration kSqliteMigrations[] = {
    {1, "initial schema", kSqliteV1},
    {2, "event log", kSqliteV2},
};

// How long a writer waits for another process's lock before giving up (kUnavailable).
constexpr int kBusyTimeoutMs = 10'000;

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg =
      "sqlite: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corrupt(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return IoError(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

// A cached prepared statement in use: binds parameters in order, resets on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { Reset(); }

  // Makes the statement ready to bind and run again (for loops over a batch).
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    n_ = 0;
  }

  Stmt& Text(std::string_view v) {
    sqlite3_bind_text(s_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Blob(std::string_view v) {
    sqlite3_bind_blob(s_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Int(int64_t v) {
    sqlite3_bind_int64(s_, ++n_, v);
    return *this;
  }
  Stmt& Json(const nlohmann::json& j) { return Text(DumpJson(j)); }

  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(s_); }
  Status Run(std::string_view what) {
    int rc = Step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqliteError(db_, rc, what);
    return Status::Ok();
  }

  int64_t ColInt(int c) const { return sqlite3_column_int64(s_, c); }
  std::string ColText(int c) const {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }
  Result<nlohmann::json> ColJson(int c, std::string_view what) const {
    return ParseJson(ColText(c), what);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  int n_ = 0;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteStore() override {
    for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  Status Init(std::span<const Migration> migrations);

  Status UpsertEntities(const std::vector<EntityRecord>& entities) override;
  Result<std::optional<EntityRecord>> GetEntity(const std::string& id) override;
  Result<std::vector<EntityRecord>> ListEntities(const std::string& type, size_t limit,
                                                 size_t offset) override;
  Status PutBreaches(const std::vector<detect::Breach>& breaches) override;
  Result<std::vector<detect::Breach>> QueryBreaches(const BreachQuery& q) override;
  Result<std::optional<detect::Breach>> GetBreach(const std::string& id) override;
  Status PutIncident(const std::string& id, Micros start, Micros end, int score,
                     const std::string& state, const nlohmann::json& doc) override;
  Result<std::vector<nlohmann::json>> ListIncidents(size_t limit, size_t offset) override;
  Result<std::optional<nlohmann::json>> GetIncident(const std::string& id) override;
  Status PutAction(const std::string& id, const std::string& state, Micros expires,
                   const nlohmann::json& doc) override;
  Result<std::vector<nlohmann::json>> ListActions(size_t limit, size_t offset) override;
  Result<std::optional<nlohmann::json>> GetAction(const std::string& id) override;
  Status AppendAudit(const std::string& action_id, Micros at, const std::string& who,
                     const std::string& what, const nlohmann::json& detail) override;
  Result<std::vector<nlohmann::json>> ListAudit(const std::string& action_id) override;
  Status SaveCheckpoint(const Checkpoint& cp) override;
  Result<std::optional<Checkpoint>> LoadCheckpoint() override;
  Status AddRejects(const std::vector<RejectCount>& counts) override;
  Result<std::vector<RejectCount>> ListRejects() override;
  Status PutIngestStats(const nlohmann::json& stats) override;
  Result<nlohmann::json> GetIngestStats() override;
  Status PutVulnerabilities(const std::string& device_id, const nlohmann::json& cves) override;
  Result<nlohmann::json> GetVulnerabilities(const std::string& device_id) override;
  Status PutEvents(const std::vector<EventRecord>& events) override;
  Result<std::vector<EventRecord>> QueryEvents(const EventQuery& q) override;
  Result<std::vector<std::pair<Micros, uint64_t>>> EventCounts(const std::string& entity,
                                                               Micros bucket, Micros since,
                                                               Micros until) override;
  Result<std::vector<PeerActivity>> Peers(const std::string& entity, Micros before,
                                          size_t limit) override;
  Result<std::vector<PeerActivity>> BusiestPairs(Micros since, size_t limit,
                                                 size_t max_rows) override;
  Result<uint64_t> PruneEvents(Micros before) override;
  Result<uint64_t> CapEvents(uint64_t max_rows) override;
  Result<StoreCounts> Counts() override;
  int schema_version() const override { return version_; }

  // One table of the event log (see "The event log" below).
  struct Segment {
    int64_t id;
    Micros first_time, last_time;
    int64_t rows;
    bool sealed;
  };

 private:
  // The event log's segments, newest first. Caller holds mu_.
  Result<std::vector<Segment>> SegmentsLocked();
  // Finalizes and forgets the cached statements that name `table` (before it is dropped).
  void DropCachedStatements(const std::string& table);
  // Returns the cached statement for `sql` (prepared on first use). Caller holds mu_.
  Result<sqlite3_stmt*> Prepare(const std::string& sql);
  Status Exec(const char* sql, std::string_view what);
  // Runs `body` between BEGIN and COMMIT, rolling back if it fails. A write transaction
  // takes the write lock up front (BEGIN IMMEDIATE) so it never fails half way on a lock
  // another process holds; a read-only one does not block writers. Caller holds mu_.
  template <typename F>
  Status InTransaction(F&& body, bool write = true);
  Result<std::optional<EntityRecord>> GetEntityLocked(const std::string& id);
  Result<std::optional<nlohmann::json>> GetDoc(const std::string& sql, const std::string* id,
                                               std::string_view what);
  Result<std::vector<nlohmann::json>> ListDocs(const std::string& sql, size_t limit, size_t offset,
                                               std::string_view what);

  sqlite3* db_;
  std::string path_;
  std::mutex mu_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
  int version_ = 0;
};

#define VIGIL_PREPARE(var, sql)               \
  auto var##_r = Prepare(sql);                \
  if (!var##_r.ok()) return var##_r.status(); \
  Stmt var(db_, *var##_r)

Result<sqlite3_stmt*> SqliteStore::Prepare(const std::string& sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  stmts_.emplace(sql, s);
  return s;
}

Status SqliteStore::Exec(const char* sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status st = SqliteError(nullptr, rc, what);
    return Status(st.code(), "sqlite: " + std::string(what) + ": " + msg);
  }
  return Status::Ok();
}

template <typename F>
Status SqliteStore::InTransaction(F&& body, bool write) {
  VIGIL_RETURN_IF_ERROR(Exec(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", "begin"));
  Status st = body();
  if (!st.ok()) {
    (void)Exec("ROLLBACK", "rollback");
    return st;
  }
  st = Exec("COMMIT", "commit");
  if (!st.ok()) (void)Exec("ROLLBACK", "rollback");
  return st;
}

Status SqliteStore::Init(std::span<const Migration> migrations) {
  VIGIL_RETURN_IF_ERROR(CheckMigrationList(migrations));
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  {
    // journal_mode answers with the mode in force: anything but "wal" means WAL is off.
    VIGIL_PREPARE(wal, "PRAGMA journal_mode=WAL");
    if (wal.Step() != SQLITE_ROW) return SqliteError(db_, sqlite3_errcode(db_), path_);
    if (wal.ColText(0) != "wal") {
      return IoError("sqlite: " + path_ + ": cannot enable WAL mode (journal_mode is " +
                     wal.ColText(0) + ")");
    }
  }
  VIGIL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL", "synchronous"));
  // A 64 MiB page cache (the default is 2 MiB): sealing an event-log segment sorts its
  // index entries in memory, and the console's queries read across segments.
  VIGIL_RETURN_IF_ERROR(Exec("PRAGMA cache_size=-65536", "cache_size"));
  const int latest = migrations.back().version;
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    int current = 0;
    {
      VIGIL_PREPARE(v, "PRAGMA user_version");
      if (v.Step() != SQLITE_ROW) return SqliteError(db_, sqlite3_errcode(db_), "user_version");
      current = static_cast<int>(v.ColInt(0));
    }
    if (current > latest) return NewerSchemaError(path_, current, latest);
    for (const auto& m : migrations) {
      if (m.version <= current) continue;
      std::string sql(m.sql);
      Status st = Exec(sql.c_str(), "migration " + std::to_string(m.version));
      if (!st.ok())
        return Status(st.code(), st.message() + " (" + std::string(m.description) + ")");
    }
    if (current != latest) {
      std::string set = "PRAGMA user_version=" + std::to_string(latest);
      VIGIL_RETURN_IF_ERROR(Exec(set.c_str(), "user_version"));
    }
    version_ = latest;
    return Status::Ok();
  });
}

constexpr const char* kEntityCols =
    "id, type, name, addresses, names, first_seen, last_seen, role, tags, events, facts";

Result<EntityRecord> EntityFromRow(const Stmt& s) {
  EntityRecord e;
  e.id = s.ColText(0);
  e.type = s.ColText(1);
  e.name = s.ColText(2);
  auto addresses = s.ColJson(3, "entities.addresses");
  auto names = s.ColJson(4, "entities.names");
  auto tags = s.ColJson(8, "entities.tags");
  auto facts = s.ColJson(10, "entities.facts");
  for (auto* r : {&addresses, &names, &tags, &facts}) {
    if (!r->ok()) return r->status();
  }
  e.addresses = StringsFromJson(*addresses);
  e.names = StringsFromJson(*names);
  e.first_seen = s.ColInt(5);
  e.last_seen = s.ColInt(6);
  e.role = s.ColText(7);
  e.tags = StringsFromJson(*tags);
  e.events = static_cast<uint64_t>(s.ColInt(9));
  e.facts = std::move(*facts);
  return e;
}

Result<std::optional<EntityRecord>> SqliteStore::GetEntityLocked(const std::string& id) {
  VIGIL_PREPARE(s, std::string("SELECT ") + kEntityCols + " FROM entities WHERE id = ?1");
  s.Text(id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<EntityRecord>();
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, "get entity");
  auto e = EntityFromRow(s);
  if (!e.ok()) return e.status();
  return std::optional<EntityRecord>(std::move(*e));
}

Status SqliteStore::UpsertEntities(const std::vector<EntityRecord>& entities) {
  std::vector<EntityRecord> batch = CoalesceEntities(entities);
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    for (auto& add : batch) {
      auto existing = GetEntityLocked(add.id);
      if (!existing.ok()) return existing.status();
      EntityRecord rec;
      if (existing->has_value()) {
        rec = std::move(**existing);
        MergeEntity(rec, add);
      } else {
        rec = std::move(add);
      }
      VIGIL_PREPARE(s, std::string("INSERT OR REPLACE INTO entities (") + kEntityCols +
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      s.Text(rec.id).Text(rec.type).Text(rec.name).Json(StringsToJson(rec.addresses));
      s.Json(StringsToJson(rec.names)).Int(rec.first_seen).Int(rec.last_seen).Text(rec.role);
      s.Json(StringsToJson(rec.tags)).Int(static_cast<int64_t>(rec.events)).Json(rec.facts);
      VIGIL_RETURN_IF_ERROR(s.Run("upsert entity"));
    }
    return Status::Ok();
  });
}

Result<std::optional<EntityRecord>> SqliteStore::GetEntity(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetEntityLocked(id);
}

int64_t SqlLimit(size_t limit) { return limit == 0 ? -1 : static_cast<int64_t>(limit); }

Result<std::vector<EntityRecord>> SqliteStore::ListEntities(const std::string& type, size_t limit,
                                                            size_t offset) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s, std::string("SELECT ") + kEntityCols +
                       " FROM entities WHERE (?1 = '' OR type = ?1) ORDER BY id LIMIT ?2 "
                       "OFFSET ?3");
  s.Text(type).Int(SqlLimit(limit)).Int(static_cast<int64_t>(offset));
  std::vector<EntityRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    auto e = EntityFromRow(s);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "list entities");
  return out;
}

Status SqliteStore::PutBreaches(const std::vector<detect::Breach>& breaches) {
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    VIGIL_PREPARE(s,
                  "INSERT OR REPLACE INTO breaches (id, time, model, score, entity_id, peer_id, "
                  "weak, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (const auto& b : breaches) {
      s.Reset();
      s.Text(b.id).Int(b.time).Text(b.model).Int(b.score).Text(b.entity.id);
      s.Text(b.peer ? b.peer->id : std::string()).Int(b.weak ? 1 : 0).Json(BreachToDoc(b));
      VIGIL_RETURN_IF_ERROR(s.Run("put breach"));
    }
    return Status::Ok();
  });
}

Result<std::vector<detect::Breach>> ReadBreaches(sqlite3* db, Stmt& s) {
  std::vector<detect::Breach> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    auto doc = s.ColJson(0, "breaches.doc");
    if (!doc.ok()) return doc.status();
    auto b = BreachFromDoc(*doc);
    if (!b.ok()) return b.status();
    out.push_back(std::move(*b));
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "query breaches");
  return out;
}

Result<std::vector<detect::Breach>> SqliteStore::QueryBreaches(const BreachQuery& q) {
  // The WHERE clause holds only the filters in use, so each combination gets its own
  // (cached) plan and can use its index; values are always bound, never spliced.
  std::string sql = "SELECT doc FROM breaches WHERE score >= ?1";
  int n = 1;
  auto next = [&] { return "?" + std::to_string(++n); };
  if (!q.model.empty()) sql += " AND model = " + next();
  if (!q.entity.empty()) {
    if (q.include_peer) {
      std::string p = next();
      sql += " AND (entity_id = " + p + " OR peer_id = " + p + ")";
    } else {
      sql += " AND entity_id = " + next();
    }
  }
  if (q.since != 0) sql += " AND time >= " + next();
  if (q.until != 0) sql += " AND time < " + next();
  if (!q.include_weak) sql += " AND weak = 0";
  sql += " ORDER BY time DESC, id DESC LIMIT " + next();
  sql += " OFFSET " + next();
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s, sql);
  s.Int(q.min_score);
  if (!q.model.empty()) s.Text(q.model);
  if (!q.entity.empty()) s.Text(q.entity);
  if (q.since != 0) s.Int(q.since);
  if (q.until != 0) s.Int(q.until);
  s.Int(SqlLimit(q.limit)).Int(static_cast<int64_t>(q.offset));
  return ReadBreaches(db_, s);
}

Result<std::optional<detect::Breach>> SqliteStore::GetBreach(const std::string& id) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s, "SELECT doc FROM breaches WHERE id = ?1");
  s.Text(id);
  auto v = ReadBreaches(db_, s);
  if (!v.ok()) return v.status();
  if (v->empty()) return std::optional<detect::Breach>();
  return std::optional<detect::Breach>(std::move(v->front()));
}

Result<std::optional<nlohmann::json>> SqliteStore::GetDoc(const std::string& sql,
                                                          const std::string* id,
                                                          std::string_view what) {
  VIGIL_PREPARE(s, sql);
  if (id) s.Text(*id);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<nlohmann::json>();
  if (rc != SQLITE_ROW) return SqliteError(db_, rc, what);
  auto doc = s.ColJson(0, what);
  if (!doc.ok()) return doc.status();
  return std::optional<nlohmann::json>(std::move(*doc));
}

Result<std::vector<nlohmann::json>> SqliteStore::ListDocs(const std::string& sql, size_t limit,
                                                          size_t offset, std::string_view what) {
  VIGIL_PREPARE(s, sql);
  s.Int(SqlLimit(limit)).Int(static_cast<int64_t>(offset));
  std::vector<nlohmann::json> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    auto doc = s.ColJson(0, what);
    if (!doc.ok()) return doc.status();
    out.push_back(std::move(*doc));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, what);
  return out;
}

Status SqliteStore::PutIncident(const std::string& id, Micros start, Micros end, int score,
                                const std::string& state, const nlohmann::json& doc) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s,
                "INSERT OR REPLACE INTO incidents (id, \"start\", \"end\", score, state, doc) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  s.Text(id).Int(start).Int(end).Int(score).Text(state).Json(doc);
  return s.Run("put incident");
}

Result<std::vector<nlohmann::json>> SqliteStore::ListIncidents(size_t limit, size_t offset) {
  std::lock_guard lock(mu_);
  return ListDocs("SELECT doc FROM incidents ORDER BY \"start\" DESC, id DESC LIMIT ?1 OFFSET ?2",
                  limit, offset, "incidents.doc");
}

Result<std::optional<nlohmann::json>> SqliteStore::GetIncident(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetDoc("SELECT doc FROM incidents WHERE id = ?1", &id, "incidents.doc");
}

Status SqliteStore::PutAction(const std::string& id, const std::string& state, Micros expires,
                              const nlohmann::json& doc) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s,
                "INSERT OR REPLACE INTO actions (id, state, expires, doc) VALUES (?1, ?2, ?3, ?4)");
  s.Text(id).Text(state).Int(expires).Json(doc);
  return s.Run("put action");
}

Result<std::vector<nlohmann::json>> SqliteStore::ListActions(size_t limit, size_t offset) {
  std::lock_guard lock(mu_);
  return ListDocs("SELECT doc FROM actions ORDER BY expires DESC, id DESC LIMIT ?1 OFFSET ?2",
                  limit, offset, "actions.doc");
}

Result<std::optional<nlohmann::json>> SqliteStore::GetAction(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetDoc("SELECT doc FROM actions WHERE id = ?1", &id, "actions.doc");
}

Status SqliteStore::AppendAudit(const std::string& action_id, Micros at, const std::string& who,
                                const std::string& what, const nlohmann::json& detail) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s,
                "INSERT INTO audit (action_id, at, who, what, detail) VALUES (?1, ?2, ?3, ?4, ?5)");
  s.Text(action_id).Int(at).Text(who).Text(what).Json(detail);
  return s.Run("append audit");
}

Result<std::vector<nlohmann::json>> SqliteStore::ListAudit(const std::string& action_id) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s,
                "SELECT action_id, at, who, what, detail FROM audit WHERE action_id = ?1 "
                "ORDER BY at, seq");
  s.Text(action_id);
  std::vector<nlohmann::json> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    auto detail = s.ColJson(4, "audit.detail");
    if (!detail.ok()) return detail.status();
    out.push_back(
        AuditToJson(s.ColText(0), s.ColInt(1), s.ColText(2), s.ColText(3), std::move(*detail)));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "list audit");
  return out;
}

Status SqliteStore::SaveCheckpoint(const Checkpoint& cp) {
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    {
      VIGIL_PREPARE(s,
                    "INSERT OR REPLACE INTO checkpoint (slot, event_time, state, saved_at) "
                    "VALUES (1, ?1, ?2, ?3)");
      s.Int(cp.event_time).Blob(cp.state).Int(cp.saved_at);
      VIGIL_RETURN_IF_ERROR(s.Run("save checkpoint"));
    }
    {
      VIGIL_PREPARE(d, "DELETE FROM positions");
      VIGIL_RETURN_IF_ERROR(d.Run("clear positions"));
    }
    VIGIL_PREPARE(p,
                  "INSERT OR REPLACE INTO positions (input, file, \"offset\", line, inode, "
                  "fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    for (const auto& pos : cp.positions) {
      p.Reset();
      p.Text(pos.input).Text(pos.file).Int(static_cast<int64_t>(pos.offset));
      p.Int(static_cast<int64_t>(pos.line)).Int(static_cast<int64_t>(pos.inode));
      p.Text(pos.fingerprint);
      VIGIL_RETURN_IF_ERROR(p.Run("save position"));
    }
    return Status::Ok();
  });
}

Result<std::optional<Checkpoint>> SqliteStore::LoadCheckpoint() {
  std::lock_guard lock(mu_);
  std::optional<Checkpoint> out;
  // A read transaction, so the state and the positions come from the same save.
  Status st = InTransaction(
      [&]() -> Status {
        VIGIL_PREPARE(s, "SELECT event_time, state, saved_at FROM checkpoint WHERE slot = 1");
        int rc = s.Step();
        if (rc == SQLITE_DONE) return Status::Ok();
        if (rc != SQLITE_ROW) return SqliteError(db_, rc, "load checkpoint");
        Checkpoint cp;
        cp.event_time = s.ColInt(0);
        cp.state = s.ColText(1);
        cp.saved_at = s.ColInt(2);
        VIGIL_PREPARE(p,
                      "SELECT input, file, \"offset\", line, inode, fingerprint FROM positions "
                      "ORDER BY input");
        while ((rc = p.Step()) == SQLITE_ROW) {
          InputPosition pos;
          pos.input = p.ColText(0);
          pos.file = p.ColText(1);
          pos.offset = static_cast<uint64_t>(p.ColInt(2));
          pos.line = static_cast<uint64_t>(p.ColInt(3));
          pos.inode = static_cast<uint64_t>(p.ColInt(4));
          pos.fingerprint = p.ColText(5);
          cp.positions.push_back(std::move(pos));
        }
        if (rc != SQLITE_DONE) return SqliteError(db_, rc, "load positions");
        out = std::move(cp);
        return Status::Ok();
      },
      /*write=*/false);
  if (!st.ok()) return st;
  return out;
}

Status SqliteStore::AddRejects(const std::vector<RejectCount>& counts) {
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    VIGIL_PREPARE(s,
                  "INSERT INTO rejects (input, format, code, count, first_line, first_offset, "
                  "first_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                  "ON CONFLICT (input, format, code) DO UPDATE SET count = count + "
                  "excluded.count");
    for (const auto& r : counts) {
      s.Reset();
      s.Text(r.input).Text(r.format).Text(r.code).Int(static_cast<int64_t>(r.count));
      s.Int(static_cast<int64_t>(r.first_line)).Int(static_cast<int64_t>(r.first_offset));
      s.Text(r.first_reason);
      VIGIL_RETURN_IF_ERROR(s.Run("add rejects"));
    }
    return Status::Ok();
  });
}

Result<std::vector<RejectCount>> SqliteStore::ListRejects() {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s,
                "SELECT input, format, code, count, first_line, first_offset, first_reason "
                "FROM rejects ORDER BY input, format, code");
  std::vector<RejectCount> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    RejectCount r;
    r.input = s.ColText(0);
    r.format = s.ColText(1);
    r.code = s.ColText(2);
    r.count = static_cast<uint64_t>(s.ColInt(3));
    r.first_line = static_cast<uint64_t>(s.ColInt(4));
    r.first_offset = static_cast<uint64_t>(s.ColInt(5));
    r.first_reason = s.ColText(6);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "list rejects");
  return out;
}

Status SqliteStore::PutIngestStats(const nlohmann::json& stats) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s, "INSERT OR REPLACE INTO ingest_stats (slot, doc) VALUES (1, ?1)");
  s.Json(stats);
  return s.Run("put ingest stats");
}

Result<nlohmann::json> SqliteStore::GetIngestStats() {
  std::lock_guard lock(mu_);
  auto doc = GetDoc("SELECT doc FROM ingest_stats WHERE slot = 1", nullptr, "ingest_stats.doc");
  if (!doc.ok()) return doc.status();
  return doc->value_or(nlohmann::json::object());
}

Status SqliteStore::PutVulnerabilities(const std::string& device_id, const nlohmann::json& cves) {
  std::lock_guard lock(mu_);
  VIGIL_PREPARE(s, "INSERT OR REPLACE INTO vulnerabilities (device_id, doc) VALUES (?1, ?2)");
  s.Text(device_id).Json(cves);
  return s.Run("put vulnerabilities");
}

Result<nlohmann::json> SqliteStore::GetVulnerabilities(const std::string& device_id) {
  std::lock_guard lock(mu_);
  auto doc = GetDoc("SELECT doc FROM vulnerabilities WHERE device_id = ?1", &device_id,
                    "vulnerabilities.doc");
  if (!doc.ok()) return doc.status();
  return doc->value_or(nlohmann::json::array());
}

// The event log. Appending a row to tables with two secondary indexes costs a random
// B-tree insert per index, which made the log four times slower than detection. So the log
// is a series of segment tables: rows are appended to the open segment (no index, in
// arrival order = rowid order), and once it holds kDefaultEventSegmentRows rows it is sealed: its
// two indexes are built in one pass (CREATE INDEX sorts, then writes each page once) and a
// new segment opens. Queries run on every segment (the open one is scanned, which is cheap
// at that size) and merge; pruning drops whole segments and trims the one that straddles.
std::atomic<int64_t> g_event_segment_rows{kDefaultEventSegmentRows};

std::string SegmentTable(int64_t id) { return "events_" + std::to_string(id); }

// Segments index a 64-bit hash of the entity and peer ids rather than the text: the index
// sorts and compares integers (building it is several times faster), and queries check the
// text too, so a collision costs a row read, never a wrong answer.
int64_t IdKey(std::string_view id) { return static_cast<int64_t>(HashValue(id)); }

constexpr const char* kEventCols = "time, entity, peer, kind, summary, uid, input, line, \"offset\", bytes";

void SqliteStore::DropCachedStatements(const std::string& t) {
  for (auto it = stmts_.begin(); it != stmts_.end();) {
    size_t at = it->first.find(t);
    bool mentions = false;
    for (; at != std::string::npos && !mentions; at = it->first.find(t, at + 1)) {
      size_t after = at + t.size();
      mentions = after == it->first.size() || !std::isalnum(static_cast<unsigned char>(it->first[after]));
    }
    if (mentions) {
      sqlite3_finalize(it->second);
      it = stmts_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::vector<SqliteStore::Segment>> SqliteStore::SegmentsLocked() {
  VIGIL_PREPARE(s, "SELECT id, first_time, last_time, rows, sealed FROM event_segments ORDER BY id DESC");
  std::vector<Segment> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW)
    out.push_back({s.ColInt(0), s.ColInt(1), s.ColInt(2), s.ColInt(3), s.ColInt(4) != 0});
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "event segments");
  return out;
}

Status SqliteStore::PutEvents(const std::vector<EventRecord>& events) {
  if (events.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    size_t at = 0;
    while (at < events.size()) {
      auto segs = SegmentsLocked();
      if (!segs.ok()) return segs.status();
      // Append to the newest segment unless there is none or it is sealed.
      Segment seg = segs->empty() ? Segment{0, 0, 0, 0, true} : segs->front();
      if (seg.sealed) {
        seg = Segment{seg.id + 1, events[at].time, events[at].time, 0, false};
        std::string ddl = "CREATE TABLE IF NOT EXISTS " + SegmentTable(seg.id) +
                          " (time INTEGER NOT NULL, entity TEXT NOT NULL, peer TEXT NOT NULL, "
                          "kind TEXT NOT NULL, summary TEXT NOT NULL, uid TEXT NOT NULL, input TEXT "
                          "NOT NULL, line INTEGER NOT NULL, \"offset\" INTEGER NOT NULL, bytes INTEGER "
                          "NOT NULL, ekey INTEGER NOT NULL, pkey INTEGER NOT NULL)";
        VIGIL_RETURN_IF_ERROR(Exec(ddl.c_str(), "create event segment"));
        VIGIL_PREPARE(c, "INSERT INTO event_segments (id, first_time, last_time, rows, sealed) "
                         "VALUES (?1, ?2, ?2, 0, 0)");
        c.Int(seg.id).Int(seg.first_time);
        VIGIL_RETURN_IF_ERROR(c.Run("open event segment"));
      }
      size_t room = static_cast<size_t>(std::max<int64_t>(1, g_event_segment_rows.load() - seg.rows));
      size_t end = std::min(events.size(), at + room);
      Micros first = seg.rows ? seg.first_time : events[at].time, last = seg.last_time;
      {
        VIGIL_PREPARE(s, "INSERT INTO " + SegmentTable(seg.id) + " (" + kEventCols +
                             ", ekey, pkey) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
        for (size_t i = at; i < end; ++i) {
          const EventRecord& e = events[i];
          s.Reset();
          s.Int(e.time).Text(e.entity).Text(e.peer).Text(e.kind).Text(e.summary).Text(e.uid);
          s.Text(e.input).Int(static_cast<int64_t>(e.line)).Int(static_cast<int64_t>(e.offset));
          s.Int(static_cast<int64_t>(e.bytes)).Int(IdKey(e.entity)).Int(IdKey(e.peer));
          VIGIL_RETURN_IF_ERROR(s.Run("put event"));
          first = std::min(first, e.time);
          last = std::max(last, e.time);
        }
      }
      int64_t rows = seg.rows + static_cast<int64_t>(end - at);
      bool seal = rows >= g_event_segment_rows.load();
      if (seal) {
        std::string t = SegmentTable(seg.id);
        std::string idx = "CREATE INDEX IF NOT EXISTS " + t + "_entity ON " + t + "(ekey, time); " +
                          "CREATE INDEX IF NOT EXISTS " + t + "_peer ON " + t + "(pkey, time)";
        VIGIL_RETURN_IF_ERROR(Exec(idx.c_str(), "seal event segment"));
      }
      VIGIL_PREPARE(u, "UPDATE event_segments SET first_time = ?2, last_time = ?3, rows = ?4, "
                       "sealed = ?5 WHERE id = ?1");
      u.Int(seg.id).Int(first).Int(last).Int(rows).Int(seal ? 1 : 0);
      VIGIL_RETURN_IF_ERROR(u.Run("update event segment"));
      at = end;
    }
    return Status::Ok();
  });
}

Result<std::vector<EventRecord>> SqliteStore::QueryEvents(const EventQuery& q) {
  // Each segment is asked for its newest offset+limit matches; the merge keeps the order
  // (time, then segment and rowid, descending). Only the filters in use are in the SQL.
  std::string where = " WHERE ((ekey = ?2 AND entity = ?1) OR (pkey = ?2 AND peer = ?1))";
  int n = 2;
  auto next = [&] { return "?" + std::to_string(++n); };
  if (!q.kind.empty()) where += " AND kind = " + next();
  if (!q.peer.empty()) {
    std::string p = next();
    where += " AND ((entity = ?1 AND peer = " + p + ") OR (peer = ?1 AND entity = " + p + "))";
  }
  if (!q.text.empty()) {
    std::string t = next();
    where += " AND (instr(summary, " + t + ") > 0 OR instr(uid, " + t + ") > 0)";
  }
  if (q.since != 0) where += " AND time >= " + next();
  if (q.until != 0) where += " AND time < " + next();
  std::string tail = " ORDER BY time DESC, rowid DESC LIMIT " + next();
  const int64_t want = q.limit == 0 ? -1 : static_cast<int64_t>(q.limit + q.offset);
  std::lock_guard lock(mu_);
  auto segs = SegmentsLocked();
  if (!segs.ok()) return segs.status();
  struct Row {
    EventRecord e;
    int64_t seg, rowid;
  };
  std::vector<Row> rows;
  for (const auto& seg : *segs) {
    if ((q.since && seg.last_time < q.since) || (q.until && seg.first_time >= q.until)) continue;
    VIGIL_PREPARE(s, std::string("SELECT ") + kEventCols + ", rowid FROM " + SegmentTable(seg.id) + where + tail);
    s.Text(q.entity).Int(IdKey(q.entity));
    if (!q.kind.empty()) s.Text(q.kind);
    if (!q.peer.empty()) s.Text(q.peer);
    if (!q.text.empty()) s.Text(q.text);
    if (q.since != 0) s.Int(q.since);
    if (q.until != 0) s.Int(q.until);
    s.Int(want);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      Row r;
      r.e.time = s.ColInt(0);
      r.e.entity = s.ColText(1);
      r.e.peer = s.ColText(2);
      r.e.kind = s.ColText(3);
      r.e.summary = s.ColText(4);
      r.e.uid = s.ColText(5);
      r.e.input = s.ColText(6);
      r.e.line = static_cast<uint64_t>(s.ColInt(7));
      r.e.offset = static_cast<uint64_t>(s.ColInt(8));
      r.e.bytes = static_cast<uint64_t>(s.ColInt(9));
      r.seg = seg.id;
      r.rowid = s.ColInt(10);
      rows.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "query events");
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.e.time, a.seg, a.rowid) > std::tie(b.e.time, b.seg, b.rowid);
  });
  std::vector<EventRecord> out;
  for (size_t i = q.offset; i < rows.size() && (q.limit == 0 || out.size() < q.limit); ++i)
    out.push_back(std::move(rows[i].e));
  return out;
}

Result<std::vector<std::pair<Micros, uint64_t>>> SqliteStore::EventCounts(const std::string& entity,
                                                                          Micros bucket,
                                                                          Micros since,
                                                                          Micros until) {
  if (bucket <= 0) return InvalidArgument("event counts: bucket must be positive");
  if (until == 0) until = INT64_MAX;
  std::lock_guard lock(mu_);
  auto segs = SegmentsLocked();
  if (!segs.ok()) return segs.status();
  std::map<Micros, uint64_t> counts;
  for (const auto& seg : *segs) {
    if (seg.last_time < since || seg.first_time >= until) continue;
    VIGIL_PREPARE(s, "SELECT (time / ?2) * ?2 AS b, COUNT(*) FROM " + SegmentTable(seg.id) +
                         " WHERE ((ekey = ?5 AND entity = ?1) OR (pkey = ?5 AND peer = ?1)) AND "
                         "time >= ?3 AND time < ?4 GROUP BY b");
    s.Text(entity).Int(bucket).Int(since).Int(until).Int(IdKey(entity));
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) counts[s.ColInt(0)] += static_cast<uint64_t>(s.ColInt(1));
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "event counts");
  }
  return std::vector<std::pair<Micros, uint64_t>>(counts.begin(), counts.end());
}

// Sums rows of (other, count, bytes, first, last) per (entity, other) into `acc`.
Status AccumulateActivity(sqlite3* db, Stmt& s, bool has_entity_col,
                          std::map<std::pair<std::string, std::string>, PeerActivity>& acc,
                          const std::string& entity) {
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    int c = 0;
    std::string e = has_entity_col ? s.ColText(c++) : entity;
    std::string p = s.ColText(c++);
    PeerActivity& a = acc[{e, p}];
    if (a.events == 0) {
      a.entity = e;
      a.peer = p;
      a.first_seen = INT64_MAX;
      a.last_seen = INT64_MIN;
    }
    a.events += static_cast<uint64_t>(s.ColInt(c++));
    a.bytes += static_cast<uint64_t>(s.ColInt(c++));
    a.first_seen = std::min(a.first_seen, s.ColInt(c++));
    a.last_seen = std::max(a.last_seen, s.ColInt(c++));
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "peer activity");
  return Status::Ok();
}

// Busiest first (then entity, peer), at most `limit` (0 = all).
std::vector<PeerActivity> Busiest(std::map<std::pair<std::string, std::string>, PeerActivity>& acc,
                                  size_t limit) {
  std::vector<PeerActivity> out;
  out.reserve(acc.size());
  for (auto& [k, a] : acc) out.push_back(std::move(a));
  std::stable_sort(out.begin(), out.end(),
                   [](const PeerActivity& a, const PeerActivity& b) { return a.events > b.events; });
  if (limit && out.size() > limit) out.resize(limit);
  return out;
}

Result<std::vector<PeerActivity>> SqliteStore::Peers(const std::string& entity, Micros before,
                                                     size_t limit) {
  std::lock_guard lock(mu_);
  auto segs = SegmentsLocked();
  if (!segs.ok()) return segs.status();
  std::map<std::pair<std::string, std::string>, PeerActivity> acc;
  for (const auto& seg : *segs) {
    if (seg.first_time >= before) continue;
    std::string t = SegmentTable(seg.id);
    VIGIL_PREPARE(s, "SELECT other, COUNT(*), SUM(bytes), MIN(time), MAX(time) FROM ("
                     "SELECT peer AS other, bytes, time FROM " + t + " WHERE ekey = ?3 AND entity = ?1 AND "
                     "time < ?2 AND peer != '' UNION ALL "
                     "SELECT entity AS other, bytes, time FROM " + t + " WHERE pkey = ?3 AND peer = ?1 AND "
                     "time < ?2) GROUP BY other");
    s.Text(entity).Int(before).Int(IdKey(entity));
    VIGIL_RETURN_IF_ERROR(AccumulateActivity(db_, s, false, acc, entity));
  }
  return Busiest(acc, limit);
}

Result<std::vector<PeerActivity>> SqliteStore::BusiestPairs(Micros since, size_t limit,
                                                            size_t max_rows) {
  std::lock_guard lock(mu_);
  auto segs = SegmentsLocked();
  if (!segs.ok()) return segs.status();
  std::map<std::pair<std::string, std::string>, PeerActivity> acc;
  int64_t budget = max_rows == 0 ? INT64_MAX : static_cast<int64_t>(max_rows);
  for (const auto& seg : *segs) {  // newest first
    if (budget <= 0 || seg.last_time < since) break;
    VIGIL_PREPARE(s, "SELECT entity, peer, COUNT(*), SUM(bytes), MIN(time), MAX(time) FROM " +
                         SegmentTable(seg.id) + " WHERE rowid > ?2 AND peer != '' AND time >= ?1 "
                         "GROUP BY entity, peer");
    s.Int(since).Int(std::max<int64_t>(0, seg.rows - budget));
    VIGIL_RETURN_IF_ERROR(AccumulateActivity(db_, s, true, acc, ""));
    budget -= seg.rows;
  }
  return Busiest(acc, limit);
}

Result<uint64_t> SqliteStore::PruneEvents(Micros before) {
  std::lock_guard lock(mu_);
  uint64_t removed = 0;
  Status st = InTransaction([&]() -> Status {
    auto segs = SegmentsLocked();
    if (!segs.ok()) return segs.status();
    for (const auto& seg : *segs) {
      if (seg.first_time >= before) continue;
      std::string t = SegmentTable(seg.id);
      if (seg.last_time < before) {  // wholly old: drop the table
        std::string drop = "DROP TABLE IF EXISTS " + t;
        DropCachedStatements(t);
        VIGIL_RETURN_IF_ERROR(Exec(drop.c_str(), "drop event segment"));
        VIGIL_PREPARE(d, "DELETE FROM event_segments WHERE id = ?1");
        d.Int(seg.id);
        VIGIL_RETURN_IF_ERROR(d.Run("drop event segment"));
        removed += static_cast<uint64_t>(seg.rows);
        continue;
      }
      VIGIL_PREPARE(d, "DELETE FROM " + t + " WHERE time < ?1");
      d.Int(before);
      VIGIL_RETURN_IF_ERROR(d.Run("prune events"));
      int64_t n = sqlite3_changes64(db_);
      removed += static_cast<uint64_t>(n);
      VIGIL_PREPARE(m, "SELECT MIN(time) FROM " + t);
      Micros first = before;
      if (m.Step() == SQLITE_ROW) first = m.ColInt(0);
      VIGIL_PREPARE(u, "UPDATE event_segments SET rows = rows - ?2, first_time = ?3 WHERE id = ?1");
      u.Int(seg.id).Int(n).Int(first);
      VIGIL_RETURN_IF_ERROR(u.Run("prune events"));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return removed;
}

Result<uint64_t> SqliteStore::CapEvents(uint64_t max_rows) {
  std::lock_guard lock(mu_);
  uint64_t removed = 0;
  Status st = InTransaction([&]() -> Status {
    auto segs = SegmentsLocked();  // newest first
    if (!segs.ok()) return segs.status();
    uint64_t total = 0;
    for (const auto& seg : *segs) total += static_cast<uint64_t>(seg.rows);
    // Oldest first, never the open (newest) segment, and only while what stays is still at
    // least max_rows: the log keeps between max_rows and max_rows + one segment.
    for (auto it = segs->rbegin(); it != segs->rend(); ++it) {
      if (it->id == segs->front().id || total - static_cast<uint64_t>(it->rows) < max_rows) break;
      std::string t = SegmentTable(it->id);
      DropCachedStatements(t);
      std::string drop = "DROP TABLE IF EXISTS " + t;
      VIGIL_RETURN_IF_ERROR(Exec(drop.c_str(), "drop event segment"));
      VIGIL_PREPARE(d, "DELETE FROM event_segments WHERE id = ?1");
      d.Int(it->id);
      VIGIL_RETURN_IF_ERROR(d.Run("drop event segment"));
      total -= static_cast<uint64_t>(it->rows);
      removed += static_cast<uint64_t>(it->rows);
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return removed;
}

Result<StoreCounts> SqliteStore::Counts() {
  std::lock_guard lock(mu_);
  StoreCounts c;
  {
    VIGIL_PREPARE(s, "SELECT model, weak, COUNT(*) FROM breaches GROUP BY model, weak");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW)
      (s.ColInt(1) ? c.weak_by_model : c.breaches_by_model)[s.ColText(0)] += static_cast<uint64_t>(s.ColInt(2));
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "count breaches");
  }
  {
    VIGIL_PREPARE(s, "SELECT state, COUNT(*) FROM actions GROUP BY state");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) c.actions_by_state[s.ColText(0)] = static_cast<uint64_t>(s.ColInt(1));
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "count actions");
  }
  VIGIL_PREPARE(s, "SELECT COUNT(*) FROM incidents");
  if (s.Step() != SQLITE_ROW) return SqliteError(db_, sqlite3_errcode(db_), "count incidents");
  c.incidents = static_cast<uint64_t>(s.ColInt(0));
  return c;
}

}  // namespace

std::span<const Migration> SqliteMigrations() { return kSqliteMigrations; }

void SetEventSegmentRowsForTest(int64_t rows) {
  g_event_segment_rows = rows > 0 ? rows : kDefaultEventSegmentRows;
}

Result<std::unique_ptr<Store>> OpenSqliteStoreWith(const std::string& dir,
                                                   std::span<const Migration> migrations) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("store: cannot create " + dir + ": " + ec.message());
  std::string path = (std::filesystem::path(dir) / "vigil.db").string();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "open " + path);
    sqlite3_close(db);
    return st;
  }
  auto store = std::make_unique<SqliteStore>(db, path);
  Status st = store->Init(migrations);
  if (!st.ok()) {
    if (st.message().find(path) != std::string::npos) return st;
    return Status(st.code(), path + ": " + st.message());
  }
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& dir) {
  return OpenSqliteStoreWith(dir, SqliteMigrations());
}

}  // namespace vigil::store
