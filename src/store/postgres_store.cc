// The PostgreSQL store: the Store interface over a database several Vigil instances share
// (ARCHITECTURE.md "Scale"). Same tables as SQLite; JSONB for documents, BYTEA for state.
//
// Several instances may write at once. Entity upserts lock the rows they merge (SELECT ...
// FOR UPDATE, in id order so writers never deadlock each other) and merge in C++ with the
// same MergeEntity the SQLite store uses; a row that does not exist yet is created with
// INSERT ... ON CONFLICT DO NOTHING and, if another instance won that race, locked and
// merged. Every other write is a single-row upsert (ON CONFLICT). A transaction that
// PostgreSQL aborts as a deadlock or serialization failure is retried.
//
// Data is only ever passed as parameters (PQexecParams), never spliced into SQL. One
// connection per Store, guarded by a mutex; it is reset when the server drops it.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/event_rows.h"
#include "store/pq_api.h"
#include "store/store_internal.h"

namespace vigil::store {
namespace {

// Migration 1: the initial schema (the same tables as sqlite_store.cc).
constexpr std::string_view kPostgresV1 = R"sql(
CREATE TABLE entities (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  addresses JSONB NOT NULL DEFAULT '[]',
  names JSONB NOT NULL DEFAULT '[]',
  first_seen BIGINT NOT NULL DEFAULT 0,
  last_seen BIGINT NOT NULL DEFAULT 0,
  role TEXT NOT NULL DEFAULT '',
  tags JSONB NOT NULL DEFAULT '[]',
  events BIGINT NOT NULL DEFAULT 0,
  facts JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX entities_type ON entities(type, id);
CREATE TABLE breaches (
  id TEXT PRIMARY KEY,
  time BIGINT NOT NULL,
  model TEXT NOT NULL,
  score INTEGER NOT NULL,
  entity_id TEXT NOT NULL,
  peer_id TEXT NOT NULL DEFAULT '',
  weak BOOLEAN NOT NULL DEFAULT FALSE,
  doc JSONB NOT NULL
);
CREATE INDEX breaches_time ON breaches(time);
CREATE INDEX breaches_model ON breaches(model, time);
CREATE INDEX breaches_entity ON breaches(entity_id, time);
CREATE INDEX breaches_peer ON breaches(peer_id, time);
CREATE INDEX breaches_score ON breaches(score);
CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  "start" BIGINT NOT NULL,
  "end" BIGINT NOT NULL,
  score INTEGER NOT NULL,
  state TEXT NOT NULL,
  doc JSONB NOT NULL
);
CREATE INDEX incidents_start ON incidents("start");
CREATE TABLE actions (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  expires BIGINT NOT NULL,
  doc JSONB NOT NULL
);
CREATE INDEX actions_expires ON actions(expires);
CREATE TABLE audit (
  seq BIGSERIAL PRIMARY KEY,
  action_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  who TEXT NOT NULL,
  what TEXT NOT NULL,
  detail JSONB NOT NULL
);
CREATE INDEX audit_action ON audit(action_id, at, seq);
CREATE TABLE checkpoint (
  slot INTEGER PRIMARY KEY CHECK (slot = 1),
  event_time BIGINT NOT NULL,
  state BYTEA NOT NULL,
  saved_at BIGINT NOT NULL
);
CREATE TABLE positions (
  input TEXT PRIMARY KEY,
  file TEXT NOT NULL,
  "offset" BIGINT NOT NULL,
  line BIGINT NOT NULL,
  inode BIGINT NOT NULL,
  fingerprint TEXT NOT NULL
);
CREATE TABLE rejects (
  input TEXT NOT NULL,
  format TEXT NOT NULL,
  code TEXT NOT NULL,
  count BIGINT NOT NULL,
  first_line BIGINT NOT NULL,
  first_offset BIGINT NOT NULL,
  first_reason TEXT NOT NULL,
  PRIMARY KEY (input, format, code)
);
CREATE TABLE ingest_stats (
  slot INTEGER PRIMARY KEY CHECK (slot = 1),
  doc JSONB NOT NULL
);
CREATE TABLE vulnerabilities (
  device_id TEXT PRIMARY KEY,
  doc JSONB NOT NULL
);
)sql";

// Migration 2: the event log (as sqlite_store.cc); seq orders rows as they were appended.
constexpr std::string_view kPostgresV2 = R"sql(
CREATE TABLE events (
  seq BIGSERIAL PRIMARY KEY,
  time BIGINT NOT NULL,
  entity TEXT NOT NULL,
  peer TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  summary TEXT NOT NULL,
  uid TEXT NOT NULL DEFAULT '',
  input TEXT NOT NULL DEFAULT '',
  line BIGINT NOT NULL DEFAULT 0,
  "offset" BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX events_entity ON events(entity, time);
CREATE INDEX events_peer ON events(peer, time);
CREATE INDEX events_time ON events(time);
)sql";

constexpr Migration kPostgresMigrations[] = {
    {1, "initial schema", kPostgresV1},
    {2, "event log", kPostgresV2},
};

// How many times a transaction aborted by a deadlock or serialization failure is retried.
constexpr int kMaxTransactionRetries = 5;
// Serialises schema migrations of instances starting at once (pg_advisory_xact_lock key).
constexpr int64_t kMigrationLockKey = 0x76696769'6c000001;  // "vigil" + 1

// PostgreSQL rejects NUL bytes and invalid UTF-8 in text: such bytes (from hostile logs)
// become U+FFFD instead of failing the whole batch.
std::string ToPgText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    size_t len = 0;
    if (c == 0) {
      len = 0;
    } else if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 3) {
      unsigned char c1 = p[i + 1];
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogate
    } else if (ok && len == 4) {
      unsigned char c1 = p[i + 1];
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// JSON text for a JSONB parameter: JSONB cannot hold \u0000, so it becomes \ufffd.
// (DumpJson already replaced invalid UTF-8.)
std::string ToPgJson(const nlohmann::json& j) {
  std::string s = DumpJson(j);
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] != '\\') continue;
    if (s.compare(i, 6, "\\u0000") == 0) s.replace(i, 6, "\\ufffd");
    ++i;  // skip the escaped character: "\\\\u0000" is a backslash then text
  }
  return s;
}

