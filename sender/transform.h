// The per-send transform: copy a CompiledFrame's bytes into the outgoing buffer and
// patch its fixed-width fields in place. This is the sender's hot path: no protobuf
// message, no allocation (scratch vectors are reused), no locks.
//
// New values per send:
//   trace ID  = IdMapper::MapTrace(template trace ID, replay)
//   span ID   = IdMapper::MapSpan(template span ID, new trace ID)   (parent links kept)
//   time      = base[group] + (template time - kTemplateEpochNs)   (relative timing kept)
//   counter   = template value × (replay + 1)                       (cumulative metrics)
// with base per trace (traces: now - backdate + jitter), per record (logs: now + jitter)
// or {now, series start, previous send of this frame} (metrics: time, cumulative start,
// delta window start).
#pragma once

#include <cstdint>
#include <vector>

#include "common/random.h"
#include "sender/frame.h"

namespace loadgen {

struct TimestampOptions {
  int64_t jitter_ns = 0;    // Each trace / log record gets now + uniform [0, jitter].
  int64_t backdate_ns = 0;  // Shifts every timestamp into the past.
};

// Per-worker state of the transform. Not thread-safe: one per worker.
class FramePatcher {
 public:
  FramePatcher(const IdMapper& ids, TimestampOptions ts, uint64_t rng_seed,
               uint64_t series_start_ns)
      : ids_(ids), ts_(ts), rng_(rng_seed), series_start_ns_(series_start_ns) {}

  // Writes frame.bytes.size() bytes to `out`: the frame as replay `replay` sent at
  // wall time `now_ns`. `window_start_ns` is when this frame was last sent (the start
  // of delta windows). Requires `out` to hold frame.bytes.size() bytes.
  void Patch(const CompiledFrame& frame, uint64_t replay, uint64_t now_ns, uint64_t window_start_ns,
             uint8_t* out);

 private:
  const IdMapper& ids_;
  TimestampOptions ts_;
  Rng rng_;
  uint64_t series_start_ns_;
  std::vector<TraceId> new_traces_;
  std::vector<uint64_t> bases_;
};

}  // namespace loadgen
