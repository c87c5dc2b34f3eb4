// Builds trace templates: span trees drawn from the topology, with relative timing
// (start = kTemplateEpochNs + offset from trace start), placeholder IDs that are
// unique within their trace, and stable semantic-convention attributes.
// Not thread-safe; deterministic for a given Rng state.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/random.h"
#include "generator/config.h"
#include "generator/otlp_draft.h"
#include "generator/topology.h"

namespace loadgen {

// A span that logs may later refer to.
struct SpanRef {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint64_t start_offset_ns;
  uint64_t duration_ns;
  int kind;  // SpanKind: a metric's exemplar names a span of its own kind.
};

class TraceBuilder {
 public:
  TraceBuilder(const GeneratorConfig& config, const Topology& topology, Rng& rng)
      : config_(config), topology_(topology), rng_(rng) {}

  // Draws a span count ~ Normal(avg, std_dev), clamped to >= 1.
  int DrawSpanCount();

  // Builds one trace of exactly `span_count` spans into *out (after what it holds),
  // parents before children.
  void Build(int span_count, TraceDraft* out);

 private:
  const GeneratorConfig& config_;
  const Topology& topology_;
  Rng& rng_;
};

}  // namespace loadgen
