// otlp-sink's fault arithmetic, exactly: which requests a share picks, the response
// delay with its jitter, and the --max-rate GCRA, refusing or queueing, on given times.
#include "sink/faults.h"

#include "catch2/catch.hpp"

namespace loadgen {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST_CASE("a share picks exactly that share of requests, evenly") {
  for (double share : {0.0, 0.2, 0.5, 1.0 / 3, 1.0}) {
    INFO(share);
    int picked = 0, run = 0, longest_gap = 0;
    for (uint64_t n = 0; n < 3000; ++n) {
      if (PickedByShare(n, share)) {
        ++picked;
        run = 0;
      } else {
        longest_gap = std::max(longest_gap, ++run);
      }
    }
    CHECK(picked == static_cast<int>(3000 * share + 1e-9));
    if (share > 0) CHECK(longest_gap < 1 / share);  // Spread evenly, not in bursts.
  }
  CHECK(!PickedByShare(0, 0.5));  // Every other one: requests 1, 3, 5, ...
  CHECK(PickedByShare(1, 0.5));
}

TEST_CASE("the response delay: its share of requests, plus a jitter within bounds") {
  const ResponseDelay none{};
  CHECK(none.For(0) == 0);
  const ResponseDelay half{30 * kMs, 0, 0.5};
  CHECK(half.For(0) == 0);
  CHECK(half.For(1) == 30 * kMs);
  const ResponseDelay jittered{150 * kMs, 100 * kMs, 1};
  int64_t low = INT64_MAX, high = 0;
  for (uint64_t n = 0; n < 10000; ++n) {
    const int64_t d = jittered.For(n);
    low = std::min(low, d);
    high = std::max(high, d);
    CHECK(d == jittered.For(n));  // The same for the same request number.
  }
  CHECK(low >= 150 * kMs);
  CHECK(high <= 250 * kMs);
  CHECK(high - low > 95 * kMs);  // The whole range is used.
}

TEST_CASE("the rate cap admits its rate and refuses the rest, saying when there is room") {
  RateCap cap(1000, /*queue=*/false);  // 1000 items/s: 100 items cost 100 ms.
  CHECK(cap.Admit(100, 0).admitted);   // Backlog 0.
  CHECK(cap.Admit(100, 0).admitted);   // Backlog 100 ms: within the tolerance.
  const RateCap::Admission refused = cap.Admit(100, 0);
  CHECK(!refused.admitted);  // Backlog 200 ms.
  CHECK(refused.retry_after_ns == 100 * kMs);
  // A refusal takes nothing: at the time it named, a request gets in.
  CHECK(cap.Admit(100, 100 * kMs).admitted);
  CHECK(!cap.Admit(1, 100 * kMs).admitted);
  // Sending at the cap's rate holds forever.
  for (int64_t t = 1000 * kMs; t < 10'000 * kMs; t += 100 * kMs) {
    INFO(t);
    REQUIRE(cap.Admit(100, t).admitted);
  }
  // One request of any size gets through an idle sink.
  CHECK(cap.Admit(1'000'000, 100'000 * kMs).admitted);
}

TEST_CASE("the queueing rate cap admits everything, each later by the backlog") {
  RateCap cap(1000, /*queue=*/true);
  CHECK(cap.Admit(100, 0).delay_ns == 100 * kMs);
  CHECK(cap.Admit(100, 0).delay_ns == 200 * kMs);
  CHECK(cap.Admit(100, 0).delay_ns == 300 * kMs);
  CHECK(cap.Admit(100, 250 * kMs).delay_ns == 150 * kMs);     // 300 - 250 + 100.
  CHECK(cap.Admit(100, 10'000 * kMs).delay_ns == 100 * kMs);  // Idle again: its own cost.
}

}  // namespace
}  // namespace loadgen
