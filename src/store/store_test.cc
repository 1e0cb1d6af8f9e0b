// One suite run against every backend: SQLite always, PostgreSQL when VIGIL_TEST_PG names a
// server (scripts/test-services start prints it; scripts/run-tests exports it). Each
// PostgreSQL test works in its own schema so that tests can run in parallel.
#include "store/store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "config/config.h"
#include "store/event_rows.h"
#include "store/store_internal.h"

namespace vigil::store {
namespace {

using detect::Breach;
using nlohmann::json;

std::string TestName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string n = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

// A backend under test: opens stores on one fresh database and can run raw SQL on it.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<std::unique_ptr<Store>> Open(std::span<const Migration> migrations) = 0;
  virtual std::span<const Migration> Migrations() = 0;
  // A migration 2 for this backend that adds a table `extra` holding one row 'migrated'.
  virtual Migration ExtraMigration() = 0;
  // The first column of the first row of `sql`, or "" when there is none.
  virtual std::string RawQuery(const std::string& sql) = 0;
};

class SqliteBackend : public Backend {
 public:
  SqliteBackend() {
    dir_ = (std::filesystem::path(::testing::TempDir()) /
            ("vigil-store-" + TestName() + "-" + std::to_string(getpid())) / "state")
               .string();
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  ~SqliteBackend() override {
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  Result<std::unique_ptr<Store>> Open(std::span<const Migration> m) override {
    return OpenSqliteStoreWith(dir_, m);
  }
  std::span<const Migration> Migrations() override { return SqliteMigrations(); }
  Migration ExtraMigration() override {
    return {2, "test: extra table",
            "CREATE TABLE extra (k TEXT PRIMARY KEY); INSERT INTO extra VALUES ('migrated');"};
  }
  std::string RawQuery(const std::string& sql) override {
    sqlite3* db = nullptr;
    std::string out;
    if (sqlite3_open_v2((dir_ + "/vigil.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
        SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
        out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      }
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return out;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

class PostgresBackend : public Backend {
 public:
  explicit PostgresBackend(std::string base) : base_(std::move(base)) {
    schema_ = "t_" + std::to_string(std::hash<std::string>()(TestName()) % 1000000007) + "_" +
              std::to_string(getpid());
    if (base_.rfind("postgres://", 0) == 0 || base_.rfind("postgresql://", 0) == 0) {
      conninfo_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") +
                  "options=-csearch_path%3D" + schema_;
    } else {
      conninfo_ = base_ + " options='-csearch_path=" + schema_ + "'";
    }
    error_ = Admin("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
  }
  ~PostgresBackend() override { (void)Admin("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"); }
  Result<std::unique_ptr<Store>> Open(std::span<const Migration> m) override {
    return OpenPostgresStoreWith(conninfo_, m);
  }
  std::span<const Migration> Migrations() override { return PostgresMigrations(); }
  Migration ExtraMigration() override {
    return {2, "test: extra table",
            "CREATE TABLE extra (k TEXT PRIMARY KEY); INSERT INTO extra VALUES ('migrated');"};
  }
  std::string RawQuery(const std::string& sql) override {
    PGconn* c = PQconnectdb(conninfo_.c_str());
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
      PQclear(r);
    }
    PQfinish(c);
    return out;
  }
  const std::string& error() const { return error_; }

 private:
  // Runs `sql` on the base connection; returns an error text or "".
  std::string Admin(const std::string& sql) {
    PGconn* c = PQconnectdb(base_.c_str());
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
      err = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQresultErrorMessage(r);
      PQclear(r);
    }
    PQfinish(c);
    return err;
  }

  std::string base_, conninfo_, schema_, error_;
};

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      const char* pg = std::getenv("VIGIL_TEST_PG");
      if (!pg || !*pg) {
        GTEST_SKIP() << "VIGIL_TEST_PG is unset: run `scripts/test-services start` and export "
                        "the conninfo it prints as VIGIL_TEST_PG to test the PostgreSQL store";
      }
      auto b = std::make_unique<PostgresBackend>(pg);
      ASSERT_EQ(b->error(), "") << "cannot prepare a test schema on " << pg;
      backend_ = std::move(b);
    } else {
      backend_ = std::make_unique<SqliteBackend>();
    }
    store_ = OpenOrDie();
  }

  std::unique_ptr<Store> OpenOrDie() { return OpenOrDie(backend_->Migrations()); }
  std::unique_ptr<Store> OpenOrDie(std::span<const Migration> m) {
    auto s = backend_->Open(m);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  void Reopen() {
    store_.reset();
    store_ = OpenOrDie();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

EntityRecord Entity(std::string id) {
  EntityRecord e;
  e.type = "device";
  e.id = std::move(id);
  return e;
}

EntityRecord GetEntityOrDie(Store& s, const std::string& id) {
  auto r = s.GetEntity(id);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r.ok() && r->has_value()) << "no entity " << id;
  return r.ok() && r->has_value() ? **r : EntityRecord{};
}

TEST_P(StoreTest, UpsertMergesEveryFieldByTheDocumentedRules) {
  EntityRecord a = Entity("10.0.0.5");
  a.name = "web01";
  a.role = "server";
  a.addresses = {"10.0.0.5"};
  a.names = {"web01.corp"};
  a.tags = {"dmz"};
  a.first_seen = 100;
  a.last_seen = 200;
  a.events = 3;
  a.facts = {{"os", {{"name", "linux"}}}, {"x", 1}};
  ASSERT_TRUE(store_->UpsertEntities({a}).ok());

  EntityRecord b = Entity("10.0.0.5");
  b.addresses = {"10.0.0.5", "fe80::5"};
  b.tags = {"web"};
  b.first_seen = 50;
  b.last_seen = 150;
  b.events = 4;
  b.facts = {{"os", {{"version", "6.1"}}}, {"y", 2}};
  ASSERT_TRUE(store_->UpsertEntities({b}).ok());

  EntityRecord got = GetEntityOrDie(*store_, "10.0.0.5");
  EXPECT_EQ(got.type, "device");
  EXPECT_EQ(got.name, "web01");  // an empty name keeps the stored one
  EXPECT_EQ(got.role, "server");
  EXPECT_EQ(got.first_seen, 50);
  EXPECT_EQ(got.last_seen, 200);
  EXPECT_EQ(got.addresses, (std::vector<std::string>{"10.0.0.5", "fe80::5"}));
  EXPECT_EQ(got.names, (std::vector<std::string>{"web01.corp"}));
  EXPECT_EQ(got.tags, (std::vector<std::string>{"dmz", "web"}));
  EXPECT_EQ(got.events, 7u);
  EXPECT_EQ(got.facts, (json{{"os", {{"name", "linux"}, {"version", "6.1"}}}, {"x", 1}, {"y", 2}}));

  EntityRecord c = Entity("10.0.0.5");
  c.name = "web01-renamed";
  c.role = "internet-facing";
  c.first_seen = 0;  // unknown: never wins the minimum
  c.last_seen = 300;
  c.facts = {{"os", "windows"}};
  ASSERT_TRUE(store_->UpsertEntities({c}).ok());
  got = GetEntityOrDie(*store_, "10.0.0.5");
  EXPECT_EQ(got.name, "web01-renamed");
  EXPECT_EQ(got.role, "internet-facing");
  EXPECT_EQ(got.first_seen, 50);
  EXPECT_EQ(got.last_seen, 300);
  EXPECT_EQ(got.facts, (json{{"os", "windows"}, {"x", 1}, {"y", 2}}));
}

TEST_P(StoreTest, OneIdTwiceInABatchIsMergedNotOverwritten) {
  EntityRecord a = Entity("d1");
  a.events = 2;
  a.addresses = {"10.0.0.1"};
  a.first_seen = 10;
  a.last_seen = 10;
  EntityRecord b = a;
  b.addresses = {"10.0.0.2"};
  b.first_seen = 20;
  b.last_seen = 20;
  EntityRecord other = Entity("d0");
  other.type = "identity";
  ASSERT_TRUE(store_->UpsertEntities({a, other, b}).ok());
  EntityRecord got = GetEntityOrDie(*store_, "d1");
  EXPECT_EQ(got.events, 4u);
  EXPECT_EQ(got.addresses, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(got.first_seen, 10);
  EXPECT_EQ(got.last_seen, 20);
  EXPECT_EQ(GetEntityOrDie(*store_, "d0").type, "identity");
}

// A batch larger than one INSERT statement's rows (the SQLite store inserts many rows to a
// statement), with ids already stored scattered through it, at the start, in the middle and
// at the end: the new ones are inserted, the stored ones merged, none lost or doubled.
TEST_P(StoreTest, ABigBatchMixingNewAndStoredIdsInsertsAndMergesEach) {
  auto id = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "d%03d", i);
    return std::string(b);
  };
  auto device = [&](int i, uint64_t events, Micros first, Micros last, const std::string& address) {
    EntityRecord e = Entity(id(i));
    e.events = events;
    e.first_seen = first;
    e.last_seen = last;
    e.addresses = {address + "-" + std::to_string(i)};
    return e;
  };
  std::vector<EntityRecord> first;
  for (int i : {0, 1, 40, 41, 77, 99}) first.push_back(device(i, 1, 100, 100, "old"));
  ASSERT_TRUE(store_->UpsertEntities(first).ok());
  std::vector<EntityRecord> second;
  for (int i = 99; i >= 0; --i) second.push_back(device(i, 2, 50, 200, "new"));  // not in id order
  ASSERT_TRUE(store_->UpsertEntities(second).ok());
  auto all = store_->ListEntities("", 0, 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 100u);
  for (int i = 0; i < 100; ++i) {
    const EntityRecord& got = (*all)[static_cast<size_t>(i)];
    ASSERT_EQ(got.id, id(i));
    const bool stored = i == 0 || i == 1 || i == 40 || i == 41 || i == 77 || i == 99;
    EXPECT_EQ(got.events, stored ? 3u : 2u) << got.id;
    EXPECT_EQ(got.first_seen, 50) << got.id;
    EXPECT_EQ(got.last_seen, 200) << got.id;
    const std::vector<std::string> want =
        stored ? std::vector<std::string>{"old-" + std::to_string(i), "new-" + std::to_string(i)}
               : std::vector<std::string>{"new-" + std::to_string(i)};
    EXPECT_EQ(got.addresses, want) << got.id;
  }
}

TEST_P(StoreTest, EntityListsAreCappedKeepingTheNewest) {
  EntityRecord a = Entity("dhcp");
  for (size_t i = 0; i < kMaxEntityListItems; ++i) a.addresses.push_back("a" + std::to_string(i));
  ASSERT_TRUE(store_->UpsertEntities({a}).ok());
  EntityRecord b = Entity("dhcp");
  for (size_t i = 0; i < 10; ++i) b.addresses.push_back("b" + std::to_string(i));
  ASSERT_TRUE(store_->UpsertEntities({b}).ok());
  EntityRecord got = GetEntityOrDie(*store_, "dhcp");
  ASSERT_EQ(got.addresses.size(), kMaxEntityListItems);
  EXPECT_EQ(got.addresses.front(), "a10");  // the ten oldest were dropped
  EXPECT_EQ(got.addresses.back(), "b9");
}

TEST_P(StoreTest, UnknownEntityIsEmptyNotAnError) {
  auto r = store_->GetEntity("nobody");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
}

TEST_P(StoreTest, ListEntitiesFiltersByTypeAndPagesInIdOrder) {
  std::vector<EntityRecord> batch;
  for (int i = 0; i < 7; ++i) {
    EntityRecord e = Entity("dev" + std::to_string(i));
    if (i % 2) e.type = "external";
    batch.push_back(e);
  }
  ASSERT_TRUE(store_->UpsertEntities(batch).ok());
  auto all = store_->ListEntities("", 0, 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 7u);
  EXPECT_EQ((*all)[0].id, "dev0");
  EXPECT_EQ((*all)[6].id, "dev6");
  auto ext = store_->ListEntities("external", 0, 0);
  ASSERT_TRUE(ext.ok());
  ASSERT_EQ(ext->size(), 3u);
  for (const auto& e : *ext) EXPECT_EQ(e.type, "external");
  auto page = store_->ListEntities("device", 2, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "dev2");
  EXPECT_EQ((*page)[1].id, "dev4");
}

Breach FullBreach() {
  Breach b;
  b.time = 1'600'000'000'123'456;
  b.model = "network/rare-external-destination";
  b.score = 87;
  b.entity = {"device", "10.0.0.5", "web01"};
  b.peer = detect::EntityInfo{"external", "203.0.113.9", "evil.example"};
  b.reasons = {"first contact with 203.0.113.9 after 1,204 destinations",
               "only 1 of 57 devices ever talked to it — ünïcødé"};
  detect::EventRef r1;
  r1.input = "/logs/conn.log";
  r1.input_index = 3;
  r1.line = 42;
  r1.offset = 12345;
  r1.time = 1'600'000'000'123'456;
  r1.kind = "flow";
  r1.uid = "CHhAvVGS1DHFjwGM9";
  r1.summary = "10.0.0.5:51234 -> 203.0.113.9:443/tcp 3.2 KB out";
  detect::EventRef r2 = r1;
  r2.input_index = 0;
  r2.uid.clear();
  r2.line = 43;
  r2.time = 1'600'000'001'000'000;
  b.events = {r1, r2};
  b.mitre = {"T1071.001", "T1041"};
  b.details = {{"devices", 1}, {"history", 1204}, {"nested", {{"a", {1, 2, 3}}}}};
  b.weak = true;
  b.suppressed_by = "lab scanner";
  detect::AssignBreachId(b);
  return b;
}

void ExpectSameBreach(const Breach& got, const Breach& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.time, want.time);
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.score, want.score);
  EXPECT_EQ(got.entity.type, want.entity.type);
  EXPECT_EQ(got.entity.id, want.entity.id);
  EXPECT_EQ(got.entity.name, want.entity.name);
  ASSERT_EQ(got.peer.has_value(), want.peer.has_value());
  if (want.peer) {
    EXPECT_EQ(got.peer->type, want.peer->type);
    EXPECT_EQ(got.peer->id, want.peer->id);
    EXPECT_EQ(got.peer->name, want.peer->name);
  }
  EXPECT_EQ(got.reasons, want.reasons);
  ASSERT_EQ(got.events.size(), want.events.size());
  for (size_t i = 0; i < want.events.size(); ++i) {
    const auto& g = got.events[i];
    const auto& w = want.events[i];
    EXPECT_EQ(g.input, w.input);
    EXPECT_EQ(g.input_index, w.input_index);
    EXPECT_EQ(g.line, w.line);
    EXPECT_EQ(g.offset, w.offset);
    EXPECT_EQ(g.time, w.time);
    EXPECT_EQ(g.kind, w.kind);
    EXPECT_EQ(g.uid, w.uid);
    EXPECT_EQ(g.summary, w.summary);
  }
  EXPECT_EQ(got.mitre, want.mitre);
  EXPECT_EQ(got.details, want.details);
  EXPECT_EQ(got.weak, want.weak);
  EXPECT_EQ(got.suppressed_by, want.suppressed_by);
}

TEST_P(StoreTest, BreachRoundTripKeepsEveryField) {
  Breach b = FullBreach();
  ASSERT_TRUE(store_->PutBreaches({b}).ok());
  auto got = store_->GetBreach(b.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  ExpectSameBreach(**got, b);

  Breach minimal;
  minimal.time = 5;
  minimal.model = "network/beaconing";
  minimal.score = 61;
  minimal.entity = {"device", "10.0.0.6", "10.0.0.6"};
  detect::AssignBreachId(minimal);
  ASSERT_TRUE(store_->PutBreaches({minimal}).ok());
  auto got2 = store_->GetBreach(minimal.id);
  ASSERT_TRUE(got2.ok() && got2->has_value());
  ExpectSameBreach(**got2, minimal);

  auto none = store_->GetBreach("b-missing");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreTest, PuttingABreachAgainReplacesIt) {
  Breach b = FullBreach();
  ASSERT_TRUE(store_->PutBreaches({b}).ok());
  b.score = 12;
  b.weak = false;
  b.reasons = {"rescored"};
  ASSERT_TRUE(store_->PutBreaches({b}).ok());
  BreachQuery q;
  q.include_weak = true;
  auto all = store_->QueryBreaches(q);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].score, 12);
  EXPECT_EQ((*all)[0].reasons, std::vector<std::string>{"rescored"});
}

TEST_P(StoreTest, BreachTextWithNulAndBadUtf8IsStored) {
  Breach b = FullBreach();
  b.reasons = {std::string("user agent 'curl\0x'", 19), "bad byte \xff here", "ok"};
  ASSERT_TRUE(store_->PutBreaches({b}).ok());
  auto got = store_->GetBreach(b.id);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  ASSERT_EQ((*got)->reasons.size(), 3u);
  EXPECT_EQ((*got)->reasons[0].substr(0, 16), "user agent 'curl");
  EXPECT_EQ((*got)->reasons[1], "bad byte \xEF\xBF\xBD here");  // U+FFFD
  EXPECT_EQ((*got)->reasons[2], "ok");
  EXPECT_EQ((*got)->model, b.model);
}

// The reference the store is checked against: the documented meaning of every field.
std::vector<std::string> Expected(const std::vector<Breach>& all, const BreachQuery& q) {
  std::vector<Breach> v;
  for (const auto& b : all) {
    if (!q.model.empty() && b.model != q.model) continue;
    if (!q.entity.empty() && b.entity.id != q.entity &&
        !(q.include_peer && b.peer && b.peer->id == q.entity)) {
      continue;
    }
    if (b.score < q.min_score) continue;
    if (q.since != 0 && b.time < q.since) continue;
    if (q.until != 0 && b.time >= q.until) continue;
    if (!q.include_weak && b.weak) continue;
    v.push_back(b);
  }
  std::sort(v.begin(), v.end(), [](const Breach& a, const Breach& b) {
    return a.time != b.time ? a.time > b.time : a.id > b.id;
  });
  std::vector<std::string> ids;
  for (size_t i = q.offset; i < v.size() && (q.limit == 0 || ids.size() < q.limit); ++i) {
    ids.push_back(v[i].id);
  }
  return ids;
}

std::vector<std::string> Ids(const Result<std::vector<Breach>>& r) {
  std::vector<std::string> ids;
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) {
    for (const auto& b : *r) ids.push_back(b.id);
  }
  return ids;
}

