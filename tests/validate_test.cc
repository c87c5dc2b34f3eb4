// The sink's per-request validation (otlp-sink --validate), on requests built with the
// protobuf classes: each check finds its defect and nothing else, a well-formed request
// has no problem, and a request is undecodable exactly when protobuf's parser refuses it.
#include "sink/validate.h"

#include <algorithm>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "common/wire.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;
namespace tp = opentelemetry::proto::trace::v1;
namespace mp = opentelemetry::proto::metrics::v1;
namespace lp = opentelemetry::proto::logs::v1;
namespace cp = opentelemetry::proto::common::v1;

constexpr uint64_t kNow = 1'700'000'000'000'000'000;
constexpr int64_t kSkew = 60'000'000'000;

std::vector<std::string> Kinds(Signal signal, const std::string& request) {
  std::vector<std::pair<std::string, std::string>> problems;
  ValidateRequest(signal, request, kNow, kSkew, &problems);
  std::vector<std::string> kinds;
  for (const auto& [kind, detail] : problems) kinds.push_back(kind);
  std::sort(kinds.begin(), kinds.end());
  return kinds;
}

using K = std::vector<std::string>;

std::string Id(size_t n, char c) { return std::string(n, c); }

// A root and a child of trace 0x01.., with an event inside the child, all over by kNow
// (when the request is received).
ct::ExportTraceServiceRequest Trace() {
  ct::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("checkout");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("io.opentelemetry.http");
  ss->mutable_scope()->set_version("2.11.0-alpha");
  auto* root = ss->add_spans();
  root->set_trace_id(Id(16, '\x01'));
  root->set_span_id(Id(8, '\x02'));
  root->set_name("GET /cart");
  root->set_start_time_unix_nano(kNow - 1000);
  root->set_end_time_unix_nano(kNow);
  auto* child = ss->add_spans();
  child->set_trace_id(Id(16, '\x01'));
  child->set_span_id(Id(8, '\x03'));
  child->set_parent_span_id(Id(8, '\x02'));
  child->set_name("SELECT cart");
  child->set_start_time_unix_nano(kNow - 990);
  child->set_end_time_unix_nano(kNow - 100);
  auto* a = child->add_attributes();
  a->set_key("db.system.name");
  a->mutable_value()->mutable_array_value()->add_values()->set_string_value("postgresql");
  auto* e = child->add_events();
  e->set_name("retry");
  e->set_time_unix_nano(kNow - 980);
  return req;
}

tp::Span* Span(ct::ExportTraceServiceRequest& req, int i) {
  return req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(i);
}

TEST_CASE("validate: traces") {
  ct::ExportTraceServiceRequest req = Trace();
  SECTION("a well-formed request has no problem") {}
  SECTION("IDs of the wrong size or all zero") {
    Span(req, 0)->set_trace_id(Id(15, '\x01'));
    Span(req, 1)->set_span_id(Id(8, '\0'));
    Span(req, 1)->set_parent_span_id(Id(7, '\x02'));
    const K want = {"bad_parent_span_id", "bad_span_id", "bad_trace_id"};
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == want);
    return;
  }
  SECTION("the same span twice") {
    *req.mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans() = *Span(req, 1);
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == K{"duplicate_span_id"});
    return;
  }
  SECTION("times out of the window, and an end before the start") {
    Span(req, 0)->set_start_time_unix_nano(kNow + 2 * kSkew);
    Span(req, 0)->set_end_time_unix_nano(kNow + 2 * kSkew + 1);
    Span(req, 1)->set_end_time_unix_nano(kNow - 1000);
    Span(req, 1)->mutable_events(0)->set_time_unix_nano(kNow - 985);  // After the end now.
    const K want = {"end_before_start", "event_outside_span", "span_ends_after_receipt",
                    "time_out_of_window"};
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == want);
    return;
  }
  SECTION("a start time of zero") {
    Span(req, 1)->set_start_time_unix_nano(0);
    Span(req, 1)->mutable_events(0)->set_time_unix_nano(kNow - 50);
    const K want = {"event_outside_span", "time_out_of_window"};
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == want);
    return;
  }
  SECTION("a span that ends after the request arrived (a real SDK exports ended spans)") {
    Span(req, 1)->set_end_time_unix_nano(kNow + 1);
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == K{"span_ends_after_receipt"});
    return;
  }
  SECTION("an instrumentation scope without a version") {
    req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_scope()->clear_version();
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == K{"scope_without_version"});
    return;
  }
  SECTION("a parent missing from a request that holds its root") {
    Span(req, 1)->set_parent_span_id(Id(8, '\x09'));
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()) == K{"parent_not_in_request"});
    return;
  }
  SECTION("a parent missing where the root is elsewhere (a trace split across requests)") {
    Span(req, 0)->set_parent_span_id(Id(8, '\x07'));
    CHECK(Kinds(Signal::kTraces, req.SerializeAsString()).empty());
    return;
  }
  SECTION("a problem's detail names the span") {
    Span(req, 1)->set_span_id("");
    std::vector<std::pair<std::string, std::string>> problems;
    ValidateRequest(Signal::kTraces, req.SerializeAsString(), kNow, kSkew, &problems);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].second == "span 'SELECT cart'");
    return;
  }
  CHECK(Kinds(Signal::kTraces, req.SerializeAsString()).empty());
}

