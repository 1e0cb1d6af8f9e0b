#include "core/thread_cpu.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace vigil {
namespace {

// Burns about `seconds` of the calling thread's CPU.
void Spin(double seconds) {
  const double until = ThreadCpuSeconds() + seconds;
  volatile uint64_t x = 0;
  while (ThreadCpuSeconds() < until)
    for (int i = 0; i < 10000; ++i) x = x + static_cast<uint64_t>(i);
}

TEST(ThreadCpu, ATallyHoldsWhatItsThreadsBurnedAndNotWhatTheySlept) {
  CpuTally tally;
  auto work = [&tally] {
    ThreadCpuMeter meter(&tally);
    Spin(0.02);
    meter.Tick();  // counted now, the rest at the end
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    Spin(0.02);
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_GE(tally.seconds(), 0.08);
  EXPECT_LT(tally.seconds(), 0.08 + 0.1) << "the 120 ms asleep must not count";
}

TEST(ThreadCpu, TickAddsOnlyWhatIsNewAndANullTallyCountsNothing) {
  CpuTally tally;
  ThreadCpuMeter meter(&tally);
  Spin(0.01);
  meter.Tick();
  const double first = tally.seconds();
  EXPECT_GE(first, 0.01);
  meter.Tick();
  EXPECT_LT(tally.seconds() - first, 0.005);  // nothing burned between the two ticks
  ThreadCpuMeter none(nullptr);
  none.Tick();
}

}  // namespace
}  // namespace vigil
