// Trace context across requests at the validating sink: the spans that exemplars and
// log records name, resolved against the spans that arrived before or after them, in
// bounded memory.
#include "sink/trace_context.h"

#include <deque>
#include <set>

#include "catch2/catch.hpp"
#include "common/clock.h"
#include "common/random.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sink/otlp_sink.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;

TEST_CASE("recent keys hold exactly the last N distinct keys") {
  const size_t capacity = GENERATE(1u, 7u, 1000u);
  RecentKeys keys(capacity);
  std::deque<uint64_t> order;  // The model: distinct keys, oldest first.
  std::set<uint64_t> held;
  Rng rng(capacity);
  for (int i = 0; i < 20'000; ++i) {
    // Keys from a small range, so that many repeat; their low bits collide in the table.
    const uint64_t key = (rng.Below(3 * capacity + 5) + 1) << 20 | rng.Below(4);
    const bool added = keys.Add(key);
    CHECK(added == (held.count(key) == 0));
    if (added) {
      order.push_back(key);
      held.insert(key);
      if (order.size() > capacity) {
        held.erase(order.front());
        order.pop_front();
      }
    }
    if (i % 499 == 0) {
      for (uint64_t probe = 1; probe <= 3 * capacity + 5; ++probe) {
        for (uint64_t low = 0; low < 4; ++low) {
          REQUIRE(keys.Contains(probe << 20 | low) == (held.count(probe << 20 | low) == 1));
        }
      }
    }
  }
  CHECK(keys.size() == held.size());
  CHECK(keys.Add(0));  // Key 0 (the table's empty mark) is held too.
  CHECK(keys.Contains(0));
}

TEST_CASE("a reference resolves when its span came before or comes after it") {
  TraceContextChecker c(/*span_capacity=*/3, /*max_pending=*/2);
  auto spans = [](std::vector<uint64_t> k) { return SpanLinks{std::move(k), {}, {}}; };
  auto exemplars = [](std::vector<uint64_t> k) { return SpanLinks{{}, std::move(k), {}}; };
  CHECK(c.Note(spans({1, 2})) == std::pair<uint64_t, uint64_t>{0, 0});
  CHECK(c.Note(exemplars({1, 5})) == std::pair<uint64_t, uint64_t>{0, 0});
  CHECK(c.exemplars().resolved == 1);
  CHECK(c.exemplars().pending == 1);
  CHECK(c.Note(spans({5})) == std::pair<uint64_t, uint64_t>{0, 0});  // Late, still resolved.
  CHECK(c.exemplars().resolved == 2);
  CHECK(c.exemplars().pending == 0);
  // Spans 3, 4 push 1 and 2 out (capacity 3: 5, 3, 4 remain).
  c.Note(spans({3, 4}));
  CHECK(c.Note(SpanLinks{{}, {2}, {4}}) == std::pair<uint64_t, uint64_t>{0, 0});
  CHECK(c.logs().resolved == 1);
  // More than two waiting: the oldest (2) gives way.
  CHECK(c.Note(exemplars({8, 9})) == std::pair<uint64_t, uint64_t>{1, 0});
  CHECK(c.Note(SpanLinks{{}, {}, {10}}) == std::pair<uint64_t, uint64_t>{1, 0});  // 8 goes.
  CHECK(c.Settle() == std::pair<uint64_t, uint64_t>{1, 1});                       // 9 and 10.
  const auto e = c.exemplars();
  CHECK(e.named == 5);
  CHECK(e.resolved == 2);
  CHECK(e.unresolved == 3);
  CHECK(e.pending == 0);
  CHECK(c.logs().unresolved == 1);
}

std::string Id(size_t n, int v) { return std::string(n - 1, '\x01') + static_cast<char>(v); }

std::string Traces(const std::vector<int>& spans) {
  ct::ExportTraceServiceRequest req;
  auto* ss = req.add_resource_spans()->add_scope_spans();
  ss->mutable_scope()->set_name("lib");
  ss->mutable_scope()->set_version("1.0");
  const uint64_t now = WallNowNs();
  for (int s : spans) {
    auto* span = ss->add_spans();
    span->set_trace_id(Id(16, s));
    span->set_span_id(Id(8, s));
    span->set_name("op");
    span->set_start_time_unix_nano(now - 2000);
    span->set_end_time_unix_nano(now - 1000);
  }
  return req.SerializeAsString();
}

std::string Latency(const std::vector<int>& spans) {
  cm::ExportMetricsServiceRequest req;
  auto* sm = req.add_resource_metrics()->add_scope_metrics();
  sm->mutable_scope()->set_name("lib");
  sm->mutable_scope()->set_version("1.0");
  auto* m = sm->add_metrics();
  m->set_name("http.server.request.duration");
  auto* p = m->mutable_histogram()->add_data_points();
  p->set_time_unix_nano(WallNowNs());
  p->add_bucket_counts(static_cast<uint64_t>(spans.size()));
  p->set_count(static_cast<uint64_t>(spans.size()));
  for (int s : spans) {
    auto* e = p->add_exemplars();
    e->set_time_unix_nano(WallNowNs());
    e->set_as_double(0.1);
    e->set_trace_id(Id(16, s));
    e->set_span_id(Id(8, s));
  }
  return req.SerializeAsString();
}

std::string Logs(const std::vector<int>& spans) {
  cl::ExportLogsServiceRequest req;
  auto* sl = req.add_resource_logs()->add_scope_logs();
  sl->mutable_scope()->set_name("lib");
  sl->mutable_scope()->set_version("1.0");
  for (int s : spans) {
    auto* r = sl->add_log_records();
    r->set_time_unix_nano(WallNowNs());
    r->set_trace_id(Id(16, s));
    r->set_span_id(Id(8, s));
  }
  return req.SerializeAsString();
}

TEST_CASE("the validating sink counts exemplars naming spans that never arrived") {
  SinkOptions o;
  o.validate = true;
  OtlpSink sink(o);
  REQUIRE(sink.Receive(Signal::kTraces, Traces({1, 2})).code == grpc::OK);
  REQUIRE(sink.Receive(Signal::kMetrics, Latency({1, 3, 4})).code == grpc::OK);
  REQUIRE(sink.Receive(Signal::kLogs, Logs({2, 5})).code == grpc::OK);
  REQUIRE(sink.Receive(Signal::kTraces, Traces({3})).code == grpc::OK);  // After its exemplar.
  SinkSnapshot s = sink.Snapshot();
  CHECK(s.exemplars.named == 3);
  CHECK(s.exemplars.resolved == 2);
  CHECK(s.exemplars.pending == 1);
  CHECK(s.log_links.resolved == 1);
  CHECK(s.log_links.pending == 1);
  CHECK(s.validation_errors == 0);  // Span 4 may still come.
  sink.Shutdown();
  s = sink.Snapshot();
  CHECK(s.exemplars.unresolved == 1);
  CHECK(s.log_links.unresolved == 1);
  // Only the exemplar is an error: a log record's span may have been sampled away.
  CHECK(s.validation_errors == 1);
  CHECK(s.errors_by_kind == std::map<std::string, uint64_t>{{"exemplar_span_not_seen", 1}});
  CHECK(sink.SummaryJson().find("\"trace_context\"") != std::string::npos);
}

}  // namespace
}  // namespace loadgen
