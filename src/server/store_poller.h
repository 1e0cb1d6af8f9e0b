// StorePoller: feeds the EventHub from the store when no engine runs in this process
// (`vigil serve` alone, next to a `vigil run` writing the same store). Every interval it
// asks for breaches newer than the last it saw and for incidents and actions whose record
// changed, and publishes those. The first poll only takes a baseline: a stream shows what
// happens after it connects, not the history (the API serves that).
//
// Thread safety: Start/Stop from one thread; polling runs on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "server/event_hub.h"
#include "store/store.h"

namespace vigil::server {

// Records compared per poll; a store changing faster than this between polls loses the
// excess from the live feed (they stay in the store and the API).
inline constexpr size_t kMaxPollRecords = 1000;

class StorePoller {
 public:
  // Borrowed: store and hub must outlive the poller.
  StorePoller(store::Store& store, EventHub& hub, int interval_ms)
      : store_(store), hub_(hub), interval_ms_(interval_ms) {}
  ~StorePoller() { Stop(); }

  void Start();
  void Stop();
  // One poll (exposed for tests). Returns the number of events published.
  size_t PollOnce();

 private:
  store::Store& store_;
  EventHub& hub_;
  int interval_ms_;
  bool baseline_done_ = false;
  Micros last_breach_time_ = 0;
  std::set<std::string> ids_at_last_time_;
  std::map<std::string, size_t> incident_hash_;
  std::map<std::string, size_t> action_hash_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vigil::server
