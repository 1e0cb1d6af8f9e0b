// EventLog: writes the store's event log (store.event_log) on a thread of its own.
//
// The engine thread packs each enriched event that names an entity into a row of a batch
// (Add: time, entity, peer, kind, a one-line summary written in place, where the raw record
// is; store/event_rows.h) and hands full batches to the writer thread, which appends them
// with Store::PutEventRows (the store serialises its own calls, so the engine's other
// writes simply take turns). The queue is bounded: when the writer falls behind, Add
// waits, so no event is dropped silently and memory stays bounded. A batch the store
// refuses is counted and reported once, and logging goes on; detection never depends on the
// log. Stored batches come back to the engine thread to be refilled, so steady logging
// allocates nothing.
//
// Flush waits until everything added so far is stored (checkpoints call it, so the log
// holds every event the checkpoint's positions cover). Prune deletes events older than a
// time (the session passes now - retention).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/event.h"
#include "core/thread_cpu.h"
#include "store/event_rows.h"
#include "store/store.h"

namespace vigil::pipeline {

class EventLog {
 public:
  explicit EventLog(store::Store& store, size_t batch_size = 4096, size_t max_queued_batches = 8);
  ~EventLog();  // stores what is left, then joins the writer
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Engine thread. Events without an entity are not logged.
  void Add(const Event& e, std::string_view input);
  // Hands over the current batch, however small, without waiting for it to be stored
  // (live mode calls it when idle, so the console sees new events within a poll interval).
  void Nudge() { Handover(); }
  // Hands over the current batch and waits until the writer has stored everything.
  void Flush();
  // Flush, then delete events older than `before`. Returns the rows deleted.
  Result<uint64_t> Prune(Micros before);

  uint64_t written() const;
  uint64_t failed() const;  // events in batches the store refused
  // The writer thread's CPU time, current after Flush.
  double cpu_seconds() const { return cpu_.seconds(); }

 private:
  void Writer();
  void Handover();  // caller holds no lock

  store::Store& store_;
  const size_t batch_size_;
  const size_t max_queued_;
  store::EventRows batch_;  // engine thread only
  mutable std::mutex mu_;
  std::condition_variable cv_;       // work arrived, or stop
  std::condition_variable drained_;  // the queue shrank, or the writer went idle
  std::deque<store::EventRows> queue_;
  std::vector<store::EventRows> spare_;  // stored batches, for Add to refill
  bool busy_ = false;
  bool stop_ = false;
  uint64_t written_ = 0;
  uint64_t failed_ = 0;
  bool reported_ = false;
  CpuTally cpu_;
  std::thread thread_;
};

}  // namespace vigil::pipeline
