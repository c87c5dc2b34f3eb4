// --find-capacity: raises the rate step by step (start, then times `factor` or plus
// `step`, each held for `hold`) until a threshold breaks (error share, p99 request
// latency, schedule lag, achieved/target below a bound), then bisects between the last rate that
// held and the first that broke, and reports the highest sustained rate with its
// figures. Like k6's thresholds, the bounds are config (the `capacity` section).
//
// It drives a running worker pool through the RateLimiter and reads RunStats. Each
// step is measured after `warmup`; after a step that broke, the search first holds the
// last good rate for `hold` so the broken step's retries drain instead of counting
// against the next one.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "sender/config.h"
#include "sender/modes/summary.h"
#include "sender/stats.h"
#include "sender/token_bucket.h"

namespace loadgen {

struct CapacityStep {
  double target = 0, achieved = 0, error_share = 0, p99_ms = 0;
  double lag_ms = 0;  // The most the sends fell behind the schedule in the step.
  bool held = false;
  std::string broke;  // Which threshold broke, and by how much.
};

struct CapacityResult {
  std::vector<CapacityStep> steps;
  double capacity = 0;   // The highest target that held (0: not even the start rate).
  CapacityStep best;     // Its figures.
  bool stopped = false;  // Interrupted before the search ended.
};

// The search's steps so far and the rate being measured, for the dashboard.
// Thread-safe.
class CapacityProgress {
 public:
  void Measuring(double target);
  void Measured(const CapacityStep& step);
  struct View {
    double measuring = 0;  // The target of the step under way; 0: none.
    std::vector<CapacityStep> steps;
  };
  View Get() const;

 private:
  mutable Mutex mu_;
  View view_ ABSL_GUARDED_BY(mu_);
};

// Where the search's time comes from: in a run, the steady clock and a StopSignal's
// SleepUntil; in a test, a fake clock and a backend model that moves it and the stats.
// `sleep_until(deadline_ns)` returns false when the run was stopped.
struct CapacityTime {
  const Clock* clock = nullptr;
  std::function<bool(int64_t deadline_ns)> sleep_until;
};

// Runs the search; returns when it is done or `time.sleep_until` reports a stop (it
// does not stop the run itself). The limiter must run on `time.clock`.
// `progress` (may be null) is told of each step.
CapacityResult FindCapacity(const CapacityOptions& options, RateLimiter* limiter,
                            const RunStats& stats, const CapacityTime& time, std::FILE* out,
                            CapacityProgress* progress = nullptr);

std::string CapacityText(const CapacityOptions& options, const CapacityResult& result);
// The result as the run summary carries it.
CapacitySummary CapacitySummaryOf(const CapacityOptions& options, const CapacityResult& result);

}  // namespace loadgen