TEST_P(StoreTest, QueryBreachesHonoursEveryFilterAndPagesNewestFirst) {
  std::vector<Breach> all;
  const std::string models[] = {"network/beaconing", "network/rare-external-destination"};
  const std::string entities[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
  for (int i = 0; i < 36; ++i) {
    Breach b;
    b.model = models[i % 2];
    b.entity = {"device", entities[i % 3], ""};
    if (i % 4 == 0) b.peer = detect::EntityInfo{"device", entities[(i + 1) % 3], ""};
    b.time = 1000 + (i / 2) * 10;  // pairs share a time: id breaks the tie
    b.score = (i * 7) % 100;
    b.weak = i % 5 == 0;
    b.id = "b-" + std::to_string(100 + i);
    all.push_back(b);
  }
  ASSERT_TRUE(store_->PutBreaches(all).ok());

  BreachQuery every;
  every.include_weak = true;
  every.limit = 0;
  auto got = Ids(store_->QueryBreaches(every));
  ASSERT_EQ(got.size(), 36u);
  EXPECT_EQ(got.front(), "b-135");  // newest time, larger id first
  EXPECT_EQ(got[1], "b-134");
  EXPECT_EQ(got.back(), "b-100");

  std::vector<BreachQuery> queries;
  BreachQuery q;
  queries.push_back(q);  // defaults: no weak, limit 100
  q.model = models[0];
  queries.push_back(q);
  q = {};
  q.entity = entities[1];
  queries.push_back(q);
  q.include_peer = true;
  queries.push_back(q);
  q = {};
  q.min_score = 50;
  queries.push_back(q);
  q = {};
  q.since = 1050;
  queries.push_back(q);
  q.until = 1120;
  queries.push_back(q);
  q = {};
  q.until = 1050;
  queries.push_back(q);
  q = {};
  q.include_weak = true;
  queries.push_back(q);
  q = {};
  q.model = models[1];
  q.entity = entities[2];
  q.min_score = 10;
  q.since = 1010;
  q.until = 1170;
  q.include_weak = true;
  queries.push_back(q);
  for (size_t limit : {1u, 4u, 7u}) {
    for (size_t offset : {0u, 3u, 30u}) {
      q = {};
      q.include_weak = true;
      q.limit = limit;
      q.offset = offset;
      queries.push_back(q);
    }
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    auto want = Expected(all, queries[i]);
    EXPECT_EQ(Ids(store_->QueryBreaches(queries[i])), want) << "query " << i;
  }
  // The reference is not vacuous: filters really cut.
  EXPECT_LT(Expected(all, queries[1]).size(), 36u);
  EXPECT_GT(Expected(all, queries[3]).size(), Expected(all, queries[2]).size());
  EXPECT_LT(Expected(all, queries[0]).size(), Expected(all, queries[8]).size());
  EXPECT_FALSE(Expected(all, queries[9]).empty());

  // Paging walks the whole list without gaps or repeats.
  std::vector<std::string> paged;
  for (size_t off = 0;; off += 5) {
    BreachQuery p = every;
    p.limit = 5;
    p.offset = off;
    auto page = Ids(store_->QueryBreaches(p));
    if (page.empty()) break;
    paged.insert(paged.end(), page.begin(), page.end());
  }
  EXPECT_EQ(paged, got);
}

TEST_P(StoreTest, IncidentsRoundTripAndListNewestFirst) {
  json i1 = {{"id", "inc-1"}, {"title", "Beaconing from web01"}, {"breaches", {"b-1", "b-2"}}};
  json i2 = {{"id", "inc-2"}, {"title", "Later"}, {"score", 90}};
  ASSERT_TRUE(store_->PutIncident("inc-1", 100, 200, 70, "open", i1).ok());
  ASSERT_TRUE(store_->PutIncident("inc-2", 300, 400, 90, "open", i2).ok());
  auto got = store_->GetIncident("inc-1");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ(**got, i1);
  auto list = store_->ListIncidents(0, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], i2);
  EXPECT_EQ((*list)[1], i1);
  i1["title"] = "updated";
  ASSERT_TRUE(store_->PutIncident("inc-1", 500, 600, 75, "closed", i1).ok());
  list = store_->ListIncidents(1, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0]["title"], "updated");  // now the newest
  list = store_->ListIncidents(5, 1);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], i2);
  auto none = store_->GetIncident("inc-9");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreTest, ActionsAndTheirAuditRoundTrip) {
  json a1 = {{"id", "act-1"}, {"kind", "block-ip"}, {"target", "203.0.113.9"}};
  json a2 = {{"id", "act-2"}, {"kind", "isolate"}};
  ASSERT_TRUE(store_->PutAction("act-1", "active", 5000, a1).ok());
  ASSERT_TRUE(store_->PutAction("act-2", "pending", 9000, a2).ok());
  auto got = store_->GetAction("act-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, a1);
  auto list = store_->ListActions(0, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], a2);
  a1["state"] = "expired";
  ASSERT_TRUE(store_->PutAction("act-1", "expired", 5000, a1).ok());
  got = store_->GetAction("act-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got)["state"], "expired");
  list = store_->ListActions(1, 1);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], a1);

  ASSERT_TRUE(store_->AppendAudit("act-1", 2000, "policy", "expired", {{"after", "1h"}}).ok());
  ASSERT_TRUE(store_->AppendAudit("act-1", 1000, "alice", "approved", json::object()).ok());
  ASSERT_TRUE(store_->AppendAudit("act-2", 1500, "bob", "created", {{"n", 1}}).ok());
  ASSERT_TRUE(store_->AppendAudit("act-1", 2000, "policy", "removed", json::object()).ok());
  auto audit = store_->ListAudit("act-1");
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  ASSERT_EQ(audit->size(), 3u);
  EXPECT_EQ((*audit)[0]["who"], "alice");
  EXPECT_EQ((*audit)[0]["what"], "approved");
  EXPECT_EQ((*audit)[0]["at_us"], 1000);
  EXPECT_EQ((*audit)[0]["at"], FormatRfc3339(1000));
  EXPECT_EQ((*audit)[0]["action_id"], "act-1");
  EXPECT_EQ((*audit)[1]["what"], "expired");  // same time: insertion order
  EXPECT_EQ((*audit)[1]["detail"], (json{{"after", "1h"}}));
  EXPECT_EQ((*audit)[2]["what"], "removed");
  auto none = store_->ListAudit("act-9");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