// Parameters for one statement, all passed as text except bytea (binary).
class Params {
 public:
  Params& Text(std::string_view v) { return Add(ToPgText(v), 0); }
  Params& Int(int64_t v) { return Add(std::to_string(v), 0); }
  Params& Bool(bool v) { return Add(v ? "true" : "false", 0); }
  Params& Bytes(std::string_view v) { return Add(std::string(v), 1); }
  Params& Json(const nlohmann::json& j) { return Add(ToPgJson(j), 0); }

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() {
    ptrs_.clear();
    for (const auto& v : values_) ptrs_.push_back(v.data());
    return ptrs_.data();
  }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  Params& Add(std::string v, int format) {
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(format);
    values_.push_back(std::move(v));
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<const char*> ptrs_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { Pq().clear(r); }
};

// A query result (text format); columns are read by index.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  int size() const { return Pq().ntuples(r_.get()); }
  bool null(int row, int col) const { return Pq().getisnull(r_.get(), row, col); }
  std::string Text(int row, int col) const {
    return std::string(Pq().getvalue(r_.get(), row, col), Pq().getlength(r_.get(), row, col));
  }
  int64_t Int(int row, int col) const {
    return null(row, col) ? 0 : std::strtoll(Pq().getvalue(r_.get(), row, col), nullptr, 10);
  }
  std::string Bytea(int row, int col) const {
    size_t n = 0;
    unsigned char* b = Pq().unescape_bytea(
        reinterpret_cast<const unsigned char*>(Pq().getvalue(r_.get(), row, col)), &n);
    if (!b) return {};
    std::string out(reinterpret_cast<const char*>(b), n);
    Pq().freemem(b);
    return out;
  }
  Result<nlohmann::json> Json(int row, int col, std::string_view what) const {
    return ParseJson(Text(row, col), what);
  }
  const char* cmd_tuples() const { return Pq().cmd_tuples(r_.get()); }

 private:
  std::unique_ptr<PGresult, ResultDeleter> r_;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PGconn* conn) : conn_(conn) {
    where_ = std::string("postgres ") + (Pq().db(conn_) ? Pq().db(conn_) : "") + " on " +
             (Pq().host(conn_) ? Pq().host(conn_) : "") + ":" +
             (Pq().port(conn_) ? Pq().port(conn_) : "");
  }
  ~PostgresStore() override { Pq().finish(conn_); }

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
  // Runs one parameterised statement. Caller holds mu_.
  Result<Rows> Exec(const std::string& sql, Params params, std::string_view what);
  Result<Rows> Exec(const std::string& sql, std::string_view what) {
    return Exec(sql, Params(), what);
  }
  // Runs fixed SQL text that may hold several statements (migrations only: no data).
  Status ExecScript(const std::string& sql, std::string_view what);
  Status Error(PGresult* r, std::string_view what);
  // BEGIN; body; COMMIT, rolling back on failure and retrying deadlocks and serialization
  // failures. `body` must be safe to run again. Caller holds mu_.
  template <typename F>
  Status InTransaction(F&& body);
  void EnsureConnected();
  Result<std::optional<nlohmann::json>> GetDoc(const std::string& sql, Params params,
                                               std::string_view what);
  Result<std::vector<nlohmann::json>> ListDocs(const std::string& sql, size_t limit, size_t offset,
                                               std::string_view what);

  PGconn* conn_;
  std::string where_;
  std::mutex mu_;
  int version_ = 0;
  std::string last_sqlstate_;
};

bool Retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

