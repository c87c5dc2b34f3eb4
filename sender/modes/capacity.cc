#include "sender/modes/capacity.h"

#include <algorithm>

#include "common/strings.h"

namespace loadgen {
namespace {

constexpr int64_t kLagSampleNs = 100'000'000;

struct Totals {
  uint64_t accepted = 0, attempts = 0, errors = 0;
  LatencyHistogram::Counts latency{};
};

Totals Read(const RunStats& stats) {
  Totals t;
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    t.accepted += snap.events_accepted;
    // Every attempt: completed requests plus the retries that preceded them.
    t.attempts += snap.requests + snap.retries;
    t.errors += snap.retries + snap.failed_requests + snap.rejected_requests;
    stats.of(s).latency.AddCountsTo(&t.latency);
  }
  return t;
}

CapacityStep Measure(const CapacityOptions& o, double target, RateLimiter* limiter,
                     const RunStats& stats, const CapacityTime& time, bool* stopped) {
  const Clock& clock = *time.clock;
  limiter->SetRate(target);
  const int64_t begin = clock.NowNs();
  if (!time.sleep_until(begin + o.warmup.count())) {
    *stopped = true;
    return {};
  }
  const Totals before = Read(stats);
  const int64_t measured_from = clock.NowNs();
  // The lag is sampled through the step: the limiter forgives the backlog at each rate
  // change, so what it reaches here belongs to this step alone.
  int64_t lag_ns = 0;
  for (int64_t at = measured_from;;) {
    at = std::min<int64_t>(at + kLagSampleNs, begin + o.hold.count());
    if (!time.sleep_until(at)) {
      *stopped = true;
      return {};
    }
    lag_ns = std::max(lag_ns, limiter->LagNs(clock.NowNs()));
    if (at >= begin + o.hold.count()) break;
  }
  const Totals after = Read(stats);
  const double seconds = (clock.NowNs() - measured_from) / 1e9;
  CapacityStep s;
  s.target = target;
  s.achieved = (after.accepted - before.accepted) / seconds;
  const uint64_t attempts = after.attempts - before.attempts;
  s.error_share = attempts > 0 ? static_cast<double>(after.errors - before.errors) / attempts : 0;
  LatencyHistogram::Counts window = after.latency;
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) window[b] -= before.latency[b];
  s.p99_ms = LatencyHistogram::QuantileOf(window, 0.99) / 1e6;
  s.lag_ms = lag_ns / 1e6;
  if (s.error_share > o.max_error_share) {
    s.broke =
        fmt::format("error share {:.2f}% > {:.2f}%", s.error_share * 100, o.max_error_share * 100);
  } else if (s.p99_ms > o.max_p99_ms) {
    s.broke = fmt::format("p99 {:.1f} ms > {:.1f} ms", s.p99_ms, o.max_p99_ms);
  } else if (s.lag_ms > o.max_lag_ms) {
    s.broke = fmt::format("lag {:.0f} ms > {:.0f} ms", s.lag_ms, o.max_lag_ms);
  } else if (s.achieved < o.min_achieved_ratio * target) {
    s.broke = fmt::format("achieved {:.0f}/s < {:.0f}% of target", s.achieved,
                          o.min_achieved_ratio * 100);
  }
  s.held = s.broke.empty();
  return s;
}

}  // namespace

void CapacityProgress::Measuring(double target) {
  MutexLock lock(&mu_);
  view_.measuring = target;
}

void CapacityProgress::Measured(const CapacityStep& step) {
  MutexLock lock(&mu_);
  view_.measuring = 0;
  view_.steps.push_back(step);
}

CapacityProgress::View CapacityProgress::Get() const {
  MutexLock lock(&mu_);
  return view_;
}

