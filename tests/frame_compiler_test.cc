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

TEST_CASE("a trace chunk compiles to one slot per patchable field") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.traces.path)) {
    ct::ExportTraceServiceRequest req;
    REQUIRE(req.ParseFromString(chunk.payload));
    size_t spans = 0, parents = 0, events = 0;
    std::set<std::string> traces;
    for (const auto& rs : req.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) {
          ++spans;
          parents += !s.parent_span_id().empty();
          events += s.events_size();
          traces.insert(s.trace_id());
        }
    auto frame = CompileFrame(Signal::kTraces, chunk.payload, "test");
    REQUIRE(frame.ok());
    CHECK(frame->events == spans);
    CHECK(frame->events == chunk.item_count);
    CHECK(frame->trace_slots.size() == spans);
    CHECK(frame->span_slots.size() == spans + parents);
    CHECK(frame->time_slots.size() == 2 * spans + events);
    CHECK(frame->trace_groups.size() == traces.size());
    CHECK(frame->bytes == chunk.payload);  // Compiled bytes are the template, unchanged.
    for (const TraceIdSlot& s : frame->trace_slots) {
      // Every trace slot points at the 16 bytes after the tag 0A 10.
      CHECK(static_cast<uint8_t>(frame->bytes[s.offset - 2]) == 0x0A);
      CHECK(static_cast<uint8_t>(frame->bytes[s.offset - 1]) == 0x10);
    }
  }
}

TEST_CASE("metric and log chunks count points and records and find their time fields") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  uint64_t points = 0, records = 0, correlated = 0;
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.metrics.path)) {
    auto frame = CompileFrame(Signal::kMetrics, chunk.payload, "test");
    REQUIRE(frame.ok());
    CHECK(frame->events == chunk.item_count);
    CHECK(frame->time_groups == 3);  // time, cumulative start, delta window start
    points += frame->events;
    size_t times = 0;
    for (const TimeSlot& t : frame->time_slots) times += t.group == kMetricTimeGroup;
    CHECK(times == frame->events);  // One time_unix_nano per data point.
  }
  CHECK(points == summary.metrics.items);
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.logs.path)) {
    auto frame = CompileFrame(Signal::kLogs, chunk.payload, "test");
    REQUIRE(frame.ok());
    CHECK(frame->time_slots.size() == 2 * frame->events);  // time + observed time.
    records += frame->events;
    correlated += frame->trace_slots.size();
    CHECK(frame->span_slots.size() == frame->trace_slots.size());
  }
  CHECK(records == summary.logs.items);
  CHECK(correlated > 0);
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

std::string CompileError(const ct::ExportTraceServiceRequest& req) {
  auto frame = CompileFrame(Signal::kTraces, req.SerializeAsString(), "f.pb: chunk 0");
  return frame.ok() ? "" : std::string(frame.status().message());
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
  auto frame = CompileFrame(Signal::kTraces, bytes.substr(0, bytes.size() - 3), "cut");
  REQUIRE_FALSE(frame.ok());
  CHECK_THAT(std::string(frame.status().message()), Catch::Contains("malformed"));
}

}  // namespace
}  // namespace loadgen
