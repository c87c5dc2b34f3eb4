// A CompiledFrame is one template chunk made ready for replay: its serialized
// Export*ServiceRequest bytes, exactly as they will go on the wire, plus a table of
// the fixed-width fields that differ per send (trace IDs, span IDs, timestamps).
// Sending is then copy + patch: no protobuf message is built or serialized per send.
//
// Groups: every patched field belongs to a group. Trace and span IDs are grouped by
// their template trace ID (`trace_groups`), so one new trace ID is derived per trace
// per send. Time fields are grouped by what their new base time is: per trace
// (traces), per record (logs), or {time, start time} (metrics); see TimeGroups.
// A CompiledFrame is immutable after compilation and shared by workers read-only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "common/signal.h"

namespace loadgen {

struct TraceIdSlot {
  uint32_t offset;  // Of the 16 payload bytes.
  uint32_t group;   // Index into trace_groups.
};

struct SpanIdSlot {
  uint32_t offset;  // Of the 8 payload bytes.
  uint32_t group;   // The trace group whose new trace ID keys the mapping.
  uint64_t template_id;
};

struct TimeSlot {
  uint32_t offset;    // Of the 8-byte fixed64.
  uint32_t group;     // Index of the base time this field is relative to.
  int64_t offset_ns;  // Template value minus kTemplateEpochNs.
};

// A value of a cumulative monotonic metric (sum value, histogram or summary count, sum
// and bucket counts). Replay r sends template × (r + 1), so counters never go back.
struct CounterSlot {
  uint32_t offset;  // Of the 8-byte fixed64 / sfixed64 / double.
  bool is_double;
  uint64_t template_bits;
};

// Time groups of metric frames.
inline constexpr uint32_t kMetricTimeGroup = 0;         // time_unix_nano: the send time.
inline constexpr uint32_t kMetricStartTimeGroup = 1;    // Cumulative start: the series start.
inline constexpr uint32_t kMetricWindowStartGroup = 2;  // Delta start: the previous send.

struct CompiledFrame {
  Signal signal = Signal::kTraces;
  std::string bytes;
  uint64_t events = 0;  // Spans, data points or log records.
  std::vector<TraceId> trace_groups;
  uint32_t time_groups = 0;
  std::vector<TraceIdSlot> trace_slots;
  std::vector<SpanIdSlot> span_slots;
  std::vector<TimeSlot> time_slots;
  std::vector<CounterSlot> counter_slots;
};

// Compiles one chunk payload (a serialized Export*ServiceRequest for `signal`).
// Fails, naming `where` and the byte offset, when the payload is malformed or an ID
// or timestamp cannot be patched in place (wrong ID length, all-zero ID, a span or
// data point without its time placeholder): such a field would otherwise reach a
// backend unchanged.
absl::StatusOr<CompiledFrame> CompileFrame(Signal signal, std::string payload,
                                           std::string_view where);

}  // namespace loadgen