cm::ExportMetricsServiceRequest Metrics() {
  cm::ExportMetricsServiceRequest req;
  auto* sm = req.add_resource_metrics()->add_scope_metrics();
  sm->mutable_scope()->set_name("hostmetricsreceiver");
  sm->mutable_scope()->set_version("0.140.0");
  auto* gauge = sm->add_metrics();
  gauge->set_name("system.cpu.utilization");
  auto* p = gauge->mutable_gauge()->add_data_points();
  p->set_time_unix_nano(kNow);
  p->set_as_double(0.5);
  auto* hist = sm->add_metrics();
  hist->set_name("http.server.request.duration");
  hist->mutable_histogram()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* h = hist->mutable_histogram()->add_data_points();
  h->set_start_time_unix_nano(kNow - 1000);
  h->set_time_unix_nano(kNow);
  for (double b : {0.1, 0.5}) h->add_explicit_bounds(b);
  for (uint64_t c : {3, 4, 5}) h->add_bucket_counts(c);
  h->set_count(12);
  auto* sum = sm->add_metrics();
  sum->set_name("http.server.active_requests");
  auto* s = sum->mutable_sum()->add_data_points();
  s->set_start_time_unix_nano(kNow - 10);
  s->set_time_unix_nano(kNow);
  auto* summary = sm->add_metrics();
  summary->set_name("rpc.server.duration");
  summary->mutable_summary()->add_data_points()->set_time_unix_nano(kNow);
  auto* exp = sm->add_metrics();
  exp->set_name("exp");
  exp->mutable_exponential_histogram()->add_data_points()->set_time_unix_nano(kNow);
  return req;
}

mp::Metric* Metric(cm::ExportMetricsServiceRequest& req, int i) {
  return req.mutable_resource_metrics(0)->mutable_scope_metrics(0)->mutable_metrics(i);
}

TEST_CASE("validate: metrics") {
  cm::ExportMetricsServiceRequest req = Metrics();
  SECTION("a well-formed request has no problem") {}
  SECTION("point times out of the window, on every point type") {
    Metric(req, 0)->mutable_gauge()->mutable_data_points(0)->set_time_unix_nano(0);
    Metric(req, 3)->mutable_summary()->mutable_data_points(0)->set_time_unix_nano(kNow - 2 * kSkew);
    Metric(req, 4)->mutable_exponential_histogram()->mutable_data_points(0)->set_time_unix_nano(
        kNow + 2 * kSkew);
    const K want = {"time_out_of_window", "time_out_of_window", "time_out_of_window"};
    CHECK(Kinds(Signal::kMetrics, req.SerializeAsString()) == want);
    return;
  }
  SECTION("a scope without a version") {
    req.mutable_resource_metrics(0)->mutable_scope_metrics(0)->clear_scope();
    CHECK(Kinds(Signal::kMetrics, req.SerializeAsString()) == K{"scope_without_version"});
    return;
  }
  SECTION("a start after the point's time") {
    Metric(req, 2)->mutable_sum()->mutable_data_points(0)->set_start_time_unix_nano(kNow + 1);
    CHECK(Kinds(Signal::kMetrics, req.SerializeAsString()) == K{"start_after_time"});
    return;
  }
  SECTION("a histogram whose buckets do not add up to its count") {
    Metric(req, 1)->mutable_histogram()->mutable_data_points(0)->set_count(13);
    CHECK(Kinds(Signal::kMetrics, req.SerializeAsString()) == K{"histogram_inconsistent"});
    return;
  }
  SECTION("a histogram with one bucket too few for its bounds") {
    auto* h = Metric(req, 1)->mutable_histogram()->mutable_data_points(0);
    h->add_explicit_bounds(1.0);
    CHECK(Kinds(Signal::kMetrics, req.SerializeAsString()) == K{"histogram_inconsistent"});
    return;
  }
  SECTION("a problem's detail names the metric") {
    Metric(req, 2)->mutable_sum()->mutable_data_points(0)->set_start_time_unix_nano(kNow + 1);
    std::vector<std::pair<std::string, std::string>> problems;
    ValidateRequest(Signal::kMetrics, req.SerializeAsString(), kNow, kSkew, &problems);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].second == "http.server.active_requests");
    return;
  }
  CHECK(Kinds(Signal::kMetrics, req.SerializeAsString()).empty());
}