Status PostgresStore::Error(PGresult* r, std::string_view what) {
  const char* state = r ? Pq().result_error_field(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string msg = r ? Pq().result_error_message(r) : Pq().error_message(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  msg = "postgres: " + std::string(what) + ": " + msg;
  if (Pq().status(conn_) == CONNECTION_BAD) return Unavailable(msg);
  const std::string& s = last_sqlstate_;
  if (s.rfind("08", 0) == 0 || s.rfind("53", 0) == 0 || s.rfind("57P", 0) == 0 || Retryable(s)) {
    return Unavailable(msg);
  }
  if (s.rfind("22", 0) == 0 || s.rfind("23", 0) == 0) return InvalidArgument(msg);
  return Internal(msg);
}

void PostgresStore::EnsureConnected() {
  if (Pq().status(conn_) == CONNECTION_BAD) Pq().reset(conn_);
}

Result<Rows> PostgresStore::Exec(const std::string& sql, Params params, std::string_view what) {
  PGresult* r = Pq().exec_params(conn_, sql.c_str(), params.size(), nullptr, params.values(),
                             params.lengths(), params.formats(), /*resultFormat=*/0);
  ExecStatusType st = r ? Pq().result_status(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status err = Error(r, what);
    Pq().clear(r);
    return err;
  }
  return Rows(r);
}

Status PostgresStore::ExecScript(const std::string& sql, std::string_view what) {
  PGresult* r = Pq().exec(conn_, sql.c_str());
  ExecStatusType st = r ? Pq().result_status(r) : PGRES_FATAL_ERROR;
  Status out = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? Status::Ok() : Error(r, what);
  Pq().clear(r);
  return out;
}

template <typename F>
Status PostgresStore::InTransaction(F&& body) {
  EnsureConnected();
  Status st;
  for (int attempt = 0; attempt <= kMaxTransactionRetries; ++attempt) {
    auto begin = Exec("BEGIN", "begin");
    if (!begin.ok()) return begin.status();
    last_sqlstate_.clear();
    st = body();
    if (st.ok()) {
      auto commit = Exec("COMMIT", "commit");
      if (commit.ok()) return Status::Ok();
      st = commit.status();
    }
    (void)Exec("ROLLBACK", "rollback");
    if (!Retryable(last_sqlstate_)) return st;
  }
  return st;
}

Status PostgresStore::Init(std::span<const Migration> migrations) {
  VIGIL_RETURN_IF_ERROR(CheckMigrationList(migrations));
  if (Pq().set_client_encoding(conn_, "UTF8") != 0) {
    return Unavailable("postgres: cannot set client encoding: " +
                       std::string(Pq().error_message(conn_)));
  }
  const int latest = migrations.back().version;
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    auto locked =
        Exec("SELECT pg_advisory_xact_lock($1)", Params().Int(kMigrationLockKey), "migration lock");
    if (!locked.ok()) return locked.status();
    VIGIL_RETURN_IF_ERROR(ExecScript(
        "CREATE TABLE IF NOT EXISTS vigil_schema (version INTEGER NOT NULL)", "schema table"));
    auto v = Exec("SELECT max(version) FROM vigil_schema", "schema version");
    if (!v.ok()) return v.status();
    int current = static_cast<int>(v->Int(0, 0));
    if (current > latest) return NewerSchemaError(where_, current, latest);
    for (const auto& m : migrations) {
      if (m.version <= current) continue;
      Status st = ExecScript(std::string(m.sql), "migration " + std::to_string(m.version));
      if (!st.ok()) {
        return Status(st.code(), st.message() + " (" + std::string(m.description) + ")");
      }
    }
    if (current != latest) {
      auto del = Exec("DELETE FROM vigil_schema", "schema version");
      if (!del.ok()) return del.status();
      auto ins = Exec("INSERT INTO vigil_schema (version) VALUES ($1)", Params().Int(latest),
                      "schema version");
      if (!ins.ok()) return ins.status();
    }
    version_ = latest;
    return Status::Ok();
  });
}

constexpr const char* kEntityCols =
    "id, type, name, addresses, names, first_seen, last_seen, role, tags, events, facts";

Result<EntityRecord> EntityFromRow(const Rows& r, int i) {
  EntityRecord e;
  e.id = r.Text(i, 0);
  e.type = r.Text(i, 1);
  e.name = r.Text(i, 2);
  auto addresses = r.Json(i, 3, "entities.addresses");
  auto names = r.Json(i, 4, "entities.names");
  auto tags = r.Json(i, 8, "entities.tags");
  auto facts = r.Json(i, 10, "entities.facts");
  for (auto* x : {&addresses, &names, &tags, &facts}) {
    if (!x->ok()) return x->status();
  }
  e.addresses = StringsFromJson(*addresses);
  e.names = StringsFromJson(*names);
  e.first_seen = r.Int(i, 5);
  e.last_seen = r.Int(i, 6);
  e.role = r.Text(i, 7);
  e.tags = StringsFromJson(*tags);
  e.events = static_cast<uint64_t>(r.Int(i, 9));
  e.facts = std::move(*facts);
  return e;
}

Params EntityParams(const EntityRecord& e) {
  Params p;
  p.Text(e.id).Text(e.type).Text(e.name).Json(StringsToJson(e.addresses));
  p.Json(StringsToJson(e.names)).Int(e.first_seen).Int(e.last_seen).Text(e.role);
  p.Json(StringsToJson(e.tags)).Int(static_cast<int64_t>(e.events)).Json(e.facts);
  return p;
}

