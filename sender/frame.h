// A signal's templates compiled once at load for replay: the item bytes exactly as
// they go on the wire, the envelopes they sit in, and a table of the fixed-width
// fields that differ per send (trace IDs, span IDs, timestamps, cumulative values).
//
// The templates are cut into units, the smallest thing a request carries: one trace
// (or, for a trace too big for one request, one of its pieces: the spans sorted by
// start time, so a parent is in the same or an earlier piece), one data point, one log
// record. A request is a run of consecutive units: their items are copied from the
// arena under the envelopes they share (see transform.h), so requests of any size are
// built by memcpy, and nothing is parsed or serialized per send. Requests can then
// follow the rate (one pacing interval of events each) at any rate.
//
// Layout: a unit owns pieces; a piece is the unit's items under one leaf envelope,
// adjacent in the arena. Slots belong to pieces and hold offsets from the piece's
// start. Trace and span IDs are grouped by template trace ID (`trace_groups`, one new
// trace ID derived per group per send). Times are relative to a base per unit (the
// trace's or the log record's), or for metrics to one of the kMetric*Group bases.
// Immutable after Finish(); shared by workers read-only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/otlp_signal.h"
#include "common/otlp_wire.h"
#include "common/random.h"

namespace loadgen {

struct TraceIdSlot {
  uint32_t offset;  // Of the 16 payload bytes, from the piece's start.
  uint32_t group;   // Index into trace_groups.
};

struct SpanIdSlot {
  uint32_t offset;  // Of the 8 payload bytes.
  uint32_t group;   // The trace group whose new trace ID keys the mapping.
  uint64_t template_id;
};

struct TimeSlot {
  uint32_t offset;    // Of the 8-byte fixed64.
  uint32_t group;     // 0 for traces and logs (the unit's base); kMetric*Group for metrics.
  int64_t offset_ns;  // Template value minus kTemplateEpochNs.
};

// A value of a cumulative monotonic metric (sum value, histogram or summary count, sum
// and bucket counts). Replay r sends template × (r + 1), so counters never go back.
struct CounterSlot {
  uint32_t offset;  // Of the 8-byte fixed64 / sfixed64 / double.
  bool is_double;
  uint64_t template_bits;
};

// Time groups of metric points.
inline constexpr uint32_t kMetricTimeGroup = 0;         // time_unix_nano: the send time.
inline constexpr uint32_t kMetricStartTimeGroup = 1;    // Cumulative start: the series start.
inline constexpr uint32_t kMetricWindowStartGroup = 2;  // Delta start: the previous send.
inline constexpr uint32_t kMetricTimeGroups = 3;

// A container of a request: ResourceSpans / ScopeSpans, ResourceMetrics / ScopeMetrics
// / Metric / its data (Sum, Gauge, ...), ResourceLogs / ScopeLogs. Identical envelopes
// of different chunks are one, so a request that spans chunks is not split by them.
struct Envelope {
  int32_t parent = -1;       // -1: a field of the request itself.
  uint32_t field = 1;        // Its field number in the parent.
  uint32_t child_field = 2;  // The field number of what it holds.
  bool leaf = false;         // It holds items (spans, points, records), not envelopes.
  std::string head;          // Its other fields, serialized (resource, scope, name, ...).
  // The envelope at the top of its tree (a Resource*): its own index for one.
  uint32_t root = 0;
  // Metrics' resources: where in `head` the last 8 characters of the resource's
  // identity (service.instance.id, k8s.pod.uid, container.id, k8s.deployment.uid or
  // host.id, a hex string) sit, for a send to give its series another identity; -1
  // when it has none.
  int32_t identity_offset = -1;
};

struct Piece {
  uint64_t offset = 0;  // In the arena: the items, each with its tag and length.
  uint32_t size = 0;
  uint32_t envelope = 0;  // A leaf.
  uint32_t unit = 0;
  // The first of its slots in each table; it owns those up to the next piece's.
  uint32_t trace_slots = 0, span_slots = 0, time_slots = 0, counter_slots = 0;
};

struct Unit {
  uint32_t events = 0;
  uint32_t first_piece = 0;  // Its pieces run up to the next unit's first_piece.
  uint32_t first_group = 0;  // Its trace groups run up to the next unit's first_group.
  // The bytes of a request holding only this unit (items and their envelopes), as an
  // upper bound: requests are cut so that the sum never exceeds max_request_bytes.
  uint32_t alone_bytes = 0;
  // Traces and logs: the latest time in its trace (all of the trace's units) or
  // record, from kTemplateEpochNs. A send puts that moment at the send time, so no span
  // ends, and no record is observed, after the request leaves.
  int64_t latest_ns = 0;
};

class CompiledSignal {
 public:
  Signal signal = Signal::kTraces;
  std::string arena;
  std::vector<Envelope> envelopes;
  std::vector<TraceId> trace_groups;
  std::vector<TraceIdSlot> trace_slots;
  std::vector<SpanIdSlot> span_slots;
  std::vector<TimeSlot> time_slots;
  std::vector<CounterSlot> counter_slots;
  uint64_t events = 0;

