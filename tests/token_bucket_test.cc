#include "sender/token_bucket.h"

#include <future>

#include "catch2/catch.hpp"

namespace loadgen {
namespace {

constexpr int64_t kMs = 1000000;

TEST_CASE("the bucket starts empty and paces reservations at the exact rate") {
  FakeClock clock(0);
  TokenBucket bucket(1000, 2000, &clock);  // 1000 events/s, 2 s of burst.
  // Back-to-back requests of 100 events: the k-th may go at k * 100 ms.
  for (int k = 1; k <= 50; ++k) CHECK(bucket.Reserve(100) == k * 100 * kMs);
}

TEST_CASE("an idle bucket refills up to the burst, not beyond") {
  FakeClock clock(0);
  TokenBucket bucket(1000, 2000, &clock);
  clock.Set(10'000 * kMs);  // Idle for 10 s: the bucket holds the burst (2000), not 10000.
  CHECK(bucket.Reserve(2000) == 10'000 * kMs);  // The burst goes at once...
  CHECK(bucket.Reserve(1000) == 11'000 * kMs);  // ...and then the rate applies.
}

TEST_CASE("a request larger than the burst waits its share instead of bypassing the limit") {
  FakeClock clock(0);
  TokenBucket bucket(10'000, 100, &clock);
  clock.Set(5'000 * kMs);  // Full bucket: 100 events.
  // 5000 events need 4900 more than the bucket holds: 490 ms at 10k/s.
  CHECK(bucket.Reserve(5000) == 5'490 * kMs);
  CHECK(bucket.Reserve(10) == 5'491 * kMs);
}

TEST_CASE("fractional intervals accumulate without drift over a long run") {
  FakeClock clock(0);
  TokenBucket bucket(3'000'000, 1, &clock);  // 333.33 ns per event.
  int64_t last = 0;
  for (int i = 0; i < 3'000'000 / 1000; ++i) last = bucket.Reserve(1000);
  // Three million events at three million per second end at one second, to the ns.
  CHECK(last >= 1'000'000'000 - 1);
  CHECK(last <= 1'000'000'000 + 1);
}

TEST_CASE("a stop wakes a worker waiting for tokens") {
  SteadyClock clock;
  TokenBucket bucket(1, 1, &clock);  // 10 events at 1/s: a ten-second wait.
  StopSignal stop;
  auto waiter = std::async(std::launch::async, [&] { return bucket.Acquire(10, &stop); });
  stop.Stop();
  // Far below the ten seconds the tokens would take: the stop, not the clock, ended it.
  REQUIRE(waiter.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK_FALSE(waiter.get());
}

}  // namespace
}  // namespace loadgen
