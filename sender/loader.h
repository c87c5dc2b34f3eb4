// Loads template files and compiles each signal's chunks into a CompiledSignal, once,
// before sending starts. Loading streams chunk by chunk, so peak memory is the compiled
// dataset plus one chunk.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/otlp_signal.h"
#include "sender/frame.h"

namespace loadgen {

// Late roots (traces.root.late_root): root spans the templates mark with
// kLateRootDelayAttribute, taken out of their traces at load (and the mark removed) to be
// sent after the rest of the trace. One unit per root, in the order of their traces'
// last units, with the same trace groups: a send of root d with the replay and the
// wall time its trace was sent with gets the same trace ID, parent span ID and time
// base (both signals share each trace's latest time), so the trace is whole again at
// the receiver.
struct LateRoots {
  CompiledSignal roots;
  // Roots [first_of_unit[u], first_of_unit[u + 1]) follow trace unit u (the last unit of
  // their traces). unit_count() + 1 entries; empty when there are no late roots.
  std::vector<uint32_t> first_of_unit;
  std::vector<int64_t> delay_ns;  // Per root: how long after its trace it is sent.
  bool empty() const { return first_of_unit.empty(); }
};

struct LoadedDataset {
  std::array<CompiledSignal, 3> signals;  // Indexed by SignalIndex; empty when not loaded.
  // Spans, data points and log records per replay (late roots counted with the traces).
  std::array<uint64_t, 3> events{};
  LateRoots late_roots;
  const CompiledSignal& of(Signal s) const { return signals[SignalIndex(s)]; }
  uint64_t total_events() const { return events[0] + events[1] + events[2]; }
};

// Attributes a run puts on everything it sends, set at load (no cost per send): each
// replaces the template's attribute of the same key, or is added. All string values.
struct AttributeOverrides {
  std::vector<std::pair<std::string, std::string>> resource;  // Every Resource.
  std::vector<std::pair<std::string, std::string>> scope;     // Every InstrumentationScope.
  std::vector<std::pair<std::string, std::string>> span;      // Every span (traces only).
  bool empty() const { return resource.empty() && scope.empty() && span.empty(); }
};

// Loads `path` as the template file of `signal` into `out`, in units within `limits`
// (see frame.h), with `overrides` applied to every chunk, and with `drop_exemplars`
// metrics without their exemplars (a run that sends no traces has no span for them to
// name). Errors name the file and byte offset.
absl::Status LoadTemplateFile(const std::string& path, Signal signal, const UnitLimits& limits,
                              LoadedDataset* out, const AttributeOverrides& overrides = {},
                              bool drop_exemplars = false);

// Splits `request` (a serialized ExportTraceServiceRequest) into the request without
// its late roots (`rest`) and one request per late root, without its mark (`roots`), in
// the order in which their traces first appear in `rest`, with their delays in ms.
// Fails when a late root's trace has no other span in the request.
absl::Status SplitLateRoots(std::string_view request, std::string* rest,
                            std::vector<std::string>* roots, std::vector<int64_t>* delays_ms);

// `request` (a serialized ExportMetricsServiceRequest) without exemplars.
absl::StatusOr<std::string> DropExemplars(std::string_view request);

// `request` (a serialized Export*ServiceRequest of `signal`) with `overrides` applied:
// the three signals share field numbers down to the scope (1 resource_*, in it 1
// resource and 2 scope_*, in that 1 scope and 2 items), and spans hold attributes in
// field 9. A scope message is added where a Scope* has none.
absl::StatusOr<std::string> ApplyAttributeOverrides(std::string_view request, Signal signal,
                                                    const AttributeOverrides& overrides);

}  // namespace loadgen
