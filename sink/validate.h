// What otlp-sink --validate checks in each request on its own, before it counts it:
// that the bytes decode as the signal's Export request (exactly when protobuf's parser
// would: every nested message well formed, every string valid UTF-8, nesting within
// protobuf's limit), and what a strict backend rejects or mis-stores in well-formed
// data (IDs, timestamps, span trees, histogram arithmetic, log correlation) or what
// gives synthetic data away (a span that ends after it arrived, an instrumentation scope
// without a version).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/otlp_signal.h"

namespace loadgen {

// The trace context of one request, for the checks across requests (trace_context.h):
// the keys (SpanKey) of the spans it holds, and of the spans its exemplars and its log
// records name.
struct SpanLinks {
  std::vector<uint64_t> spans, exemplars, logs;
  void clear() {
    spans.clear();
    exemplars.clear();
    logs.clear();
  }
};

// A (16-byte trace ID, 8-byte span ID) pair as 64 bits.
uint64_t SpanKey(std::string_view trace_id, std::string_view span_id);

// Appends (kind, detail) for each problem found in one serialized Export request of
// `signal`; times further than max_skew_ns from now_ns are problems. A request that
// does not decode gets one "undecodable_request" problem, last. With `links`, fills it
// (cleared first) with the request's trace context. Thread-safe.
void ValidateRequest(Signal signal, std::string_view request, uint64_t now_ns, int64_t max_skew_ns,
                     std::vector<std::pair<std::string, std::string>>* problems,
                     SpanLinks* links = nullptr);

}  // namespace loadgen
