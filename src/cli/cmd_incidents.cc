// `vigil incidents [--json] [--state DIR]`: the incidents in the store, newest first.
// `vigil incident ID [--json] [--state DIR]`: one incident as a report for the terminal.
//
// Both read what the engine (replay, run) stored through analyst::IncidentToJson; they do
// no analysis of their own. Incidents merged into another are left out of the list unless
// --all is given (the incident that absorbed them tells their story).
#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>

#include "analyst/analyst.h"
#include "analyst/attack.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "store/store.h"

namespace vigil::cli {
namespace {

constexpr size_t kListLimit = 100000;  // incidents read by `vigil incidents` at most
constexpr size_t kWrapWidth = 96;      // summary lines in the report

struct IncidentsFlags {
  ConfigFlags config;
  bool json = false;
  bool all = false;
  size_t limit = 1000;
};

struct IncidentFlags {
  ConfigFlags config;
  std::string id;
  bool json = false;
};

Result<std::unique_ptr<store::Store>> Open(const ConfigFlags& flags) {
  auto cfg = LoadConfig(flags);
  if (!cfg) return InvalidArgument("configuration is unusable");
  return store::OpenSqliteStore(StateDir(flags, *cfg));
}

std::string Truncate(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

// Greedy word wrap with an indent.
std::string Wrap(const std::string& text, size_t width, const std::string& indent) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

std::string TacticLine(const std::vector<std::string>& tactics) {
  std::string out;
  for (const auto& t : tactics) {
    auto tactic = analyst::TacticFromText(t);
    if (!out.empty()) out += " -> ";
    out += tactic ? analyst::TacticName(*tactic) : t;
  }
  return out.empty() ? "-" : out;
}

int RunIncidents(const IncidentsFlags& f) {
  auto st = Open(f.config);
  if (!st.ok()) {
    std::cerr << "vigil incidents: " << st.status().message() << "\n";
    return 2;
  }
  auto list = st.value()->ListIncidents(std::min(f.limit, kListLimit), 0);
  if (!list.ok()) {
    std::cerr << "vigil incidents: " << list.status().message() << "\n";
    return 1;
  }
  std::vector<analyst::Incident> incidents;
  nlohmann::json docs = nlohmann::json::array();
  for (const auto& doc : list.value()) {
    auto inc = analyst::IncidentFromJson(doc);
    if (!inc.ok()) {
      std::cerr << "vigil incidents: skipping a stored incident: " << inc.status().message()
                << "\n";
      continue;
    }
    if (inc->state == "merged" && !f.all) continue;
    docs.push_back(doc);
    incidents.push_back(std::move(*inc));
  }
  if (f.json) {
    std::cout << docs.dump(2) << "\n";
    return 0;
  }
  if (incidents.empty()) {
    std::cout << "no incidents\n";
    return 0;
  }
  std::printf("%-22s %5s  %-6s  %-20s  %-8s  %s\n", "ID", "SCORE", "STATE", "START", "BREACHES",
              "TITLE");
  for (const auto& inc : incidents) {
    std::printf("%-22s %5d  %-6s  %-20s  %8zu  %s\n", inc.id.c_str(), inc.score,
                inc.state.c_str(), FormatRfc3339(inc.start).c_str(), inc.breaches.size(),
                Truncate(inc.title, 100).c_str());
  }
  return 0;
}

int RunIncident(const IncidentFlags& f) {
  auto st = Open(f.config);
  if (!st.ok()) {
    std::cerr << "vigil incident: " << st.status().message() << "\n";
    return 2;
  }
  auto got = st.value()->GetIncident(f.id);
  if (!got.ok()) {
    std::cerr << "vigil incident: " << got.status().message() << "\n";
    return 1;
  }
  if (!got.value()) {
    std::cerr << "vigil incident: no incident '" << f.id << "' in the store\n";
    return 1;
  }
  if (f.json) {
    std::cout << got.value()->dump(2) << "\n";
    return 0;
  }
  auto parsed = analyst::IncidentFromJson(*got.value());
  if (!parsed.ok()) {
    std::cerr << "vigil incident: " << parsed.status().message() << "\n";
    return 1;
  }
  const analyst::Incident& inc = *parsed;
  std::cout << inc.title << "\n";
  std::cout << "  id:        " << inc.id << "\n"
            << "  state:     " << inc.state
            << (inc.merged_into.empty() ? "" : " into " + inc.merged_into) << "\n"
            << "  score:     " << inc.score << "/100\n"
            << "  time:      " << FormatRfc3339(inc.start) << " .. " << FormatRfc3339(inc.end)
            << " (" << FormatDuration(inc.end - inc.start) << ")\n"
            << "  tactics:   " << TacticLine(inc.tactics) << "\n"
            << "  breaches:  " << inc.breaches.size() << " (+" << inc.weak_signals.size()
            << " weak signals)\n";
  std::cout << "  entities: ";
  for (size_t i = 0; i < inc.entities.size(); ++i) {
    const auto& e = inc.entities[i];
    std::cout << (i ? ", " : " ") << e.type << " " << e.id
              << (e.name.empty() || e.name == e.id ? "" : " (" + e.name + ")");
  }
  std::cout << "\n\nSummary\n" << Wrap(inc.summary, kWrapWidth, "  ");
  std::cout << "\nTimeline\n";
  for (const auto& t : inc.timeline) {
    // Weak signals say so in their text ("... (weak signal, score 40)").
    std::printf("  %-20s  %-20s  %s\n", FormatRfc3339(t.time).c_str(),
                t.tactic.empty() ? "-" : t.tactic.c_str(), t.text.c_str());
    std::printf("  %-20s  %-20s    breach %s  %s\n", "", "", t.breach.c_str(), t.model.c_str());
  }
  if (inc.score_parts.is_object() && !inc.score_parts.empty()) {
    std::cout << "\nScore parts: " << inc.score_parts.dump() << "\n";
  }
  return 0;
}

void AddIncidents(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<IncidentsFlags>();
  CLI::App* cmd = app.add_subcommand("incidents", "List incidents from the store, newest first");
  AddConfigFlags(*cmd, flags->config);
  cmd->add_flag("--json", flags->json, "Print a JSON array of incident records");
  cmd->add_flag("--all", flags->all, "Include incidents merged into another");
  cmd->add_option("--limit", flags->limit, "At most this many incidents (default 1000)");
  cmd->callback([flags, &exit_code] { exit_code = RunIncidents(*flags); });
}

void AddIncident(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<IncidentFlags>();
  CLI::App* cmd = app.add_subcommand("incident", "Show one incident: story, timeline, tactics");
  AddConfigFlags(*cmd, flags->config);
  cmd->add_option("id", flags->id, "Incident id (inc-...)")->required();
  cmd->add_flag("--json", flags->json, "Print the incident record as JSON");
  cmd->callback([flags, &exit_code] { exit_code = RunIncident(*flags); });
}

}  // namespace

VIGIL_REGISTER_COMMAND(CommandSpec{"incidents", AddIncidents});
VIGIL_REGISTER_COMMAND(CommandSpec{"incident", AddIncident});

}  // namespace vigil::cli
