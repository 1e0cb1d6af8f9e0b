// The SQLite store: one file, dir/vigil.db, in WAL mode so readers (the UI, `vigil
// device`) never block the engine's writes. One connection guarded by a mutex; prepared
// statements are cached on it; every call is one transaction (batches included).
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <unordered_map>

#include "store/event_files.h"
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

// Migration 3: the event log moved to segment files (event_files.h). The old catalogue goes
// here; its segment tables events_<id> are dropped by Init (their names are not known to
// a static statement). The log is a rolling window of days, so nothing is carried over.
constexpr std::string_view kSqliteV3 = R"sql(
DROP TABLE IF EXISTS event_segments;
)sql";
constexpr int kEventFilesVersion = 3;

// Migration 4: the type index covers every type but "device". Devices are nearly every
// row of a network's store, and their listing walks the primary key (in id order, where
// nearly every row is one); the index serves the listing of the few identities, cloud
// resources and external hosts among them. Kept for every row, it was never used (SQLite
// walked the primary key for every listing, `ORDER BY id` with a LIMIT) and cost a
// quarter of inserting 100,000 new devices (0.28-0.33 s against 0.22-0.25 s).
constexpr std::string_view kSqliteV4 = R"sql(
DROP INDEX IF EXISTS entities_type;
CREATE INDEX entities_other_types ON entities(type, id) WHERE type <> 'device';
)sql";

// Migration 5: entities keyed by id alone (WITHOUT ROWID). With a rowid, a row lived in
// the rowid table and its id again in the primary key's index, so storing an entity wrote
// two B-trees and finding one by id read two; now the row sits in the id's own B-tree.
// Rows are about 150 bytes, well inside what SQLite advises for such tables. The columns
// are migration 1's, written out again on purpose: an applied migration's text never
// changes, so two migrations do not share a definition one of them could change.
constexpr std::string_view kSqliteV5 = R"sql(
CREATE TABLE entities_by_id (
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
) WITHOUT ROWID;
INSERT INTO entities_by_id SELECT id, type, name, addresses, names, first_seen, last_seen, role, tags, events, facts FROM entities;
DROP TABLE entities;
ALTER TABLE entities_by_id RENAME TO entities;
CREATE INDEX entities_other_types ON entities(type, id) WHERE type <> 'device';
)sql";