Status PostgresStore::UpsertEntities(const std::vector<EntityRecord>& entities) {
  std::vector<EntityRecord> batch = CoalesceEntities(entities);
  if (batch.empty()) return Status::Ok();
  const std::string update =
      "UPDATE entities SET type = $2, name = $3, addresses = $4, names = $5, first_seen = $6, "
      "last_seen = $7, role = $8, tags = $9, events = $10, facts = $11 WHERE id = $1";
  const std::string insert = std::string("INSERT INTO entities (") + kEntityCols +
                             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                             "ON CONFLICT (id) DO NOTHING";
  const std::string lock_one =
      std::string("SELECT ") + kEntityCols + " FROM entities WHERE id = $1 FOR UPDATE";
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    // Lock every stored row of the batch at once, in id order.
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& e : batch) ids.push_back(ToPgText(e.id));
    auto rows = Exec(std::string("SELECT ") + kEntityCols +
                         " FROM entities WHERE id IN (SELECT jsonb_array_elements_text($1)) "
                         "ORDER BY id FOR UPDATE",
                     Params().Json(ids), "lock entities");
    if (!rows.ok()) return rows.status();
    std::unordered_map<std::string, EntityRecord> stored;
    for (int i = 0; i < rows->size(); ++i) {
      auto e = EntityFromRow(*rows, i);
      if (!e.ok()) return e.status();
      std::string id = e->id;
      stored.emplace(std::move(id), std::move(*e));
    }
    for (const auto& add : batch) {
      auto it = stored.find(ToPgText(add.id));
      if (it == stored.end()) {
        auto ins = Exec(insert, EntityParams(add), "insert entity");
        if (!ins.ok()) return ins.status();
        if (std::string(ins->cmd_tuples()) == "1") continue;
        // Another instance created it since the lock above: lock it and merge.
        auto one = Exec(lock_one, Params().Text(add.id), "lock entity");
        if (!one.ok()) return one.status();
        if (one->size() != 1) return Internal("postgres: entity " + add.id + " vanished");
        auto e = EntityFromRow(*one, 0);
        if (!e.ok()) return e.status();
        it = stored.emplace(e->id, std::move(*e)).first;
      }
      EntityRecord merged = it->second;
      MergeEntity(merged, add);
      auto up = Exec(update, EntityParams(merged), "update entity");
      if (!up.ok()) return up.status();
    }
    return Status::Ok();
  });
}

Result<std::optional<EntityRecord>> PostgresStore::GetEntity(const std::string& id) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(std::string("SELECT ") + kEntityCols + " FROM entities WHERE id = $1",
                Params().Text(id), "get entity");
  if (!r.ok()) return r.status();
  if (r->size() == 0) return std::optional<EntityRecord>();
  auto e = EntityFromRow(*r, 0);
  if (!e.ok()) return e.status();
  return std::optional<EntityRecord>(std::move(*e));
}

// LIMIT NULL is no limit.
Params& LimitOffset(Params& p, size_t limit, size_t offset) {
  if (limit == 0) {
    p.Int(std::numeric_limits<int64_t>::max());
  } else {
    p.Int(static_cast<int64_t>(limit));
  }
  return p.Int(static_cast<int64_t>(offset));
}

