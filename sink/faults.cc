#include "sink/faults.h"

#include <algorithm>

#include "common/random.h"

namespace loadgen {

int64_t ResponseDelay::For(uint64_t n) const {
  if ((delay_ns <= 0 && jitter_ns <= 0) || !PickedByShare(n, share)) return 0;
  int64_t d = delay_ns;
  if (jitter_ns > 0) d += static_cast<int64_t>(Fmix64(n) % static_cast<uint64_t>(jitter_ns + 1));
  return d;
}

RateCap::Admission RateCap::Admit(uint64_t items, int64_t now_ns) {
  const auto cost = static_cast<int64_t>(static_cast<double>(items) * 1e9 / rate_);
  MutexLock lock(&mu_);
  const int64_t backlog = std::max<int64_t>(0, tat_ns_ - now_ns);
  Admission a;
  if (queue_) {
    a.delay_ns = backlog + cost;
  } else if (backlog > kToleranceNs) {
    a.admitted = false;
    a.retry_after_ns = backlog - kToleranceNs;
    return a;
  }
  tat_ns_ = now_ns + backlog + cost;
  return a;
}

}  // namespace loadgen
