// The misbehaviour otlp-sink can put on for a sender to cope with: exact shares of
// requests picked for a fault, a response delay, and a rate cap. Pure arithmetic on the
// request's number and the time given, so tests check it exactly.
#pragma once

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace loadgen {

// Whether request number n (from 0) is among an exact `share` of requests: it is when
// n × share crosses a whole number, so 0.2 picks every fifth, 0.5 every other one.
inline bool PickedByShare(uint64_t n, double share) {
  return share > 0 && static_cast<uint64_t>((n + 1) * share) > static_cast<uint64_t>(n * share);
}

// --delay, --delay-jitter, --delay-share: how long request n's answer waits, 0 for none.
// The jitter is uniform in [0, jitter_ns], the same for the same n on every run.
struct ResponseDelay {
  int64_t delay_ns = 0, jitter_ns = 0;
  double share = 1;
  int64_t For(uint64_t n) const;
};

// --max-rate: a backend that processes `items_per_second`. A GCRA over items: a request
// is admitted while the backlog ahead of it is at most kToleranceNs, so one of any size
// gets through an idle sink. Over the cap it is refused with how long until there is
// room, or, when `queue`, admitted with the wait it would have queued for (latency
// grows). Thread-safe.
class RateCap {
 public:
  static constexpr int64_t kToleranceNs = 100'000'000;
  RateCap(double items_per_second, bool queue) : rate_(items_per_second), queue_(queue) {}
  struct Admission {
    bool admitted = true;
    int64_t delay_ns = 0;        // Admitted: answer this much later.
    int64_t retry_after_ns = 0;  // Refused: room comes this much later.
  };
  // `now_ns`: a monotonic time, never less than an earlier call's.
  Admission Admit(uint64_t items, int64_t now_ns);

 private:
  const double rate_;
  const bool queue_;
  Mutex mu_;
  int64_t tat_ns_ ABSL_GUARDED_BY(mu_) = 0;  // Theoretical arrival time.
};

}  // namespace loadgen