Result<std::vector<EntityRecord>> PostgresStore::ListEntities(const std::string& type, size_t limit,
                                                              size_t offset) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  Params p;
  p.Text(type);
  LimitOffset(p, limit, offset);
  auto r = Exec(std::string("SELECT ") + kEntityCols +
                    " FROM entities WHERE ($1 = '' OR type = $1) ORDER BY id LIMIT $2 OFFSET $3",
                std::move(p), "list entities");
  if (!r.ok()) return r.status();
  std::vector<EntityRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    auto e = EntityFromRow(*r, i);
    if (!e.ok()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

Status PostgresStore::PutBreaches(const std::vector<detect::Breach>& breaches) {
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    for (const auto& b : breaches) {
      Params p;
      p.Text(b.id).Int(b.time).Text(b.model).Int(b.score).Text(b.entity.id);
      p.Text(b.peer ? b.peer->id : std::string()).Bool(b.weak).Json(BreachToDoc(b));
      auto r = Exec(
          "INSERT INTO breaches (id, time, model, score, entity_id, peer_id, weak, doc) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET "
          "time = EXCLUDED.time, model = EXCLUDED.model, score = EXCLUDED.score, "
          "entity_id = EXCLUDED.entity_id, peer_id = EXCLUDED.peer_id, weak = EXCLUDED.weak, "
          "doc = EXCLUDED.doc",
          std::move(p), "put breach");
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
}

Result<std::vector<detect::Breach>> BreachesFromRows(const Rows& r) {
  std::vector<detect::Breach> out;
  for (int i = 0; i < r.size(); ++i) {
    auto doc = r.Json(i, 0, "breaches.doc");
    if (!doc.ok()) return doc.status();
    auto b = BreachFromDoc(*doc);
    if (!b.ok()) return b.status();
    out.push_back(std::move(*b));
  }
  return out;
}

Result<std::vector<detect::Breach>> PostgresStore::QueryBreaches(const BreachQuery& q) {
  // Only the filters in use appear in the WHERE clause; values are always parameters.
  Params p;
  std::string sql = "SELECT doc FROM breaches WHERE score >= $1";
  p.Int(q.min_score);
  int n = 1;
  auto next = [&] { return "$" + std::to_string(++n); };
  if (!q.model.empty()) {
    sql += " AND model = " + next();
    p.Text(q.model);
  }
  if (!q.entity.empty()) {
    std::string e = next();
    sql += q.include_peer ? " AND (entity_id = " + e + " OR peer_id = " + e + ")"
                          : " AND entity_id = " + e;
    p.Text(q.entity);
  }
  if (q.since != 0) {
    sql += " AND time >= " + next();
    p.Int(q.since);
  }
  if (q.until != 0) {
    sql += " AND time < " + next();
    p.Int(q.until);
  }
  if (!q.include_weak) sql += " AND NOT weak";
  sql += " ORDER BY time DESC, id DESC LIMIT " + next();
  sql += " OFFSET " + next();
  LimitOffset(p, q.limit, q.offset);
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(sql, std::move(p), "query breaches");
  if (!r.ok()) return r.status();
  return BreachesFromRows(*r);
}

Result<std::optional<detect::Breach>> PostgresStore::GetBreach(const std::string& id) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec("SELECT doc FROM breaches WHERE id = $1", Params().Text(id), "get breach");
  if (!r.ok()) return r.status();
  auto v = BreachesFromRows(*r);
  if (!v.ok()) return v.status();
  if (v->empty()) return std::optional<detect::Breach>();
  return std::optional<detect::Breach>(std::move(v->front()));
}

Result<std::optional<nlohmann::json>> PostgresStore::GetDoc(const std::string& sql, Params params,
                                                            std::string_view what) {
  EnsureConnected();
  auto r = Exec(sql, std::move(params), what);
  if (!r.ok()) return r.status();
  if (r->size() == 0) return std::optional<nlohmann::json>();
  auto doc = r->Json(0, 0, what);
  if (!doc.ok()) return doc.status();
  return std::optional<nlohmann::json>(std::move(*doc));
}

Result<std::vector<nlohmann::json>> PostgresStore::ListDocs(const std::string& sql, size_t limit,
                                                            size_t offset, std::string_view what) {
  EnsureConnected();
  Params p;
  LimitOffset(p, limit, offset);
  auto r = Exec(sql, std::move(p), what);
  if (!r.ok()) return r.status();
  std::vector<nlohmann::json> out;
  for (int i = 0; i < r->size(); ++i) {
    auto doc = r->Json(i, 0, what);
    if (!doc.ok()) return doc.status();
    out.push_back(std::move(*doc));
  }
  return out;
}

Status PostgresStore::PutIncident(const std::string& id, Micros start, Micros end, int score,
                                  const std::string& state, const nlohmann::json& doc) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "INSERT INTO incidents (id, \"start\", \"end\", score, state, doc) VALUES ($1, $2, $3, "
      "$4, $5, $6) ON CONFLICT (id) DO UPDATE SET \"start\" = EXCLUDED.\"start\", \"end\" = "
      "EXCLUDED.\"end\", score = EXCLUDED.score, state = EXCLUDED.state, doc = EXCLUDED.doc",
      Params().Text(id).Int(start).Int(end).Int(score).Text(state).Json(doc), "put incident");
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<nlohmann::json>> PostgresStore::ListIncidents(size_t limit, size_t offset) {
  std::lock_guard lock(mu_);
  return ListDocs("SELECT doc FROM incidents ORDER BY \"start\" DESC, id DESC LIMIT $1 OFFSET $2",
                  limit, offset, "incidents.doc");
}

Result<std::optional<nlohmann::json>> PostgresStore::GetIncident(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetDoc("SELECT doc FROM incidents WHERE id = $1", Params().Text(id), "incidents.doc");
}

Status PostgresStore::PutAction(const std::string& id, const std::string& state, Micros expires,
                                const nlohmann::json& doc) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "INSERT INTO actions (id, state, expires, doc) VALUES ($1, $2, $3, $4) ON CONFLICT (id) "
      "DO UPDATE SET state = EXCLUDED.state, expires = EXCLUDED.expires, doc = EXCLUDED.doc",
      Params().Text(id).Text(state).Int(expires).Json(doc), "put action");
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<nlohmann::json>> PostgresStore::ListActions(size_t limit, size_t offset) {
  std::lock_guard lock(mu_);
  return ListDocs("SELECT doc FROM actions ORDER BY expires DESC, id DESC LIMIT $1 OFFSET $2",
                  limit, offset, "actions.doc");
}

Result<std::optional<nlohmann::json>> PostgresStore::GetAction(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetDoc("SELECT doc FROM actions WHERE id = $1", Params().Text(id), "actions.doc");
}

Status PostgresStore::AppendAudit(const std::string& action_id, Micros at, const std::string& who,
                                  const std::string& what, const nlohmann::json& detail) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec("INSERT INTO audit (action_id, at, who, what, detail) VALUES ($1, $2, $3, $4, $5)",
                Params().Text(action_id).Int(at).Text(who).Text(what).Json(detail), "append audit");
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<nlohmann::json>> PostgresStore::ListAudit(const std::string& action_id) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "SELECT action_id, at, who, what, detail FROM audit WHERE action_id = $1 ORDER BY at, seq",
      Params().Text(action_id), "list audit");
  if (!r.ok()) return r.status();
  std::vector<nlohmann::json> out;
  for (int i = 0; i < r->size(); ++i) {
    auto detail = r->Json(i, 4, "audit.detail");
    if (!detail.ok()) return detail.status();
    out.push_back(
        AuditToJson(r->Text(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3), std::move(*detail)));
  }
  return out;
}