Checkpoint MakeCheckpoint(Micros t, int positions, char fill) {
  Checkpoint cp;
  cp.event_time = t;
  cp.saved_at = t + 7;
  cp.state.assign(1 << 20, fill);
  cp.state[0] = '\0';
  cp.state[1] = '\xff';
  cp.state[2] = '\'';
  for (int i = 0; i < positions; ++i) {
    InputPosition p;
    p.input = "/logs/in" + std::to_string(i);
    p.file = p.input + "/conn.00:00-01:00.log.gz";
    p.offset = 1000 + i;
    p.line = 10 + i;
    p.inode = (1ull << 63) + i;  // past int64: must survive the signed column
    p.fingerprint = "fp" + std::to_string(i);
    cp.positions.push_back(p);
  }
  return cp;
}

void ExpectSameCheckpoint(const Checkpoint& got, const Checkpoint& want) {
  EXPECT_EQ(got.event_time, want.event_time);
  EXPECT_EQ(got.saved_at, want.saved_at);
  EXPECT_TRUE(got.state == want.state)
      << "state differs (size " << got.state.size() << " vs " << want.state.size() << ")";
  ASSERT_EQ(got.positions.size(), want.positions.size());
  for (size_t i = 0; i < want.positions.size(); ++i) {
    EXPECT_EQ(got.positions[i].input, want.positions[i].input);
    EXPECT_EQ(got.positions[i].file, want.positions[i].file);
    EXPECT_EQ(got.positions[i].offset, want.positions[i].offset);
    EXPECT_EQ(got.positions[i].line, want.positions[i].line);
    EXPECT_EQ(got.positions[i].inode, want.positions[i].inode);
    EXPECT_EQ(got.positions[i].fingerprint, want.positions[i].fingerprint);
  }
}

