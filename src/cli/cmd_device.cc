// `vigil device ID [--json]`: what the store knows of one device or identity.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "store/store.h"

namespace vigil::cli {
namespace {

struct DeviceFlags {
  ConfigFlags config;
  std::string id;
  bool json = false;
};

int RunDevice(const DeviceFlags& f) {
  auto cfg = LoadConfig(f.config);
  if (!cfg) return 2;
  auto st = store::OpenSqliteStore(StateDir(f.config, *cfg));
  if (!st.ok()) {
    std::cerr << "vigil device: " << st.status().message() << "\n";
    return 2;
  }
  auto& store = *st.value();
  auto e = store.GetEntity(f.id);
  if (!e.ok()) {
    std::cerr << "vigil device: " << e.status().message() << "\n";
    return 1;
  }
  if (!e.value()) {
    std::cerr << "vigil device: no device or identity '" << f.id << "' in the store\n";
    return 1;
  }
  const store::EntityRecord& r = *e.value();
  store::BreachQuery q;
  q.entity = f.id;
  q.limit = 1000;
  auto breaches = store.QueryBreaches(q);
  auto vulns = store.GetVulnerabilities(f.id);
  nlohmann::json j;
  j["type"] = r.type;
  j["id"] = r.id;
  j["name"] = r.name;
  j["addresses"] = r.addresses;
  j["names"] = r.names;
  j["first_seen"] = FormatRfc3339(r.first_seen);
  j["last_seen"] = FormatRfc3339(r.last_seen);
  j["role"] = r.role;
  j["tags"] = r.tags;
  j["events"] = r.events;
  j["facts"] = r.facts;
  if (r.facts.contains("os")) j["os"] = r.facts["os"];
  if (r.facts.contains("os_version")) j["os_version"] = r.facts["os_version"];
  j["vulnerabilities"] = vulns.ok() ? vulns.value() : nlohmann::json::array();
  j["breaches"] = nlohmann::json::array();
  if (breaches.ok())
    for (const auto& b : breaches.value()) j["breaches"].push_back(detect::BreachToJson(b));
  // From the event log: who it talks to most, and its latest events.
  auto peers = store.Peers(f.id, INT64_MAX, 10);
  j["top_peers"] = nlohmann::json::array();
  if (peers.ok())
    for (const auto& p : *peers)
      j["top_peers"].push_back({{"peer", p.peer}, {"events", p.events}, {"bytes", p.bytes},
                                {"first_seen", FormatRfc3339(p.first_seen)}, {"last_seen", FormatRfc3339(p.last_seen)}});
  store::EventQuery eq;
  eq.entity = f.id;
  eq.limit = 10;
  auto recent = store.QueryEvents(eq);
  j["recent_events"] = nlohmann::json::array();
  if (recent.ok())
    for (const auto& ev : *recent)
      j["recent_events"].push_back({{"time", FormatRfc3339(ev.time)}, {"kind", ev.kind}, {"summary", ev.summary},
                                    {"input", ev.input}, {"line", ev.line}, {"offset", ev.offset}});
  if (f.json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << r.type << " " << r.id << (r.name.empty() || r.name == r.id ? "" : " (" + r.name + ")") << "\n";
  if (!r.role.empty()) std::cout << "  role:       " << r.role << "\n";
  std::cout << "  first seen: " << FormatRfc3339(r.first_seen) << "\n"
            << "  last seen:  " << FormatRfc3339(r.last_seen) << "\n"
            << "  events:     " << r.events << "\n";
  if (!r.addresses.empty()) {
    std::cout << "  addresses: ";
    for (const auto& a : r.addresses) std::cout << " " << a;
    std::cout << "\n";
  }
  if (r.facts.contains("os")) std::cout << "  os:         " << r.facts["os"].get<std::string>() << " "
                                        << r.facts.value("os_version", "") << "\n";
  if (vulns.ok() && vulns.value().is_array() && !vulns.value().empty())
    std::cout << "  open CVEs:  " << vulns.value().size() << "\n";
  std::cout << "  breaches:   " << (breaches.ok() ? breaches.value().size() : 0) << "\n";
  if (breaches.ok()) {
    for (const auto& b : breaches.value()) {
      if (b.weak) continue;
      std::cout << "    " << FormatRfc3339(b.time) << "  " << b.score << "  " << b.model << "  "
                << (b.reasons.empty() ? "" : b.reasons[0]) << "\n";
    }
  }
  if (peers.ok() && !peers->empty()) {
    std::cout << "  top peers (event log):\n";
    for (const auto& p : *peers)
      std::cout << "    " << p.peer << "  " << p.events << " events, last " << FormatRfc3339(p.last_seen) << "\n";
  }
  if (recent.ok() && !recent->empty()) {
    std::cout << "  latest events:\n";
    for (const auto& ev : *recent)
      std::cout << "    " << FormatRfc3339(ev.time) << "  " << ev.kind << "  " << ev.summary << "  (" << ev.input << ":"
                << ev.line << ")\n";
  }
  return 0;
}

void AddDevice(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<DeviceFlags>();
  CLI::App* cmd = app.add_subcommand("device", "Show what the store knows of one device or identity");
  AddConfigFlags(*cmd, flags->config);
  cmd->add_option("id", flags->id, "Device address, identity ARN or entity id")->required();
  cmd->add_flag("--json", flags->json, "Print JSON");
  cmd->callback([flags, &exit_code] { exit_code = RunDevice(*flags); });
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{"device", AddDevice});

}  // namespace vigil::cli
