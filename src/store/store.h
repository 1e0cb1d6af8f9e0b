// Store: everything Vigil keeps (ARCHITECTURE.md "store/"). SQLite in WAL mode by default
// (one file, vigil.db, in the state dir); the same interface over PostgreSQL for a shared
// store at scale. The store holds no business logic: it saves and finds records.
//
// Thread safety: a Store may be used from several threads; each call is one transaction.
// Records passed in are copied; records returned are owned by the caller.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/time.h"
#include "detect/breach.h"

namespace vigil::config {
class Config;
}  // namespace vigil::config

namespace vigil::store {

// What the store knows of one entity (device, external endpoint, identity).
struct EntityRecord {
  std::string type;  // "device", "external", "identity"
  std::string id;
  std::string name;
  std::vector<std::string> addresses;  // IPs seen for it (devices, identities' sources)
  std::vector<std::string> names;      // host names, user names, ARNs seen for it
  Micros first_seen = 0;
  Micros last_seen = 0;
  std::string role;                    // "server", "workstation", "internet-facing", ...
  std::vector<std::string> tags;
  uint64_t events = 0;                 // events seen (added to on upsert)
  nlohmann::json facts = nlohmann::json::object();  // OS, version, Defender ids ... (merged)
};

// A source's read position, checkpointed with the learned state it produced.
struct InputPosition {
  std::string input;        // path (or kafka topic/partition) as configured
  std::string file;         // the concrete file being read (after rotation)
  uint64_t offset = 0;      // bytes consumed (decompressed for gzip)
  uint64_t line = 0;        // lines consumed
  uint64_t inode = 0;       // to recognise rotation
  std::string fingerprint;  // hash of the first bytes, to recognise a replaced file
};

struct Checkpoint {
  Micros event_time = 0;    // the engine's event-time watermark
  std::string state;        // opaque learned state (detect + enrich), may be large
  std::vector<InputPosition> positions;
  Micros saved_at = 0;      // wall clock, for humans
};

struct RejectCount {
  std::string input;
  std::string format;
  std::string code;
  uint64_t count = 0;
  uint64_t first_line = 0;     // position of the first such reject
  uint64_t first_offset = 0;
  std::string first_reason;
};

struct BreachQuery {
  std::string model;          // exact model name, or empty
  std::string entity;         // entity id, or empty
  bool include_peer = false;  // with `entity`: also breaches where it is the peer
  int min_score = 0;
  Micros since = 0;           // inclusive, 0 = unbounded
  Micros until = 0;           // exclusive, 0 = unbounded
  bool include_weak = false;
  size_t limit = 100;         // 0 = no limit
  size_t offset = 0;
};

// One row of the event log (store.event_log): every enriched event, compactly, with the
// place in its input where the raw record is, so an analyst can go from a breach or a
// device to what was actually seen.
struct EventRecord {
  Micros time = 0;
  std::string entity;   // the primary entity's id (device address, identity ARN)
  std::string peer;     // the peer's id, or empty
  std::string kind;     // EventKindName: "flow", "http", "dns", "cloud_api" ...
  std::string summary;  // one line, as in a breach's event reference
  std::string uid;      // Zeek uid, CloudTrail eventID, alert id
  std::string input;    // the input's path
  uint64_t line = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;   // bytes both ways, when the event carries them (flows)
};

struct EventQuery {
  std::string entity;  // required: events where it is the entity or the peer
  std::string kind;    // exact kind, or empty
  std::string peer;    // the other side, or empty
  std::string text;    // substring of the summary or uid, or empty
  Micros since = 0;    // inclusive, 0 = unbounded
  Micros until = 0;    // exclusive, 0 = unbounded
  size_t limit = 100;  // 0 = no limit
  size_t offset = 0;
};

// How much one entity and one peer have to do with each other in the event log (either
// direction): the edges of the map, and a device's known peers.
struct PeerActivity {
  std::string entity;
  std::string peer;
  uint64_t events = 0;
  uint64_t bytes = 0;
  Micros first_seen = 0;
  Micros last_seen = 0;
};

// Totals for the console's model catalogue and /metrics, counted by the database.
struct StoreCounts {
  std::map<std::string, uint64_t> breaches_by_model;  // weak signals excluded
  std::map<std::string, uint64_t> weak_by_model;
  std::map<std::string, uint64_t> actions_by_state;
  uint64_t incidents = 0;
};

class EventRows;  // event_rows.h

class Store {
 public:
  virtual ~Store() = default;

  // Entities: upsert merges (min first_seen, max last_seen, union addresses/names/tags,
  // adds events, merges facts, keeps a non-empty name/role).
  virtual Status UpsertEntities(const std::vector<EntityRecord>& entities) = 0;
  virtual Result<std::optional<EntityRecord>> GetEntity(const std::string& id) = 0;
  // Entities of `type` ("" = every type) ordered by id; limit 0 = no limit.
  virtual Result<std::vector<EntityRecord>> ListEntities(const std::string& type, size_t limit,
                                                         size_t offset) = 0;

