#include "server/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "detect/model.h"
#include "respond/action.h"
#include "server/export/exporter.h"

namespace vigil::server {

namespace {

Micros WallNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void SendJson(httplib::Response& res, const nlohmann::json& j, int status = 200) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& msg) {
  SendJson(res, {{"error", msg}}, status);
}

// A store failure is our problem, not the client's: 500 with the store's message.
void SendStoreError(httplib::Response& res, const Status& st) {
  SendError(res, 500, "store: " + st.ToString());
}

// Strict unsigned parse of a query parameter.
bool ParseUnsigned(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

// Query parameters are checked before any store call; the first bad one is reported.
struct Params {
  const httplib::Request& req;
  std::string error;

  bool has(const char* k) const { return req.has_param(k); }
  std::string str(const char* k) const { return req.has_param(k) ? req.get_param_value(k) : ""; }

  size_t Size(const char* k, size_t def, size_t max, size_t min = 0) {
    if (!has(k)) return def;
    uint64_t v = 0;
    if (!ParseUnsigned(str(k), &v) || v < min || v > max) {
      if (error.empty()) {
        error = std::string(k) + " must be a whole number from " + std::to_string(min) + " to " +
                std::to_string(max);
      }
      return def;
    }
    return static_cast<size_t>(v);
  }
  Micros Time(const char* k) {
    if (!has(k)) return 0;
    std::string v = str(k);
    if (auto t = ParseIso8601(v)) return *t;
    if (auto t = ParseEpochSeconds(v)) return *t;
    if (error.empty()) error = std::string(k) + " must be an RFC 3339 time or epoch seconds";
    return 0;
  }
  bool Bool(const char* k, bool def) {
    if (!has(k)) return def;
    std::string v = str(k);
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    if (error.empty()) error = std::string(k) + " must be true or false";
    return def;
  }
  std::string OneOf(const char* k, const std::string& def, std::initializer_list<const char*> allowed) {
    if (!has(k)) return def;
    std::string v = str(k);
    for (const char* a : allowed) {
      if (v == a) return v;
    }
    if (error.empty()) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      error = std::string(k) + " must be one of: " + list;
    }
    return def;
  }
};

nlohmann::json EntityToJson(const store::EntityRecord& e) {
  return {{"type", e.type},
          {"id", e.id},
          {"name", e.name.empty() ? e.id : e.name},
          {"addresses", e.addresses},
          {"names", e.names},
          {"first_seen", e.first_seen ? FormatRfc3339(e.first_seen) : ""},
          {"last_seen", e.last_seen ? FormatRfc3339(e.last_seen) : ""},
          {"role", e.role},
          {"tags", e.tags},
          {"events", e.events},
          {"facts", e.facts}};
}

// Whether an action (respond's ActionToJson shape, or anything with a "target") acts on
// the entity `id`.
bool ActionTargets(const nlohmann::json& a, const std::string& id) {
  if (!a.contains("target")) return false;
  const auto& t = a["target"];
  if (t.is_string()) return t.get<std::string>() == id;
  if (!t.is_object()) return false;
  for (const char* k : {"device", "peer", "identity", "edr_device", "access_key", "id"}) {
    if (t.contains(k) && t[k].is_string() && t[k].get<std::string>() == id) return true;
  }
  return false;
}

bool IncidentMentions(const nlohmann::json& inc, const std::string& id) {
  if (!inc.contains("entities") || !inc["entities"].is_array()) return false;
  for (const auto& e : inc["entities"]) {
    if (e.is_string() && e.get<std::string>() == id) return true;
    if (e.is_object() && e.value("id", "") == id) return true;
  }
  return false;
}

std::string PromEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      o += '\\';
      o += c;
    } else if (c == '\n') {
      o += "\\n";
    } else {
      o += c;
    }
  }
  return o;
}

const char* kNoUiPage =
    "<!doctype html><meta charset=utf-8><title>Vigil</title><h1>Vigil</h1>"
    "<p>The web UI is not built. Run <code>make build</code> (it runs <code>ui/build.sh</code>), "
    "or pass <code>--ui DIR</code>. The API is at <a href=/api/v1/status>/api/v1/status</a>.</p>";

}  // namespace

Status ParseListen(const std::string& text, std::string* host, int* port) {
  std::string h = "127.0.0.1";
  std::string p = text;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("listen address '" + text + "' must be [IPv6]:PORT");
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else if (auto c = text.rfind(':'); c != std::string::npos) {
    if (text.find(':') != c) return InvalidArgument("IPv6 listen address must be written [ADDR]:PORT");
    if (c > 0) h = text.substr(0, c);
    p = text.substr(c + 1);
  }
  uint64_t v = 0;
  if (!ParseUnsigned(p, &v) || v > 65535) {
    return InvalidArgument("listen address '" + text + "' needs a port from 0 to 65535");
  }
  *host = h;
  *port = static_cast<int>(v);
  return Status::Ok();
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

std::string DefaultUiDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "ui";
  std::string p(buf, static_cast<size_t>(n));
  auto slash = p.rfind('/');
  return (slash == std::string::npos ? std::string(".") : p.substr(0, slash)) + "/ui";
}

