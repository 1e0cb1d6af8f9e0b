// Console: everything `vigil serve`, `vigil run` and `vigil demo` need to offer the console
// in one object: the EventHub the engine publishes to, the API tokens, the exporters fed
// from the hub, the HTTP server and (for `vigil serve` alone) the store poller.
//
// Usage from the engine:
//   auto c = server::Console::Start(cfg, store, {.state_dir = dir});
//   ... (*c)->hub().Publish("breach", detect::BreachToJson(b));
//   (*c)->Stop();
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "server/event_hub.h"
#include "server/export/exporter.h"
#include "server/server.h"
#include "server/store_poller.h"
#include "server/tokens.h"
#include "store/store.h"

namespace vigil::server {

struct ConsoleOptions {
  std::string state_dir;    // tokens.json lives here; relative export paths too
  std::string listen;       // "ADDR:PORT" overriding server.listen, or empty
  std::string ui_dir;       // overriding server.ui_dir, or empty
  bool poll_store = false;  // feed the stream from the store (no engine in this process)
  bool exports = true;      // send hub breaches/incidents to the configured export sinks
  int poll_interval_ms = 2000;
};

class Console {
 public:
  // Loads tokens, builds sinks, binds and starts serving. Borrowed: cfg and store must
  // outlive the Console. Errors: bad listen address, unreadable tokens.json, bad exports
  // config, port in use, TLS files, auth_disabled off loopback.
  static Result<std::unique_ptr<Console>> Start(const config::Config& cfg, store::Store& store,
                                                ConsoleOptions o);
  ~Console();  // Stop()

  // Where the engine publishes "breach", "incident" and "action" records. Thread safe.
  EventHub& hub() { return hub_; }
  int port() const { return server_ ? server_->port() : 0; }
  bool auth_required() const { return server_ && server_->auth_required(); }
  const exp::Exporter* exporter() const { return exporter_.get(); }
  // Stops polling and serving, drains and closes the export sinks.
  void Stop();

 private:
  Console() = default;
  EventHub hub_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<exp::Exporter> exporter_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<StorePoller> poller_;
};

}  // namespace vigil::server
