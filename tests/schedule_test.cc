#include "sender/schedule.h"

#include <cmath>

#include "catch2/catch.hpp"
#include "sender/token_bucket.h"

namespace loadgen {
namespace {

using std::chrono::seconds;
constexpr int64_t kSec = 1'000'000'000;

TEST_CASE("a ramp's events are the area under it, and the inverse finds when they are due") {
  // 0 -> 1000/s over 10 s: A(t) = 50 t^2.
  const RateSchedule s = RateSchedule::FromStages({{seconds(10), 1000}});
  CHECK(s.end_ns() == 10 * kSec);
  CHECK(s.RateAt(5 * kSec) == Approx(500));
  CHECK(s.EventsBy(10 * kSec) == Approx(5000));
  CHECK(s.EventsBy(4 * kSec) == Approx(800));
  CHECK(s.TimeOfEvent(1250) == 5 * kSec);
  CHECK(s.TimeOfEvent(5000) == 10 * kSec);
  CHECK(s.TimeOfEvent(5000.5) == RateSchedule::kForever);  // Past the end.
  // A ramp down works the same way: 1000 -> 0 over 10 s, A(t) = 1000 t - 50 t^2.
  const RateSchedule down = RateSchedule::FromStages({{seconds(0), 1000}, {seconds(10), 0}});
  CHECK(down.EventsBy(10 * kSec) == Approx(5000));
  CHECK(std::abs(down.TimeOfEvent(3750) - 5 * kSec) <= 1);
}

TEST_CASE("steps and spikes: zero-length stages change the rate without taking time") {
  const RateSchedule s = RateSchedule::FromStages({{seconds(0), 100},
                                                   {seconds(10), 100},
                                                   {seconds(0), 1000},  // The spike...
                                                   {seconds(5), 1000},
                                                   {seconds(0), 100},  // ...and back.
                                                   {seconds(5), 100}});
  CHECK(s.end_ns() == 20 * kSec);
  CHECK(s.peak_rate() == 1000);
  CHECK(s.RateAt(10 * kSec - 1) == 100);
  CHECK(s.RateAt(10 * kSec) == 1000);
  CHECK(s.RateAt(15 * kSec) == 100);
  CHECK(s.EventsBy(20 * kSec) == Approx(1000 + 5000 + 500));
  CHECK(s.TimeOfEvent(1500) == 10 * kSec + kSec / 2);
  CHECK(DescribeSchedule({{seconds(0), 100}, {seconds(10), 100}, {seconds(5), 1000}}) ==
        "step to 100/s, 100/s for 10s, ramp to 1000/s over 5s");
}

TEST_CASE("holding a new rate from a moment on keeps what came before and the end") {
  RateSchedule s = RateSchedule::FromStages({{seconds(10), 1000}});  // A(5 s) = 1250.
  s.HoldFrom(5 * kSec, 200);
  CHECK(s.EventsBy(5 * kSec) == Approx(1250));
  CHECK(s.RateAt(7 * kSec) == 200);
  CHECK(s.EventsBy(10 * kSec) == Approx(1250 + 5 * 200));
  CHECK(s.end_ns() == 10 * kSec);
  RateSchedule c = RateSchedule::Constant(100);
  c.HoldFrom(2 * kSec, 300);
  CHECK(c.EventsBy(4 * kSec) == Approx(200 + 600));
  CHECK(c.end_ns() == RateSchedule::kForever);
}

TEST_CASE("the limiter follows a schedule second by second, and ends with it") {
  FakeClock clock(0);
  const std::vector<ScheduleStage> stages = {{seconds(0), 1000},
                                             {seconds(2), 1000},
                                             {seconds(2), 5000},
                                             {seconds(0), 500},
                                             {seconds(1), 500}};
  const RateSchedule schedule = RateSchedule::FromStages(stages);
  TokenBucket bucket(schedule, /*early_ns=*/0, &clock);
  // A sender as fast as allowed: reserve 10 events, go when told.
  std::vector<double> per_second(5);
  for (;;) {
    const Reservation r = bucket.Reserve(10);
    if (r.send_at_ns == RateSchedule::kForever) break;
    REQUIRE(r.send_at_ns >= clock.NowNs());
    clock.Set(r.send_at_ns);
    per_second.at(static_cast<size_t>(r.send_at_ns / kSec)) += 10;
  }
  for (int s = 0; s < 5; ++s) {
    const double due = schedule.EventsBy((s + 1) * kSec) - schedule.EventsBy(s * kSec);
    INFO("second " << s);
    CHECK(std::abs(per_second[s] - due) <= 10);  // One request of rounding.
  }
  // 1000 + 1000 + (2 s ramping 1000 -> 5000 = 6000) + 500.
  CHECK(per_second[0] + per_second[1] + per_second[2] + per_second[3] + per_second[4] ==
        Approx(8500).margin(10));
  CHECK(bucket.Reserve(10).send_at_ns == RateSchedule::kForever);  // The schedule is over.
}

TEST_CASE("a rate change in a schedule applies from that moment and keeps its end") {
  FakeClock clock(0);
  TokenBucket bucket(RateSchedule::FromStages({{seconds(10), 1000}}), 0, &clock);
  clock.Set(5 * kSec);  // 1250 events due by now; none reserved, and forgiven.
  bucket.SetRate(100);
  CHECK(bucket.TargetRate() == 100);
  CHECK(bucket.Reserve(100).intended_ns == 5 * kSec + kSec / 2);
  CHECK(bucket.ScheduledEvents(10 * kSec) == Approx(1250 + 500));
  clock.Set(10 * kSec);
  CHECK(bucket.Reserve(1000).send_at_ns == RateSchedule::kForever);  // Past the end.
}

}  // namespace
}  // namespace loadgen
