// CPU time by thread, for `vigil replay --stats` to say where a run's CPU went (the engine
// thread, the model threads, the event-log writer, the decode-ahead threads) without a
// profiler. A thread adds what it used to a CpuTally as it goes (ThreadCpuMeter::Tick at a
// natural step: a batch, a chunk), so the tally is current whenever the thread is idle.
#pragma once

#include <atomic>
#include <cstdint>

namespace vigil {

// CPU time (user and system) the calling thread has used so far, in seconds
// (CLOCK_THREAD_CPUTIME_ID; a system call, about a microsecond: call it per batch, not per
// event).
double ThreadCpuSeconds();

// Seconds of CPU that any number of threads add to.
class CpuTally {
 public:
  void Add(double seconds) {
    if (seconds > 0) ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  double seconds() const { return static_cast<double>(ns_.load(std::memory_order_relaxed)) / 1e9; }

 private:
  std::atomic<uint64_t> ns_{0};
};

// One thread's meter: Tick adds the CPU the thread used since the last Tick (or since the
// meter was made) to the tally; so does the destructor. A null tally counts nothing.
class ThreadCpuMeter {
 public:
  explicit ThreadCpuMeter(CpuTally* tally) : tally_(tally), last_(tally ? ThreadCpuSeconds() : 0) {}
  ~ThreadCpuMeter() { Tick(); }
  ThreadCpuMeter(const ThreadCpuMeter&) = delete;
  ThreadCpuMeter& operator=(const ThreadCpuMeter&) = delete;
  void Tick() {
    if (!tally_) return;
    const double now = ThreadCpuSeconds();
    tally_->Add(now - last_);
    last_ = now;
  }

 private:
  CpuTally* tally_;
  double last_;
};

}  // namespace vigil
