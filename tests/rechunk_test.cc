#include "sender/rechunk.h"

#include <map>
#include <set>

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/frame.h"
#include "sender/transform.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;

TEST_CASE("trace chunks split within the limits, keeping traces whole where they fit") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  const ChunkLimits limits{20, 8192};
  size_t spans_in = 0, spans_out = 0, cut_traces = 0;
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.traces.path)) {
    spans_in += chunk.item_count;
    auto pieces = SplitChunk(Signal::kTraces, chunk.payload, chunk.item_count, limits);
    REQUIRE(pieces.ok());
    std::map<std::string, std::set<size_t>> pieces_of_trace;
    std::map<std::string, size_t> spans_of_trace;
    for (size_t p = 0; p < pieces->size(); ++p) {
      const std::string& bytes = (*pieces)[p];
      CHECK(bytes.size() <= limits.max_bytes);
      ct::ExportTraceServiceRequest req;
      REQUIRE(req.ParseFromString(bytes));
      size_t n = 0;
      for (const auto& rs : req.resource_spans()) {
        CHECK(rs.resource().attributes_size() > 0);  // The envelope travels with the spans.
        for (const auto& ss : rs.scope_spans()) {
          for (const auto& s : ss.spans()) {
            pieces_of_trace[s.trace_id()].insert(p);
            ++spans_of_trace[s.trace_id()];
            ++n;
          }
        }
      }
      CHECK(n <= limits.max_items);
      spans_out += n;
    }
    for (const auto& [id, where] : pieces_of_trace) {
      if (where.size() > 1) {
        ++cut_traces;
        CHECK(spans_of_trace[id] > limits.max_items / 2);  // Only big traces are ever cut.
      }
    }
  }
  CHECK(spans_out == spans_in);
  CHECK(cut_traces < 10);
}

TEST_CASE("a trace above the batch size is split into pieces that share its new trace ID") {
  ct::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  for (int i = 0; i < 50; ++i) {
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
  auto pieces = SplitChunk(Signal::kTraces, req.SerializeAsString(), 50, {10, 1 << 20});
  REQUIRE(pieces.ok());
  REQUIRE(pieces->size() == 5);
  const IdMapper ids(3);
  FramePatcher patcher(ids, {}, 1, 0);
  std::set<std::string> trace_ids, span_ids, parents;
  for (const std::string& piece : *pieces) {
    auto frame = CompileFrame(Signal::kTraces, piece, "piece");
    REQUIRE(frame.ok());
    std::string out(frame->bytes.size(), '\0');
    patcher.Patch(*frame, 0, 5'000'000'000, 0, reinterpret_cast<uint8_t*>(out.data()));
    ct::ExportTraceServiceRequest got;
    REQUIRE(got.ParseFromString(out));
    for (const auto& s : got.resource_spans(0).scope_spans(0).spans()) {
      trace_ids.insert(s.trace_id());
      span_ids.insert(s.span_id());
      if (!s.parent_span_id().empty()) parents.insert(s.parent_span_id());
    }
  }
  CHECK(trace_ids.size() == 1);
  CHECK(span_ids.size() == 50);
  REQUIRE(parents.size() == 1);
  CHECK(span_ids.count(*parents.begin()) == 1);  // The root's new ID, in another piece.
}

TEST_CASE("metric and log chunks split by points and records, envelopes kept") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  size_t points = 0;
  std::set<std::string> names;
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.metrics.path)) {
    auto pieces = SplitChunk(Signal::kMetrics, chunk.payload, chunk.item_count, {3, 1 << 20});
    REQUIRE(pieces.ok());
    for (const std::string& bytes : *pieces) {
      auto frame = CompileFrame(Signal::kMetrics, bytes, "piece");
      REQUIRE(frame.ok());
      CHECK(frame->events <= 3);
      points += frame->events;
      cm::ExportMetricsServiceRequest req;
      REQUIRE(req.ParseFromString(bytes));
      for (const auto& m : req.resource_metrics(0).scope_metrics(0).metrics()) {
        names.insert(m.name());
        CHECK(!m.unit().empty());
        if (m.has_sum()) CHECK(m.sum().aggregation_temporality() != 0);
      }
    }
  }
  CHECK(points == summary.metrics.items);
  CHECK(names.size() == 14);
  size_t records = 0;
  for (const TemplateChunk& chunk : testing::ReadChunks(summary.logs.path)) {
    auto pieces = SplitChunk(Signal::kLogs, chunk.payload, chunk.item_count, {1000, 2048});
    REQUIRE(pieces.ok());
    for (const std::string& bytes : *pieces) {
      CHECK(bytes.size() <= 2048);
      cl::ExportLogsServiceRequest req;
      REQUIRE(req.ParseFromString(bytes));
      for (const auto& rl : req.resource_logs()) records += rl.scope_logs(0).log_records_size();
    }
  }
  CHECK(records == summary.logs.items);
}

TEST_CASE("an item larger than max_request_bytes is refused, naming the limit") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  const TemplateChunk chunk = testing::ReadChunks(summary.logs.path).at(0);
  auto pieces = SplitChunk(Signal::kLogs, chunk.payload, chunk.item_count, {1000, 64});
  REQUIRE_FALSE(pieces.ok());
  CHECK_THAT(std::string(pieces.status().message()),
             Catch::Contains("sending.max_request_bytes (64)"));
}

}  // namespace
}  // namespace loadgen
