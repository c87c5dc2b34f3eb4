// Per-signal worker pools. Workers are split across signals by each signal's share of
// the dataset's events (at least one per signal with data, never more than it has
// frames); each worker owns a disjoint, interleaved share of its signal's frames, its
// own exporter (connection) and its own patcher, and replays its share `multiplier`
// times — so together the workers replay the dataset exactly `multiplier` times.
//
// The per-send loop (SendLoop in worker_pool.cc) is the whole hot path: wait for a
// call slot, take tokens, copy + patch into the outgoing slice, start the call.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "common/random.h"
#include "sender/exporter.h"
#include "sender/loader.h"
#include "sender/stats.h"
#include "sender/token_bucket.h"
#include "sender/transform.h"

namespace loadgen {

// Workers per signal for `total` workers, proportional to `events` (largest
// remainder), at least 1 for each signal with events and at most its frame count.
std::array<int, 3> SplitWorkers(int total, const std::array<uint64_t, 3>& events,
                                const std::array<size_t, 3>& frames);

struct PoolOptions {
  int workers = 4;
  uint64_t multiplier = 1;               // 0: until stopped or the duration ends.
  std::chrono::nanoseconds duration{0};  // 0: no limit.
  TimestampOptions timestamps;
  uint64_t run_key = 0;  // Seeds the ID mapping; random per run.
  // Scale-out: this is instance `instance` of `instances`. It sends replays instance,
  // instance + instances, ... (so N instances together send `multiplier` replays) and
  // tags its trace IDs with its number (see IdMapper).
  int instance = 0;
  int instances = 1;
  uint64_t series_start_ns = 0;  // Start time of cumulative metric series.
};

// Sends `dataset` until the multiplier (this instance's replays of it) or duration is reached or
// `stop` fires, then waits for in-flight calls. `limiter` may be null (unlimited). Blocks the
// caller.
struct PoolResult {
  int workers = 0;            // Workers it ran (see SplitWorkers).
  bool replays_done = false;  // Every worker sent its share `multiplier` times.
};
PoolResult RunWorkerPool(const LoadedDataset& dataset, const PoolOptions& pool,
                         const ExporterOptions& exporter, const RateLimiter* limiter,
                         RunStats* stats, StopSignal* stop);

}  // namespace loadgen