Status PostgresStore::SaveCheckpoint(const Checkpoint& cp) {
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    auto r = Exec(
        "INSERT INTO checkpoint (slot, event_time, state, saved_at) VALUES (1, $1, $2, $3) "
        "ON CONFLICT (slot) DO UPDATE SET event_time = EXCLUDED.event_time, state = "
        "EXCLUDED.state, saved_at = EXCLUDED.saved_at",
        Params().Int(cp.event_time).Bytes(cp.state).Int(cp.saved_at), "save checkpoint");
    if (!r.ok()) return r.status();
    auto d = Exec("DELETE FROM positions", "clear positions");
    if (!d.ok()) return d.status();
    for (const auto& pos : cp.positions) {
      Params p;
      p.Text(pos.input).Text(pos.file).Int(static_cast<int64_t>(pos.offset));
      p.Int(static_cast<int64_t>(pos.line)).Int(static_cast<int64_t>(pos.inode));
      p.Text(pos.fingerprint);
      auto ins = Exec(
          "INSERT INTO positions (input, file, \"offset\", line, inode, fingerprint) VALUES "
          "($1, $2, $3, $4, $5, $6) ON CONFLICT (input) DO UPDATE SET file = EXCLUDED.file, "
          "\"offset\" = EXCLUDED.\"offset\", line = EXCLUDED.line, inode = EXCLUDED.inode, "
          "fingerprint = EXCLUDED.fingerprint",
          std::move(p), "save position");
      if (!ins.ok()) return ins.status();
    }
    return Status::Ok();
  });
}

Result<std::optional<Checkpoint>> PostgresStore::LoadCheckpoint() {
  std::lock_guard lock(mu_);
  std::optional<Checkpoint> out;
  Status st = InTransaction([&]() -> Status {
    // One snapshot for the state and its positions.
    auto iso = Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "snapshot");
    if (!iso.ok()) return iso.status();
    auto r = Exec("SELECT event_time, state, saved_at FROM checkpoint WHERE slot = 1",
                  "load checkpoint");
    if (!r.ok()) return r.status();
    out.reset();
    if (r->size() == 0) return Status::Ok();
    Checkpoint cp;
    cp.event_time = r->Int(0, 0);
    cp.state = r->Bytea(0, 1);
    cp.saved_at = r->Int(0, 2);
    auto p = Exec(
        "SELECT input, file, \"offset\", line, inode, fingerprint FROM positions "
        "ORDER BY input",
        "load positions");
    if (!p.ok()) return p.status();
    for (int i = 0; i < p->size(); ++i) {
      InputPosition pos;
      pos.input = p->Text(i, 0);
      pos.file = p->Text(i, 1);
      pos.offset = static_cast<uint64_t>(p->Int(i, 2));
      pos.line = static_cast<uint64_t>(p->Int(i, 3));
      pos.inode = static_cast<uint64_t>(p->Int(i, 4));
      pos.fingerprint = p->Text(i, 5);
      cp.positions.push_back(std::move(pos));
    }
    out = std::move(cp);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Status PostgresStore::AddRejects(const std::vector<RejectCount>& counts) {
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> Status {
    for (const auto& c : counts) {
      Params p;
      p.Text(c.input).Text(c.format).Text(c.code).Int(static_cast<int64_t>(c.count));
      p.Int(static_cast<int64_t>(c.first_line)).Int(static_cast<int64_t>(c.first_offset));
      p.Text(c.first_reason);
      auto r = Exec(
          "INSERT INTO rejects (input, format, code, count, first_line, first_offset, "
          "first_reason) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (input, format, code) "
          "DO UPDATE SET count = rejects.count + EXCLUDED.count",
          std::move(p), "add rejects");
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
}

Result<std::vector<RejectCount>> PostgresStore::ListRejects() {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "SELECT input, format, code, count, first_line, first_offset, first_reason FROM rejects "
      "ORDER BY input, format, code",
      "list rejects");
  if (!r.ok()) return r.status();
  std::vector<RejectCount> out;
  for (int i = 0; i < r->size(); ++i) {
    RejectCount c;
    c.input = r->Text(i, 0);
    c.format = r->Text(i, 1);
    c.code = r->Text(i, 2);
    c.count = static_cast<uint64_t>(r->Int(i, 3));
    c.first_line = static_cast<uint64_t>(r->Int(i, 4));
    c.first_offset = static_cast<uint64_t>(r->Int(i, 5));
    c.first_reason = r->Text(i, 6);
    out.push_back(std::move(c));
  }
  return out;
}

Status PostgresStore::PutIngestStats(const nlohmann::json& stats) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "INSERT INTO ingest_stats (slot, doc) VALUES (1, $1) ON CONFLICT (slot) DO UPDATE SET "
      "doc = EXCLUDED.doc",
      Params().Json(stats), "put ingest stats");
  return r.ok() ? Status::Ok() : r.status();
}

Result<nlohmann::json> PostgresStore::GetIngestStats() {
  std::lock_guard lock(mu_);
  auto doc = GetDoc("SELECT doc FROM ingest_stats WHERE slot = 1", Params(), "ingest_stats.doc");
  if (!doc.ok()) return doc.status();
  return doc->value_or(nlohmann::json::object());
}

Status PostgresStore::PutVulnerabilities(const std::string& device_id, const nlohmann::json& cves) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "INSERT INTO vulnerabilities (device_id, doc) VALUES ($1, $2) ON CONFLICT (device_id) DO "
      "UPDATE SET doc = EXCLUDED.doc",
      Params().Text(device_id).Json(cves), "put vulnerabilities");
  return r.ok() ? Status::Ok() : r.status();
}