CapacityResult FindCapacity(const CapacityOptions& o, RateLimiter* limiter, const RunStats& stats,
                            const CapacityTime& time, std::FILE* out, CapacityProgress* progress) {
  CapacityResult r;
  double good = 0, bad = 0;
  bool last_broke = false;
  auto run = [&](double target) {
    if (last_broke) {
      // A broken step leaves refused requests waiting for their retries; they would
      // count against the next step. Drain them first at a rate that held.
      const double calm = good > 0 ? good : target / 2;
      fmt::print(out, "capacity: recovering at {:.0f}/s for {:g}s\n", calm, o.hold.count() / 1e9);
      limiter->SetRate(calm);
      if (!time.sleep_until(time.clock->NowNs() + o.hold.count())) {
        r.stopped = true;
        return false;
      }
    }
    if (progress != nullptr) progress->Measuring(target);
    const CapacityStep s = Measure(o, target, limiter, stats, time, &r.stopped);
    if (r.stopped) return false;
    r.steps.push_back(s);
    if (progress != nullptr) progress->Measured(s);
    fmt::print(out,
               "capacity: {:.0f}/s {} (achieved {:.0f}/s, errors {:.2f}%, p99 {:.1f} ms, lag "
               "{:.0f} ms{}{})\n",
               target, s.held ? "held" : "broke", s.achieved, s.error_share * 100, s.p99_ms,
               s.lag_ms, s.held ? "" : ": ", s.broke);
    std::fflush(out);
    if (s.held && target > r.capacity) {
      r.capacity = target;
      r.best = s;
    }
    last_broke = !s.held;
    return s.held;
  };
  // Raise until a step breaks (or the bound is reached)...
  for (double target = o.start_rate;;) {
    if (run(target)) {
      good = target;
    } else {
      if (r.stopped) return r;
      bad = target;
      break;
    }
    if (o.max_rate > 0 && target >= o.max_rate) return r;
    target = o.step > 0 ? target + o.step : target * o.factor;
    if (o.max_rate > 0) target = std::min(target, o.max_rate);
  }
  // ...then bisect between the last rate that held and the first that broke.
  for (int i = 0; i < o.refine_steps; ++i) {
    const double mid = good > 0 ? (good + bad) / 2 : bad / 2;
    if (run(mid)) {
      good = mid;
    } else {
      if (r.stopped) return r;
      bad = mid;
    }
  }
  return r;
}

std::string CapacityText(const CapacityOptions& o, const CapacityResult& r) {
  if (r.capacity <= 0) {
    return fmt::format(
        "capacity: not even the start rate {:.0f}/s held{}; lower capacity.start_rate\n",
        o.start_rate, r.stopped ? " (interrupted)" : "");
  }
  return fmt::format(
      "capacity: {:.0f} events/s sustained (achieved {:.0f}/s, errors {:.2f}%, p99 {:.1f} ms, lag "
      "{:.0f} ms) after {} steps{}; thresholds: errors <= {:.2f}%, p99 <= {:.0f} ms, lag <= {:.0f} "
      "ms, achieved >= {:.0f}% of target\n",
      r.capacity, r.best.achieved, r.best.error_share * 100, r.best.p99_ms, r.best.lag_ms,
      r.steps.size(), r.stopped ? " (interrupted)" : "", o.max_error_share * 100, o.max_p99_ms,
      o.max_lag_ms, o.min_achieved_ratio * 100);
}

CapacitySummary CapacitySummaryOf(const CapacityOptions& o, const CapacityResult& r) {
  CapacitySummary c{
      r.capacity, r.best.achieved,   r.best.error_share, r.best.p99_ms, r.best.lag_ms,
      r.stopped,  o.max_error_share, o.max_p99_ms,       o.max_lag_ms,  o.min_achieved_ratio,
      {}};
  for (const CapacityStep& s : r.steps) {
    c.steps.push_back({s.target, s.achieved, s.error_share, s.p99_ms, s.lag_ms, s.held, s.broke});
  }
  return c;
}

}  // namespace loadgen
