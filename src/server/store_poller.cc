#include "server/store_poller.h"

#include <algorithm>
#include <functional>
#include <iostream>

namespace vigil::server {

void StorePoller::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      PollOnce();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; });
    }
  });
}

void StorePoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t StorePoller::PollOnce() {
  size_t published = 0;
  bool publish = baseline_done_;
  store::BreachQuery q;
  q.since = last_breach_time_;
  q.include_weak = true;
  q.limit = kMaxPollRecords;
  auto br = store_.QueryBreaches(q);
  if (br.ok()) {
    auto list = std::move(*br);
    std::sort(list.begin(), list.end(),
              [](const detect::Breach& a, const detect::Breach& b) { return a.time < b.time; });
    for (const auto& b : list) {
      if (b.time < last_breach_time_) continue;
      if (b.time == last_breach_time_ && ids_at_last_time_.count(b.id)) continue;
      if (b.time > last_breach_time_) {
        last_breach_time_ = b.time;
        ids_at_last_time_.clear();
      }
      ids_at_last_time_.insert(b.id);
      if (publish) {
        hub_.Publish("breach", detect::BreachToJson(b));
        published++;
      }
    }
  } else {
    std::cerr << "vigil serve: poll breaches: " << br.status().ToString() << "\n";
  }
  auto diff = [&](const char* type, Result<std::vector<nlohmann::json>> r, std::map<std::string, size_t>& seen) {
    if (!r.ok()) {
      std::cerr << "vigil serve: poll " << type << ": " << r.status().ToString() << "\n";
      return;
    }
    for (const auto& doc : *r) {
      std::string id = doc.value("id", "");
      size_t h = std::hash<std::string>{}(doc.dump());
      auto it = seen.find(id);
      if (it != seen.end() && it->second == h) continue;
      seen[id] = h;
      if (publish) {
        hub_.Publish(type, doc);
        published++;
      }
    }
  };
  diff("incident", store_.ListIncidents(kMaxPollRecords, 0), incident_hash_);
  diff("action", store_.ListActions(kMaxPollRecords, 0), action_hash_);
  baseline_done_ = true;
  return published;
}

}  // namespace vigil::server
