// What otlp-sink --ui shows: the last `keep_traces` traces that arrived (the oldest
// dropped first), each with its spans (name, kind, times, status, attributes, events),
// the log records that name it (those that arrive while it is kept), and counts per
// service.
//
// Counting must not wait for it: Offer() copies a request into a bounded queue (64 MiB)
// and returns; one thread of its own decodes the queue, for at most kBusyShare of each
// second. When it falls behind or has used its share, requests are skipped (after one
// clock read) and counted, so at any arrival rate memory stays bounded (the queue, at
// most keep_traces traces of at most kMaxSpans spans and kMaxLogs records, values cut
// at kMaxValue characters), the view costs the sink at most that share of a core plus
// the copies it takes, and it shows a sample, saying how much.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/otlp_signal.h"
#include "common/random.h"

namespace loadgen {

class TraceStore {
 public:
  static constexpr size_t kMaxSpans = 2000;  // Kept per trace; more are counted.
  static constexpr size_t kMaxLogs = 200;    // Log records kept per trace.
  static constexpr size_t kMaxValue = 256;   // Characters of an attribute value or body.
  static constexpr size_t kMaxQueuedBytes = 64 << 20;
  static constexpr int64_t kBusyNsPerSecond = 100'000'000;  // kBusyShare: 10%.

  // Requires keep_traces > 0.
  explicit TraceStore(size_t keep_traces);
  ~TraceStore();

  // A well-formed Export request of `signal` that the sink accepted.
  void Offer(Signal signal, std::string_view request);
  // Waits until every request offered so far has been looked at (tests).
  void Flush();

  struct Row {
    std::string id;                       // Hex.
    std::string root_service, root_name;  // Empty when the root has not arrived.
    uint64_t spans = 0;
    double duration_ms = 0;
    bool error = false;
    std::vector<std::string> services;
  };
  // The kept traces with spans, newest first.
  std::vector<Row> Recent() const;
  // One trace as JSON (spans in start order, with their depth in the tree, and the log
  // records that name it); nothing for a trace not kept.
  std::optional<std::string> TraceJson(std::string_view hex_id) const;

  struct Totals {
    // Spans, data points and log records per service.name, in the requests looked at.
    std::map<std::string, std::array<uint64_t, 3>> per_service;
    uint64_t looked_at = 0, skipped = 0;  // Requests.
    size_t queued = 0;                    // Requests waiting to be looked at.
    bool skipping = false;                // The share of this second is used: arrivals are skipped.
    int64_t share_left_ns = 0;            // Of this second's share, before arrivals are skipped.
    size_t traces = 0, keep_traces = 0;
  };
  Totals totals() const;

 private:
  struct Span;
  struct Log;
  struct Trace;
  void Loop();
  void Look(Signal signal, std::string_view request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Trace& Keep(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t keep_traces_;
  mutable Mutex queue_mu_;
  std::condition_variable_any queue_cv_;
  std::deque<std::pair<Signal, std::string>> queue_ ABSL_GUARDED_BY(queue_mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool busy_ ABSL_GUARDED_BY(queue_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(queue_mu_) = false;
  uint64_t skipped_ ABSL_GUARDED_BY(queue_mu_) = 0;
  // Until when (steady clock) the thread has used its share of the second: Offer skips.
  std::atomic<int64_t> paused_until_ns_{0};
  std::atomic<uint64_t> skipped_paused_{0};
  // The thread's current second (steady clock) and how long it was busy in it.
  std::atomic<int64_t> window_start_ns_{0}, busy_ns_{0};

  mutable Mutex mu_;  // The kept traces and counts.
  std::unordered_map<std::string, Trace> traces_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);  // Oldest first.
  std::map<std::string, std::array<uint64_t, 3>> per_service_ ABSL_GUARDED_BY(mu_);
  uint64_t looked_at_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace loadgen
