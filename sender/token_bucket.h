// The rate limiter shared by the workers of a run: a token bucket of `rate` events/s
// (or a RateSchedule), kept as a theoretical arrival time (GCRA) on the schedule's
// cumulative curve, so that a reservation is one short critical section, the
// arithmetic is exact, and ramps are followed exactly.
//
// A request of n events is intended for the moment the schedule reaches its middle
// event: a run cut off at any moment has then sent what the schedule asked for, give
// or take half a request (intending it at its last event would leave up to a whole
// request per signal unsent). The bucket may let it go up to `early_ns` before that.
//
// A sender that falls behind (a slow or stalled receiver) is not forgiven: its next
// requests were intended in the past, so it sends them as soon as the receiver lets it
// and catches up, and how far behind it is shows as lag and as latency from the
// intended time (wrk2's lesson), never as a silently lower load. Only a rate change
// (SetRate: capacity steps, PUT /rate) starts the schedule afresh from that moment.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/otlp_signal.h"
#include "sender/schedule.h"
#include "sender/stop_signal.h"

namespace loadgen {

struct Reservation {
  int64_t send_at_ns = 0;   // When the request may go; RateSchedule::kForever: never (the
                            // schedule ends first).
  int64_t intended_ns = 0;  // When the schedule meant it to go.
};

class TokenBucket {
 public:
  // A constant rate. Requires rate > 0. `clock` must outlive the bucket.
  TokenBucket(double events_per_second, const Clock* clock);
  // A schedule, whose time 0 is now (or the last Start()). Requests may go up to
  // `early_ns` before their intended time.
  TokenBucket(RateSchedule schedule, int64_t early_ns, const Clock* clock);

  // Makes now the schedule's time 0, with nothing reserved yet.
  void Start();
  // Takes n tokens. Never blocks.
  Reservation Reserve(uint64_t n);

  // The target rate now (what the schedule asks for at this moment).
  double TargetRate() const;
  // Events the schedule has asked for from its start until clock time `now_ns`.
  double ScheduledEvents(int64_t now_ns) const;
  // How far behind the schedule the reservations are at `now_ns`: how long ago the
  // next event nobody has reserved yet was due (0 when it is not due yet).
  int64_t LagNs(int64_t now_ns) const;
  // From now on, hold `rate` (runtime control); the schedule's end stays. A backlog
  // is forgiven: the new rate starts now.
  void SetRate(double rate);
  int64_t start_ns() const;

 private:
  const Clock* clock_;
  const int64_t early_ns_;
  mutable Mutex mu_;
  int64_t start_ns_ ABSL_GUARDED_BY(mu_);
  RateSchedule schedule_ ABSL_GUARDED_BY(mu_);
  double issued_ ABSL_GUARDED_BY(mu_) =
      0;  // Events reserved so far, on the schedule's cumulative curve.
};

// The run's rate limit, split by signal: one bucket per signal at its share of the
// dataset's events, so the mix on the wire is the dataset's at any rate (one shared
// bucket would give each worker an equal share of requests instead), and together
// they follow the schedule exactly. Thread-safe.
class RateLimiter {
 public:
  // `events` per signal (by SignalIndex); a signal with none gets no bucket.
  RateLimiter(const RateSchedule& total, int64_t early_ns, const std::array<uint64_t, 3>& events,
              const Clock* clock);
  TokenBucket* of(Signal s) const { return buckets_[SignalIndex(s)].get(); }
  // Starts every bucket's schedule now (when sending starts).
  void Start();
  double TargetRate() const;
  double ScheduledEvents(int64_t now_ns) const;
  // The largest lag of the signals' buckets. Nothing is scheduled after `EndAt`, so
  // the lag stops there instead of growing while the last calls drain.
  int64_t LagNs(int64_t now_ns) const;
  void EndAt(int64_t end_ns) { end_ns_.store(end_ns, std::memory_order_relaxed); }
  // From now on, hold `total` events/s, split by the same shares.
  void SetRate(double total);

 private:
  std::array<double, 3> shares_{};
  std::array<std::unique_ptr<TokenBucket>, 3> buckets_;
  std::atomic<int64_t> end_ns_{INT64_MAX};
};

}  // namespace loadgen
