#include "cli/defender_spool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ingest/defender/graph_poller.h"

namespace vigil::cli {

namespace fs = std::filesystem;

Result<std::unique_ptr<DefenderSpool>> DefenderSpool::Start(const config::Config& cfg,
                                                            const std::string& state_dir) {
  if (cfg.GetString("defender.tenant_id").empty()) return std::unique_ptr<DefenderSpool>();
  ingest::defender::GraphPollerOptions o;
  o.tenant_id = cfg.GetString("defender.tenant_id");
  o.client_id = cfg.GetString("defender.client_id");
  o.client_secret_env = cfg.GetString("defender.client_secret_env");
  o.certificate_path = cfg.GetString("defender.certificate");
  o.authority_url = cfg.GetString("defender.authority_url");
  o.graph_url = cfg.GetString("defender.graph_url");
  o.poll_interval = cfg.GetDuration("defender.poll_interval");
  o.page_size = static_cast<int>(cfg.GetNumber("defender.page_size"));
  o.start_time = cfg.GetString("defender.start_time");
  o.max_retry_after = cfg.GetDuration("defender.max_retry_after");
  o.max_retries = static_cast<int>(cfg.GetNumber("defender.max_retries"));
  auto poller = ingest::defender::GraphPoller::Create(o);
  if (!poller.ok()) return poller.status();

  fs::path dir = fs::path(state_dir) / "defender";
  fs::path pages = dir / "pages";
  std::error_code ec;
  fs::create_directories(pages, ec);
  if (ec) return IoError("cannot create " + pages.string() + ": " + ec.message());
  const std::string spool = pages.string();
  const std::string cursor_path = (dir / "cursor").string();
  // Continue the page numbering after a restart.
  uint64_t next_page = 1;
  for (const auto& entry : fs::directory_iterator(pages, ec)) {
    std::string name = entry.path().filename().string();  // alerts.000042.json
    if (name.rfind("alerts.", 0) == 0) next_page = std::max<uint64_t>(next_page, std::strtoull(name.c_str() + 7, nullptr, 10) + 1);
  }
  {
    std::ifstream in(cursor_path);
    std::string cursor;
    if (in && std::getline(in, cursor) && !cursor.empty()) {
      Status s = poller.value()->set_cursor(cursor);
      if (!s.ok()) std::cerr << "vigil: defender cursor not restored: " << s.message() << "\n";
    }
  }
  std::unique_ptr<DefenderSpool> d(new DefenderSpool());  // private constructor
  d->input_ = "defender-alerts:" + spool;
  DefenderSpool* self = d.get();
  d->thread_ = std::thread([self, p = std::move(poller.value()), spool, cursor_path, next_page]() mutable {
    auto on_page = [&](ingest::defender::GraphPage& page) {
      if (page.http_status != 200 || !page.rejects.empty()) return;  // reported by the poller
      auto doc = nlohmann::json::parse(page.body, nullptr, false);
      if (doc.is_discarded() || !doc.contains("value") || !doc["value"].is_array() || doc["value"].empty()) return;
      // One complete file per page, renamed into place so the engine never sees half a page.
      char name[64];
      std::snprintf(name, sizeof name, "alerts.%06llu.json", static_cast<unsigned long long>(next_page++));
      std::string final_path = spool + "/" + name;
      std::string tmp_path = spool + "/." + name + ".tmp";
      {
        std::ofstream out(tmp_path, std::ios::binary);
        out << page.body;
        if (!out) {
          std::cerr << "vigil: cannot write " << tmp_path << "\n";
          return;
        }
      }
      std::error_code page_ec;
      fs::rename(tmp_path, final_path, page_ec);
      std::string tmp = cursor_path + ".tmp";
      std::ofstream(tmp) << p->cursor() << "\n";
      std::error_code rename_ec;
      fs::rename(tmp, cursor_path, rename_ec);
    };
    auto on_error = [](const Status& s) { std::cerr << "vigil: defender poll: " << s.message() << "\n"; };
    p->Run(self->stop_, on_page, on_error);
  });
  return d;
}

DefenderSpool::~DefenderSpool() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace vigil::cli
