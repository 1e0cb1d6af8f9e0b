// MakeBackends: the enabled backends from respond.backends.* in config.
#include <cstdlib>

#include "respond/backend.h"
#include "respond/backends.h"
#include "respond/nftables_backend.h"

namespace vigil::respond {

namespace {

std::string Env(const std::string& name) {
  if (name.empty()) return {};
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

}  // namespace

Result<std::vector<std::unique_ptr<Backend>>> MakeBackends(const config::Config& cfg) {
  std::vector<std::unique_ptr<Backend>> out;
  const std::string p = "respond.backends.";
  if (cfg.GetBool(p + "nftables.enabled")) {
    NftablesOptions o;
    o.table = cfg.GetString(p + "nftables.table");
    o.family = cfg.GetString(p + "nftables.family");
    o.netns = cfg.GetString(p + "nftables.netns");
    o.nft = cfg.GetString(p + "nftables.nft");
    YAML::Node ess = cfg.Node("respond.essential_services");
    if (ess.IsSequence()) {
      for (const auto& item : ess) {
        if (!item.IsMap() || !item["address"]) continue;
        auto a = IpAddr::Parse(item["address"].Scalar());
        if (!a) return InvalidArgument("respond.essential_services: '" + item["address"].Scalar() +
                                       "' is not an IP address");
        EssentialService s{*a, 0};
        if (item["port"]) {
          int port = std::atoi(item["port"].Scalar().c_str());
          if (port < 0 || port > 65535) return InvalidArgument("respond.essential_services: bad port");
          s.port = static_cast<uint16_t>(port);
        }
        o.essential.push_back(s);
      }
    }
    auto b = NftablesBackend::Make(std::move(o));
    if (!b.ok()) return b.status();
    out.push_back(std::move(*b));
  }
  if (cfg.GetBool(p + "defender.enabled")) {
    DefenderOptions o;
    o.url = cfg.GetString(p + "defender.url");
    o.token = Env(cfg.GetString(p + "defender.token_env"));
    o.isolation_type = cfg.GetString(p + "defender.isolation_type");
    if (o.url.empty()) return InvalidArgument("respond.backends.defender.url is empty");
    if (o.token.empty())
      return InvalidArgument("respond.backends.defender: the environment variable " +
                             cfg.GetString(p + "defender.token_env") + " holds no token");
    out.push_back(MakeDefenderBackend(std::move(o)));
  }
  if (cfg.GetBool(p + "aws.enabled")) {
    AwsOptions o;
    o.endpoint = cfg.GetString(p + "aws.endpoint");
    o.region = cfg.GetString(p + "aws.region");
    o.credentials.access_key = Env(cfg.GetString(p + "aws.access_key_env"));
    o.credentials.secret_key = Env(cfg.GetString(p + "aws.secret_key_env"));
    o.credentials.session_token = Env(cfg.GetString(p + "aws.session_token_env"));
    o.policy_name = cfg.GetString(p + "aws.policy_name");
    if (o.credentials.access_key.empty() || o.credentials.secret_key.empty())
      return InvalidArgument("respond.backends.aws: no credentials in " +
                             cfg.GetString(p + "aws.access_key_env") + " / " +
                             cfg.GetString(p + "aws.secret_key_env"));
    out.push_back(MakeAwsBackend(std::move(o)));
  }
  if (cfg.GetBool(p + "webhook.enabled")) {
    WebhookOptions o;
    o.url = cfg.GetString(p + "webhook.url");
    if (o.url.empty()) return InvalidArgument("respond.backends.webhook.url is empty");
    out.push_back(MakeWebhookBackend(std::move(o)));
  }
  if (cfg.GetBool(p + "exec.enabled")) {
    ExecOptions o;
    o.argv = cfg.GetStrings(p + "exec.argv");
    if (Micros t = cfg.GetDuration(p + "exec.timeout"); t > 0) o.timeout = t;
    if (o.argv.empty()) return InvalidArgument("respond.backends.exec.argv is empty");
    out.push_back(MakeExecBackend(std::move(o)));
  }
  return out;
}

}  // namespace vigil::respond
