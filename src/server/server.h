// The console server: REST API under /api/v1, the SSE stream, /metrics and the web UI
// (docs/console.md lists every endpoint). It reads what the store holds and writes only
// action state changes with their audit records; it computes no detections.
//
// Auth: every /api and /metrics request needs "Authorization: Bearer TOKEN" (a token from
// `vigil token create` or config server.tokens) unless auth is disabled in config AND the
// server is bound to loopback. Roles: viewer reads; responder also approves and cancels
// actions; admin may do everything.
//
// Thread safety: Start/Stop from one thread; handlers run on the server's own pool and use
// the Store (thread safe by contract) and the EventHub.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "server/event_hub.h"
#include "server/tokens.h"
#include "store/store.h"

namespace httplib {
class Server;
}

namespace vigil::server {

namespace exp {
class Exporter;
}

// Caps on what one request may ask for.
inline constexpr size_t kMaxPageSize = 1000;
inline constexpr size_t kDefaultPageSize = 100;
// Breaches scanned per model to count them for the catalogue and /metrics.
inline constexpr size_t kMaxCountScan = 100000;
// /activity: at most this many buckets (a wider range gets wider buckets).
inline constexpr int64_t kMaxActivityBuckets = 2000;
// /map: the busiest pairs among at most this many of the event log's newest rows.
inline constexpr size_t kMapRows = 500000;
// Concurrent SSE clients; more get 503 (each holds one server thread).
inline constexpr int kMaxSseClients = 32;
// Server threads (SSE clients plus ordinary requests).
inline constexpr int kServerThreads = kMaxSseClients + 16;
// Seconds between SSE keep-alive comments.
inline constexpr int kSseKeepAliveMs = 15000;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0 = any free port (tests); Start returns the one bound
  std::string tls_cert;       // both set: HTTPS
  std::string tls_key;
  bool auth_disabled = false; // honoured only when host is a loopback address
  std::string ui_dir;         // static files served at /; empty = DefaultUiDir()
  std::string version = "0.1.0";
};

// Parses "ADDR:PORT" / "[v6]:PORT" / ":PORT" / "PORT" into host and port.
Status ParseListen(const std::string& text, std::string* host, int* port);
// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);
// The built UI next to the running binary (<dir of /proc/self/exe>/ui).
std::string DefaultUiDir();
// Reads server.* from config into options (listen, tls_cert, tls_key, auth_disabled,
// ui_dir) and adds server.tokens to `tokens`.
Status ApplyServerConfig(const config::Config& cfg, ServerOptions* o, TokenStore* tokens);

class Server {
 public:
  // Borrowed: store, hub, tokens and cfg (may be null) must outlive the Server; exporter
  // may be null (its stats then don't show in /status and /metrics).
  Server(ServerOptions o, store::Store& store, EventHub& hub, TokenStore& tokens,
         const config::Config* cfg, exp::Exporter* exporter = nullptr);
  ~Server();  // Stop()

  // Binds and starts serving on a background thread. Returns the bound port. Fails when the
  // address is taken, TLS files don't load, or auth_disabled is set off loopback.
  Result<int> Start();
  // Stops accepting, ends SSE streams and joins the thread.
  void Stop();
  int port() const { return port_; }
  bool auth_required() const { return !auth_off_; }

 private:
  void Routes();
  std::string Metrics();

  ServerOptions o_;
  store::Store& store_;
  EventHub& hub_;
  TokenStore& tokens_;
  const config::Config* cfg_;
  exp::Exporter* exporter_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  bool auth_off_ = false;
  std::chrono::steady_clock::time_point started_;
  std::atomic<int> sse_clients_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> requests_[6] = {};  // by status class 1xx..5xx, [0] other
};

}  // namespace vigil::server
