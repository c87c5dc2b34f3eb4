#include "sender/schedule.h"

#include <algorithm>
#include <cmath>

#include "common/strings.h"

namespace loadgen {

RateSchedule RateSchedule::Constant(double rate) {
  RateSchedule s;
  s.segments_.push_back({0, kForever, rate, rate, 0});
  s.Recompute();
  return s;
}

RateSchedule RateSchedule::FromStages(const std::vector<ScheduleStage>& stages) {
  RateSchedule s;
  double previous = 0;
  int64_t t = 0;
  for (const ScheduleStage& stage : stages) {
    // A zero-length stage is a step: it changes the rate without taking time.
    if (stage.duration.count() > 0) {
      s.segments_.push_back({t, t + stage.duration.count(), previous, stage.target_rate, 0});
      t += stage.duration.count();
    }
    previous = stage.target_rate;
  }
  s.Recompute();
  return s;
}

void RateSchedule::Recompute() {
  double events = 0;
  peak_ = 0;
  for (Segment& s : segments_) {
    s.events_before = events;
    if (s.end_ns != kForever) events += (s.r0 + s.r1) / 2 * (s.end_ns - s.start_ns) / 1e9;
    peak_ = std::max({peak_, s.r0, s.r1});
  }
  end_ns_ = segments_.empty() ? 0 : segments_.back().end_ns;
}

double RateSchedule::EventsIn(const Segment& s, int64_t t_ns) const {
  const double tau = (std::min(t_ns, s.end_ns) - s.start_ns) / 1e9;
  if (s.r1 == s.r0) return s.r0 * tau;
  const double length = (s.end_ns - s.start_ns) / 1e9;
  return s.r0 * tau + (s.r1 - s.r0) * tau * tau / (2 * length);
}

double RateSchedule::RateAt(int64_t t_ns) const {
  for (const Segment& s : segments_) {
    if (t_ns >= s.start_ns && t_ns < s.end_ns) {
      if (s.r1 == s.r0) return s.r0;
      return s.r0 + (s.r1 - s.r0) * static_cast<double>(t_ns - s.start_ns) /
                        static_cast<double>(s.end_ns - s.start_ns);
    }
  }
  return 0;
}

double RateSchedule::EventsBy(int64_t t_ns) const {
  double events = 0;
  for (const Segment& s : segments_) {
    if (t_ns <= s.start_ns) break;
    events = s.events_before + EventsIn(s, t_ns);
  }
  return events;
}

int64_t RateSchedule::TimeOfEvent(double events) const {
  for (const Segment& s : segments_) {
    const double need = events - s.events_before;
    const double here = s.end_ns == kForever ? INFINITY : EventsIn(s, s.end_ns);
    if (need > here) continue;
    if (need <= 0) return s.start_ns;
    double tau;  // Seconds into the segment.
    if (s.r1 == s.r0) {
      tau = need / s.r0;
    } else {
      // r0 t + k t^2 = need, k = (r1 - r0) / (2 length); the root in the stable form
      // (no cancellation when k is tiny or negative).
      const double k = (s.r1 - s.r0) / (2 * (s.end_ns - s.start_ns) / 1e9);
      tau = 2 * need / (s.r0 + std::sqrt(std::max(0.0, s.r0 * s.r0 + 4 * k * need)));
    }
    const double t = static_cast<double>(s.start_ns) + tau * 1e9;
    return static_cast<int64_t>(std::ceil(std::min(t, static_cast<double>(s.end_ns))));
  }
  return kForever;
}

void RateSchedule::HoldFrom(int64_t t_ns, double rate) {
  const int64_t end = end_ns_;
  std::vector<Segment> kept;
  for (Segment s : segments_) {
    if (s.start_ns >= t_ns) break;
    if (s.end_ns > t_ns) {
      // Cut the segment at t, keeping its rate there as the new end rate.
      const double r_at = RateAt(t_ns);
      s.end_ns = t_ns;
      s.r1 = r_at;
      if (s.end_ns == s.start_ns) break;
    }
    kept.push_back(s);
  }
  if (end == kForever || end > t_ns) kept.push_back({t_ns, end, rate, rate, 0});
  segments_ = std::move(kept);
  Recompute();
}

RateSchedule RateSchedule::Scaled(double factor) const {
  RateSchedule s = *this;
  for (Segment& seg : s.segments_) {
    seg.r0 *= factor;
    seg.r1 *= factor;
  }
  s.Recompute();
  return s;
}

std::string DescribeSchedule(const std::vector<ScheduleStage>& stages) {
  std::string out;
  double previous = 0;
  for (const ScheduleStage& s : stages) {
    if (!out.empty()) out += ", ";
    const double seconds = s.duration.count() / 1e9;
    if (s.duration.count() == 0) {
      out += fmt::format("step to {:.0f}/s", s.target_rate);
    } else if (s.target_rate == previous) {
      out += fmt::format("{:.0f}/s for {:g}s", s.target_rate, seconds);
    } else {
      out += fmt::format("ramp to {:.0f}/s over {:g}s", s.target_rate, seconds);
    }
    previous = s.target_rate;
  }
  return out;
}

}  // namespace loadgen
