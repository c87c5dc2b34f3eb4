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
    : TokenBucket(RateSchedule::Constant(events_per_second),
                  static_cast<int64_t>(std::max(1.0, burst_events) * 1e9 / events_per_second),
                  clock) {}

TokenBucket::TokenBucket(RateSchedule schedule, int64_t tolerance_ns, const Clock* clock)
    : clock_(clock),
      start_ns_(clock->NowNs()),
      tolerance_ns_(tolerance_ns),
      schedule_(std::move(schedule)),
      // Starts empty: what the tolerance would allow at once is already spent.
      issued_(schedule_.EventsBy(tolerance_ns)) {}

int64_t TokenBucket::Reserve(uint64_t n) {
  const int64_t now = clock_->NowNs();
  std::lock_guard<std::mutex> lock(mu_);
  // A bucket idle for longer than the tolerance is full, not fuller: no catch-up.
  issued_ = std::max(issued_, schedule_.EventsBy(now - start_ns_)) + static_cast<double>(n);
  const int64_t due = schedule_.TimeOfEvent(issued_);
  if (due == RateSchedule::kForever) return RateSchedule::kForever;
  return std::max(now, start_ns_ + due - tolerance_ns_);
}

bool TokenBucket::Acquire(uint64_t n, StopSignal* stop, int64_t deadline_ns) {
  const int64_t at = Reserve(n);
  if (at == RateSchedule::kForever || (deadline_ns != 0 && at >= deadline_ns)) return false;
  if (at <= clock_->NowNs()) return !stop->stopped();
  return stop->SleepUntil(at);
}

double TokenBucket::TargetRate() const {
  const int64_t now = clock_->NowNs();
  std::lock_guard<std::mutex> lock(mu_);
  return schedule_.RateAt(now - start_ns_);
}

double TokenBucket::ScheduledEvents(int64_t now_ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  return schedule_.EventsBy(now_ns - start_ns_);
}

void TokenBucket::SetRate(double rate) {
  const int64_t now = clock_->NowNs();
  std::lock_guard<std::mutex> lock(mu_);
  issued_ = std::max(issued_, schedule_.EventsBy(now - start_ns_));
  schedule_.HoldFrom(now - start_ns_, rate);
}

RateLimiter::RateLimiter(const RateSchedule& total, int64_t tolerance_ns,
                         const std::array<uint64_t, 3>& events, const Clock* clock) {
  const double sum = static_cast<double>(events[0] + events[1] + events[2]);
  for (int i = 0; i < 3; ++i) {
    if (events[i] == 0) continue;
    shares_[i] = static_cast<double>(events[i]) / sum;
    buckets_[i] = std::make_unique<TokenBucket>(total.Scaled(shares_[i]), tolerance_ns, clock);
  }
}

double RateLimiter::TargetRate() const {
  double r = 0;
  for (const auto& b : buckets_) r += b ? b->TargetRate() : 0;
  return r;
}

double RateLimiter::ScheduledEvents(int64_t now_ns) const {
  double e = 0;
  for (const auto& b : buckets_) e += b ? b->ScheduledEvents(now_ns) : 0;
  return e;
}

void RateLimiter::SetRate(double total) {
  for (int i = 0; i < 3; ++i) {
    if (buckets_[i]) buckets_[i]->SetRate(total * shares_[i]);
  }
}

}  // namespace loadgen
