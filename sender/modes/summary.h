// The run summary as one type: what --stats-json writes, what --merge-reports reads
// and writes, and what --report draws. One run's and a merged one share the schema
// (a merged one has merged_from > 0, and its latencies are the worst instance's).
//
// ParseRunSummary refuses anything that is not a summary, or a field of the wrong
// type, naming the source and the field (signals.traces.latency_ms.p99). Fields an
// older sender did not write read as zero.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace loadgen {

struct LatencyMs {
  double p50 = 0, p99 = 0, max = 0;
};

struct ErrorCount {
  std::string kind;     // UNAVAILABLE, http 503, partial_success, ...
  uint64_t count = 0;   // Requests (or attempts, for retries) of this kind.
  std::string message;  // The first one seen.
};

struct SignalSummary {
  uint64_t events_sent = 0, events_accepted = 0, events_rejected = 0, events_failed = 0;
  uint64_t requests = 0, rejected_requests = 0, failed_requests = 0, retries = 0, bytes = 0;
  uint64_t wire_bytes = 0;  // As sent: after compression.
  uint64_t late_requests = 0;
  double events_per_second = 0;  // Accepted, over the run.
  LatencyMs latency, intended_latency;
  std::vector<ErrorCount> errors;
  // Whether the signal took part in the run at all.
  bool active() const { return requests + retries > 0; }
};

// One stats interval (or, merged, the instances' intervals over the same seconds).
struct IntervalSummary {
  double t = 0;                        // End of the interval, seconds since the start of sending.
  double seconds = 0;                  // Its length.
  double target = -1;                  // Events/s the schedule asked for; -1: unlimited.
  double achieved = 0;                 // Events/s accepted.
  std::array<uint64_t, 3> accepted{};  // Per signal (SignalIndex).
  uint64_t rejected = 0, failed = 0, retries = 0, requests = 0, late_requests = 0;
  double p50_ms = 0, p99_ms = 0, intended_p99_ms = 0, lag_ms = 0;
  int64_t in_flight = 0;
  int instances = 0;  // Merged: how many instances had this interval.
};

struct CapacityStepSummary {
  double target = 0, achieved = 0, error_share = 0, p99_ms = 0, lag_ms = 0;
  bool held = false;
  std::string broke;  // Which threshold broke, and by how much.
};

struct CapacitySummary {
  double sustained_rate = 0, achieved = 0, error_share = 0, p99_ms = 0, lag_ms = 0;
  bool interrupted = false;
  double max_error_share = 0, max_p99_ms = 0, max_lag_ms = 0, min_achieved_ratio = 0;
  std::vector<CapacityStepSummary> steps;
};

struct RunSummary {
  int merged_from = 0;  // Instances merged into this one; 0 for a single run.
  std::string endpoint;
  double elapsed_seconds = 0;
  double target_rate = 0;  // Constant rate; 0 with a schedule or unlimited.
  std::string schedule;    // DescribeSchedule(), when there is one.
  std::string stop_reason;
  int instance = 0, instances = 1;
  int64_t start_unix_ns = 0;
  double stats_interval_seconds = 0;
  std::optional<CapacitySummary> capacity;
  std::array<SignalSummary, 3> signals;  // By SignalIndex.
  int64_t in_flight_peak = 0, in_flight_limit = 0;
  bool paced = false;
  double lag_final_ms = 0, lag_max_ms = 0, pacing_interval_ms = 0;
  int64_t peak_rss_bytes = 0;
  // Late roots (traces' roots sent after the rest of their trace): sent, and not sent
  // (not due within the drain timeout); both are also in the traces' counts.
  uint64_t late_roots_sent = 0, late_roots_failed = 0;
  std::vector<IntervalSummary> intervals;

  // The signals' counts added up (latencies and errors are left empty).
  SignalSummary Total() const;
};

// Adds `from`'s counts (not its rate, latencies or errors) to `to`.
void AddCounts(const SignalSummary& from, SignalSummary* to);

// Pretty-printed JSON, keys in a fixed order, with a "total" object for readers.
std::string ToJson(const RunSummary& summary);
// `source` names the file (or "the merged summary") in errors.
absl::StatusOr<RunSummary> ParseRunSummary(std::string_view json, const std::string& source);

}  // namespace loadgen
