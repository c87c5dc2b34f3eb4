#include <map>
#include <set>

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/frame.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;

CompiledSignal CompileFile(const std::string& path, Signal signal, UnitLimits limits = {}) {
  SignalCompiler compiler(signal, limits);
  for (const TemplateChunk& chunk : testing::ReadChunks(path)) {
    auto items = compiler.Add(chunk.payload, "test");
    REQUIRE(items.ok());
    CHECK(*items == chunk.item_count);
  }
  return compiler.Finish();
}

TEST_CASE("a trace file compiles to one unit per trace and one slot per patchable field") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  size_t spans = 0, parents = 0, events = 0;
  std::set<std::string> traces, resources;
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.traces.path)) {
    ct::ExportTraceServiceRequest req;
    REQUIRE(req.ParseFromString(chunk.payload));
    for (const auto& rs : req.resource_spans()) {
      resources.insert(rs.resource().SerializeAsString());
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) {
          ++spans;
          parents += !s.parent_span_id().empty();
          events += s.events_size();
          traces.insert(s.trace_id());
        }
    }
  }
  const CompiledSignal c = CompileFile(summary.traces.path, Signal::kTraces);
  CHECK(c.events == spans);
  CHECK(c.unit_count() == traces.size());  // Every trace fits in a request: one unit each.
  CHECK(c.trace_groups.size() == traces.size());
  CHECK(c.trace_slots.size() == spans);
  CHECK(c.span_slots.size() == spans + parents);
  CHECK(c.time_slots.size() == 2 * spans + events);
  // The same resource in several chunks is one envelope, so requests that span chunks
  // are not split by them.
  size_t top = 0;
  for (const Envelope& e : c.envelopes) top += e.parent < 0;
  CHECK(top == resources.size());
  CHECK(summary.traces.chunks > 1);
  for (uint32_t p = 0; p < c.piece_count(); ++p) {
    const Piece& piece = c.piece(p);
    CHECK(c.envelopes[piece.envelope].leaf);
    for (uint32_t s = piece.trace_slots; s < c.piece(p + 1).trace_slots; ++s) {
      // Every trace slot points at the 16 bytes after the tag 0A 10.
      const uint64_t at = piece.offset + c.trace_slots[s].offset;
      CHECK(static_cast<uint8_t>(c.arena[at - 2]) == 0x0A);
      CHECK(static_cast<uint8_t>(c.arena[at - 1]) == 0x10);
    }
  }
}

TEST_CASE("metric and log files compile to a unit per point and per record") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  const CompiledSignal metrics = CompileFile(summary.metrics.path, Signal::kMetrics);
  CHECK(metrics.events == summary.metrics.items);
  CHECK(metrics.unit_count() == summary.metrics.items);
  size_t times = 0;
  for (const TimeSlot& t : metrics.time_slots) times += t.group == kMetricTimeGroup;
  CHECK(times >= metrics.events);  // A time_unix_nano per point (and per exemplar).
  // Metric envelopes: resource, scope, metric, its data (sum, gauge, ...), then points.
  for (const Envelope& e : metrics.envelopes) {
    int depth = 0;
    for (int32_t p = e.parent; p >= 0; p = metrics.envelopes[p].parent) ++depth;
    CHECK(e.leaf == (depth == 3));
  }
  const CompiledSignal logs = CompileFile(summary.logs.path, Signal::kLogs);
  CHECK(logs.unit_count() == summary.logs.items);
  CHECK(logs.time_slots.size() == 2 * logs.events);  // time + observed time.
  CHECK(logs.span_slots.size() == logs.trace_slots.size());
  CHECK(logs.trace_slots.size() > 0);  // Correlated records.
}

ct::ExportTraceServiceRequest OneSpan() {
  ct::ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x11'));
  span->set_span_id(std::string(8, '\x22'));
  span->set_start_time_unix_nano(kTemplateEpochNs);
  span->set_end_time_unix_nano(kTemplateEpochNs + 5);
  span->set_name("op");
  return req;
}