Status ApplyServerConfig(const config::Config& cfg, ServerOptions* o, TokenStore* tokens) {
  if (cfg.Has("server.listen")) VIGIL_RETURN_IF_ERROR(ParseListen(cfg.GetString("server.listen"), &o->host, &o->port));
  o->tls_cert = cfg.GetString("server.tls_cert");
  o->tls_key = cfg.GetString("server.tls_key");
  o->auth_disabled = cfg.GetBool("server.auth_disabled");
  std::string ui = cfg.GetString("server.ui_dir");
  if (!ui.empty()) o->ui_dir = ui;
  if (o->tls_cert.empty() != o->tls_key.empty()) {
    return InvalidArgument("server.tls_cert and server.tls_key must be set together");
  }
  YAML::Node list = cfg.Node("server.tokens");
  if (list.IsSequence()) {
    int i = 0;
    for (const auto& item : list) {
      ++i;
      std::string token = item["token"] ? item["token"].as<std::string>("") : "";
      auto role = ParseRole(item["role"] ? item["role"].as<std::string>("") : "");
      if (token.empty() || !role) {
        return InvalidArgument("server.tokens item " + std::to_string(i) +
                               " needs a token and a role (viewer, responder, admin)");
      }
      TokenEntry e;
      e.id = "config-" + std::to_string(i);
      e.name = item["name"] ? item["name"].as<std::string>("") : e.id;
      e.role = *role;
      e.sha256 = token.rfind("sha256:", 0) == 0 ? token.substr(7) : Sha256Hex(token);
      tokens->AddConfigured(e);
    }
  }
  return Status::Ok();
}

Server::Server(ServerOptions o, store::Store& store, EventHub& hub, TokenStore& tokens,
               const config::Config* cfg, exp::Exporter* exporter)
    : o_(std::move(o)), store_(store), hub_(hub), tokens_(tokens), cfg_(cfg), exporter_(exporter) {}

Server::~Server() { Stop(); }

