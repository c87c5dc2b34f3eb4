// What the sender tells its user: a line per stats interval while running (a single
// refreshed status line when stdout is a terminal), and the final summary as text and
// as JSON. Reads RunStats only; never sees header values or other secrets.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "sender/late_roots.h"
#include "sender/modes/summary.h"
#include "sender/stats.h"
#include "sender/token_bucket.h"

namespace loadgen {

struct RunInfo {
  std::string endpoint;             // The gRPC target (host:port), never credentials.
  double target_rate = 0;           // Constant rate; 0 with a schedule or unlimited.
  std::string schedule;             // DescribeSchedule(), when there is one.
  int instance = 0, instances = 1;  // Scale-out.
  int64_t start_unix_ns = 0;        // Wall-clock start, to align merged time series.
  double stats_interval_seconds = 0;
  std::string capacity_text;  // --find-capacity's result.
  std::optional<CapacitySummary> capacity;
  bool capacity_found = false;
  int64_t elapsed_ns = 0;
  std::string stop_reason;
  int64_t in_flight_limit = 0;  // Workers x max_in_flight.
  int64_t peak_rss_bytes = 0;
  // A paced run (with a rate or schedule): how far behind the schedule the sender was
  // at the end, and the pacing interval that makes a request "late".
  bool paced = false;
  int64_t final_lag_ns = 0;
  int64_t pacing_interval_ns = 0;
  LateRootResult late_roots;
};

// One stats interval of the run, for the time series in the JSON summary and reports.
struct IntervalRecord {
  double end_seconds = 0;              // Since the start of sending.
  double seconds = 0;                  // Length of the interval.
  double target_rate = -1;             // Average target over the interval; -1: unlimited.
  std::array<uint64_t, 3> accepted{};  // Events accepted in the interval, per signal.
  uint64_t rejected = 0, failed = 0, retries = 0, requests = 0;
  int64_t p50_ns = 0, p99_ns = 0;  // Latency of the requests completed in the interval.
  int64_t intended_p99_ns = 0;     // The same, from their intended send times.
  int64_t in_flight = 0;           // At the end of the interval.
  int64_t lag_ns = 0;              // Behind the schedule at the end of the interval.
  uint64_t late_requests = 0;      // Sent more than a pacing interval late, in the interval.
  uint64_t total_accepted() const { return accepted[0] + accepted[1] + accepted[2]; }
  double achieved_rate() const { return seconds > 0 ? total_accepted() / seconds : 0; }
};

// Records (and prints) an interval every `interval` on its own thread, reading time from
// `clock`. With an interval of 0 there is no thread: intervals end at each Sample(),
// which a test calls after moving a FakeClock.
class StatsReporter {
 public:
  // `limiter` (may be null: unlimited) gives the target rate; it and `clock` (null: the
  // steady clock) must outlive the reporter.
  StatsReporter(const RunStats& stats, std::chrono::nanoseconds interval, std::FILE* out,
                const RateLimiter* limiter = nullptr, const Clock* clock = nullptr);
  ~StatsReporter();
  void Start();
  // Records and prints the interval that ends now.
  void Sample() { Record(clock_->NowNs(), /*print=*/true); }
  // Stops the thread and records the last, partial interval.
  void Stop();
  std::vector<IntervalRecord> intervals() const;
  // Keep only the last `n` intervals (0: all); set before Start. A dashboard's
  // reporter samples every second for as long as the run lasts.
  void KeepLast(size_t n) { keep_ = n; }

 private:
  void Loop();
  void Record(int64_t now, bool print);
  const RunStats& stats_;
  const RateLimiter* limiter_;
  const SteadyClock steady_;
  const Clock* clock_;
  int64_t start_ns_ = 0, last_ns_ = 0;
  std::array<SignalSnapshot, 3> last_{};
  LatencyHistogram::Counts last_latency_{}, last_intended_{};
  std::vector<IntervalRecord> records_ ABSL_GUARDED_BY(mu_);
  std::chrono::nanoseconds interval_;
  std::FILE* out_;  // Null: nothing printed.
  bool tty_;
  size_t keep_ = 0;
  std::thread thread_;
  mutable Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

std::string SummaryText(const RunStats& stats, const RunInfo& info);
IntervalSummary SummaryOf(const IntervalRecord& record);
RunSummary MakeRunSummary(const RunStats& stats, const RunInfo& info,
                          const std::vector<IntervalRecord>& intervals = {});

}  // namespace loadgen
