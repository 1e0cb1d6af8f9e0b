#include "server/event_hub.h"

#include <chrono>

namespace vigil::server {

void EventHub::Publish(std::string type, nlohmann::json record) {
  HubEvent ev;
  std::vector<Listener> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ev.seq = ++seq_;
    ev.type = std::move(type);
    ev.data = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    ev.record = std::move(record);
    counts_[ev.type]++;
    ring_.push_back(ev);
    while (ring_.size() > kHubRingSize) ring_.pop_front();
    listeners.reserve(listeners_.size());
    for (auto& [id, l] : listeners_) listeners.push_back(l);
  }
  cv_.notify_all();
  for (auto& l : listeners) l(ev);
}

int EventHub::AddListener(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  int id = next_listener_++;
  listeners_[id] = std::move(listener);
  return id;
}

void EventHub::RemoveListener(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.erase(id);
}

std::vector<HubEvent> EventHub::WaitAfter(uint64_t after, int timeout_ms, uint64_t* missed) {
  std::unique_lock<std::mutex> lock(mu_);
  if (missed) *missed = 0;
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return closed_ || seq_ > after; });
  std::vector<HubEvent> out;
  if (closed_ || seq_ <= after) return out;
  uint64_t oldest = ring_.empty() ? seq_ + 1 : ring_.front().seq;
  if (missed && oldest > after + 1) *missed = oldest - after - 1;
  for (const auto& ev : ring_) {
    if (ev.seq > after) out.push_back(ev);
  }
  return out;
}

uint64_t EventHub::last_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seq_;
}

std::map<std::string, uint64_t> EventHub::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void EventHub::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventHub::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace vigil::server
