// DefenderSpool: connects the live Graph alerts poller to `vigil run`.
//
// The poller runs on its own thread and writes every page it fetches as one file,
// STATE/defender/pages/alerts.NNNNNN.json (written aside, then renamed into place); the
// engine follows that folder like any other input (format defender-alerts), so live alerts
// take the same path, and the same checkpoints, as alerts read from files. The poller's cursor is saved to STATE/defender/cursor after
// each page is written: a crash between the two re-fetches a page (the alert model drops
// alerts it has seen), it never skips one. Malformed pages are reported and counted by the
// poller; the pages around them are kept.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/status.h"

namespace vigil::cli {

class DefenderSpool {
 public:
  // Starts polling when defender.tenant_id is configured; returns nullptr when it is not.
  static Result<std::unique_ptr<DefenderSpool>> Start(const config::Config& cfg, const std::string& state_dir);
  ~DefenderSpool();  // stops the thread
  // The input spec the engine should follow ("defender-alerts:FOLDER").
  const std::string& input() const { return input_; }

 private:
  DefenderSpool() = default;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::string input_;
};

}  // namespace vigil::cli