Result<nlohmann::json> PostgresStore::GetVulnerabilities(const std::string& device_id) {
  std::lock_guard lock(mu_);
  auto doc = GetDoc("SELECT doc FROM vulnerabilities WHERE device_id = $1",
                    Params().Text(device_id), "vulnerabilities.doc");
  if (!doc.ok()) return doc.status();
  return doc->value_or(nlohmann::json::array());
}

// Events go in as multi-row INSERTs of kEventRowsPerStatement rows (10 parameters each,
// far below the protocol's 65,535).
constexpr size_t kEventRowsPerStatement = 500;

Status PostgresStore::PutEventRows(EventRows& rows) {
  if (rows.empty()) return Status::Ok();
  std::vector<RowView> events;
  events.reserve(rows.size());
  rows.ForEach([&events](const RowView& r) { events.push_back(r); });
  // The summaries' text (a flow's is packed in the row: event_rows.h).
  std::vector<std::string> scratch(events.size());
  for (size_t i = 0; i < events.size(); ++i)
    events[i].summary = SummaryText(events[i].summary, scratch[i]);
  std::lock_guard lock(mu_);
  EnsureConnected();
  return InTransaction([&]() -> Status {
    for (size_t at = 0; at < events.size(); at += kEventRowsPerStatement) {
      size_t end = std::min(events.size(), at + kEventRowsPerStatement);
      std::string sql =
          "INSERT INTO events (time, entity, peer, kind, summary, uid, input, line, \"offset\", "
          "bytes) VALUES ";
      Params p;
      int n = 0;
      for (size_t i = at; i < end; ++i) {
        const RowView& e = events[i];
        sql += i == at ? "(" : ",(";
        for (int c = 0; c < 10; ++c) sql += (c ? ",$" : "$") + std::to_string(++n);
        sql += ")";
        p.Int(e.time).Text(e.entity).Text(e.peer).Text(e.kind).Text(e.summary).Text(e.uid);
        p.Text(e.input).Int(static_cast<int64_t>(e.line)).Int(static_cast<int64_t>(e.offset));
        p.Int(static_cast<int64_t>(e.bytes));
      }
      auto r = Exec(sql, std::move(p), "put events");
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  });
}

Result<std::vector<EventRecord>> PostgresStore::QueryEvents(const EventQuery& q) {
  Params p;
  p.Text(q.entity);
  std::string sql =
      "SELECT time, entity, peer, kind, summary, uid, input, line, \"offset\", bytes FROM events "
      "WHERE (entity = $1 OR peer = $1)";
  int n = 1;
  auto next = [&] { return "$" + std::to_string(++n); };
  if (!q.kind.empty()) {
    sql += " AND kind = " + next();
    p.Text(q.kind);
  }
  if (!q.peer.empty()) {
    std::string x = next();
    sql += " AND ((entity = $1 AND peer = " + x + ") OR (peer = $1 AND entity = " + x + "))";
    p.Text(q.peer);
  }
  if (!q.text.empty()) {
    std::string t = next();
    sql += " AND (strpos(summary, " + t + ") > 0 OR strpos(uid, " + t + ") > 0)";
    p.Text(q.text);
  }
  if (q.since != 0) {
    sql += " AND time >= " + next();
    p.Int(q.since);
  }
  if (q.until != 0) {
    sql += " AND time < " + next();
    p.Int(q.until);
  }
  sql += " ORDER BY time DESC, seq DESC LIMIT " + next();
  sql += " OFFSET " + next();
  LimitOffset(p, q.limit, q.offset);
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(sql, std::move(p), "query events");
  if (!r.ok()) return r.status();
  std::vector<EventRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    EventRecord e;
    e.time = r->Int(i, 0);
    e.entity = r->Text(i, 1);
    e.peer = r->Text(i, 2);
    e.kind = r->Text(i, 3);
    e.summary = r->Text(i, 4);
    e.uid = r->Text(i, 5);
    e.input = r->Text(i, 6);
    e.line = static_cast<uint64_t>(r->Int(i, 7));
    e.offset = static_cast<uint64_t>(r->Int(i, 8));
    e.bytes = static_cast<uint64_t>(r->Int(i, 9));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<std::pair<Micros, uint64_t>>> PostgresStore::EventCounts(
    const std::string& entity, Micros bucket, Micros since, Micros until) {
  if (bucket <= 0) return InvalidArgument("event counts: bucket must be positive");
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "SELECT (time / $2) * $2 AS b, COUNT(*) FROM events WHERE (entity = $1 OR peer = $1) "
      "AND time >= $3 AND time < $4 GROUP BY b ORDER BY b",
      Params().Text(entity).Int(bucket).Int(since).Int(until == 0 ? INT64_MAX : until),
      "event counts");
  if (!r.ok()) return r.status();
  std::vector<std::pair<Micros, uint64_t>> out;
  for (int i = 0; i < r->size(); ++i) out.emplace_back(r->Int(i, 0), static_cast<uint64_t>(r->Int(i, 1)));
  return out;
}

std::vector<PeerActivity> ActivityFromRows(const Rows& r, const std::string* entity) {
  std::vector<PeerActivity> out;
  for (int i = 0; i < r.size(); ++i) {
    PeerActivity a;
    int c = 0;
    a.entity = entity ? *entity : r.Text(i, c++);
    a.peer = r.Text(i, c++);
    a.events = static_cast<uint64_t>(r.Int(i, c++));
    a.bytes = static_cast<uint64_t>(r.Int(i, c++));
    a.first_seen = r.Int(i, c++);
    a.last_seen = r.Int(i, c++);
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<PeerActivity>> PostgresStore::Peers(const std::string& entity, Micros before,
                                                       size_t limit) {
  Params p;
  p.Text(entity).Int(before);
  p.Int(limit == 0 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(limit));
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "SELECT other, COUNT(*) AS n, COALESCE(SUM(bytes), 0), MIN(time), MAX(time) FROM ("
      "SELECT peer AS other, bytes, time FROM events WHERE entity = $1 AND time < $2 "
      "AND peer != '' UNION ALL "
      "SELECT entity AS other, bytes, time FROM events WHERE peer = $1 AND time < $2) x "
      "GROUP BY other ORDER BY n DESC, other LIMIT $3",
      std::move(p), "peers");
  if (!r.ok()) return r.status();
  return ActivityFromRows(*r, &entity);
}

Result<std::vector<PeerActivity>> PostgresStore::BusiestPairs(Micros since, size_t limit,
                                                              size_t max_rows) {
  Params p;
  p.Int(since);
  p.Int(limit == 0 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(limit));
  p.Int(max_rows == 0 ? std::numeric_limits<int64_t>::max() / 2 : static_cast<int64_t>(max_rows));
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec(
      "SELECT entity, peer, COUNT(*) AS n, COALESCE(SUM(bytes), 0), MIN(time), MAX(time) FROM "
      "events WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM events) - $3 AND peer != '' AND "
      "time >= $1 GROUP BY entity, peer ORDER BY n DESC, entity, peer LIMIT $2",
      std::move(p), "busiest pairs");
  if (!r.ok()) return r.status();
  return ActivityFromRows(*r, nullptr);
}

Result<uint64_t> PostgresStore::PruneEvents(Micros before) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  auto r = Exec("DELETE FROM events WHERE time < $1", Params().Int(before), "prune events");
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(std::strtoull(r->cmd_tuples(), nullptr, 10));
}

Result<uint64_t> PostgresStore::CapEvents(uint64_t max_rows) {
  std::lock_guard lock(mu_);
  EnsureConnected();
  // The row at position max_rows from the newest (by append order) and everything older go.
  auto r = Exec(
      "DELETE FROM events WHERE seq <= (SELECT seq FROM events ORDER BY seq DESC OFFSET $1 LIMIT 1)",
      Params().Int(static_cast<int64_t>(std::min<uint64_t>(max_rows, INT64_MAX))), "cap events");
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(std::strtoull(r->cmd_tuples(), nullptr, 10));
}

Result<StoreCounts> PostgresStore::Counts() {
  std::lock_guard lock(mu_);
  EnsureConnected();
  StoreCounts c;
  auto b = Exec("SELECT model, weak, COUNT(*) FROM breaches GROUP BY model, weak", "count breaches");
  if (!b.ok()) return b.status();
  for (int i = 0; i < b->size(); ++i)
    (b->Text(i, 1) == "t" ? c.weak_by_model : c.breaches_by_model)[b->Text(i, 0)] += static_cast<uint64_t>(b->Int(i, 2));
  auto a = Exec("SELECT state, COUNT(*) FROM actions GROUP BY state", "count actions");
  if (!a.ok()) return a.status();
  for (int i = 0; i < a->size(); ++i) c.actions_by_state[a->Text(i, 0)] = static_cast<uint64_t>(a->Int(i, 1));
  auto n = Exec("SELECT COUNT(*) FROM incidents", "count incidents");
  if (!n.ok()) return n.status();
  c.incidents = static_cast<uint64_t>(n->Int(0, 0));
  return c;
}

}  // namespace

std::span<const Migration> PostgresMigrations() { return kPostgresMigrations; }

Result<std::unique_ptr<Store>> OpenPostgresStoreWith(const std::string& conninfo,
                                                     std::span<const Migration> migrations) {
  VIGIL_RETURN_IF_ERROR(LoadPq());
  PGconn* conn = Pq().connectdb(conninfo.c_str());
  if (!conn) return Unavailable("postgres: out of memory connecting");
  if (Pq().status(conn) != CONNECTION_OK) {
    std::string msg = Pq().error_message(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    Pq().finish(conn);
    // The conninfo may hold a password: name the failure, not the string.
    return Unavailable("postgres: cannot connect: " + msg);
  }
  // Server NOTICEs ("relation already exists, skipping") are not for the terminal.
  Pq().set_notice_processor(
      conn, [](void*, const char*) {}, nullptr);
  auto store = std::make_unique<PostgresStore>(conn);
  VIGIL_RETURN_IF_ERROR(store->Init(migrations));
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  return OpenPostgresStoreWith(conninfo, PostgresMigrations());
}

}  // namespace vigil::store
