#include "server/console.h"

namespace vigil::server {

Result<std::unique_ptr<Console>> Console::Start(const config::Config& cfg, store::Store& store,
                                                ConsoleOptions o) {
  std::unique_ptr<Console> c(new Console());
  c->tokens_ = std::make_unique<TokenStore>(o.state_dir + "/tokens.json");
  VIGIL_RETURN_IF_ERROR(c->tokens_->Load());
  ServerOptions so;
  VIGIL_RETURN_IF_ERROR(ApplyServerConfig(cfg, &so, c->tokens_.get()));
  if (!o.listen.empty()) VIGIL_RETURN_IF_ERROR(ParseListen(o.listen, &so.host, &so.port));
  if (!o.ui_dir.empty()) so.ui_dir = o.ui_dir;
  std::vector<std::unique_ptr<exp::Sink>> sinks;
  if (o.exports) {
    auto made = exp::MakeSinksFromConfig(cfg, o.state_dir);
    if (!made.ok()) return made.status();
    sinks = std::move(*made);
  }
  c->exporter_ = std::make_unique<exp::Exporter>(std::move(sinks));
  c->exporter_->Attach(c->hub_);
  c->server_ = std::make_unique<Server>(so, store, c->hub_, *c->tokens_, &cfg, c->exporter_.get());
  auto port = c->server_->Start();
  if (!port.ok()) return port.status();
  if (o.poll_store) {
    c->poller_ = std::make_unique<StorePoller>(store, c->hub_, o.poll_interval_ms);
    c->poller_->Start();
  }
  return c;
}

Console::~Console() { Stop(); }

void Console::Stop() {
  if (poller_) poller_->Stop();
  if (server_) server_->Stop();
  if (exporter_) exporter_->Close();
}

}  // namespace vigil::server
