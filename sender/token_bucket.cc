#include "sender/token_bucket.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>

namespace loadgen {

TokenBucket::TokenBucket(double events_per_second, const Clock* clock)
    : TokenBucket(RateSchedule::Constant(events_per_second), 0, clock) {
  assert(events_per_second > 0);
}

TokenBucket::TokenBucket(RateSchedule schedule, int64_t early_ns, const Clock* clock)
    : clock_(clock),
      early_ns_(early_ns),
      start_ns_(clock->NowNs()),
      schedule_(std::move(schedule)) {}

void TokenBucket::Start() {
  const int64_t now = clock_->NowNs();
  MutexLock lock(&mu_);
  start_ns_ = now;
  issued_ = 0;
}

Reservation TokenBucket::Reserve(uint64_t n) {
  MutexLock lock(&mu_);
  const double middle = issued_ + static_cast<double>(n) / 2;
  issued_ += static_cast<double>(n);
  const int64_t due = schedule_.TimeOfEvent(middle);
  if (due == RateSchedule::kForever) return {RateSchedule::kForever, RateSchedule::kForever};
  const int64_t intended = start_ns_ + due;
  return {std::max(start_ns_, intended - early_ns_), intended};
}

double TokenBucket::TargetRate() const {
  const int64_t now = clock_->NowNs();
  MutexLock lock(&mu_);
  return schedule_.RateAt(now - start_ns_);
}

double TokenBucket::ScheduledEvents(int64_t now_ns) const {
  MutexLock lock(&mu_);
  return schedule_.EventsBy(now_ns - start_ns_);
}

int64_t TokenBucket::LagNs(int64_t now_ns) const {
  MutexLock lock(&mu_);
  const int64_t due = schedule_.TimeOfEvent(issued_);
  if (due == RateSchedule::kForever) return 0;
  return std::max<int64_t>(0, now_ns - (start_ns_ + due));
}

void TokenBucket::SetRate(double rate) {
  const int64_t now = clock_->NowNs();
  MutexLock lock(&mu_);
  issued_ = std::max(issued_, schedule_.EventsBy(now - start_ns_));
  schedule_.HoldFrom(now - start_ns_, rate);
}

int64_t TokenBucket::start_ns() const {
  MutexLock lock(&mu_);
  return start_ns_;
}

RateLimiter::RateLimiter(const RateSchedule& total, int64_t early_ns,
                         const std::array<uint64_t, 3>& events, const Clock* clock) {
  const double sum = static_cast<double>(events[0] + events[1] + events[2]);
  for (int i = 0; i < 3; ++i) {
    if (events[i] == 0) continue;
    shares_[i] = static_cast<double>(events[i]) / sum;
    buckets_[i] = std::make_unique<TokenBucket>(total.Scaled(shares_[i]), early_ns, clock);
  }
}

void RateLimiter::Start() {
  for (const auto& b : buckets_) {
    if (b) b->Start();
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

int64_t RateLimiter::LagNs(int64_t now_ns) const {
  now_ns = std::min(now_ns, end_ns_.load(std::memory_order_relaxed));
  int64_t lag = 0;
  for (const auto& b : buckets_) lag = std::max(lag, b ? b->LagNs(now_ns) : 0);
  return lag;
}

void RateLimiter::SetRate(double total) {
  for (int i = 0; i < 3; ++i) {
    if (buckets_[i]) buckets_[i]->SetRate(total * shares_[i]);
  }
}

}  // namespace loadgen
