// The per-send transform: build one request from a run of a CompiledSignal's units
// and patch its fixed-width fields in place. The units' items are copied from the arena
// under the envelopes they share, each envelope written once with its length, so a
// request of any size costs a memcpy of its bytes plus a few tags and lengths. This is
// the sender's hot path: no protobuf message, no allocation once the scratch tables
// have grown, no locks.
//
// New values per send:
//   trace ID  = IdMapper::MapTrace(template trace ID, replay)
//   span ID   = IdMapper::MapSpan(template span ID, new trace ID)   (parent links kept)
//   time      = base + (template time - kTemplateEpochNs)          (relative timing kept)
//   counter   = template value × (replay + 1)                       (cumulative metrics)
// with a base per unit, for traces and logs: now - backdate - jitter - the unit's
// latest_ns, so a trace's last span ends (a record is observed) at the send time or
// before it, as a real SDK exports what has ended; the jitter is uniform in [0, jitter]
// per trace (the same for every unit of a trace) or record. For metrics, a base per
// kind of time: now - backdate; the series start; the previous send of the point, for
// delta windows.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/random.h"
#include "sender/frame.h"

namespace loadgen {

struct TimestampOptions {
  int64_t jitter_ns = 0;    // Each trace / log record ends up to this much earlier.
  int64_t backdate_ns = 0;  // Shifts every timestamp into the past.
};

// Metric series as a fleet of agents sends them. With `replicas` > 1, replay r goes out
// as replica r % replicas: every resource's identity attribute (Envelope::
// identity_offset) names another instance, so each series identity gets one point every
// `replicas` replays (one per collection interval when the run sets replicas to
// points/s x interval / series, rounded up, and the last replica covers the fraction
// left), its counters grow per visit, and a delta point covers the interval. With
// churn, every `churn_interval` the identities of `churn_share` of the resources (chosen
// per resource and replica) are replaced, as pods restart: new series, whose cumulative
// start is the moment they appeared.
struct SeriesFanout {
  uint64_t replicas = 1;
  // The share of its points a worker sends as the last replica (the first ones of its
  // units), so that a cycle of `replicas` replays holds points/s x interval points: a
  // cycle lasts the interval, not up to a replica's worth of series longer.
  double last_pass = 1;
  int64_t interval_ns = 0;        // The collection interval: delta windows, when replicas > 1.
  int64_t churn_interval_ns = 0;  // 0: no churn.
  double churn_share = 0;
  bool active() const { return replicas > 1 || churn_interval_ns > 0; }
};

// Which replay of each template trace the trace workers have sent, so that the trace
// context metrics (exemplars) and logs carry names a span that was sent in this run,
// not one of the same replay number, which the traces' pool may not have reached or
// passed long ago. Trace worker w publishes how far it has built (Built); a
// reference to a trace whose last unit is u in w's share then takes the replay of w's
// last pass that included u: the current pass when u is behind the worker, the one
// before when it is ahead, the first when there is none yet (the span follows within
// a pass). Thread-safe: one relaxed atomic per trace worker, on its own cache line.
class TraceLinks {
 public:
  // `traces` is the compiled traces; `shares` the trace workers' units [begin, end), in
  // order; replays run first_replay, first_replay + step, ... (scale-out).
  TraceLinks(const CompiledSignal& traces, const std::vector<std::pair<uint32_t, uint32_t>>& shares,
             uint64_t first_replay, uint64_t step);
  // Trace worker `worker` has built its share `passes` times and, in the pass after,
  // its first `position` units. Packed in one word so that a reader divides nothing.
  void Built(size_t worker, uint64_t passes, uint32_t position) {
    shares_[worker].built.store(passes << 32 | position, std::memory_order_relaxed);
  }
  // Where a template trace is sent: the worker, and the position of its last unit in
  // that worker's share; worker kNone for a trace the traces do not hold.
  struct Target {
    static constexpr uint32_t kNone = UINT32_MAX;
    uint32_t worker = kNone, offset = 0;
  };
  // The target of each trace group of `signal` (looked up once, at a worker's start).
  std::vector<Target> Targets(const CompiledSignal& signal) const;
  // The replay in which `target` was last sent (see above), or -1 for kNone.
  int64_t ReplayOf(Target target) const;