TEST_P(StoreTest, CheckpointRoundTripsAndASecondSaveReplacesTheFirst) {
  auto empty = store_->LoadCheckpoint();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_FALSE(empty->has_value());

  Checkpoint first = MakeCheckpoint(1'000'000, 3, 'a');
  ASSERT_TRUE(store_->SaveCheckpoint(first).ok());
  auto got = store_->LoadCheckpoint();
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  ExpectSameCheckpoint(**got, first);

  Checkpoint second = MakeCheckpoint(2'000'000, 1, 'b');
  ASSERT_TRUE(store_->SaveCheckpoint(second).ok());
  got = store_->LoadCheckpoint();
  ASSERT_TRUE(got.ok() && got->has_value());
  ExpectSameCheckpoint(**got, second);  // positions of the first save are gone

  Checkpoint none = MakeCheckpoint(3'000'000, 0, 'c');
  none.state.clear();
  ASSERT_TRUE(store_->SaveCheckpoint(none).ok());
  got = store_->LoadCheckpoint();
  ASSERT_TRUE(got.ok() && got->has_value());
  ExpectSameCheckpoint(**got, none);
}

TEST_P(StoreTest, RejectsAccumulateAndKeepTheFirstPosition) {
  RejectCount r{"/logs/conn.log", "zeek-tsv", "bad-timestamp", 3, 17, 900, "ts 'abc'"};
  RejectCount other{"/logs/conn.log", "zeek-tsv", "line-too-long", 1, 5, 100, "line of 2 MiB"};
  ASSERT_TRUE(store_->AddRejects({r, other}).ok());
  RejectCount later = r;
  later.count = 4;
  later.first_line = 99;
  later.first_offset = 9999;
  later.first_reason = "ts 'zzz'";
  ASSERT_TRUE(store_->AddRejects({later}).ok());
  ASSERT_TRUE(store_->AddRejects({later}).ok());
  auto list = store_->ListRejects();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  const RejectCount& got = (*list)[0];
  EXPECT_EQ(got.code, "bad-timestamp");
  EXPECT_EQ(got.input, "/logs/conn.log");
  EXPECT_EQ(got.format, "zeek-tsv");
  EXPECT_EQ(got.count, 11u);
  EXPECT_EQ(got.first_line, 17u);
  EXPECT_EQ(got.first_offset, 900u);
  EXPECT_EQ(got.first_reason, "ts 'abc'");
  EXPECT_EQ((*list)[1].code, "line-too-long");
  EXPECT_EQ((*list)[1].count, 1u);
}

TEST_P(StoreTest, IngestStatsAreReplacedWhole) {
  auto empty = store_->GetIngestStats();
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, json::object());
  json s1 = {{"inputs", {{"/logs/conn.log", {{"events", 10}, {"rejects", 1}}}}}};
  json s2 = {{"inputs", {{"/logs/http.log", {{"events", 3}}}}},
             {"last_event", "2020-01-01T00:00:00Z"}};
  ASSERT_TRUE(store_->PutIngestStats(s1).ok());
  ASSERT_TRUE(store_->PutIngestStats(s2).ok());
  auto got = store_->GetIngestStats();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, s2);
}

TEST_P(StoreTest, VulnerabilitiesAreKeptPerDeviceAndReplaced) {
  json v1 = json::array({{{"cve", "CVE-2021-44228"}, {"severity", "Critical"}}});
  json v2 = json::array({{{"cve", "CVE-2023-1"}}});
  ASSERT_TRUE(store_->PutVulnerabilities("dev-a", v1).ok());
  ASSERT_TRUE(store_->PutVulnerabilities("dev-b", v2).ok());
  auto a = store_->GetVulnerabilities("dev-a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, v1);
  ASSERT_TRUE(store_->PutVulnerabilities("dev-a", json::array()).ok());
  a = store_->GetVulnerabilities("dev-a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, json::array());
  auto b = store_->GetVulnerabilities("dev-b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, v2);
  auto none = store_->GetVulnerabilities("dev-z");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, json::array());
}

TEST_P(StoreTest, EverythingSurvivesCloseAndReopen) {
  EntityRecord e = Entity("10.0.0.9");
  e.events = 5;
  e.addresses = {"10.0.0.9"};
  ASSERT_TRUE(store_->UpsertEntities({e}).ok());
  Breach b = FullBreach();
  ASSERT_TRUE(store_->PutBreaches({b}).ok());
  ASSERT_TRUE(store_->PutIncident("inc", 1, 2, 3, "open", {{"id", "inc"}}).ok());
  ASSERT_TRUE(store_->PutAction("act", "active", 9, {{"id", "act"}}).ok());
  ASSERT_TRUE(store_->AppendAudit("act", 1, "me", "made", json::object()).ok());
  Checkpoint cp = MakeCheckpoint(77, 2, 'z');
  ASSERT_TRUE(store_->SaveCheckpoint(cp).ok());
  ASSERT_TRUE(store_->AddRejects({{"in", "f", "c", 2, 1, 0, "why"}}).ok());
  ASSERT_TRUE(store_->PutIngestStats({{"n", 1}}).ok());
  ASSERT_TRUE(store_->PutVulnerabilities("d", json::array({"CVE-1"})).ok());

  Reopen();
  EXPECT_EQ(GetEntityOrDie(*store_, "10.0.0.9").events, 5u);
  auto gb = store_->GetBreach(b.id);
  ASSERT_TRUE(gb.ok() && gb->has_value());
  ExpectSameBreach(**gb, b);
  auto gi = store_->GetIncident("inc");
  ASSERT_TRUE(gi.ok() && gi->has_value());
  auto ga = store_->GetAction("act");
  ASSERT_TRUE(ga.ok() && ga->has_value());
  auto audit = store_->ListAudit("act");
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 1u);
  auto gc = store_->LoadCheckpoint();
  ASSERT_TRUE(gc.ok() && gc->has_value());
  ExpectSameCheckpoint(**gc, cp);
  auto rej = store_->ListRejects();
  ASSERT_TRUE(rej.ok());
  ASSERT_EQ(rej->size(), 1u);
  EXPECT_EQ((*rej)[0].count, 2u);
  auto st = store_->GetIngestStats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, (json{{"n", 1}}));
  auto v = store_->GetVulnerabilities("d");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, json::array({"CVE-1"}));
}

