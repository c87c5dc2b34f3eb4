// The rate limiter shared by every worker of a run: a token bucket of `rate` events/s
// (or a RateSchedule) holding at most `burst` events, kept as a theoretical arrival
// time (GCRA) on the schedule's cumulative curve, so that a reservation is one short
// critical section, the arithmetic is exact, and ramps are followed exactly.
//
// A request for n events waits until the bucket holds n tokens, including n larger
// than the burst (it then waits its full share instead of bypassing the limit). The
// bucket starts empty, so a run does not open with a burst above the rate.
// Thread-safe.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/clock.h"
#include "common/signal.h"
#include "sender/schedule.h"

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
  // A constant rate. Requires rate > 0 and burst >= 1. `clock` must outlive the bucket.
  TokenBucket(double events_per_second, double burst_events, const Clock* clock);
  // A schedule, whose time 0 is now. The bucket may run up to `tolerance_ns` ahead of
  // the schedule (at a constant rate that is burst / rate).
  TokenBucket(RateSchedule schedule, int64_t tolerance_ns, const Clock* clock);

  // Takes n tokens and returns the clock time at which the caller may send them
  // (now or later; RateSchedule::kForever when the schedule ends first). Never blocks.
  int64_t Reserve(uint64_t n);

  // Reserve(n), then sleeps until that time. Returns false when `stop` fired first,
  // or when that time is at or past `deadline_ns` (0: none) or the schedule's end.
  bool Acquire(uint64_t n, StopSignal* stop, int64_t deadline_ns = 0);

  // The target rate now (what the schedule asks for at this moment).
  double TargetRate() const;
  // Events the schedule has asked for from its start until clock time `now_ns`.
  double ScheduledEvents(int64_t now_ns) const;
  // From now on, hold `rate` (runtime control); the schedule's end stays.
  void SetRate(double rate);
  int64_t start_ns() const { return start_ns_; }

 private:
  const Clock* clock_;
  const int64_t start_ns_;
  const int64_t tolerance_ns_;
  mutable std::mutex mu_;
  RateSchedule schedule_;
  // Events reserved so far, on the schedule's cumulative curve: a reservation may go
  // once the schedule has reached it, less the tolerance (GCRA on that curve).
  double issued_;
};

// The run's rate limit, split by signal: one bucket per signal at its share of the
// dataset's events, so the mix on the wire is the dataset's at any rate (one shared
// bucket would give each worker an equal share of requests instead), and together
// they follow the schedule exactly. Thread-safe.
class RateLimiter {
 public:
  // `events` per signal (by SignalIndex); a signal with none gets no bucket.
  RateLimiter(const RateSchedule& total, int64_t tolerance_ns,
              const std::array<uint64_t, 3>& events, const Clock* clock);
  TokenBucket* of(Signal s) const { return buckets_[SignalIndex(s)].get(); }
  double TargetRate() const;
  double ScheduledEvents(int64_t now_ns) const;
  // From now on, hold `total` events/s, split by the same shares.
  void SetRate(double total);

 private:
  std::array<double, 3> shares_{};
  std::array<std::unique_ptr<TokenBucket>, 3> buckets_;
};

}  // namespace loadgen
