// Load-time re-chunking: splits one template chunk into requests of at most
// `max_items` events and `max_bytes` serialized bytes. Traces stay whole within a
// request whenever they fit; a larger trace is split into consecutive requests whose
// spans share the template trace ID, and so share the new trace ID on every replay.
// Resource and scope are repeated in every piece. Runs once per chunk at load, never
// per send (it parses and re-serializes).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/signal.h"

namespace loadgen {

struct ChunkLimits {
  size_t max_items = 8192;
  size_t max_bytes = 4 << 20;
};

// Returns the payload unchanged (one piece) when it is within the limits. Fails when
// a single span, data point or log record alone exceeds max_bytes.
absl::StatusOr<std::vector<std::string>> SplitChunk(Signal signal, std::string payload,
                                                    uint64_t items, const ChunkLimits& limits);

}  // namespace loadgen
