#include "pipeline/event_log.h"

#include <algorithm>
#include <iostream>

#include "detect/breach.h"

namespace vigil::pipeline {

EventLog::EventLog(store::Store& store, size_t batch_size, size_t max_queued_batches)
    : store_(store), batch_size_(std::max<size_t>(1, batch_size)),
      max_queued_(std::max<size_t>(1, max_queued_batches)) {
  batch_.reserve(batch_size_);
  thread_ = std::thread([this] { Writer(); });
}

EventLog::~EventLog() {
  Handover();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventLog::Add(const Event& e, std::string_view input) {
  if (e.entity.id.empty()) return;
  // Rows of a recycled batch are overwritten in place: their strings keep their capacity,
  // so a steady stream of events allocates nothing here.
  if (filled_ == batch_.size()) batch_.emplace_back();
  store::EventRecord& r = batch_[filled_++];
  r.time = e.time;
  r.entity.assign(e.entity.id);
  r.peer.assign(e.peer.id);
  r.kind.assign(EventKindName(e.kind));
  r.summary.clear();
  detect::AppendEventSummary(r.summary, e);
  r.uid.assign(e.uid);
  r.input.assign(input);
  r.line = e.pos.line;
  r.offset = e.pos.offset;
  const auto* f = e.As<FlowBody>();
  r.bytes = f ? f->orig_bytes + f->resp_bytes : 0;
  if (filled_ >= batch_size_) Handover();
}

void EventLog::Handover() {
  if (filled_ == 0) return;
  batch_.resize(filled_);
  std::unique_lock lock(mu_);
  drained_.wait(lock, [this] { return queue_.size() < max_queued_; });  // back-pressure
  queue_.push_back(std::move(batch_));
  if (spare_.empty()) {
    batch_ = {};
    batch_.reserve(batch_size_);
  } else {
    batch_ = std::move(spare_.back());
    spare_.pop_back();
  }
  filled_ = 0;
  lock.unlock();
  cv_.notify_one();
}

void EventLog::Flush() {
  Handover();
  std::unique_lock lock(mu_);
  drained_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

Result<uint64_t> EventLog::Prune(Micros before) {
  Flush();
  return store_.PruneEvents(before);
}

void EventLog::Writer() {
  ThreadCpuMeter cpu(&cpu_);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    std::vector<store::EventRecord> batch = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    drained_.notify_all();
    Status s = store_.PutEvents(batch);
    cpu.Tick();  // before Flush can see the writer idle
    lock.lock();
    busy_ = false;
    if (s.ok()) {
      written_ += batch.size();
    } else {
      failed_ += batch.size();
      if (!reported_) {
        reported_ = true;
        std::cerr << "vigil: event log: " << batch.size() << " events not stored: " << s.message()
                  << " (counted as event_log_failed; detection goes on)\n";
      }
    }
    if (spare_.size() <= max_queued_) spare_.push_back(std::move(batch));  // for Add to refill
    drained_.notify_all();
  }
}

uint64_t EventLog::written() const {
  std::lock_guard lock(mu_);
  return written_;
}

uint64_t EventLog::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace vigil::pipeline