Result<int> Server::Start() {
  if (o_.auth_disabled && !IsLoopbackHost(o_.host)) {
    return InvalidArgument("server.auth_disabled is only allowed when listening on loopback, not " +
                           o_.host);
  }
  auth_off_ = o_.auth_disabled;
  if (!o_.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(o_.tls_cert.c_str(), o_.tls_key.c_str());
    if (!ssl->is_valid()) {
      return InvalidArgument("cannot load TLS certificate " + o_.tls_cert + " and key " + o_.tls_key);
    }
    http_ = std::move(ssl);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  http_->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  http_->set_payload_max_length(1 << 20);
  if (o_.ui_dir.empty()) o_.ui_dir = DefaultUiDir();
  Routes();
  if (o_.port == 0) {
    port_ = http_->bind_to_any_port(o_.host);
    if (port_ <= 0) return Unavailable("cannot listen on " + o_.host);
  } else {
    if (!http_->bind_to_port(o_.host, o_.port)) {
      return Unavailable("cannot listen on " + o_.host + ":" + std::to_string(o_.port) +
                         " (address in use or not local)");
    }
    port_ = o_.port;
  }
  started_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return port_;
}

void Server::Stop() {
  if (!http_) return;
  stopping_ = true;
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

void Server::Routes() {
  auto& s = *http_;
  struct stat st{};
  bool have_ui = ::stat((o_.ui_dir + "/index.html").c_str(), &st) == 0;
  if (have_ui) {
    s.set_mount_point("/", o_.ui_dir);
  } else {
    s.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kNoUiPage, "text/html; charset=utf-8");
    });
  }

  s.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    int cls = res.status / 100;
    requests_[(cls >= 1 && cls <= 5) ? cls : 0]++;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (req.path.rfind("/api/", 0) == 0 || req.path == "/metrics") {
      SendError(res, res.status, res.status == 404 ? "no such endpoint: " + req.path : "request failed");
    } else if (res.status == 404) {
      res.set_content("not found\n", "text/plain");
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = std::string("internal error: ") + e.what();
    } catch (...) {
    }
    SendError(res, 500, what);
  });

  // Wraps a handler with authentication and a minimum role.
  using Fn = std::function<void(const httplib::Request&, httplib::Response&, const TokenEntry&)>;
  auto guarded = [this](Role min, Fn fn, bool allow_query_token = false) {
    return [this, min, fn = std::move(fn), allow_query_token](const httplib::Request& req,
                                                              httplib::Response& res) {
      TokenEntry who;
      if (auth_off_) {
        who.id = "anonymous";
        who.name = "anonymous (auth disabled)";
        who.role = Role::kAdmin;
      } else {
        std::string token;
        std::string h = req.get_header_value("Authorization");
        if (h.rfind("Bearer ", 0) == 0) {
          token = h.substr(7);
        } else if (allow_query_token && req.has_param("access_token")) {
          // EventSource cannot send headers, so the stream also accepts ?access_token=.
          token = req.get_param_value("access_token");
        }
        if (token.empty()) {
          res.set_header("WWW-Authenticate", "Bearer");
          return SendError(res, 401, "missing bearer token");
        }
        auto e = tokens_.Verify(token);
        if (!e) {
          res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
          return SendError(res, 401, "invalid token");
        }
        who = *e;
      }
      if (static_cast<int>(who.role) < static_cast<int>(min)) {
        return SendError(res, 403, std::string("this needs the ") + RoleName(min) + " role; the token has " +
                                       RoleName(who.role));
      }
      fn(req, res, who);
    };
  };

  auto list_entities = [this](const std::string& fixed_type) {
    return [this, fixed_type](const httplib::Request& req, httplib::Response& res, const TokenEntry&) {
      Params p{req, ""};
      std::string type = fixed_type.empty() ? p.OneOf("type", "device", {"device", "external", "identity"})
                                            : fixed_type;
      size_t limit = p.Size("limit", kDefaultPageSize, kMaxPageSize, 1);
      size_t offset = p.Size("offset", 0, kMaxCountScan);
      if (!p.error.empty()) return SendError(res, 400, p.error);
      auto r = store_.ListEntities(type, limit, offset);
      if (!r.ok()) return SendStoreError(res, r.status());
      nlohmann::json items = nlohmann::json::array();
      for (const auto& e : *r) items.push_back(EntityToJson(e));
      SendJson(res, {{"items", items}, {"limit", limit}, {"offset", offset}});
    };
  };
  s.Get("/api/v1/devices", guarded(Role::kViewer, list_entities("")));
  s.Get("/api/v1/identities", guarded(Role::kViewer, list_entities("identity")));

  // Events of an entity (as entity or as peer), newest first, from the store's event log
  // (store.event_log), paged and filtered by kind, peer, text and time. Each event names
  // where its raw record is (input, line, offset) and the breaches that cite it. With the
  // event log off (or empty for this entity) the events its breaches reference are listed.
  auto entity_events = [this](const httplib::Request& req, httplib::Response& res, const TokenEntry&) {
    Params p{req, ""};
    store::EventQuery eq;
    eq.entity = req.matches[1];
    eq.limit = p.Size("limit", kDefaultPageSize, kMaxPageSize, 1);
    eq.offset = p.Size("offset", 0, kMaxCountScan);
    eq.kind = p.str("kind");
    eq.text = p.str("q");
    eq.peer = p.str("peer");
    eq.since = p.Time("since");
    eq.until = p.Time("until");
    if (p.error.empty() && eq.since && eq.until && eq.until <= eq.since) p.error = "until must be after since";
    if (!p.error.empty()) return SendError(res, 400, p.error);
    const std::string& id = eq.entity;
    store::BreachQuery bq;
    bq.entity = id;
    bq.include_peer = true;
    bq.include_weak = true;
    bq.limit = kMaxPageSize;
    auto br = store_.QueryBreaches(bq);
    if (!br.ok()) return SendStoreError(res, br.status());
    // (input, offset, time) of each event a breach cites -> the breach.
    std::map<std::tuple<std::string, uint64_t, Micros>, const detect::Breach*> cited;
    for (const auto& b : *br)
      for (const auto& ev : b.events) cited.emplace(std::make_tuple(ev.input, ev.offset, ev.time), &b);

    store::EventQuery page = eq;
    page.limit = eq.limit + 1;  // one more says whether there is a next page
    auto evs = store_.QueryEvents(page);
    if (!evs.ok()) return SendStoreError(res, evs.status());
    nlohmann::json items = nlohmann::json::array();
    if (!evs->empty() || eq.offset > 0) {
      for (size_t i = 0; i < evs->size() && i < eq.limit; ++i) {
        const auto& ev = (*evs)[i];
        nlohmann::json j = {{"time", FormatRfc3339(ev.time)}, {"kind", ev.kind},
                            {"entity", ev.entity},            {"peer", ev.peer},
                            {"summary", ev.summary},          {"uid", ev.uid},
                            {"input", ev.input},              {"line", ev.line},
                            {"offset", ev.offset},            {"bytes", ev.bytes}};
        auto c = cited.find(std::make_tuple(ev.input, ev.offset, ev.time));
        if (c != cited.end()) {
          j["breach"] = c->second->id;
          j["model"] = c->second->model;
        }
        items.push_back(std::move(j));
      }
      return SendJson(res, {{"items", items},
                            {"limit", eq.limit},
                            {"offset", eq.offset},
                            {"more", evs->size() > eq.limit},
                            {"source", "event-log"}});
    }
    std::vector<nlohmann::json> all;
    std::set<std::string> seen;
    for (const auto& b : *br) {
      for (const auto& ev : b.events) {
        std::string key = ev.input + "|" + std::to_string(ev.offset) + "|" + ev.uid + "|" + std::to_string(ev.time);
        if (!seen.insert(key).second) continue;
        if (!eq.kind.empty() && ev.kind != eq.kind) continue;
        if (!eq.text.empty() && ev.summary.find(eq.text) == std::string::npos && ev.uid.find(eq.text) == std::string::npos) continue;
        if ((eq.since && ev.time < eq.since) || (eq.until && ev.time >= eq.until)) continue;
        all.push_back({{"time", FormatRfc3339(ev.time)}, {"kind", ev.kind},   {"summary", ev.summary},
                       {"uid", ev.uid},                  {"input", ev.input}, {"line", ev.line},
                       {"offset", ev.offset},            {"breach", b.id},    {"model", b.model}});
      }
    }
    std::sort(all.begin(), all.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      return a["time"].get<std::string>() > b["time"].get<std::string>();
    });
    for (size_t i = eq.offset; i < all.size() && items.size() < eq.limit; ++i) items.push_back(all[i]);
    SendJson(res, {{"items", items},
                   {"total", all.size()},
                   {"limit", eq.limit},
                   {"offset", eq.offset},
                   {"more", all.size() > eq.offset + items.size()},
                   {"source", "breach-references"}});
  };
  s.Get(R"(/api/v1/(?:devices|identities)/(.+)/events)", guarded(Role::kViewer, entity_events));

  // Connection activity over time: the entity's events per bucket (default 1 h) of event
  // time, from the event log. Without since/until: the entity's first to last seen. At most
  // kMaxActivityBuckets buckets (the bucket grows to fit).
  s.Get(R"(/api/v1/(?:devices|identities)/(.+)/activity)",
        guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res, const TokenEntry&) {
          Params p{req, ""};
          std::string id = req.matches[1];
          Micros bucket = kMicrosPerHour;
          if (p.has("bucket")) {
            auto d = ParseDuration(p.str("bucket"));
            if (!d || *d < kMicrosPerSecond) p.error = "bucket must be a duration of 1s or more (\"1h\", \"5m\")";
            else bucket = *d;
          }
          Micros since = p.Time("since"), until = p.Time("until");
          if (!p.error.empty()) return SendError(res, 400, p.error);
          if (!since || !until) {
            auto e = store_.GetEntity(id);
            if (!e.ok()) return SendStoreError(res, e.status());
            if (!e->has_value()) return SendError(res, 404, "no entity '" + id + "'");
            if (!since) since = (*e)->first_seen;
            if (!until) until = (*e)->last_seen + 1;
          }
          if (until <= since) return SendError(res, 400, "until must be after since");
          while ((until - since) / bucket > kMaxActivityBuckets) bucket *= 2;
          since -= since % bucket;
          auto counts = store_.EventCounts(id, bucket, since, until);
          if (!counts.ok()) return SendStoreError(res, counts.status());
          nlohmann::json items = nlohmann::json::array();
          for (const auto& [t, n] : *counts) items.push_back({{"time", FormatRfc3339(t)}, {"events", n}});
          SendJson(res, {{"items", items},
                         {"bucket_s", bucket / kMicrosPerSecond},
                         {"since", FormatRfc3339(since)},
                         {"until", FormatRfc3339(until)}});
        }));

  // The map: who talks to whom. The busiest (entity, peer) pairs of the event log's newest
  // kMapRows rows (optionally since a time), with each node's type and whether it breached
  // (its highest breach score), so the UI can size by activity and highlight breaches.
  s.Get("/api/v1/map", guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                                      const TokenEntry&) {
          Params p{req, ""};
          size_t limit = p.Size("limit", 300, 2000, 1);
          Micros since = p.Time("since");
          if (!p.error.empty()) return SendError(res, 400, p.error);
          auto pairs = store_.BusiestPairs(since, limit, kMapRows);
          if (!pairs.ok()) return SendStoreError(res, pairs.status());
          store::BreachQuery bq;
          bq.limit = kMaxPageSize;
          auto br = store_.QueryBreaches(bq);
          if (!br.ok()) return SendStoreError(res, br.status());
          std::map<std::string, int> top_score;
          std::set<std::pair<std::string, std::string>> breached_pairs;
          for (const auto& b : *br) {
            if (b.peer) {
              breached_pairs.emplace(b.entity.id, b.peer->id);
              breached_pairs.emplace(b.peer->id, b.entity.id);
            }
            int& s1 = top_score[b.entity.id];
            s1 = std::max(s1, b.score);
            if (b.peer) {
              int& s2 = top_score[b.peer->id];
              s2 = std::max(s2, b.score);
            }
          }
          std::map<std::string, nlohmann::json> nodes;
          auto node = [&](const std::string& id, uint64_t events) {
            auto it = nodes.find(id);
            if (it == nodes.end()) {
              nlohmann::json n = {{"id", id}, {"type", ""}, {"name", ""}, {"events", 0}};
              auto e = store_.GetEntity(id);
              if (e.ok() && e->has_value()) {
                n["type"] = (*e)->type;
                n["name"] = (*e)->name;
                n["role"] = (*e)->role;
              }
              auto s3 = top_score.find(id);
              n["breach_score"] = s3 == top_score.end() ? 0 : s3->second;
              it = nodes.emplace(id, std::move(n)).first;
            }
            it->second["events"] = it->second["events"].get<uint64_t>() + events;
          };
          nlohmann::json edges = nlohmann::json::array();
          for (const auto& a : *pairs) {
            node(a.entity, a.events);
            node(a.peer, a.events);
            edges.push_back({{"source", a.entity}, {"target", a.peer}, {"events", a.events},
                             {"bytes", a.bytes}, {"first_seen", FormatRfc3339(a.first_seen)},
                             {"last_seen", FormatRfc3339(a.last_seen)},
                             {"breached", breached_pairs.count({a.entity, a.peer}) > 0}});
          }
          nlohmann::json ns = nlohmann::json::array();
          for (auto& [id, n] : nodes) ns.push_back(std::move(n));
          SendJson(res, {{"nodes", ns}, {"edges", edges}});
        }));

  auto entity_detail = [this](const httplib::Request& req, httplib::Response& res, const TokenEntry&) {
    std::string id = req.matches[1];
    auto e = store_.GetEntity(id);
    if (!e.ok()) return SendStoreError(res, e.status());
    if (!e->has_value()) return SendError(res, 404, "no entity '" + id + "'");
    nlohmann::json out = EntityToJson(**e);
    store::BreachQuery bq;
    bq.entity = id;
    bq.include_weak = true;
    bq.limit = kMaxPageSize;
    auto br = store_.QueryBreaches(bq);
    if (!br.ok()) return SendStoreError(res, br.status());
    nlohmann::json breaches = nlohmann::json::array();
    for (const auto& b : *br) breaches.push_back(detect::BreachToJson(b));
    out["breaches"] = breaches;
    auto acts = store_.ListActions(kMaxPageSize, 0);
    if (!acts.ok()) return SendStoreError(res, acts.status());
    nlohmann::json actions = nlohmann::json::array();
    for (const auto& a : *acts) {
      if (ActionTargets(a, id)) actions.push_back(a);
    }
    out["actions"] = actions;
    auto incs = store_.ListIncidents(kMaxPageSize, 0);
    if (!incs.ok()) return SendStoreError(res, incs.status());
    nlohmann::json incidents = nlohmann::json::array();
    for (const auto& i : *incs) {
      if (IncidentMentions(i, id)) incidents.push_back(i);
    }
    out["incidents"] = incidents;
    auto v = store_.GetVulnerabilities(id);
    if (!v.ok()) return SendStoreError(res, v.status());
    out["vulnerabilities"] = v->is_null() ? nlohmann::json::array() : *v;
    SendJson(res, out);
  };
  s.Get(R"(/api/v1/(?:devices|identities)/(.+))", guarded(Role::kViewer, entity_detail));

  s.Get("/api/v1/breaches", guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                                           const TokenEntry&) {
          Params p{req, ""};
          store::BreachQuery q;
          q.model = p.str("model");
          q.entity = p.str("entity");
          q.min_score = static_cast<int>(p.Size("min_score", 0, 100));
          q.since = p.Time("since");
          q.until = p.Time("until");
          q.include_weak = p.Bool("weak", false);
          q.limit = p.Size("limit", kDefaultPageSize, kMaxPageSize, 1);
          q.offset = p.Size("offset", 0, kMaxCountScan);
          if (p.error.empty() && q.since && q.until && q.until <= q.since) p.error = "until must be after since";
          if (!p.error.empty()) return SendError(res, 400, p.error);
          auto r = store_.QueryBreaches(q);
          if (!r.ok()) return SendStoreError(res, r.status());
          nlohmann::json items = nlohmann::json::array();
          for (const auto& b : *r) items.push_back(detect::BreachToJson(b));
          SendJson(res, {{"items", items}, {"limit", q.limit}, {"offset", q.offset}});
        }));

  s.Get(R"(/api/v1/breaches/([^/]+))", guarded(Role::kViewer, [this](const httplib::Request& req,
                                                                    httplib::Response& res, const TokenEntry&) {
          std::string id = req.matches[1];
          auto b = store_.GetBreach(id);
          if (!b.ok()) return SendStoreError(res, b.status());
          if (!b->has_value()) return SendError(res, 404, "no breach '" + id + "'");
          nlohmann::json out = detect::BreachToJson(**b);
          auto incs = store_.ListIncidents(kMaxPageSize, 0);
          if (!incs.ok()) return SendStoreError(res, incs.status());
          nlohmann::json in = nlohmann::json::array();
          for (const auto& i : *incs) {
            if (!i.contains("breaches") || !i["breaches"].is_array()) continue;
            for (const auto& x : i["breaches"]) {
              if (x.is_string() && x.get<std::string>() == id) {
                in.push_back({{"id", i.value("id", "")}, {"title", i.value("title", "")}, {"score", i.value("score", 0)}});
                break;
              }
            }
          }
          out["incidents"] = in;
          SendJson(res, out);
        }));

  s.Get("/api/v1/incidents", guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                                            const TokenEntry&) {
          Params p{req, ""};
          size_t limit = p.Size("limit", kDefaultPageSize, kMaxPageSize, 1);
          size_t offset = p.Size("offset", 0, kMaxCountScan);
          size_t min_score = p.Size("min_score", 0, 100);
          if (!p.error.empty()) return SendError(res, 400, p.error);
          auto r = store_.ListIncidents(limit, offset);
          if (!r.ok()) return SendStoreError(res, r.status());
          nlohmann::json items = nlohmann::json::array();
          for (const auto& i : *r) {
            if (i.value("score", 0) >= static_cast<int>(min_score)) items.push_back(i);
          }
          SendJson(res, {{"items", items}, {"limit", limit}, {"offset", offset}});
        }));

  s.Get(R"(/api/v1/incidents/([^/]+))", guarded(Role::kViewer, [this](const httplib::Request& req,
                                                                     httplib::Response& res, const TokenEntry&) {
          std::string id = req.matches[1];
          auto r = store_.GetIncident(id);
          if (!r.ok()) return SendStoreError(res, r.status());
          if (!r->has_value()) return SendError(res, 404, "no incident '" + id + "'");
          nlohmann::json out = **r;
          nlohmann::json records = nlohmann::json::array();
          std::set<std::string> entity_ids;
          if (out.contains("breaches") && out["breaches"].is_array()) {
            size_t n = 0;
            for (const auto& bid : out["breaches"]) {
              if (!bid.is_string() || ++n > kMaxPageSize) continue;
              auto b = store_.GetBreach(bid.get<std::string>());
              if (!b.ok()) return SendStoreError(res, b.status());
              if (b->has_value()) {
                records.push_back(detect::BreachToJson(**b));
                entity_ids.insert((*b)->entity.id);
              }
            }
          }
          out["breach_records"] = records;
          if (out.contains("entities") && out["entities"].is_array()) {
            for (const auto& e : out["entities"]) {
              if (e.is_string()) entity_ids.insert(e.get<std::string>());
              if (e.is_object()) entity_ids.insert(e.value("id", ""));
            }
          }
          auto acts = store_.ListActions(kMaxPageSize, 0);
          if (!acts.ok()) return SendStoreError(res, acts.status());
          nlohmann::json actions = nlohmann::json::array();
          for (const auto& a : *acts) {
            bool related = a.value("incident", "") == id;
            if (!related && a.contains("reasons") && a["reasons"].is_array()) {
              for (const auto& r : a["reasons"]) {
                if (r.is_object() && r.value("incident", "") == id) related = true;
              }
            }
            for (const auto& eid : entity_ids) related = related || ActionTargets(a, eid);
            if (related) actions.push_back(a);
          }
          out["actions"] = actions;
          SendJson(res, out);
        }));

  s.Get("/api/v1/actions", guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                                          const TokenEntry&) {
          Params p{req, ""};
          size_t limit = p.Size("limit", kDefaultPageSize, kMaxPageSize, 1);
          size_t offset = p.Size("offset", 0, kMaxCountScan);
          std::string state = p.str("state");
          if (!state.empty() && !respond::ParseState(state)) p.error = "unknown action state '" + state + "'";
          if (!p.error.empty()) return SendError(res, 400, p.error);
          auto r = store_.ListActions(state.empty() ? limit : kMaxPageSize, state.empty() ? offset : 0);
          if (!r.ok()) return SendStoreError(res, r.status());
          nlohmann::json items = nlohmann::json::array();
          size_t skipped = 0;
          for (const auto& a : *r) {
            if (!state.empty()) {
              if (a.value("state", "") != state) continue;
              if (skipped++ < offset) continue;
              if (items.size() >= limit) break;
            }
            items.push_back(a);
          }
          SendJson(res, {{"items", items}, {"limit", limit}, {"offset", offset}});
        }));

  s.Get(R"(/api/v1/actions/([^/]+))", guarded(Role::kViewer, [this](const httplib::Request& req,
                                                                   httplib::Response& res, const TokenEntry&) {
          std::string id = req.matches[1];
          auto a = store_.GetAction(id);
          if (!a.ok()) return SendStoreError(res, a.status());
          if (!a->has_value()) return SendError(res, 404, "no action '" + id + "'");
          nlohmann::json out = **a;
          auto audit = store_.ListAudit(id);
          if (!audit.ok()) return SendStoreError(res, audit.status());
          out["audit"] = *audit;
          SendJson(res, out);
        }));

  // approve: pending -> active (the respond engine applies active actions it has not yet
  // applied); cancel: pending/active/observed -> cancelled. Both write an audit record.
  auto change_action = [this](bool approve) {
    return [this, approve](const httplib::Request& req, httplib::Response& res, const TokenEntry& who) {
      std::string id = req.matches[1];
      std::string note;
      if (!req.body.empty()) {
        auto body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) return SendError(res, 400, "body must be a JSON object");
        if (body.contains("reason")) {
          if (!body["reason"].is_string()) return SendError(res, 400, "reason must be text");
          note = body["reason"].get<std::string>();
        }
      }
      auto got = store_.GetAction(id);
      if (!got.ok()) return SendStoreError(res, got.status());
      if (!got->has_value()) return SendError(res, 404, "no action '" + id + "'");
      nlohmann::json doc = **got;
      std::string from = doc.value("state", "");
      bool allowed = approve ? from == "pending"
                             : (from == "pending" || from == "active" || from == "observed");
      if (!allowed) {
        return SendError(res, 409, std::string("cannot ") + (approve ? "approve" : "cancel") +
                                       " an action that is " + (from.empty() ? "without state" : from));
      }
      std::string to = approve ? "active" : "cancelled";
      Micros now = WallNow();
      std::string person = who.name.empty() ? who.id : who.name;
      doc["state"] = to;
      doc["updated"] = FormatRfc3339(now);
      doc[approve ? "approved_by" : "cancelled_by"] = "api:" + person;
      // The engine that owns the action (`vigil run`) carries the decision out through its
      // backends: it picks this request up from the store (src/pipeline/response_glue.h).
      doc["request"] = {{"op", approve ? "approve" : "cancel"}, {"by", "api:" + person},
                        {"at", FormatRfc3339(now)}};
      Micros expires = 0;
      if (doc.contains("expires") && doc["expires"].is_string()) {
        expires = ParseIso8601(doc["expires"].get<std::string>()).value_or(0);
      }
      if (approve && doc.contains("duration")) {
        // An approved action holds for its duration from now, as respond does on approval.
        Micros d = 0;
        if (doc["duration"].is_string()) d = ParseDuration(doc["duration"].get<std::string>()).value_or(0);
        if (doc["duration"].is_number_integer()) d = doc["duration"].get<Micros>();
        if (d > 0) {
          expires = now + d;
          doc["expires"] = FormatRfc3339(expires);
        }
      }
      Status st = store_.PutAction(id, to, expires, doc);
      if (!st.ok()) return SendStoreError(res, st);
      nlohmann::json detail = {{"from", from}, {"to", to}, {"via", "api"}, {"token", who.id}};
      if (!note.empty()) detail["reason"] = note;
      st = store_.AppendAudit(id, now, person, approve ? "approved" : "cancelled", detail);
      if (!st.ok()) return SendStoreError(res, st);
      hub_.Publish("action", doc);
      SendJson(res, doc);
    };
  };
  s.Post(R"(/api/v1/actions/([^/]+)/approve)", guarded(Role::kResponder, change_action(true)));
  s.Post(R"(/api/v1/actions/([^/]+)/cancel)", guarded(Role::kResponder, change_action(false)));

  s.Get("/api/v1/models", guarded(Role::kViewer, [this](const httplib::Request&, httplib::Response& res,
                                                         const TokenEntry&) {
          auto counts = store_.Counts();
          if (!counts.ok()) return SendStoreError(res, counts.status());
          nlohmann::json items = nlohmann::json::array();
          for (const auto& info : detect::ModelCatalogue::Global().Infos()) {
            std::string base = "models." + info.name;
            int threshold = info.default_threshold;
            bool enabled = true;
            nlohmann::json params = nlohmann::json::array();
            if (cfg_ && cfg_->Has(base + ".threshold")) threshold = static_cast<int>(cfg_->GetNumber(base + ".threshold"));
            if (cfg_ && cfg_->Has(base + ".enabled")) enabled = cfg_->GetBool(base + ".enabled");
            for (const auto& prm : info.params) {
              double v = prm.default_value;
              if (cfg_ && cfg_->Has(base + "." + prm.name)) v = cfg_->GetNumber(base + "." + prm.name);
              params.push_back({{"name", prm.name}, {"value", v}, {"default", prm.default_value}, {"help", prm.help}});
            }
            auto count = [](const std::map<std::string, uint64_t>& m, const std::string& k) {
              auto it = m.find(k);
              return it == m.end() ? uint64_t{0} : it->second;
            };
            items.push_back({{"name", info.name},
                             {"description", info.description},
                             {"mitre", info.mitre},
                             {"default_threshold", info.default_threshold},
                             {"threshold", threshold},
                             {"enabled", enabled},
                             {"params", params},
                             {"breaches", count(counts->breaches_by_model, info.name)},
                             {"weak_signals", count(counts->weak_by_model, info.name)}});
          }
          SendJson(res, {{"items", items}});
        }));

  s.Get("/api/v1/status", guarded(Role::kViewer, [this](const httplib::Request&, httplib::Response& res,
                                                         const TokenEntry& who) {
          auto stats = store_.GetIngestStats();
          if (!stats.ok()) return SendStoreError(res, stats.status());
          auto rejects = store_.ListRejects();
          if (!rejects.ok()) return SendStoreError(res, rejects.status());
          nlohmann::json rj = nlohmann::json::array();
          for (const auto& r : *rejects) {
            rj.push_back({{"input", r.input}, {"format", r.format}, {"code", r.code}, {"count", r.count},
                          {"first_line", r.first_line}, {"first_offset", r.first_offset},
                          {"first_reason", r.first_reason}});
          }
          auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
          nlohmann::json ex = nlohmann::json::array();
          if (exporter_) {
            for (const auto& s : exporter_->stats()) {
              ex.push_back({{"name", s.name}, {"written", s.written}, {"failed", s.failed}, {"last_error", s.last_error}});
            }
          }
          SendJson(res, {{"version", o_.version},
                         {"uptime_seconds", up.count()},
                         {"schema_version", store_.schema_version()},
                         {"ingest", *stats},
                         {"rejects", rj},
                         {"stream", {{"clients", sse_clients_.load()}, {"last_event", hub_.last_seq()}}},
                         {"exports", ex},
                         {"auth", {{"required", !auth_off_}, {"role", RoleName(who.role)}, {"name", who.name}}}});
        }));

  s.Get("/api/v1/stream", guarded(Role::kViewer, [this](const httplib::Request& req, httplib::Response& res,
                                                         const TokenEntry&) {
          std::set<std::string> types;
          if (req.has_param("types")) {
            std::stringstream ss(req.get_param_value("types"));
            std::string t;
            while (std::getline(ss, t, ',')) {
              if (t != "breach" && t != "incident" && t != "action") {
                return SendError(res, 400, "types must be a comma list of breach, incident, action");
              }
              types.insert(t);
            }
          }
          uint64_t after = hub_.last_seq();
          std::string last = req.get_header_value("Last-Event-ID");
          if (!last.empty()) {
            uint64_t v = 0;
            if (!ParseUnsigned(last, &v)) return SendError(res, 400, "Last-Event-ID must be a number");
            after = std::min(v, after);
          }
          if (sse_clients_.fetch_add(1) >= kMaxSseClients) {
            sse_clients_--;
            return SendError(res, 503, "too many stream clients");
          }
          res.set_header("Cache-Control", "no-store");
          res.set_header("X-Accel-Buffering", "no");
          auto state = std::make_shared<std::pair<uint64_t, std::chrono::steady_clock::time_point>>(
              after, std::chrono::steady_clock::time_point{});
          res.set_chunked_content_provider(
              "text/event-stream",
              [this, state, types](size_t, httplib::DataSink& sink) {
                if (stopping_) return false;
                auto now = std::chrono::steady_clock::now();
                if (state->second == std::chrono::steady_clock::time_point{}) {
                  std::string hello = "retry: 3000\n: vigil stream\n\n";
                  state->second = now;
                  return sink.write(hello.data(), hello.size());
                }
                uint64_t missed = 0;
                auto evs = hub_.WaitAfter(state->first, 500, &missed);
                if (stopping_ || hub_.closed()) return false;
                std::string out;
                if (missed) out += "event: missed\ndata: {\"count\":" + std::to_string(missed) + "}\n\n";
                for (const auto& ev : evs) {
                  state->first = ev.seq;
                  if (!types.empty() && !types.count(ev.type)) continue;
                  out += "id: " + std::to_string(ev.seq) + "\nevent: " + ev.type + "\ndata: " + ev.data + "\n\n";
                }
                if (out.empty() && now - state->second >= std::chrono::milliseconds(kSseKeepAliveMs)) {
                  out = ": keep-alive\n\n";
                }
                if (out.empty()) return sink.is_writable();
                state->second = now;
                return sink.write(out.data(), out.size());
              },
              [this](bool) { sse_clients_--; });
        },
        /*allow_query_token=*/true));

  s.Get("/metrics", guarded(Role::kViewer, [this](const httplib::Request&, httplib::Response& res,
                                                   const TokenEntry&) {
          res.set_content(Metrics(), "text/plain; version=0.0.4; charset=utf-8");
        }));

  // Anything else under /api is a 404 with a JSON body.
  auto unknown = [](const httplib::Request& req, httplib::Response& res) {
    SendError(res, 404, "no such endpoint: " + req.method + " " + req.path);
  };
  s.Get(R"(/api/.*)", unknown);
  s.Post(R"(/api/.*)", unknown);
  s.Put(R"(/api/.*)", unknown);
  s.Delete(R"(/api/.*)", unknown);
}

