#include "sender/stop_signal.h"

#include "common/clock.h"

namespace loadgen {

void StopSignal::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopped_.store(true);
  }
  cv_.SignalAll();
}

bool StopSignal::SleepUntil(int64_t deadline_ns) {
  absl::MutexLock lock(&mu_);
  ++sleepers_;
  // The deadline is on the steady clock; absl's waits take a timeout, so it is
  // recomputed after every wake-up.
  for (int64_t left; !stopped_.load() && (left = deadline_ns - SteadyClock().NowNs()) > 0;) {
    cv_.WaitWithTimeout(&mu_, absl::Nanoseconds(left));
  }
  --sleepers_;
  return !stopped_.load();
}

int StopSignal::sleepers() {
  absl::MutexLock lock(&mu_);
  return sleepers_;
}

}  // namespace loadgen
