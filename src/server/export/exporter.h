// Exporter: hands breaches and incidents to every configured sink on its own thread, so a
// slow webhook or a dead syslog collector never stops detection (ARCHITECTURE.md: failure
// of one sink never stops detection, nor the other sinks).
//
// Thread safety: Submit may be called from any thread; it never blocks. Sinks are only
// touched by the worker thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "server/export/sink.h"

namespace vigil::server {
class EventHub;
}

namespace vigil::server::exp {

// Records waiting for the sinks; past it the oldest is dropped (and counted) rather than
// letting memory grow while a sink is down.
inline constexpr size_t kMaxExportQueue = 10000;

struct SinkStats {
  std::string name;
  uint64_t written = 0;
  uint64_t failed = 0;
  std::string last_error;
};

class Exporter {
 public:
  explicit Exporter(std::vector<std::unique_ptr<Sink>> sinks);
  ~Exporter();  // Close()

  // Queues a record for every sink ("breach" or "incident"; other kinds are ignored).
  void Submit(ExportRecord r);
  // Subscribes to a hub's breach and incident events. `hub` must outlive the Exporter or
  // Detach must be called first.
  void Attach(EventHub& hub);
  void Detach();
  // Waits until everything queued so far has been handed to every sink and flushed.
  void Drain();
  // Drains, closes every sink and stops the worker.
  void Close();

  std::vector<SinkStats> stats() const;
  uint64_t dropped() const { return dropped_; }
  size_t sink_count() const { return sinks_.size(); }

 private:
  void Run();

  std::vector<std::unique_ptr<Sink>> sinks_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<ExportRecord> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::vector<SinkStats> stats_;
  EventHub* hub_ = nullptr;
  int listener_ = 0;
  std::thread worker_;
};

// Builds the sinks named in config `exports:` (ocsf path, syslog list, webhooks list).
// Relative paths are under `state_dir`. Returns every config error at once.
Result<std::vector<std::unique_ptr<Sink>>> MakeSinksFromConfig(const config::Config& cfg,
                                                               const std::string& state_dir);

}  // namespace vigil::server::exp
