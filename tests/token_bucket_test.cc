#include "sender/token_bucket.h"

#include <future>
#include <thread>

#include "catch2/catch.hpp"

namespace loadgen {
namespace {

constexpr int64_t kMs = 1000000;

TEST_CASE("requests are intended at their middle event, spaced at exactly the rate") {
  FakeClock clock(0);
  TokenBucket bucket(1000, &clock);  // 1000 events/s.
  // Back-to-back requests of 100 events: the k-th covers [100k, 100k+100) ms and is
  // intended for the middle, 100k + 50 ms.
  for (int k = 0; k < 50; ++k) {
    const Reservation r = bucket.Reserve(100);
    CHECK(std::abs(r.intended_ns - (k * 100 + 50) * kMs) <= 1);  // To the ns (rounded up).
    CHECK(r.send_at_ns == r.intended_ns);                        // No early sends by default.
  }
}

TEST_CASE("a sender that fell behind is not forgiven: it catches up, and its lag shows") {
  FakeClock clock(0);
  TokenBucket bucket(1000, &clock);
  CHECK(bucket.Reserve(100).intended_ns == 50 * kMs);
  CHECK(bucket.LagNs(50 * kMs) == 0);  // On time: the next 100 are due at 100 ms.
  clock.Set(10'000 * kMs);             // Held back (a stalled receiver) for 10 s.
  CHECK(bucket.LagNs(clock.NowNs()) == 9'900 * kMs);
  // The next request was meant for 150 ms: it may go at once, and it is 9.85 s late.
  const Reservation r = bucket.Reserve(100);
  CHECK(r.intended_ns == 150 * kMs);
  CHECK(r.send_at_ns <= clock.NowNs());
  // Reserving as fast as it can, the sender is on time again once it has sent what
  // the schedule asked for by now.
  int64_t lag = bucket.LagNs(clock.NowNs());
  CHECK(lag == 9'800 * kMs);
  while (bucket.Reserve(100).intended_ns < clock.NowNs()) {
  }
  CHECK(bucket.LagNs(clock.NowNs()) == 0);
}

TEST_CASE("a rate change starts the schedule afresh from that moment") {
  FakeClock clock(0);
  TokenBucket bucket(1000, &clock);
  clock.Set(2'000 * kMs);  // Idle: 2000 events behind...
  bucket.SetRate(100);     // ...forgiven by the change.
  CHECK(bucket.TargetRate() == 100);
  CHECK(bucket.LagNs(clock.NowNs()) == 0);
  // 100 events at 100/s from now: the middle is half a second later.
  CHECK(bucket.Reserve(100).intended_ns == 2'500 * kMs);
  CHECK(bucket.ScheduledEvents(3'000 * kMs) == Approx(2000 + 100));
}

TEST_CASE("a large request waits until the schedule reaches its middle") {
  FakeClock clock(0);
  TokenBucket bucket(10'000, &clock);
  CHECK(bucket.Reserve(5000).intended_ns == 250 * kMs);
  CHECK(bucket.Reserve(10).intended_ns == 500 * kMs + kMs / 2);
}

TEST_CASE("a bucket may let requests go early by its allowance, never before its start") {
  FakeClock clock(0);
  TokenBucket bucket(RateSchedule::Constant(1000), 20 * kMs, &clock);
  const Reservation first = bucket.Reserve(10);  // Intended at 5 ms.
  CHECK(first.intended_ns == 5 * kMs);
  CHECK(first.send_at_ns == 0);
  const Reservation second = bucket.Reserve(100);  // Intended at 60 ms.
  CHECK(second.send_at_ns == 40 * kMs);
}

TEST_CASE("Start makes now the schedule's time 0, with nothing reserved") {
  FakeClock clock(0);
  TokenBucket bucket(1000, &clock);
  bucket.Reserve(500);
  clock.Set(7'000 * kMs);
  bucket.Start();
  CHECK(bucket.start_ns() == 7'000 * kMs);
  CHECK(bucket.Reserve(100).intended_ns == 7'050 * kMs);
  CHECK(bucket.LagNs(7'050 * kMs) == 0);
}

TEST_CASE("fractional intervals accumulate without drift over a long run") {
  FakeClock clock(0);
  TokenBucket bucket(3'000'000, &clock);  // 333.33 ns per event.
  int64_t last = 0;
  for (int i = 0; i < 3'000'000 / 1000; ++i) last = bucket.Reserve(1000).intended_ns;
  // The last request's middle is 500 events before the three millionth, at 1 s.
  CHECK(std::abs(last - (1'000'000'000 - 500 * 1'000'000'000LL / 3'000'000)) <= 1);
}

TEST_CASE("the limiter splits the rate by the signals' shares and reports the worst lag") {
  FakeClock clock(0);
  RateLimiter limiter(RateSchedule::Constant(1000), 0, {600, 0, 400}, &clock);
  CHECK(limiter.of(Signal::kMetrics) == nullptr);
  CHECK(limiter.of(Signal::kTraces)->TargetRate() == Approx(600));
  CHECK(limiter.of(Signal::kLogs)->TargetRate() == Approx(400));
  CHECK(limiter.TargetRate() == Approx(1000));
  limiter.of(Signal::kTraces)->Reserve(600);  // A second ahead.
  clock.Set(2'000 * kMs);                     // Logs reserved nothing: 2 s behind.
  CHECK(limiter.LagNs(clock.NowNs()) == 2'000 * kMs);
  limiter.SetRate(2000);
  CHECK(limiter.LagNs(clock.NowNs()) == 0);
  CHECK(limiter.of(Signal::kLogs)->TargetRate() == Approx(800));
}

TEST_CASE("a stop wakes a sleeper") {
  StopSignal stop;
  auto sleeper = std::async(std::launch::async, [&] {
    return stop.SleepUntil(SteadyClock().NowNs() + 600'000 * kMs);  // Ten minutes.
  });
  // Stopped only once it sleeps: a stop before would end it without any waking.
  while (stop.sleepers() == 0) std::this_thread::yield();
  stop.Stop();
  // Far below the ten minutes: the stop, not the clock, ended it.
  REQUIRE(sleeper.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK_FALSE(sleeper.get());
}

}  // namespace
}  // namespace loadgen
