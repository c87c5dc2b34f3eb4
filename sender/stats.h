// Run statistics: lock-free counters per signal, updated by workers as requests
// complete, and read by the reporter. Latencies go into a log-linear histogram
// (8 sub-buckets per power of two, ~9% resolution) of atomic counters.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/otlp_signal.h"

namespace loadgen {

class LatencyHistogram {
 public:
  void Record(int64_t ns);
  // The q-quantile (0..1) in ns, as the upper edge of its bucket; 0 when empty.
  int64_t Quantile(double q) const;
  int64_t Max() const { return max_.load(std::memory_order_relaxed); }
  uint64_t Count() const;

  static constexpr int kSub = 8;
  static constexpr int kBuckets = 64 * kSub;
  using Counts = std::array<uint64_t, kBuckets>;
  // Bucket counts now; two of them subtracted give an interval's distribution.
  void AddCountsTo(Counts* out) const;
  // The q-quantile of bucket counts (upper bucket edge); 0 when empty.
  static int64_t QuantileOf(const Counts& counts, double q);

 private:
  static int Bucket(uint64_t ns);
  static int64_t UpperEdge(int bucket);
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<int64_t> max_{0};
};

struct SignalCounters {
  std::atomic<uint64_t> requests{0};         // Requests completed (any outcome).
  std::atomic<uint64_t> events_sent{0};      // Events in completed requests.
  std::atomic<uint64_t> events_accepted{0};  // Accepted by the receiver.
  // Refused for good by the receiver: a non-retryable status (INVALID_ARGUMENT, ...)
  // or partial_success. Resending would not help.
  std::atomic<uint64_t> events_rejected{0};
  std::atomic<uint64_t> rejected_requests{0};  // Whole requests refused (not partial).
  // Not delivered for want of trying: transport errors, retryable refusals past the
  // retry budget, retries abandoned at stop.
  std::atomic<uint64_t> events_failed{0};
  std::atomic<uint64_t> failed_requests{0};
  std::atomic<uint64_t> retries{0};          // Attempts after the first.
  std::atomic<uint64_t> bytes_sent{0};       // Serialized requests, before compression.
  std::atomic<uint64_t> wire_bytes_sent{0};  // As sent: compressed when compression is on.
  // Requests that went out more than one pacing interval after their intended time.
  std::atomic<uint64_t> late_requests{0};
  LatencyHistogram latency;  // Service time: from each attempt's start to its answer.
  // From the time the schedule intended a request for to its final answer: what the
  // backend's users would see, including the time the sender was held back (wrk2's
  // coordinated-omission correction). Equal to the service time when nothing waits.
  LatencyHistogram intended_latency;
};

struct SignalSnapshot {
  uint64_t requests, events_sent, events_accepted, events_rejected, rejected_requests,
      events_failed, failed_requests, retries, bytes_sent, wire_bytes_sent, late_requests;
  int64_t p50_ns, p99_ns, max_ns;
  int64_t intended_p50_ns, intended_p99_ns, intended_max_ns;
};

// A hint for a transport error a user can fix ("" when none applies).
std::string_view ErrorHint(std::string_view message);

class RunStats {
 public:
  SignalCounters& of(Signal s) { return signals_[SignalIndex(s)]; }
  const SignalCounters& of(Signal s) const { return signals_[SignalIndex(s)]; }
  SignalSnapshot Snapshot(Signal s) const;
  // Counts an error of `kind` (a gRPC code name, "partial_success", ...) and keeps the
  // first message of each kind: the summary reports each kind once, with its count.
  // The first of each kind is also printed on stderr at once, with a hint.
  void NoteError(Signal s, const std::string& kind, const std::string& message);
  struct ErrorKind {
    std::string kind;
    uint64_t count;
    std::string first_message;
  };
  std::vector<ErrorKind> Errors(Signal s) const;

  // Requests outstanding across all workers (on the wire or waiting for a retry), and
  // the most there ever were: the sender's memory is bounded by this times the
  // request size.
  void AddInFlight(int64_t delta) {
    const int64_t now = in_flight_.fetch_add(delta, std::memory_order_relaxed) + delta;
    int64_t peak = in_flight_peak_.load(std::memory_order_relaxed);
    while (now > peak && !in_flight_peak_.compare_exchange_weak(peak, now)) {
    }
  }
  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int64_t in_flight_peak() const { return in_flight_peak_.load(std::memory_order_relaxed); }

  // A request went out `lag_ns` after its intended time; `late` when that is more than
  // a pacing interval.
  void NoteLag(Signal s, int64_t lag_ns, bool late) {
    if (late) of(s).late_requests.fetch_add(1, std::memory_order_relaxed);
    int64_t worst = lag_max_ns_.load(std::memory_order_relaxed);
    while (lag_ns > worst && !lag_max_ns_.compare_exchange_weak(worst, lag_ns)) {
    }
  }
  // The most any request was behind its intended time.
  int64_t lag_max_ns() const { return lag_max_ns_.load(std::memory_order_relaxed); }

 private:
  std::array<SignalCounters, 3> signals_;
  mutable Mutex error_mu_;  // Errors are rare next to events; a lock is fine.
  std::array<std::vector<ErrorKind>, 3> errors_ ABSL_GUARDED_BY(error_mu_);
  std::set<std::string> printed_kinds_
      ABSL_GUARDED_BY(error_mu_);  // Kinds already told on stderr, any signal.
  std::atomic<int64_t> in_flight_{0}, in_flight_peak_{0};
  std::atomic<int64_t> lag_max_ns_{0};
};

}  // namespace loadgen