constexpr Migration kSqliteMigrations[] = {
    {1, "initial schema", kSqliteV1},
    {2, "event log", kSqliteV2},
    {kEventFilesVersion, "event log in segment files", kSqliteV3},
    {4, "type index without devices", kSqliteV4},
    {5, "entities without rowid", kSqliteV5},
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
  // Text that stays valid until the statement has run (no copy).
  Stmt& TextStatic(std::string_view v) {
    sqlite3_bind_text(s_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
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
  // Opens the event log's segment files in `dir`/events.
  Status OpenEventLog(const std::string& dir) {
    auto f = EventFiles::Open(dir);
    if (!f.ok()) return f.status();
    events_ = std::move(*f);
    return Status::Ok();
  }

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
  Status PutEventRows(EventRows& rows) override;
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

 private:
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
  std::unique_ptr<EventFiles> events_;
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
  // SQLite's default page cache (2 MiB). A 64 MiB one was set while the event log lived in
  // SQLite tables; it no longer does (store/event_files.h), and for what stays here the
  // large cache only filled fresh memory when a replay stored its entities: about 10 MB of
  // the peak of a 100,000-device replay.
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
    if (current >= 2 && current < kEventFilesVersion && latest >= kEventFilesVersion) {
      std::vector<std::string> tables;
      {
        VIGIL_PREPARE(t, "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'events_[0-9]*'");
        while (t.Step() == SQLITE_ROW) tables.push_back(t.ColText(0));
      }
      for (const auto& t : tables) {
        std::string drop = "DROP TABLE IF EXISTS \"" + t + "\"";
        VIGIL_RETURN_IF_ERROR(Exec(drop.c_str(), "drop old event segment"));
      }
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
  auto addresses = StringsFromJsonText(s.ColText(3), "entities.addresses");
  auto names = StringsFromJsonText(s.ColText(4), "entities.names");
  auto tags = StringsFromJsonText(s.ColText(8), "entities.tags");
  auto facts = s.ColJson(10, "entities.facts");
  for (auto* r : {&addresses, &names, &tags}) {
    if (!r->ok()) return r->status();
  }
  if (!facts.ok()) return facts.status();
  e.addresses = std::move(*addresses);
  e.names = std::move(*names);
  e.first_seen = s.ColInt(5);
  e.last_seen = s.ColInt(6);
  e.role = s.ColText(7);
  e.tags = std::move(*tags);
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

// Rows per INSERT when storing entities. Run once per row, the statement's own set-up and
// tear-down were about a fifth of the end-of-replay flush: 100,000 new devices took
// 0.32-0.38 s one row a statement, 0.26-0.34 s 32 rows a statement (five runs each;
// docs/performance.md, session 10).
constexpr size_t kEntityRowsPerInsert = 32;

// "INSERT INTO entities (...) VALUES (?,...), (?,...) ... ON CONFLICT(id) DO NOTHING
// RETURNING id" for `rows` rows.
std::string EntityInsertSql(size_t rows) {
  std::string sql = std::string("INSERT INTO entities (") + kEntityCols + ") VALUES ";
  for (size_t r = 0; r < rows; ++r)
    sql += r == 0 ? "(?,?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?,?)";
  return sql + " ON CONFLICT(id) DO NOTHING RETURNING id";
}

Status SqliteStore::UpsertEntities(const std::vector<EntityRecord>& entities) {
  std::vector<EntityRecord> batch = CoalesceEntities(entities);  // unique ids, sorted
  std::lock_guard lock(mu_);
  // The JSON texts of the rows being inserted, bound without copies: they outlive the
  // statement's run.
  struct Texts {
    std::string addresses, names, tags, facts;
  };
  std::vector<Texts> texts(kEntityRowsPerInsert);
  auto bind = [](Stmt& s, const EntityRecord& rec, Texts& t) {
    t.addresses = StringsToJsonText(rec.addresses);
    t.names = StringsToJsonText(rec.names);
    t.tags = StringsToJsonText(rec.tags);
    t.facts = rec.facts.is_object() && rec.facts.empty() ? "{}" : DumpJson(rec.facts);
    s.TextStatic(rec.id).TextStatic(rec.type).TextStatic(rec.name).TextStatic(t.addresses);
    s.TextStatic(t.names).Int(rec.first_seen).Int(rec.last_seen).TextStatic(rec.role);
    s.TextStatic(t.tags).Int(static_cast<int64_t>(rec.events)).TextStatic(t.facts);
  };
  static const std::string kInsertMany = EntityInsertSql(kEntityRowsPerInsert);
  static const std::string kInsertOne = EntityInsertSql(1);
  return InTransaction([&]() -> Status {
    // Most entities of a batch are new the first time a process flushes them (a replay
    // into a fresh state folder: all of them). They are inserted where their id is free,
    // many rows to a statement, which returns the ids it inserted; only a taken id costs
    // the read, merge and replace.
    VIGIL_PREPARE(insert_many, kInsertMany);
    VIGIL_PREPARE(insert_one, kInsertOne);
    std::vector<size_t> taken;
    std::vector<std::string> inserted;
    for (size_t i = 0; i < batch.size();) {
      const size_t n = batch.size() - i >= kEntityRowsPerInsert ? kEntityRowsPerInsert : 1;
      Stmt& insert = n == 1 ? insert_one : insert_many;
      for (size_t r = 0; r < n; ++r) bind(insert, batch[i + r], texts[r]);
      inserted.clear();
      int rc;
      while ((rc = insert.Step()) == SQLITE_ROW) inserted.push_back(insert.ColText(0));
      if (rc != SQLITE_DONE) return SqliteError(db_, rc, "insert entities");
      insert.Reset();
      // The rows are sorted by id; so are the returned ids once sorted (SQLite does not
      // promise their order): one walk finds the rows that were not inserted.
      std::sort(inserted.begin(), inserted.end());
      size_t k = 0;
      for (size_t r = i; r < i + n; ++r) {
        if (k < inserted.size() && inserted[k] == batch[r].id) {
          ++k;
        } else {
          taken.push_back(r);
        }
      }
      i += n;
    }
    for (size_t r : taken) {
      EntityRecord& add = batch[r];
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
      bind(s, rec, texts[0]);
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
  // Three statements, so that each has the plan that suits it: every entity, and devices
  // (nearly every row), walk the primary key in id order; any other type is read from the
  // index entities_other_types, whose WHERE clause its own "type <> 'device'" matches.
  const char* where = type.empty()        ? "?1 = ''"
                      : type == "device" ? "type = ?1"
                                         : "type = ?1 AND type <> 'device'";
  VIGIL_PREPARE(s, std::string("SELECT ") + kEntityCols + " FROM entities WHERE " + where +
                       " ORDER BY id LIMIT ?2 OFFSET ?3");
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

// The event log lives in segment files beside the database (event_files.h): appending rows
// to SQLite tables and indexing them cost more than detection.
Status SqliteStore::PutEventRows(EventRows& rows) { return events_->PutRows(rows); }

Result<std::vector<EventRecord>> SqliteStore::QueryEvents(const EventQuery& q) { return events_->Query(q); }

Result<std::vector<std::pair<Micros, uint64_t>>> SqliteStore::EventCounts(const std::string& entity,
                                                                          Micros bucket, Micros since,
                                                                          Micros until) {
  return events_->Counts(entity, bucket, since, until);
}

Result<std::vector<PeerActivity>> SqliteStore::Peers(const std::string& entity, Micros before,
                                                     size_t limit) {
  return events_->Peers(entity, before, limit);
}

Result<std::vector<PeerActivity>> SqliteStore::BusiestPairs(Micros since, size_t limit,
                                                            size_t max_rows) {
  return events_->BusiestPairs(since, limit, max_rows);
}

Result<uint64_t> SqliteStore::PruneEvents(Micros before) { return events_->Prune(before); }

Result<uint64_t> SqliteStore::CapEvents(uint64_t max_rows) { return events_->Cap(max_rows); }

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
  if (st.ok()) st = store->OpenEventLog(dir);
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