TEST_P(StoreTest, ANewDatabaseIsAtTheLatestSchemaVersion) {
  EXPECT_EQ(store_->schema_version(), static_cast<int>(backend_->Migrations().size()));
  EXPECT_EQ(backend_->Migrations().back().version, store_->schema_version());
  Reopen();
  EXPECT_EQ(store_->schema_version(), backend_->Migrations().back().version);
}

// Migrations are checked with a test-only migration 2 appended to the real list: a
// database at version N-1 of that list plays "written by the previous Vigil".
TEST_P(StoreTest, AnOlderDatabaseIsMigratedKeepingItsData) {
  EntityRecord e = Entity("old-device");
  e.events = 9;
  ASSERT_TRUE(store_->UpsertEntities({e}).ok());
  store_.reset();

  std::vector<Migration> next(backend_->Migrations().begin(), backend_->Migrations().end());
  Migration extra = backend_->ExtraMigration();
  extra.version = static_cast<int>(next.size()) + 1;
  next.push_back(extra);
  store_ = OpenOrDie(next);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->schema_version(), extra.version);
  EXPECT_EQ(backend_->RawQuery("SELECT k FROM extra"), "migrated");
  EXPECT_EQ(GetEntityOrDie(*store_, "old-device").events, 9u);

  // Opening again applies nothing twice (the INSERT would fail on its primary key).
  store_.reset();
  store_ = OpenOrDie(next);
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->schema_version(), extra.version);
}

TEST_P(StoreTest, ADatabaseFromANewerVigilIsRefusedWithAClearStatus) {
  store_.reset();
  std::vector<Migration> next(backend_->Migrations().begin(), backend_->Migrations().end());
  Migration extra = backend_->ExtraMigration();
  extra.version = static_cast<int>(next.size()) + 1;
  next.push_back(extra);
  ASSERT_NE(OpenOrDie(next), nullptr);

  auto refused = backend_->Open(backend_->Migrations());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("schema version " + std::to_string(extra.version) +
                                            " is newer"),
            std::string::npos)
      << refused.status().message();
}

TEST_P(StoreTest, AFailingMigrationChangesNothing) {
  ASSERT_TRUE(store_->UpsertEntities({Entity("kept")}).ok());
  store_.reset();
  std::vector<Migration> next(backend_->Migrations().begin(), backend_->Migrations().end());
  const int latest = static_cast<int>(next.size());
  next.push_back(
      {latest + 1, "test: half good, half broken", "CREATE TABLE half (k TEXT); THIS IS NOT SQL;"});
  auto broken = backend_->Open(next);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("migration " + std::to_string(latest + 1)),
            std::string::npos)
      << broken.status().message();
  store_ = OpenOrDie();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->schema_version(), latest);
  EXPECT_TRUE(GetEntityOrDie(*store_, "kept").id == "kept");
  // The table the broken migration created first was rolled back with it.
  EXPECT_EQ(backend_->RawQuery(GetParam() == "postgres"
                                   ? "SELECT count(*) FROM pg_tables WHERE tablename = 'half' "
                                     "AND schemaname = current_schema()"
                                   : "SELECT count(*) FROM sqlite_master WHERE name = 'half'"),
            "0");
}

TEST_P(StoreTest, TwoWritersUpsertingOneEntityLoseNoUpdate) {
  auto second = backend_->Open(backend_->Migrations());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  constexpr int kRounds = 40;
  auto writer = [](Store* s, int who, Status* failed) {
    for (int i = 0; i < kRounds; ++i) {
      EntityRecord e = Entity("shared");
      e.events = 1;
      e.addresses = {"10." + std::to_string(who) + ".0." + std::to_string(i)};
      e.first_seen = 1000 - who * 100 - i;
      e.last_seen = 1000 + who * 100 + i;
      e.facts = {{"w" + std::to_string(who), i}};
      // A second entity in the same batch, in the opposite order for each writer: row
      // locks must not deadlock.
      EntityRecord other = Entity(who == 1 ? "aaa" : "zzz");
      other.events = 1;
      std::vector<EntityRecord> batch = {e, other};
      if (who == 1) std::swap(batch[0], batch[1]);
      Status st = s->UpsertEntities(batch);
      if (!st.ok()) {
        *failed = st;
        return;
      }
    }
  };
  Status f1, f2;
  std::thread t1(writer, store_.get(), 1, &f1);
  std::thread t2(writer, second->get(), 2, &f2);
  t1.join();
  t2.join();
  ASSERT_TRUE(f1.ok()) << f1.ToString();
  ASSERT_TRUE(f2.ok()) << f2.ToString();
  EntityRecord got = GetEntityOrDie(*store_, "shared");
  EXPECT_EQ(got.events, 2u * kRounds);
  EXPECT_EQ(got.addresses.size(), 2u * kRounds);
  EXPECT_EQ(got.first_seen, 1000 - 200 - (kRounds - 1));
  EXPECT_EQ(got.last_seen, 1000 + 200 + (kRounds - 1));
  EXPECT_EQ(got.facts, (json{{"w1", kRounds - 1}, {"w2", kRounds - 1}}));
  EXPECT_EQ(GetEntityOrDie(*store_, "aaa").events, static_cast<uint64_t>(kRounds));
  EXPECT_EQ(GetEntityOrDie(*store_, "zzz").events, static_cast<uint64_t>(kRounds));
}

// SQLite-only behaviour.

TEST_P(StoreTest, CountsAreTalliedByTheDatabase) {
  std::vector<Breach> bs;
  for (int i = 0; i < 5; ++i) {
    Breach b = FullBreach();
    b.model = i < 3 ? "network/beaconing" : "cloud/discovery-burst";
    b.weak = i == 2 || i == 4;
    b.time += i;
    detect::AssignBreachId(b);
    bs.push_back(b);
  }
  ASSERT_TRUE(store_->PutBreaches(bs).ok());
  ASSERT_TRUE(store_->PutAction("a1", "active", 5, {{"id", "a1"}}).ok());
  ASSERT_TRUE(store_->PutAction("a2", "active", 6, {{"id", "a2"}}).ok());
  ASSERT_TRUE(store_->PutAction("a3", "pending", 7, {{"id", "a3"}}).ok());
  ASSERT_TRUE(store_->PutIncident("i1", 1, 2, 50, "open", {{"id", "i1"}}).ok());
  auto c = store_->Counts();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->breaches_by_model, (std::map<std::string, uint64_t>{{"cloud/discovery-burst", 1}, {"network/beaconing", 2}}));
  EXPECT_EQ(c->weak_by_model, (std::map<std::string, uint64_t>{{"cloud/discovery-burst", 1}, {"network/beaconing", 1}}));
  EXPECT_EQ(c->actions_by_state, (std::map<std::string, uint64_t>{{"active", 2}, {"pending", 1}}));
  EXPECT_EQ(c->incidents, 1u);
}

