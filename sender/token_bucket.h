// The rate limiter shared by every worker of a run: a token bucket of `rate` events/s
// holding at most `burst` events, kept as a theoretical arrival time (GCRA) so that a
// reservation is one short critical section and the arithmetic is exact.
//
// A request for n events waits until the bucket holds n tokens, including n larger
// than the burst (it then waits its full share instead of bypassing the limit). The
// bucket starts empty, so a run does not open with a burst above the rate.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "common/clock.h"

namespace loadgen {

// A stop request that sleeping workers wake up for. Thread-safe.
class StopSignal {
 public:
  void Stop();
  bool stopped() const { return stopped_.load(std::memory_order_relaxed); }
  // Sleeps until the steady-clock time `deadline_ns` or a stop; true if not stopped.
  bool SleepUntil(int64_t deadline_ns);

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

class TokenBucket {
 public:
  // Requires rate > 0 and burst >= 1. `clock` must outlive the bucket.
  TokenBucket(double events_per_second, double burst_events, const Clock* clock);

  // Takes n tokens and returns the clock time at which the caller may send them
  // (now or later). Never blocks.
  int64_t Reserve(uint64_t n);

  // Reserve(n), then sleeps until that time. Returns false when `stop` fired first.
  bool Acquire(uint64_t n, StopSignal* stop);

  double rate() const { return rate_; }

 private:
  const double rate_;
  const double interval_ns_;  // Nanoseconds per event.
  const double tau_ns_;       // Burst expressed as time.
  const Clock* clock_;
  std::mutex mu_;
  double tat_ns_;  // When the bucket would be full again if nothing more were taken.
};

}  // namespace loadgen