std::string CompileError(const std::string& bytes, UnitLimits limits = {}) {
  SignalCompiler compiler(Signal::kTraces, limits);
  auto r = compiler.Add(bytes, "f.pb: chunk 0");
  return r.ok() ? "" : std::string(r.status().message());
}
std::string CompileError(const ct::ExportTraceServiceRequest& req) {
  return CompileError(req.SerializeAsString());
}

TEST_CASE("fields that cannot be patched in place are refused with the offset") {
  CHECK(CompileError(OneSpan()).empty());

  auto req = OneSpan();
  auto* span = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  span->set_start_time_unix_nano(0);  // proto3 omits it: no slot to patch.
  CHECK_THAT(CompileError(req), Catch::Contains("span without a start or end time placeholder"));

  req = OneSpan();
  span = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  span->set_trace_id("abcd");
  CHECK_THAT(CompileError(req), Catch::Contains("f.pb: chunk 0: payload offset"));
  CHECK_THAT(CompileError(req), Catch::Contains("span trace_id has 4 bytes; expected 16"));

  req = OneSpan();
  span = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  span->set_span_id(std::string(8, '\0'));
  CHECK_THAT(CompileError(req), Catch::Contains("span span_id is all zero"));

  const std::string bytes = OneSpan().SerializeAsString();
  CHECK_THAT(CompileError(bytes.substr(0, bytes.size() - 3)), Catch::Contains("malformed"));
}

TEST_CASE("a span larger than max_request_bytes is refused, naming the limit") {
  auto req = OneSpan();
  req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_name(
      std::string(5000, 'x'));
  CHECK_THAT(
      CompileError(req.SerializeAsString(), {8192, 4096}),
      Catch::Contains("one span takes") && Catch::Contains("bytes, more than "
                                                           "sending.max_request_bytes (4096)"));
}

TEST_CASE("a trace above the batch size is cut into pieces in start order") {
  ct::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  for (int i = 49; i >= 0; --i) {  // Children first in the chunk; the root last.
    auto* s = ss->add_spans();
    s->set_trace_id(std::string(16, '\x07'));
    const uint64_t id = 1000 + i;
    s->set_span_id(std::string(reinterpret_cast<const char*>(&id), 8));
    if (i > 0) {
      const uint64_t parent = 1000;
      s->set_parent_span_id(std::string(reinterpret_cast<const char*>(&parent), 8));
    }
    s->set_start_time_unix_nano(kTemplateEpochNs + i);
    s->set_end_time_unix_nano(kTemplateEpochNs + 100);
  }
  SignalCompiler compiler(Signal::kTraces, {10, 1 << 20});
  REQUIRE(compiler.Add(req.SerializeAsString(), "big").ok());
  const CompiledSignal c = compiler.Finish();
  REQUIRE(c.unit_count() == 5);
  CHECK(c.trace_groups.size() == 5);  // One group per piece, all the same template trace.
  for (const TraceId& t : c.trace_groups) CHECK(t == c.trace_groups[0]);
  // Piece u holds the spans that start at u*10 .. u*10+9: the root (start 0) first.
  for (uint32_t u = 0; u < 5; ++u) {
    std::set<int64_t> starts;
    for (uint32_t p = c.unit(u).first_piece; p < c.unit(u + 1).first_piece; ++p) {
      for (uint32_t t = c.piece(p).time_slots; t < c.piece(p + 1).time_slots; ++t) {
        if (c.time_slots[t].offset_ns != 100) starts.insert(c.time_slots[t].offset_ns);
      }
    }
    CHECK(starts.size() == 10);
    CHECK(*starts.begin() == 10 * u);
    CHECK(*starts.rbegin() == 10 * u + 9);
  }
  for (uint32_t u = 0; u < 5; ++u) CHECK(c.unit(u).events == 10);
}

}  // namespace
}  // namespace loadgen
