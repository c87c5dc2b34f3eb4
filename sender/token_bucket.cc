#include "sender/token_bucket.h"

#include <algorithm>
#include <chrono>
#include <cmath>

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
  cv_.wait_until(lock, deadline, [&] { return stopped_.load(); });
  return !stopped_.load();
}

TokenBucket::TokenBucket(double events_per_second, double burst_events, const Clock* clock)
    : rate_(events_per_second),
      interval_ns_(1e9 / events_per_second),
      tau_ns_(std::max(1.0, burst_events) * 1e9 / events_per_second),
      clock_(clock),
      tat_ns_(static_cast<double>(clock->NowNs()) + tau_ns_) {}

int64_t TokenBucket::Reserve(uint64_t n) {
  const double now = static_cast<double>(clock_->NowNs());
  std::lock_guard<std::mutex> lock(mu_);
  // A bucket idle for longer than tau is full, not fuller: that caps the catch-up.
  const double tat = std::max(tat_ns_, now);
  tat_ns_ = tat + static_cast<double>(n) * interval_ns_;
  return static_cast<int64_t>(std::ceil(std::max(now, tat_ns_ - tau_ns_)));
}

bool TokenBucket::Acquire(uint64_t n, StopSignal* stop) {
  const int64_t at = Reserve(n);
  if (at <= clock_->NowNs()) return !stop->stopped();
  return stop->SleepUntil(at);
}

}  // namespace loadgen
