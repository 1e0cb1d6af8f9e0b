// `vigil serve [--state DIR] [--listen ADDR:PORT] [--config FILE] [--ui DIR]`: the console
// (REST API, live stream, /metrics, web UI) over the store in the state dir, without an
// engine. The live stream is fed by polling the store, so it shows what a `vigil run`
// writing the same state dir finds. Exports are left to the engine process.
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "config/config.h"
#include "server/console.h"
#include "store/store.h"

namespace vigil::cli {
namespace {

struct ServeFlags {
  std::string state;
  std::string listen;
  std::string config;
  std::string ui;
};

int RunServe(const ServeFlags& f) {
  config::Config cfg = config::Config::Defaults();
  if (!f.config.empty()) {
    auto lr = config::LoadConfigFile(f.config);
    if (!lr.ok()) {
      std::cerr << lr.ToText();
      return 2;
    }
    cfg = *lr.config;
  }
  std::string state = f.state.empty() ? cfg.GetString("state.dir") : f.state;
  ::mkdir(state.c_str(), 0750);
  auto st = store::OpenSqliteStore(state);
  if (!st.ok()) {
    std::cerr << "vigil serve: " << st.status().ToString() << "\n";
    return 1;
  }
  // Block the stop signals before any thread starts, so they all inherit the mask and
  // sigwait below receives them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  server::ConsoleOptions o;
  o.state_dir = state;
  o.listen = f.listen;
  o.ui_dir = f.ui;
  o.poll_store = true;
  o.exports = false;
  auto console = server::Console::Start(cfg, **st, o);
  if (!console.ok()) {
    std::cerr << "vigil serve: " << console.status().ToString() << "\n";
    return 1;
  }
  std::string host = "127.0.0.1";
  int port = 0;
  if (!f.listen.empty()) (void)server::ParseListen(f.listen, &host, &port);
  else (void)server::ParseListen(cfg.GetString("server.listen"), &host, &port);
  std::cout << "vigil serve: listening on " << host << ":" << (*console)->port()
            << ((*console)->auth_required() ? " (API needs a token: vigil token create --role viewer)"
                                            : " (auth disabled)")
            << std::endl;
  int sig = 0;
  sigwait(&sigs, &sig);
  std::cout << "vigil serve: stopping" << std::endl;
  (*console)->Stop();
  return 0;
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{
    "serve", [](CLI::App& app, int& exit_code) {
      auto f = std::make_shared<ServeFlags>();
      auto* sub = app.add_subcommand("serve", "Serve the console: REST API, live stream, /metrics, web UI");
      sub->add_option("--state", f->state, "State directory (the store); default state.dir from config");
      sub->add_option("--listen", f->listen, "ADDR:PORT to listen on; default server.listen (127.0.0.1:8080)");
      sub->add_option("--config", f->config, "Configuration file (YAML)");
      sub->add_option("--ui", f->ui, "Directory of the built web UI; default server.ui_dir or <binary dir>/ui");
      sub->callback([f, &exit_code] { exit_code = RunServe(*f); });
    }});

}  // namespace vigil::cli