 private:
  struct alignas(64) Share {
    uint32_t begin = 0, end = 0;
    std::atomic<uint64_t> built{0};
  };
  std::unique_ptr<Share[]> shares_;
  size_t share_count_ = 0;
  uint64_t first_replay_, step_;
  std::unordered_map<TraceId, uint32_t, TraceIdHash> last_unit_;  // Per template trace.
};

// A run of units cut for one request.
struct RequestCut {
  uint32_t begin = 0, end = 0;  // Units [begin, end).
  uint64_t events = 0;
  size_t bytes = 0;  // Its exact serialized size.
};

// Per-worker state of the transform. Not thread-safe: one per worker.
class RequestBuilder {
 public:
  // `signal`, `ids` and `links` must outlive the builder. With `links` (metrics and logs
  // of a run that sends traces), trace context names the spans as sent (TraceLinks).
  RequestBuilder(const CompiledSignal& signal, const IdMapper& ids, TimestampOptions ts,
                 uint64_t rng_seed, uint64_t series_start_ns, SeriesFanout fanout = {},
                 const TraceLinks* links = nullptr);

  // Cuts the request that starts at unit `begin`: as many whole units as keep it within
  // `max_events` and `max_bytes`, at least one, none at or after `end`. Requires
  // begin < end. The cut is the builder's current request until the next Cut.
  const RequestCut& Cut(uint32_t begin, uint32_t end, uint64_t max_events, size_t max_bytes);
  const RequestCut& cut() const { return cut_; }

  // Writes the current request to `out` (cut().bytes bytes): replay `replay`, sent at
  // wall time `now_ns`. `last_sent[u]` is when unit u was last sent (the start of its
  // delta window); it is read for metrics only and may be null otherwise.
  void Write(uint64_t replay, uint64_t now_ns, const uint64_t* last_sent, uint8_t* out);
  // Writes the current request as the templates hold it, unpatched (tests, --plan).
  void WriteTemplate(uint8_t* out);

 private:
  struct Node {  // An envelope of the current request.
    uint32_t envelope;
    int32_t parent, first_child = -1, last_child = -1, next_sibling = -1;
    int32_t first_run = -1, last_run = -1;
    uint64_t content = 0, size = 0;
  };
  struct Run {  // Consecutive pieces of one leaf that are adjacent in the arena.
    uint32_t first_piece, end_piece;
    uint64_t offset;
    uint64_t size;
    int32_t next = -1;
  };
  int32_t Touch(uint32_t envelope);
  void AddPiece(uint32_t p);
  uint8_t* WriteNode(int32_t node, uint8_t* out, bool patch);
  void PatchPiece(uint32_t p, uint8_t* dst);

  const CompiledSignal& signal_;
  const IdMapper& ids_;
  const TraceLinks* links_;
  std::vector<TraceLinks::Target> targets_;  // Per trace group, with links_.
  TimestampOptions ts_;
  Rng rng_;
  uint64_t series_start_ns_;
  RequestCut cut_;
  std::vector<int32_t> local_;     // Per envelope: its node in the current request, or -1.
  std::vector<uint32_t> counted_;  // Per envelope: the stamp it was last costed under.
  uint32_t stamp_ = 0;
  std::vector<Node> nodes_;  // Parents before their children.
  int32_t first_top_ = -1, last_top_ = -1;
  std::vector<Run> runs_;
  // Per Write: new trace IDs of the cut's groups, and the time bases of its units.
  std::vector<TraceId> new_traces_;
  std::vector<uint64_t> bases_;
  uint32_t group_base_ = 0;
  uint64_t base_ns_ = 0, factor_ = 1;
  const uint64_t* last_sent_ = nullptr;
  // Metrics: the series fan-out, and this request's replica and churn generation.
  SeriesFanout fanout_;
  uint64_t replica_ = 0, generation_ = 0;
  // Whether resource envelope e's identity is one that churns in this replica.
  bool Churns(uint32_t root) const;
};

}  // namespace loadgen