std::string Server::Metrics() {
  std::ostringstream m;
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  m << "# HELP vigil_uptime_seconds Seconds since the server started.\n# TYPE vigil_uptime_seconds gauge\n"
    << "vigil_uptime_seconds " << up.count() << "\n";
  m << "# HELP vigil_http_requests_total HTTP requests answered, by status class.\n"
    << "# TYPE vigil_http_requests_total counter\n";
  const char* cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 6; ++i) m << "vigil_http_requests_total{code=\"" << cls[i] << "\"} " << requests_[i].load() << "\n";
  m << "# HELP vigil_stream_clients Connected SSE clients.\n# TYPE vigil_stream_clients gauge\n"
    << "vigil_stream_clients " << sse_clients_.load() << "\n";
  m << "# HELP vigil_stream_events_total Events published to the live stream, by type.\n"
    << "# TYPE vigil_stream_events_total counter\n";
  for (const auto& [t, n] : hub_.counts()) m << "vigil_stream_events_total{type=\"" << PromEscape(t) << "\"} " << n << "\n";
  m << "# HELP vigil_breaches Breaches in the store, by model (weak signals excluded).\n# TYPE vigil_breaches gauge\n";
  auto counts = store_.Counts();
  if (counts.ok()) {
    for (const auto& info : detect::ModelCatalogue::Global().Infos()) {
      auto it = counts->breaches_by_model.find(info.name);
      m << "vigil_breaches{model=\"" << PromEscape(info.name) << "\"} "
        << (it == counts->breaches_by_model.end() ? 0 : it->second) << "\n";
    }
    m << "# HELP vigil_actions Response actions in the store, by state.\n# TYPE vigil_actions gauge\n";
    for (const auto& [st, n] : counts->actions_by_state)
      m << "vigil_actions{state=\"" << PromEscape(st) << "\"} " << n << "\n";
    m << "# HELP vigil_incidents Incidents in the store.\n# TYPE vigil_incidents gauge\n"
      << "vigil_incidents " << counts->incidents << "\n";
  }
  auto rej = store_.ListRejects();
  if (rej.ok()) {
    m << "# HELP vigil_ingest_rejects_total Records rejected by decoders.\n# TYPE vigil_ingest_rejects_total counter\n";
    for (const auto& r : *rej) {
      m << "vigil_ingest_rejects_total{input=\"" << PromEscape(r.input) << "\",format=\"" << PromEscape(r.format)
        << "\",code=\"" << PromEscape(r.code) << "\"} " << r.count << "\n";
    }
  }
  if (exporter_) {
    m << "# HELP vigil_export_records_total Records handed to each export sink, by outcome.\n"
      << "# TYPE vigil_export_records_total counter\n";
    for (const auto& s : exporter_->stats()) {
      m << "vigil_export_records_total{sink=\"" << PromEscape(s.name) << "\",outcome=\"ok\"} " << s.written << "\n";
      m << "vigil_export_records_total{sink=\"" << PromEscape(s.name) << "\",outcome=\"failed\"} " << s.failed << "\n";
    }
    m << "# HELP vigil_export_dropped_total Records dropped because the export queue was full.\n"
      << "# TYPE vigil_export_dropped_total counter\n"
      << "vigil_export_dropped_total " << exporter_->dropped() << "\n";
  }
  return m.str();
}

}  // namespace vigil::server