// ---- The event log ----

EventRecord Ev(Micros t, std::string entity, std::string peer, std::string kind, std::string summary,
               uint64_t bytes = 100) {
  EventRecord e;
  e.time = t;
  e.entity = std::move(entity);
  e.peer = std::move(peer);
  e.kind = std::move(kind);
  e.summary = std::move(summary);
  e.uid = "U" + std::to_string(t);
  e.input = "conn.log";
  e.line = static_cast<uint64_t>(t / kMicrosPerSecond);
  e.offset = static_cast<uint64_t>(t / 1000);
  e.bytes = bytes;
  return e;
}

constexpr Micros kE0 = 1'700'000'000LL * kMicrosPerSecond;

// 10.0.0.5: 30 flows to 203.0.113.7 (one a minute), 4 DNS queries to 10.0.0.53, and it is
// the peer of 2 flows from 10.0.0.9. 10.0.0.6: 3 flows to 198.51.100.1.
std::vector<EventRecord> SampleEvents() {
  std::vector<EventRecord> v;
  for (int i = 0; i < 30; ++i)
    v.push_back(Ev(kE0 + i * kMicrosPerMinute, "10.0.0.5", "203.0.113.7", "flow",
                   "10.0.0.5 -> 203.0.113.7:443/tcp beat " + std::to_string(i), 1000));
  for (int i = 0; i < 4; ++i)
    v.push_back(Ev(kE0 + (5 + 7 * i) * kMicrosPerMinute + kMicrosPerSecond, "10.0.0.5", "10.0.0.53", "dns",
                   "query updates.example.com A"));
  for (int i = 0; i < 2; ++i)
    v.push_back(Ev(kE0 + (2 * i + 1) * kMicrosPerHour, "10.0.0.9", "10.0.0.5", "flow", "10.0.0.9 -> 10.0.0.5:445/tcp"));
  for (int i = 0; i < 3; ++i)
    v.push_back(Ev(kE0 + i * kMicrosPerMinute, "10.0.0.6", "198.51.100.1", "flow", "10.0.0.6 -> 198.51.100.1:80/tcp"));
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  return v;
}

std::vector<EventRecord> QueryOrDie(Store& s, EventQuery q) {
  auto r = s.QueryEvents(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<EventRecord>{};
}

TEST_P(StoreTest, EventLogFindsAnEntitysEventsEitherSideNewestFirstWithEveryFilter) {
  ASSERT_TRUE(store_->PutEvents(SampleEvents()).ok());
  EventQuery q;
  q.entity = "10.0.0.5";
  q.limit = 0;
  auto all = QueryOrDie(*store_, q);
  ASSERT_EQ(all.size(), 36u);  // 30 + 4 as entity, 2 as peer
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1].time, all[i].time);
  EXPECT_EQ(all.front().entity, "10.0.0.9");  // the newest: the second inbound flow
  // Every field comes back.
  const EventRecord& beat = all.back();
  EXPECT_EQ(beat.time, kE0);
  EXPECT_EQ(beat.peer, "203.0.113.7");
  EXPECT_EQ(beat.kind, "flow");
  EXPECT_EQ(beat.summary, "10.0.0.5 -> 203.0.113.7:443/tcp beat 0");
  EXPECT_EQ(beat.uid, "U" + std::to_string(kE0));
  EXPECT_EQ(beat.input, "conn.log");
  EXPECT_EQ(beat.line, static_cast<uint64_t>(kE0 / kMicrosPerSecond));
  EXPECT_EQ(beat.bytes, 1000u);

  q.limit = 10;
  q.offset = 30;
  auto page = QueryOrDie(*store_, q);
  ASSERT_EQ(page.size(), 6u);
  EXPECT_EQ(page.front().time, all[30].time);
  q.limit = 0;
  q.offset = 0;
  q.kind = "dns";
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 4u);
  q.kind = "";
  q.peer = "10.0.0.9";
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 2u);
  q.peer = "203.0.113.7";
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 30u);
  q.peer = "";
  q.text = "beat 2";  // beats 2 and 20..29
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 11u);
  q.text = "U" + std::to_string(kE0);  // uid
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 1u);
  q.text = "";
  q.since = kE0 + 10 * kMicrosPerMinute;
  q.until = kE0 + 20 * kMicrosPerMinute;
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 12u);  // beats 10..19, the DNS queries at 12m and 19m
  EventQuery other;
  other.entity = "198.51.100.1";
  EXPECT_EQ(QueryOrDie(*store_, other).size(), 3u);
  other.entity = "10.9.9.9";
  EXPECT_TRUE(QueryOrDie(*store_, other).empty());
}

// Rows as the engine's event log writes them, a flow's summary packed (event_rows.h): each
// backend gives back, and searches, the summary's text.
TEST_P(StoreTest, EventLogGivesAPackedFlowSummaryBackAsText) {
  EventRows rows;
  for (int i = 0; i < 3; ++i) {
    rows.Add(kE0 + i, "10.0.0.5", "203.0.113.7", "flow", "P" + std::to_string(i), "conn.log", 1 + i,
             0, 4711, [i](std::string& out) {
               EXPECT_TRUE(PackFlowSummary(out, "10.0.0.5", 51234, "203.0.113.7", 443, Proto::kTcp,
                                           1229 + i * 2048, 3482, i == 2 ? "REJ" : "SF"));
             });
  }
  ASSERT_TRUE(store_->PutEventRows(rows).ok());
  EventQuery q;
  q.entity = "10.0.0.5";
  q.limit = 0;
  auto all = QueryOrDie(*store_, q);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.back().summary, "10.0.0.5:51234 -> 203.0.113.7:443/tcp 1.2 KB out, 3.4 KB in, SF");
  EXPECT_EQ(all.front().summary,
            "10.0.0.5:51234 -> 203.0.113.7:443/tcp 5.2 KB out, 3.4 KB in, REJ");
  q.text = "3.2 KB out";
  auto found = QueryOrDie(*store_, q);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].uid, "P1");
  q.text = "in, REJ";
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 1u);
}

TEST_P(StoreTest, EventLogCountsPerBucketListsPeersAndTheBusiestPairs) {
  ASSERT_TRUE(store_->PutEvents(SampleEvents()).ok());
  auto counts = store_->EventCounts("10.0.0.5", kMicrosPerHour, kE0 - kMicrosPerDay, 0);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  std::map<Micros, uint64_t> by(counts->begin(), counts->end());
  uint64_t hour0 = kE0 - kE0 % kMicrosPerHour;
  uint64_t total = 0;
  for (const auto& [t, n] : by) total += n;
  EXPECT_EQ(total, 36u);
  EXPECT_GE(by[static_cast<Micros>(hour0)], 1u);
  EXPECT_FALSE(store_->EventCounts("10.0.0.5", 0, 0, 0).ok());

  // Peers before a time, either direction, busiest first.
  auto peers = store_->Peers("10.0.0.5", kE0 + 10 * kMicrosPerHour, 10);
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[0].peer, "203.0.113.7");
  EXPECT_EQ((*peers)[0].events, 30u);
  EXPECT_EQ((*peers)[0].bytes, 30000u);
  EXPECT_EQ((*peers)[0].first_seen, kE0);
  EXPECT_EQ((*peers)[0].last_seen, kE0 + 29 * kMicrosPerMinute);
  EXPECT_EQ((*peers)[1].peer, "10.0.0.53");
  EXPECT_EQ((*peers)[2].peer, "10.0.0.9");
  auto early = store_->Peers("10.0.0.5", kE0 + 5 * kMicrosPerMinute, 10);  // only beats 0..4 so far
  ASSERT_TRUE(early.ok());
  ASSERT_EQ(early->size(), 1u);
  EXPECT_EQ((*early)[0].events, 5u);
  auto one = store_->Peers("10.0.0.5", kE0 + 10 * kMicrosPerHour, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);

  auto pairs = store_->BusiestPairs(0, 2, 0);
  ASSERT_TRUE(pairs.ok()) << pairs.status().ToString();
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0].entity, "10.0.0.5");
  EXPECT_EQ((*pairs)[0].peer, "203.0.113.7");
  EXPECT_EQ((*pairs)[0].events, 30u);
  EXPECT_EQ((*pairs)[1].peer, "10.0.0.53");
  // Only the newest rows: the last 5 rows hold both inbound flows and 3 beats... at most.
  auto recent = store_->BusiestPairs(0, 10, 5);
  ASSERT_TRUE(recent.ok());
  uint64_t n = 0;
  for (const auto& a : *recent) n += a.events;
  EXPECT_EQ(n, 5u);
  auto late = store_->BusiestPairs(kE0 + 2 * kMicrosPerHour, 10, 0);
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].entity, "10.0.0.9");
  EXPECT_EQ((*late)[0].events, 1u);
}

