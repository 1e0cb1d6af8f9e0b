// `vigil token create --role ROLE [--state DIR] [--name NAME] [--config FILE]`: makes an
// API token, keeps its SHA-256 in state_dir/tokens.json (0600) and prints the token once.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "config/config.h"
#include "server/tokens.h"

namespace vigil::cli {
namespace {

struct TokenFlags {
  std::string role;
  std::string state;
  std::string name;
  std::string config;
};

int RunTokenCreate(const TokenFlags& f) {
  auto role = server::ParseRole(f.role);
  if (!role) {
    std::cerr << "vigil token create: --role must be viewer, responder or admin\n";
    return 2;
  }
  std::string state = f.state;
  if (state.empty()) {
    config::Config cfg = config::Config::Defaults();
    if (!f.config.empty()) {
      auto lr = config::LoadConfigFile(f.config);
      if (!lr.ok()) {
        std::cerr << lr.ToText();
        return 2;
      }
      cfg = *lr.config;
    }
    state = cfg.GetString("state.dir");
  }
  ::mkdir(state.c_str(), 0750);
  server::TokenStore tokens(state + "/tokens.json");
  Status st = tokens.Load();
  if (!st.ok()) {
    std::cerr << "vigil token create: " << st.ToString() << "\n";
    return 1;
  }
  auto tok = tokens.Create(*role, f.name.empty() ? f.role : f.name);
  if (!tok.ok()) {
    std::cerr << "vigil token create: " << tok.status().ToString() << "\n";
    return 1;
  }
  std::cout << *tok << std::endl;
  return 0;
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{
    "token", [](CLI::App& app, int& exit_code) {
      auto f = std::make_shared<TokenFlags>();
      auto* tok = app.add_subcommand("token", "Manage API tokens");
      tok->require_subcommand(1);
      auto* create = tok->add_subcommand("create", "Create an API token and print it (shown once)");
      create->add_option("--role", f->role, "viewer, responder (may approve/cancel actions) or admin")->required();
      create->add_option("--state", f->state, "State directory; default state.dir from config");
      create->add_option("--name", f->name, "Who the token is for (shown in audit records)");
      create->add_option("--config", f->config, "Configuration file (YAML)");
      create->callback([f, &exit_code] { exit_code = RunTokenCreate(*f); });
    }});

}  // namespace vigil::cli