TEST_CASE("validate: logs") {
  cl::ExportLogsServiceRequest req;
  auto* sl = req.add_resource_logs()->add_scope_logs();
  sl->mutable_scope()->set_name("io.opentelemetry.logback-appender-1.0");
  sl->mutable_scope()->set_version("2.11.0-alpha");
  auto* correlated = sl->add_log_records();
  correlated->set_time_unix_nano(kNow);
  correlated->set_observed_time_unix_nano(kNow);
  correlated->set_trace_id(Id(16, '\x05'));
  correlated->set_span_id(Id(8, '\x06'));
  correlated->mutable_body()->set_string_value("cart updated");
  auto* bare = sl->add_log_records();  // No times, no IDs: allowed.
  bare->mutable_body()->mutable_kvlist_value()->add_values()->set_key("k");
  auto* log = sl->mutable_log_records(0);
  SECTION("a well-formed request has no problem") {}
  SECTION("bad IDs, a span without a trace, times out of the window") {
    log->set_trace_id("");
    log->set_span_id(Id(8, '\0'));
    log->set_observed_time_unix_nano(kNow + 2 * kSkew);
    bare->set_trace_id(Id(3, '\x01'));
    const K want = {"bad_span_id", "bad_trace_id", "span_without_trace", "time_out_of_window"};
    CHECK(Kinds(Signal::kLogs, req.SerializeAsString()) == want);
    return;
  }
  CHECK(Kinds(Signal::kLogs, req.SerializeAsString()).empty());
}

bool Undecodable(Signal signal, const std::string& request) {
  std::vector<std::pair<std::string, std::string>> problems;
  ValidateRequest(signal, request, kNow, kSkew, &problems);
  return std::any_of(problems.begin(), problems.end(),
                     [](const auto& p) { return p.first == "undecodable_request"; });
}

template <typename Request>
bool ProtobufParses(const std::string& bytes) {
  Request req;
  return req.ParseFromString(bytes);
}

TEST_CASE("validate: a request is undecodable exactly when protobuf refuses it") {
  SECTION("a payload of another signal") {
    const std::string traces = Trace().SerializeAsString();
    CHECK_FALSE(ProtobufParses<cl::ExportLogsServiceRequest>(traces));
    CHECK(Undecodable(Signal::kLogs, traces));
    CHECK_FALSE(Undecodable(Signal::kTraces, traces));
  }
  SECTION("invalid UTF-8 in a string, at any depth") {
    for (int where = 0; where < 4; ++where) {
      ct::ExportTraceServiceRequest req = Trace();
      const std::string bad = "caf\xC3";  // A truncated two-byte sequence.
      if (where == 0) Span(req, 0)->set_name(bad);
      if (where == 1)
        req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_scope()->set_version(bad);
      if (where == 2)
        Span(req, 1)
            ->mutable_attributes(0)
            ->mutable_value()
            ->mutable_array_value()
            ->mutable_values(0)
            ->set_string_value(bad);
      if (where == 3) Span(req, 1)->mutable_events(0)->set_name(bad);
      std::string bytes;
      req.SerializePartialToString(&bytes);
      INFO("where " << where);
      CHECK_FALSE(ProtobufParses<ct::ExportTraceServiceRequest>(bytes));
      CHECK(Undecodable(Signal::kTraces, bytes));
    }
    // Bytes fields are not text: any bytes are fine there.
    ct::ExportTraceServiceRequest req = Trace();
    Span(req, 0)->set_trace_id("\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3\xC3");
    CHECK(ProtobufParses<ct::ExportTraceServiceRequest>(req.SerializeAsString()));
    CHECK_FALSE(Undecodable(Signal::kTraces, req.SerializeAsString()));
  }
  SECTION("packed histogram buckets cut short") {
    // A histogram point whose packed bucket_counts (field 6, fixed64) hold 23 bytes.
    std::string point;
    wire::AppendLenField(&point, 6, std::string(23, '\x01'));
    std::string histogram, metric, scope, resource, request;
    wire::AppendLenField(&histogram, 1, point);
    wire::AppendLenField(&metric, 9, histogram);
    wire::AppendLenField(&scope, 2, metric);
    wire::AppendLenField(&resource, 2, scope);
    wire::AppendLenField(&request, 1, resource);
    CHECK_FALSE(ProtobufParses<cm::ExportMetricsServiceRequest>(request));
    CHECK(Undecodable(Signal::kMetrics, request));
  }
  SECTION("a field of the wrong wire type is an unknown field, not an error") {
    std::string bytes = Trace().SerializeAsString();
    bytes += "\x0D\x01\x02\x03\x04";  // Field 1 (resource_spans, a message) as a fixed32.
    CHECK(ProtobufParses<ct::ExportTraceServiceRequest>(bytes));
    CHECK_FALSE(Undecodable(Signal::kTraces, bytes));
  }
  SECTION("nesting as deep as protobuf allows, and one deeper") {
    for (int depth = 90; depth <= 110; ++depth) {
      cp::AnyValue value;
      cp::AnyValue* v = &value;
      for (int i = 0; i < depth; ++i) v = v->mutable_array_value()->add_values();
      v->set_int_value(1);
      ct::ExportTraceServiceRequest req = Trace();
      *Span(req, 0)->add_attributes()->mutable_value() = value;
      const std::string bytes = req.SerializeAsString();
      INFO("depth " << depth);
      CHECK(Undecodable(Signal::kTraces, bytes) ==
            !ProtobufParses<ct::ExportTraceServiceRequest>(bytes));
    }
  }
}

}  // namespace
}  // namespace loadgen