TEST_P(StoreTest, PruningTheEventLogDropsOnlyWhatIsOlder) {
  ASSERT_TRUE(store_->PutEvents(SampleEvents()).ok());
  auto removed = store_->PruneEvents(kE0 + 10 * kMicrosPerMinute);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 10u + 1u + 3u);  // beats 0..9, the DNS query at 5m, 10.0.0.6's flows
  EventQuery q;
  q.entity = "10.0.0.5";
  q.limit = 0;
  auto left = QueryOrDie(*store_, q);
  EXPECT_EQ(left.size(), 36u - 11u);
  for (const auto& e : left) EXPECT_GE(e.time, kE0 + 10 * kMicrosPerMinute);
  // Appending after a prune still works, and a prune of everything leaves it empty.
  ASSERT_TRUE(store_->PutEvents({Ev(kE0 + 5 * kMicrosPerHour, "10.0.0.5", "", "dns", "late query")}).ok());
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 26u);
  ASSERT_TRUE(store_->PruneEvents(kE0 + kMicrosPerDay).ok());
  EXPECT_TRUE(QueryOrDie(*store_, q).empty());
  Reopen();  // and it is all still consistent after a reopen
  ASSERT_TRUE(store_->PutEvents(SampleEvents()).ok());
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 36u);
}

TEST_P(StoreTest, CappingTheEventLogKeepsTheNewestRows) {
  SetEventSegmentRowsForTest(7);
  auto events = SampleEvents();  // 39 rows
  Status st = store_->PutEvents(events);
  SetEventSegmentRowsForTest(0);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto removed = store_->CapEvents(10);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  uint64_t left = 39 - *removed;
  EXPECT_GE(left, 10u);
  EXPECT_LE(left, 10u + 7u);  // at most one segment more
  // What stays is the newest: the 10 newest events are all there.
  std::set<Micros> kept;
  for (const char* who : {"10.0.0.5", "10.0.0.6"}) {
    EventQuery q;
    q.entity = who;
    q.limit = 0;
    for (const auto& e : QueryOrDie(*store_, q)) kept.insert(e.time);
  }
  std::vector<Micros> times;
  for (const auto& e : events) times.push_back(e.time);
  std::sort(times.rbegin(), times.rend());
  for (size_t i = 0; i < 10; ++i) EXPECT_TRUE(kept.count(times[i])) << i;
  auto again = store_->CapEvents(10);  // nothing more to drop
  ASSERT_TRUE(again.ok());
  EXPECT_LE(*again, 7u);
}

// The SQLite log keeps rows in segment tables; with tiny segments every query, count and
// prune crosses segment boundaries (sealed, indexed ones and the open one). PostgreSQL keeps
// one table, where the same batches must give the same answers.
TEST_P(StoreTest, EventLogAnswersTheSameAcrossManySegments) {
  SetEventSegmentRowsForTest(7);
  auto events = SampleEvents();
  // In three batches, so segments also open and seal between calls.
  std::vector<EventRecord> a(events.begin(), events.begin() + 10), b(events.begin() + 10, events.begin() + 11),
      c(events.begin() + 11, events.end());
  Status st = store_->PutEvents(a);
  if (st.ok()) st = store_->PutEvents(b);
  if (st.ok()) st = store_->PutEvents(c);
  SetEventSegmentRowsForTest(0);
  ASSERT_TRUE(st.ok()) << st.ToString();
  if (auto* sqlite = dynamic_cast<SqliteBackend*>(backend_.get())) {
    std::map<std::string, int> files;  // by extension, in state/events
    for (const auto& f : std::filesystem::directory_iterator(sqlite->dir() + "/events"))
      ++files[f.path().extension().string()];
    EXPECT_EQ(files[".rows"], 6);  // 39 rows / 7
    EXPECT_EQ(files[".idx"], 5);   // all sealed but the open one
  }
  EventQuery q;
  q.entity = "10.0.0.5";
  q.limit = 0;
  auto all = QueryOrDie(*store_, q);
  ASSERT_EQ(all.size(), 36u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1].time, all[i].time);
  q.limit = 10;
  q.offset = 30;
  auto page = QueryOrDie(*store_, q);
  ASSERT_EQ(page.size(), 6u);
  EXPECT_EQ(page.front().summary, all[30].summary);
  auto peers = store_->Peers("10.0.0.5", kE0 + 10 * kMicrosPerHour, 10);
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[0].events, 30u);
  auto removed = store_->PruneEvents(kE0 + 10 * kMicrosPerMinute);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 14u);
  q.limit = 0;
  q.offset = 0;
  EXPECT_EQ(QueryOrDie(*store_, q).size(), 25u);
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteBackend backend_;
};

TEST_F(SqliteStoreTest, DatabaseIsInWalModeWithNormalSync) {
  auto s = OpenSqliteStore(backend_.dir());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->UpsertEntities({Entity("x")}).ok());
  EXPECT_EQ(backend_.RawQuery("PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(std::filesystem::exists(backend_.dir() + "/vigil.db-wal"));
  EXPECT_EQ(backend_.RawQuery("PRAGMA user_version"),
            std::to_string(SqliteMigrations().back().version));
}

// The query plans SQLite picks for `sql` (EXPLAIN QUERY PLAN's detail column), joined.
std::string QueryPlan(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string plan;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr) == SQLITE_OK)
      while (sqlite3_step(s) == SQLITE_ROW)
        plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))) + "; ";
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return plan;
}

// A store from before migration 4 (the type index on every row) is migrated: the index
// leaves out devices, and listing a rarer type reads it while devices walk the primary key.
TEST_F(SqliteStoreTest, TheTypeIndexLeavesDevicesOutAndServesTheOtherTypes) {
  const auto all = SqliteMigrations();
  ASSERT_GE(all.size(), 4u);
  {
    auto v3 = OpenSqliteStoreWith(backend_.dir(), all.subspan(0, 3));
    ASSERT_TRUE(v3.ok()) << v3.status().ToString();
    std::vector<EntityRecord> batch;
    for (int i = 0; i < 40; ++i) {
      EntityRecord e = Entity("id" + std::to_string(100 + i));
      if (i % 10 == 3) e.type = "identity";
      batch.push_back(e);
    }
    ASSERT_TRUE((*v3)->UpsertEntities(batch).ok());
    EXPECT_EQ(backend_.RawQuery("SELECT count(*) FROM sqlite_master WHERE name = 'entities_type'"), "1");
  }
  auto s = OpenSqliteStore(backend_.dir());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(backend_.RawQuery("SELECT count(*) FROM sqlite_master WHERE name = 'entities_type'"), "0");
  EXPECT_EQ(backend_.RawQuery("SELECT sql FROM sqlite_master WHERE name = 'entities_other_types'"),
            "CREATE INDEX entities_other_types ON entities(type, id) WHERE type <> 'device'");
  auto identities = (*s)->ListEntities("identity", 2, 1);
  ASSERT_TRUE(identities.ok()) << identities.status().ToString();
  ASSERT_EQ(identities->size(), 2u);
  EXPECT_EQ((*identities)[0].id, "id113");
  EXPECT_EQ((*identities)[1].id, "id123");
  auto devices = (*s)->ListEntities("device", 0, 0);
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 36u);
  // The plans of ListEntities' statements (sqlite_store.cc).
  const std::string db = backend_.dir() + "/vigil.db";
  EXPECT_NE(QueryPlan(db, "SELECT id FROM entities WHERE type = ?1 AND type <> 'device' "
                          "ORDER BY id LIMIT ?2 OFFSET ?3")
                .find("entities_other_types"),
            std::string::npos);
  EXPECT_EQ(QueryPlan(db, "SELECT id FROM entities WHERE type = ?1 ORDER BY id LIMIT ?2 OFFSET ?3")
                .find("entities_other_types"),
            std::string::npos);
}

