#include "sender/stop_signal.h"

#include <chrono>

namespace loadgen {

void StopSignal::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_.store(true);
  }
  cv_.notify_all();
}

bool StopSignal::SleepUntil(int64_t deadline_ns) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline =
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
  ++sleepers_;
  cv_.wait_until(lock, deadline, [&] { return stopped_.load(); });
  --sleepers_;
  return !stopped_.load();
}

int StopSignal::sleepers() {
  std::lock_guard<std::mutex> lock(mu_);
  return sleepers_;
}

}  // namespace loadgen
