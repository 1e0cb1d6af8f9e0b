// The PostgreSQL store: the Store interface over a database several Vigil instances share
// (ARCHITECTURE.md "Scale"). Same tables as SQLite; JSONB for documents, BYTEA for state.
#include <libpq-fe.h>

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

constexpr Migration kPostgresMigrations[] = {
    {1, "initial schema", kPostgresV1},
};

}  // namespace

std::span<const Migration> PostgresMigrations() { return kPostgresMigrations; }

Result<std::unique_ptr<Store>> OpenPostgresStoreWith(const std::string& /*conninfo*/,
                                                     std::span<const Migration> /*migrations*/) {
  return Unavailable("store: the PostgreSQL backend is not implemented yet");
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo) {
  return OpenPostgresStoreWith(conninfo, PostgresMigrations());
}

}  // namespace vigil::store