// A store from before migration 5 keeps every entity, field by field, in a table keyed by
// id alone (WITHOUT ROWID), with the type index; an entity stored again still merges.
TEST_F(SqliteStoreTest, EntitiesMoveToATableKeyedByIdAloneKeepingEveryField) {
  const auto all = SqliteMigrations();
  ASSERT_GE(all.size(), 5u);
  EntityRecord server = Entity("10.0.0.5");
  server.name = "files.corp";
  server.addresses = {"10.0.0.5"};
  server.names = {"files.corp", "files"};
  server.first_seen = 1000;
  server.last_seen = 5000;
  server.role = "server";
  server.tags = {"crown-jewel"};
  server.events = 42;
  server.facts = {{"os", "linux"}};
  EntityRecord user = Entity("alice@corp");
  user.type = "identity";
  {
    auto v4 = OpenSqliteStoreWith(backend_.dir(), all.subspan(0, 4));
    ASSERT_TRUE(v4.ok()) << v4.status().ToString();
    ASSERT_TRUE((*v4)->UpsertEntities({server, user}).ok());
    EXPECT_EQ(backend_.RawQuery("SELECT sql FROM sqlite_master WHERE name = 'entities'")
                  .find("WITHOUT ROWID"),
              std::string::npos);
  }
  auto s = OpenSqliteStore(backend_.dir());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_NE(backend_.RawQuery("SELECT sql FROM sqlite_master WHERE name = 'entities'")
                .find("WITHOUT ROWID"),
            std::string::npos);
  EXPECT_EQ(
      backend_.RawQuery("SELECT count(*) FROM sqlite_master WHERE name = 'entities_other_types'"),
      "1");
  const EntityRecord got = GetEntityOrDie(**s, "10.0.0.5");
  EXPECT_EQ(got.type, "device");
  EXPECT_EQ(got.name, "files.corp");
  EXPECT_EQ(got.addresses, server.addresses);
  EXPECT_EQ(got.names, server.names);
  EXPECT_EQ(got.first_seen, 1000);
  EXPECT_EQ(got.last_seen, 5000);
  EXPECT_EQ(got.role, "server");
  EXPECT_EQ(got.tags, server.tags);
  EXPECT_EQ(got.events, 42u);
  EXPECT_EQ(got.facts, server.facts);
  auto identities = (*s)->ListEntities("identity", 0, 0);
  ASSERT_TRUE(identities.ok());
  ASSERT_EQ(identities->size(), 1u);
  EXPECT_EQ((*identities)[0].id, "alice@corp");

  EntityRecord again = Entity("10.0.0.5");
  again.first_seen = 500;
  again.last_seen = 9000;
  again.events = 8;
  ASSERT_TRUE((*s)->UpsertEntities({again}).ok());
  const EntityRecord merged = GetEntityOrDie(**s, "10.0.0.5");
  EXPECT_EQ(merged.first_seen, 500);
  EXPECT_EQ(merged.last_seen, 9000);
  EXPECT_EQ(merged.events, 50u);
  EXPECT_EQ(merged.name, "files.corp");
}

TEST_F(SqliteStoreTest, MissingStateDirectoryIsCreated) {
  std::string nested = backend_.dir() + "/a/b/c";
  ASSERT_FALSE(std::filesystem::exists(nested));
  auto s = OpenSqliteStore(nested);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(nested + "/vigil.db"));
}

TEST_F(SqliteStoreTest, AFileThatIsNotSqliteIsReportedAsCorrupt) {
  std::filesystem::create_directories(backend_.dir());
  {
    std::ofstream f(backend_.dir() + "/vigil.db", std::ios::binary);
    f << std::string(8192, 'x');
  }
  auto s = OpenSqliteStore(backend_.dir());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorrupt) << s.status().ToString();
  EXPECT_NE(s.status().message().find("vigil.db"), std::string::npos) << s.status().message();
}

TEST_F(SqliteStoreTest, AStateDirThatCannotBeCreatedIsAnIoError) {
  std::filesystem::create_directories(backend_.dir());
  { std::ofstream f(backend_.dir() + "/plain-file"); }
  auto s = OpenSqliteStore(backend_.dir() + "/plain-file/sub");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kIoError) << s.status().ToString();
}

TEST_F(SqliteStoreTest, OpenStoreFollowsTheStoreSectionOfTheConfig) {
  auto sqlite = OpenStore(config::Config::Defaults(), backend_.dir());
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(backend_.dir() + "/vigil.db"));

  auto no_conninfo = config::LoadConfigText("store:\n  backend: postgres\n", "test.yaml");
  ASSERT_TRUE(no_conninfo.ok()) << no_conninfo.ToText();
  auto r = OpenStore(*no_conninfo.config, backend_.dir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("store.postgres"), std::string::npos);

  auto unknown = config::LoadConfigText("store:\n  backend: oracle\n", "test.yaml");
  ASSERT_TRUE(unknown.ok()) << unknown.ToText();
  r = OpenStore(*unknown.config, backend_.dir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("oracle"), std::string::npos);
}

TEST(StoreMigrations, ListsRunFromOneWithoutGaps) {
  EXPECT_TRUE(CheckMigrationList(SqliteMigrations()).ok());
  EXPECT_TRUE(CheckMigrationList(PostgresMigrations()).ok());
  // The backends' lists move independently: SQLite's third moved the event log to files.
  EXPECT_GE(SqliteMigrations().size(), PostgresMigrations().size());
  const Migration gap[] = {{1, "a", "SELECT 1"}, {3, "b", "SELECT 1"}};
  EXPECT_EQ(CheckMigrationList(gap).code(), StatusCode::kInternal);
  EXPECT_EQ(CheckMigrationList({}).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace vigil::store

namespace vigil::store {
namespace {

TEST(StoreJsonText, StringListsRoundTripQuicklyOrThroughNlohmann) {
  const std::vector<std::string> plain = {"10.0.0.5", "host.example", ""};
  EXPECT_EQ(StringsToJsonText(plain), R"(["10.0.0.5","host.example",""])");
  const std::vector<std::string> odd = {"quote \" and \\ slash", "tab\there", "caf\xc3\xa9", "bad \xff byte"};
  const std::vector<std::string>* lists[] = {&plain, &odd, nullptr};
  for (const auto* list : lists) {
    const std::vector<std::string> v = list ? *list : std::vector<std::string>{};
    std::string text = StringsToJsonText(v);
    EXPECT_EQ(text, DumpJson(StringsToJson(v))) << text;  // the same text as the slow path
    auto back = StringsFromJsonText(text, "t");
    ASSERT_TRUE(back.ok()) << text;
    if (list == &odd) {
      EXPECT_EQ((*back)[0], odd[0]);
      EXPECT_EQ((*back)[3], "bad \xef\xbf\xbd byte");  // replaced, as DumpJson does
    } else {
      EXPECT_EQ(*back, v);
    }
  }
  auto mixed = StringsFromJsonText(R"(["a", 1, "b"])", "t");  // not the quick shape
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, (std::vector<std::string>{"a", "b"}));
  for (const char* bad : {"[\"a\",]", "[\"a\"", "nope", "[\"a\" \"b\"]"}) {
    auto r = StringsFromJsonText(bad, "entities.names");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    }
  }
}

}  // namespace
}  // namespace vigil::store
