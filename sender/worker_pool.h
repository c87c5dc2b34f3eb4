// Per-signal worker pools. Workers are split across signals by each signal's share of
// the dataset's events (at least one per signal with data, never more than it has
// units); each worker owns a contiguous, disjoint share of its signal's units, its own
// exporter (connection) and its own request builder, and replays its share
// `multiplier` times, so together the workers replay the dataset exactly `multiplier`
// times.
//
// Request size follows the rate: a request holds at most one pacing interval of its
// signal's current target rate (and at most max_events and max_request_bytes), and at
// least one unit. Metric workers hold a series gate: a unit is not sent again while a
// request holding it is outstanding, so each series' points arrive in order and
// cumulative values never go back, at any concurrency.
//
// The per-send loop (SendLoop in worker_pool.cc) is the whole hot path: wait for a
// call slot, cut the request, take tokens, build + patch into the outgoing slice,
// start the call.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/otlp_wire.h"
#include "common/random.h"
#include "sender/exporter.h"
#include "sender/late_roots.h"
#include "sender/loader.h"
#include "sender/stats.h"
#include "sender/token_bucket.h"
#include "sender/transform.h"

namespace loadgen {

// Workers per signal for `total` workers, proportional to `events` (largest
// remainder), at least 1 for each signal with events and at most its unit count.
std::array<int, 3> SplitWorkers(int total, const std::array<uint64_t, 3>& events,
                                const std::array<size_t, 3>& units);

struct PoolOptions {
  int workers = 4;
  uint64_t multiplier = 1;               // 0: until stopped or the duration ends.
  std::chrono::nanoseconds duration{0};  // 0: no limit.
  // The most of its signal's rate one request carries: requests are paced, not bursts.
  std::chrono::nanoseconds pacing_interval = std::chrono::milliseconds(50);
  std::array<uint64_t, 3> max_events = {8192, 8192, 8192};  // batch_size, by SignalIndex.
  size_t max_request_bytes = otlp::kDefaultMaxMessageBytes;
  TimestampOptions timestamps;
  uint64_t run_key = 0;  // Seeds the ID mapping; random per run.
  // Scale-out: this is instance `instance` of `instances`. It sends replays instance,
  // instance + instances, ... (so N instances together send `multiplier` replays) and
  // tags its trace IDs with its number (see IdMapper).
  int instance = 0;
  int instances = 1;
  uint64_t series_start_ns = 0;  // Start time of cumulative metric series.
  SeriesFanout fanout;           // Metric series identities (replicas, churn).
  // Late roots (late_roots.h): at most this many wait at once, and at the end those
  // due within drain_timeout are sent, the rest counted as failed.
  uint64_t deferred_max_pending = 100000;
  std::chrono::nanoseconds deferred_drain_timeout = std::chrono::seconds(30);
};

// The events one request of a signal paced by `bucket` (null: unlimited) may carry
// now: one pacing interval of its target rate, within [1, max_events].
uint64_t RequestEventBudget(const TokenBucket* bucket, std::chrono::nanoseconds pacing_interval,
                            uint64_t max_events);

// One worker's part of a signal: units [begin, end).
struct WorkerShare {
  Signal signal = Signal::kTraces;
  uint32_t begin = 0, end = 0;
  size_t index = 0;  // Among its signal's workers.
  // Metrics: where its pass as the last replica of the series fan-out ends (see
  // SeriesFanout::last_pass); end or beyond: the whole share.
  uint32_t last_pass_end = UINT32_MAX;
};

// The workers' shares, signal by signal, for `workers` workers (see SplitWorkers);
// metric shares end their last replica's pass after `fanout.last_pass` of their points.
std::vector<WorkerShare> ShareWork(const LoadedDataset& dataset, int workers,
                                   const SeriesFanout& fanout);

// The per-send loop of one worker (the hot path): replays its share until the
// multiplier, the deadline (clock time; 0: none), the end of the bucket's schedule
// or a stop, then returns; true when every replay was sent. `bucket` may be null
// (unlimited). Metric shares hold a series gate (the exporter's listener while the loop
// runs). Waits through exporter.WaitUntil, so a test's exporter can move a fake clock.
// A trace share publishes its progress to `links` (may be null) after each request,
// and hands the late roots of the traces it sends to `late_roots` (may be null; the
// exporter's listener while the loop runs and until the caller's Drain).
bool SendLoop(const WorkerShare& share, const PoolOptions& pool, Exporter& exporter,
              RequestBuilder& builder, TokenBucket* bucket, RunStats* stats, StopSignal* stop,
              int64_t deadline_ns, const Clock& clock, TraceLinks* links = nullptr,
              LateRootGate* late_roots = nullptr);

// Sends `dataset` until the multiplier (this instance's replays of it) or duration is
// reached or `stop` fires, then waits for in-flight calls, and for the late roots (one
// more thread sends them, see late_roots.h). `limiter` may be null
// (unlimited). The run starts when every worker has its exporter and buffers ready:
// then the limiter's schedule and the duration start, and `on_start` (if set) is
// called once, before any request, even when there is nothing to send. Blocks the
// caller.
struct PoolResult {
  int workers = 0;            // Workers it ran (see SplitWorkers).
  bool replays_done = false;  // Every worker sent its share `multiplier` times.
  int64_t final_lag_ns = 0;   // How far behind the schedule sending ended.
  LateRootResult late_roots;
};
PoolResult RunWorkerPool(const LoadedDataset& dataset, const PoolOptions& pool,
                         const ExporterOptions& exporter, RateLimiter* limiter, RunStats* stats,
                         StopSignal* stop, const std::function<void()>& on_start = {});

}  // namespace loadgen