  virtual Status PutBreaches(const std::vector<detect::Breach>& breaches) = 0;  // by id, replace
  // Breaches matching every field of `q`, newest first (time, then id, descending).
  virtual Result<std::vector<detect::Breach>> QueryBreaches(const BreachQuery& q) = 0;
  virtual Result<std::optional<detect::Breach>> GetBreach(const std::string& id) = 0;

  // Incidents and actions are kept as JSON documents keyed by id (their records are owned
  // by analyst/ and respond/), with a few indexed columns. Put replaces by id. Lists are
  // ordered newest first (incidents by start, actions by expires; then id descending);
  // limit 0 = no limit. Audit rows come oldest first as {action_id, at (RFC 3339),
  // at_us, who, what, detail}.
  virtual Status PutIncident(const std::string& id, Micros start, Micros end, int score,
                             const std::string& state, const nlohmann::json& doc) = 0;
  virtual Result<std::vector<nlohmann::json>> ListIncidents(size_t limit, size_t offset) = 0;
  virtual Result<std::optional<nlohmann::json>> GetIncident(const std::string& id) = 0;
  virtual Status PutAction(const std::string& id, const std::string& state, Micros expires,
                           const nlohmann::json& doc) = 0;
  virtual Result<std::vector<nlohmann::json>> ListActions(size_t limit, size_t offset) = 0;
  virtual Result<std::optional<nlohmann::json>> GetAction(const std::string& id) = 0;
  virtual Status AppendAudit(const std::string& action_id, Micros at, const std::string& who,
                             const std::string& what, const nlohmann::json& detail) = 0;
  virtual Result<std::vector<nlohmann::json>> ListAudit(const std::string& action_id) = 0;

  // Checkpoint: learned state and input positions saved in one transaction, so a restart
  // resumes exactly where the state left off.
  virtual Status SaveCheckpoint(const Checkpoint& cp) = 0;
  virtual Result<std::optional<Checkpoint>> LoadCheckpoint() = 0;

  // Adds each count to the row of (input, format, code); the first_* fields of the row
  // that was there first are kept.
  virtual Status AddRejects(const std::vector<RejectCount>& counts) = 0;
  virtual Result<std::vector<RejectCount>> ListRejects() = 0;

  // Per-input ingest counters for the status page: events by format, rejects, last event time.
  // Put replaces the one stored document; Get returns {} when none was stored.
  virtual Status PutIngestStats(const nlohmann::json& stats) = 0;
  virtual Result<nlohmann::json> GetIngestStats() = 0;

  // Device facts from Defender: vulnerabilities per device (replaces the device's list).
  virtual Status PutVulnerabilities(const std::string& device_id, const nlohmann::json& cves) = 0;
  // Returns [] when nothing is stored for the device.
  virtual Result<nlohmann::json> GetVulnerabilities(const std::string& device_id) = 0;

  // The event log. Rows are appended in batches; queries see an entity's events either as
  // entity or as peer, newest first. EventCounts buckets them by `bucket` microseconds of
  // event time (bucket start -> count, oldest first). Peers lists the entity's peers seen
  // before `before` (either direction, most events first). BusiestPairs lists the (entity,
  // peer) pairs with the most events at or after `since`, over at most the newest
  // `max_rows` rows. PruneEvents deletes events older than `before` and says how many.
  // PutEventRows takes events packed as rows already (event_rows.h: the engine's event log
  // packs them as they come); the store may fill in each row's checksum. PutEvents packs
  // records and calls it.
  virtual Status PutEventRows(EventRows& rows) = 0;
  Status PutEvents(const std::vector<EventRecord>& events);
  virtual Result<std::vector<EventRecord>> QueryEvents(const EventQuery& q) = 0;
  virtual Result<std::vector<std::pair<Micros, uint64_t>>> EventCounts(const std::string& entity,
                                                                       Micros bucket, Micros since,
                                                                       Micros until) = 0;
  virtual Result<std::vector<PeerActivity>> Peers(const std::string& entity, Micros before,
                                                  size_t limit) = 0;
  virtual Result<std::vector<PeerActivity>> BusiestPairs(Micros since, size_t limit,
                                                         size_t max_rows) = 0;
  virtual Result<uint64_t> PruneEvents(Micros before) = 0;
  // Keeps the event log to about `max_rows` rows, dropping the oldest (SQLite drops whole
  // segments, so up to one segment more may stay). Returns the rows deleted.
  virtual Result<uint64_t> CapEvents(uint64_t max_rows) = 0;

  virtual Result<StoreCounts> Counts() = 0;

  // The schema version of the open database (the last migration applied).
  virtual int schema_version() const = 0;
};

// Opens (creating and migrating as needed) the SQLite store in `dir` (dir/vigil.db).
// `dir` is created if missing. A database written by a newer Vigil (higher schema
// version) is refused with kInvalidArgument; a file that is not SQLite gives kCorrupt.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& dir);
// Opens a PostgreSQL store from a libpq connection string ("host=/tmp/pg port=5432
// dbname=vigil" or a postgresql:// URI), creating and migrating the schema in the
// connection's search_path. Several Vigil instances may share one database.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo);
// Opens the store the config names: store.backend "sqlite" (in `dir`) or "postgres"
// (store.postgres is the conninfo).
Result<std::unique_ptr<Store>> OpenStore(const config::Config& cfg, const std::string& dir);

}  // namespace vigil::store
