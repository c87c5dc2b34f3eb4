#include "sender/stop_signal.h"

#include <chrono>

namespace loadgen {

void StopSignal::Stop() {
  {
    MutexLock lock(&mu_);
    stopped_.store(true);
  }
  cv_.notify_all();
}

bool StopSignal::SleepUntil(int64_t deadline_ns) {
  const auto deadline =
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
  MutexLock lock(&mu_);
  ++sleepers_;
  while (!stopped_.load() && cv_.wait_until(mu_, deadline) != std::cv_status::timeout) {
  }
  --sleepers_;
  return !stopped_.load();
}

int StopSignal::sleepers() {
  MutexLock lock(&mu_);
  return sleepers_;
}

}  // namespace loadgen
