#include "pipeline/event_log.h"

#include <algorithm>
#include <iostream>

#include "detect/breach.h"

namespace vigil::pipeline {

EventLog::EventLog(store::Store& store, size_t batch_size, size_t max_queued_batches)
    : store_(store), batch_size_(std::max<size_t>(1, batch_size)),
      max_queued_(std::max<size_t>(1, max_queued_batches)) {
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
  // The row is packed in place, its summary too: a recycled batch keeps its buffer, so a
  // steady stream of events allocates nothing here. A flow's summary is packed, and made
  // text when read (store/event_rows.h).
  const auto* f = e.As<FlowBody>();
  batch_.Add(e.time, e.entity.id, e.peer.id, EventKindName(e.kind), e.uid, input, e.pos.line,
             e.pos.offset, f ? f->orig_bytes + f->resp_bytes : 0, [&e, f](std::string& out) {
               if (f && e.net.valid &&
                   store::PackFlowSummary(out, e.net.orig_h_text, e.net.orig_p, e.net.resp_h_text,
                                          e.net.resp_p, e.net.proto, f->orig_bytes, f->resp_bytes,
                                          f->conn_state))
                 return;
               detect::AppendEventSummary(out, e);
             });
  if (batch_.size() >= batch_size_) Handover();
}

void EventLog::Handover() {
  if (batch_.empty()) return;
  std::unique_lock lock(mu_);
  drained_.wait(lock, [this] { return queue_.size() < max_queued_; });  // back-pressure
  queue_.push_back(std::move(batch_));  // leaves batch_ empty
  if (!spare_.empty()) {                 // a stored batch: its buffer is refilled
    batch_ = std::move(spare_.back());
    spare_.pop_back();
    batch_.clear();
  }
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
    store::EventRows batch = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    drained_.notify_all();
    Status s = store_.PutEventRows(batch);
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