  uint32_t unit_count() const { return static_cast<uint32_t>(units_.size()) - 1; }
  bool empty() const { return unit_count() == 0; }
  const Unit& unit(uint32_t u) const { return units_[u]; }
  // Pieces [first, end) of units [a, b): piece(unit(a).first_piece) ... piece(unit(b).first_piece).
  const Piece& piece(uint32_t p) const { return pieces_[p]; }
  size_t piece_count() const { return pieces_.size() - 1; }
  // The bytes of one replay's items (without envelopes).
  uint64_t item_bytes() const { return arena.size(); }
  // Framing a tag and length can add around an envelope's head (field numbers < 2048).
  static constexpr size_t kFrameBytes = 2 + 5;
  size_t EnvelopeCost(uint32_t e) const { return envelopes[e].head.size() + kFrameBytes; }
  // Memory the compiled templates take.
  uint64_t MemoryBytes() const;

 private:
  friend class SignalCompiler;
  friend void ShareTraceTimelines(std::initializer_list<CompiledSignal*> signals);
  // Both end with a sentinel, so that a unit's (a piece's) range ends at the next one's start.
  std::vector<Unit> units_ = {Unit{}};
  std::vector<Piece> pieces_ = {Piece{}};
};

// Gives every unit of `signals` (compiled traces holding parts of the same traces, sent
// apart) its trace's latest time over all of them, so the parts keep one timeline.
void ShareTraceTimelines(std::initializer_list<CompiledSignal*> signals);

// What one unit may hold: a request is at most this, so a unit is too.
struct UnitLimits {
  size_t max_items = 8192;
  size_t max_bytes = otlp::kDefaultMaxMessageBytes;
};

// Compiles chunk payloads (serialized Export*ServiceRequests of one signal) into a
// CompiledSignal, one chunk at a time. Not thread-safe.
class SignalCompiler {
 public:
  SignalCompiler(Signal signal, const UnitLimits& limits);
  ~SignalCompiler();

  // Room for `bytes` of items, when the caller knows about how much will come (the
  // template file's size): saves regrowing the arena while loading.
  void Reserve(size_t bytes) { out_.arena.reserve(bytes); }

  // Adds the units of one payload and returns how many spans, points or records it
  // held. Fails, naming `where` and the byte offset, when the payload is malformed or
  // an ID or timestamp cannot be patched in place (wrong ID length, all-zero ID, a span
  // or data point without its time placeholder), since such a field would reach a
  // backend unchanged; or when one item alone is bigger than limits.max_bytes.
  absl::StatusOr<uint64_t> Add(std::string_view payload, std::string_view where);

  // The compiled signal; the compiler is spent.
  CompiledSignal Finish();

 private:
  struct Item;
  class Walker;
  uint32_t Intern(int32_t parent, uint32_t field, uint32_t child_field, bool leaf,
                  std::string head);
  // The bytes `it` adds to a request: its own, and its envelopes not yet marked with
  // `stamp` (which it then marks).
  uint64_t Cost(const Item& it, uint32_t stamp);
  absl::Status AddUnits(const Walker& walker);
  absl::Status AddUnit(const std::vector<const Item*>& items);
  absl::Status AddTrace(std::vector<const Item*>& spans);

  UnitLimits limits_;
  CompiledSignal out_;
  std::unordered_map<std::string, uint32_t> envelope_index_;
  const Walker* walker_ = nullptr;  // The payload being added.
  std::vector<uint32_t> costed_;    // Per envelope: the stamp it was last counted under.
  uint32_t stamp_ = 0;
  // Scratch of AddUnit.
  std::vector<uint32_t> leaves_, groups_;
  std::unordered_map<TraceId, uint32_t, TraceIdHash> unit_groups_;
};

}  // namespace loadgen
