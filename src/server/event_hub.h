// EventHub: the live feed behind the SSE stream (GET /api/v1/stream) and the exporters.
//
// The engine (`vigil run`, `vigil demo`) publishes a record whenever a breach, incident or
// action appears or changes; `vigil serve` alone feeds it from a StorePoller. The hub keeps
// the last kHubRingSize events in a ring with increasing sequence numbers, so a stream
// client that falls behind or reconnects (Last-Event-ID) resumes from the ring and learns
// how many it missed, and a slow client never slows the publisher.
//
// Thread safety: every member may be called from any thread. Listeners are called on the
// publisher's thread, outside the hub's lock, and must not block (the exporter only
// enqueues).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::server {

// Events kept for late or reconnecting stream clients.
inline constexpr size_t kHubRingSize = 1024;

struct HubEvent {
  uint64_t seq = 0;   // 1, 2, 3 ... in publish order
  std::string type;   // "breach", "incident", "action"
  std::string data;   // the record as one line of JSON
  nlohmann::json record;
};

class EventHub {
 public:
  using Listener = std::function<void(const HubEvent&)>;

  // Publishes one record. `type` is "breach", "incident" or "action" (others are passed
  // through as they are). Never blocks on readers.
  void Publish(std::string type, nlohmann::json record);

  // Calls `listener` for every event published from now on. Returns an id for RemoveListener.
  int AddListener(Listener listener);
  void RemoveListener(int id);

  // Waits up to `timeout_ms` for events with seq > after; returns them in order (at most
  // kHubRingSize). `*missed` is set to how many events after `after` fell out of the ring.
  // Returns at once, empty, once Close() was called.
  std::vector<HubEvent> WaitAfter(uint64_t after, int timeout_ms, uint64_t* missed);

  // The sequence number of the newest event (0 when none).
  uint64_t last_seq() const;
  // Events published, by type (for /metrics).
  std::map<std::string, uint64_t> counts() const;

  // Wakes every waiter and makes further waits return at once (server shutdown).
  void Close();
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HubEvent> ring_;
  uint64_t seq_ = 0;
  bool closed_ = false;
  std::map<std::string, uint64_t> counts_;
  std::map<int, Listener> listeners_;
  int next_listener_ = 1;
};

}  // namespace vigil::server
