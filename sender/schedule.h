// A load shape: the target rate as a piecewise-linear function of time since the run
// started, and its integral (events due by a time) and inverse (when a count of
// events is due), which the rate limiter paces by exactly.
//
// Stages follow k6's ramping stages: each ramps linearly from the previous stage's
// target (0 before the first) to its own over its duration; a stage of duration 0 is
// a step. A spike is a step up, a hold, and a step down. A constant rate is one
// open-ended stage. Not thread-safe (the limiter guards it).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace loadgen {

struct ScheduleStage {
  std::chrono::nanoseconds duration{0};
  double target_rate = 0;  // Events per second reached at the end of the stage.
};

class RateSchedule {
 public:
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

  static RateSchedule Constant(double rate);
  static RateSchedule FromStages(const std::vector<ScheduleStage>& stages);

  double RateAt(int64_t t_ns) const;          // Events/s at t (0 after the end).
  double EventsBy(int64_t t_ns) const;        // Events due in [0, t].
  int64_t TimeOfEvent(double events) const;   // Earliest t with EventsBy(t) >= events.
  int64_t end_ns() const { return end_ns_; }  // kForever when open-ended.
  double peak_rate() const { return peak_; }
  // From t on, a constant `rate` until the schedule's end (runtime control).
  void HoldFrom(int64_t t_ns, double rate);
  // The same shape at `factor` times the rate.
  RateSchedule Scaled(double factor) const;

 private:
  struct Segment {
    int64_t start_ns, end_ns;  // end_ns may be kForever.
    double r0, r1;             // Rate at start and end (r1 == r0 when open-ended).
    double events_before;      // EventsBy(start_ns).
  };
  double EventsIn(const Segment& s, int64_t t_ns) const;
  void Recompute();
  std::vector<Segment> segments_;
  int64_t end_ns_ = kForever;
  double peak_ = 0;
};

// "1000/s for 30s, then ramp to 5000/s over 1m" — a one-line description for logs.
std::string DescribeSchedule(const std::vector<ScheduleStage>& stages);

}  // namespace loadgen
