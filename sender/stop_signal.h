// How a run is stopped early (SIGINT, a refusal, the capacity search's end): every
// worker polls stopped(), and one waiting for its next send time wakes at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>

#include "common/mutex.h"

namespace loadgen {

// A stop request that sleeping workers wake up for. Thread-safe.
class StopSignal {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }
  // Sleeps until the steady-clock time `deadline_ns` or a stop; true if not stopped.
  bool SleepUntil(int64_t deadline_ns);
  // Threads inside SleepUntil now (for tests that must stop a sleeper, not a thread
  // about to sleep).
  int sleepers();

 private:
  std::atomic<bool> stopped_{false};
  Mutex mu_;
  std::condition_variable_any cv_;
  int sleepers_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace loadgen
