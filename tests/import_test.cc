// telemetry-generator import, as a user runs it: captured OTLP/JSON (the generator's own
// --json output, and a Collector-style file written here) made into templates, then
// replayed into a validating otlp-sink, against replaying the original templates.
#include <filesystem>
#include <map>
#include <set>

#include "catch2/catch.hpp"
#include "common/strings.h"
#include "common/template_file.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/test_util.h"

namespace loadgen {
namespace {

using namespace testing;
namespace tr = opentelemetry::proto::trace::v1;
using TraceRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using MetricsRequest = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using LogsRequest = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;

// The shape of a dataset's traces, whatever their IDs: for each trace, its spans as
// (name, parent's name, start offset from the trace's start), sorted.
std::multiset<std::vector<std::tuple<std::string, std::string, uint64_t>>> TraceShapes(
    const std::string& path) {
  std::map<std::string, std::vector<tr::Span>> traces;
  for (const TraceRequest& r : ReadTemplateRequests<TraceRequest>(path)) {
    for (const auto& rs : r.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) traces[s.trace_id()].push_back(s);
      }
    }
  }
  std::multiset<std::vector<std::tuple<std::string, std::string, uint64_t>>> shapes;
  for (const auto& [id, spans] : traces) {
    std::map<std::string, const tr::Span*> by_id;
    uint64_t first = UINT64_MAX;
    for (const tr::Span& s : spans) {
      by_id[s.span_id()] = &s;
      first = std::min<uint64_t>(first, s.start_time_unix_nano());
    }
    std::vector<std::tuple<std::string, std::string, uint64_t>> shape;
    for (const tr::Span& s : spans) {
      const auto parent = by_id.find(s.parent_span_id());
      shape.emplace_back(s.name(), parent == by_id.end() ? "" : parent->second->name(),
                         s.start_time_unix_nano() - first);
    }
    std::sort(shape.begin(), shape.end());
    shapes.insert(shape);
  }
  return shapes;
}

// Replays a dataset twice into a validating sink; its summary.
std::string Replay(const TempDir& dir, const std::string& data_dir, const std::string& prefix) {
  std::string config = ReadText(SourceDir() + "/configs/sender.yaml");
  for (const char* signal : {"traces", "metrics", "logs"}) {
    const std::string from = StrCat("./generated/telemetry-", signal, ".pb");
    config.replace(config.find(from), from.size(),
                   StrCat(data_dir, "/", prefix, "-", signal, ".pb"));
  }
  WriteText(dir.File(prefix + "-sender.yaml"), config);
  SinkProcess sink({"--validate"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File(prefix + "-sender.yaml"),
                "--endpoint", sink.endpoint(), "--rate", "0", "--multiplier", "2"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return sink.Stop();
}

TEST_CASE("import: the generator's --json output replays as the original templates do") {
  TempDir dir;
  auto g = Run({BinaryPath("telemetry-generator"), "--config",
                SourceDir() + "/configs/generator.yaml", "--output", dir.File("orig"), "--json"});
  REQUIRE(g.exit_code == 0);
  std::vector<std::string> import = {BinaryPath("telemetry-generator"),
                                     "import",
                                     "--output",
                                     dir.File("imported"),
                                     "--prefix",
                                     "telemetry"};
  for (const char* s : {"traces", "metrics", "logs"}) {
    import.push_back(dir.File(StrCat("orig/telemetry-", s, ".json")));
  }
  auto i = Run(import);
  INFO(i.out << i.err);
  REQUIRE(i.exit_code == 0);
  const std::string meta = ReadText(dir.File("imported/telemetry-metadata.yaml"));
  const std::string orig_meta = ReadText(dir.File("orig/telemetry-metadata.yaml"));
  for (const char* key : {"spans", "traces", "data_points", "log_records"}) {
    CHECK(MetaCount(meta, key) == MetaCount(orig_meta, key));
  }
  // The same trees, with the same relative timing.
  CHECK(TraceShapes(dir.File("imported/telemetry-traces.pb")) ==
        TraceShapes(dir.File("orig/telemetry-traces.pb")));
  // At the sink, two replays of each: the same counts, no validation error (cumulative
  // sums kept growing), and the same exemplar and log-record links resolved.
  const std::string a = Replay(dir, dir.File("orig"), "telemetry");
  const std::string b = Replay(dir, dir.File("imported"), "telemetry");
  for (const char* key : {"spans", "data_points", "log_records"}) {
    INFO(key);
    CHECK(JsonInt(b, key) == JsonInt(a, key));
  }
  CHECK(JsonInt(b, "errors", "\"validation\"") == 0);
  auto resolved = [](const std::string& summary, const char* kind) {
    return nlohmann::json::parse(summary)["validation"]["trace_context"][kind]["resolved"]
        .get<int64_t>();
  };
  CHECK(resolved(b, "exemplars") == resolved(a, "exemplars"));
  CHECK(resolved(b, "log_records") == resolved(a, "log_records"));
  CHECK(resolved(b, "log_records") > 0);
  // Byte-identical for the same input.
  import[3] = dir.File("again");
  REQUIRE(Run(import).exit_code == 0);
  for (const char* s : {"traces", "metrics", "logs"}) {
    CHECK(ReadText(dir.File(StrCat("again/telemetry-", s, ".pb"))) ==
          ReadText(dir.File(StrCat("imported/telemetry-", s, ".pb"))));
  }
}

// A Collector file exporter's output, by hand: one trace across two lines (a child
// before its parent), a log record inside it, a cumulative sum captured three times and
// a gauge; wall-clock times, hex IDs, attributes to scrub and to hash.
constexpr const char* kCollectorFile =
    R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"scope":{"name":"io.opentelemetry.tomcat"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /orders","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000050000000","attributes":[{"key":"user.id","value":{"stringValue":"u-42"}}]},{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0102030405060708","parentSpanId":"eee19b7ec3c1b175","name":"SELECT orders","kind":3,"startTimeUnixNano":"1700000000020000000","endTimeUnixNano":"1700000000030000000"}]}]}]}
{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000025000000","observedTimeUnixNano":"1700000000026000000","severityNumber":9,"body":{"stringValue":"order listed"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","attributes":[{"key":"client.address","value":{"stringValue":"203.0.113.7"}}]}]}]}]}
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"scope":{"name":"io.opentelemetry.tomcat"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"list orders","kind":1,"startTimeUnixNano":"1700000000010000000","endTimeUnixNano":"1700000000040000000","attributes":[{"key":"client.address","value":{"stringValue":"203.0.113.7"}},{"key":"user.id","value":{"stringValue":"u-42"}}]}]}]}]}
{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeMetrics":[{"scope":{"name":"io.opentelemetry.runtime"},"metrics":[{"name":"http.server.request.count","unit":"{request}","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"startTimeUnixNano":"1699999990000000000","timeUnixNano":"1700000000000000000","asInt":"10","attributes":[{"key":"http.route","value":{"stringValue":"/orders"}}]}]}},{"name":"jvm.thread.count","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asInt":"31"}]}}]}]}]}
{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeMetrics":[{"scope":{"name":"io.opentelemetry.runtime"},"metrics":[{"name":"http.server.request.count","unit":"{request}","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"startTimeUnixNano":"1699999990000000000","timeUnixNano":"1700000010000000000","asInt":"15","attributes":[{"key":"http.route","value":{"stringValue":"/orders"}}]},{"startTimeUnixNano":"1699999990000000000","timeUnixNano":"1700000020000000000","asInt":"20","attributes":[{"key":"http.route","value":{"stringValue":"/orders"}}]}]}}]}]}]}
)";

TEST_CASE("import: a Collector-style file, its trees, links, series and scrubbed attributes") {
  TempDir dir;
  WriteText(dir.File("capture.json"), kCollectorFile);
  auto r =
      Run({BinaryPath("telemetry-generator"), "import", "--output", dir.File("out"), "--prefix",
           "prod", "--scrub", "user.id", "--hash", "client.address", dir.File("capture.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto traces = ReadTemplateRequests<TraceRequest>(dir.File("out/prod-traces.pb"));
  REQUIRE(traces.size() == 1);  // The whole trace in one chunk.
  std::map<std::string, tr::Span> by_name;
  for (const auto& rs : traces[0].resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) by_name[s.name()] = s;
    }
  }
  REQUIRE(by_name.size() == 3);
  const tr::Span &root = by_name["GET /orders"], &mid = by_name["list orders"],
                 &leaf = by_name["SELECT orders"];
  // Renumbered IDs, links kept; times from the trace's first span at the epoch.
  CHECK(root.trace_id() == mid.trace_id());
  CHECK(root.trace_id().size() == 16);
  CHECK(root.trace_id().substr(0, 4) != "\x5b\x8e\xff\xf7");  // Not the captured ID.
  CHECK(root.parent_span_id().empty());
  CHECK(mid.parent_span_id() == root.span_id());
  CHECK(leaf.parent_span_id() == mid.span_id());
  CHECK(root.start_time_unix_nano() == kTemplateEpochNs);
  CHECK(mid.start_time_unix_nano() == kTemplateEpochNs + 10'000'000);
  CHECK(leaf.end_time_unix_nano() == kTemplateEpochNs + 30'000'000);
  // Scrubbed everywhere; hashed the same wherever the value is the same.
  for (const auto& [name, s] : by_name) {
    for (const auto& kv : s.attributes()) CHECK(kv.key() != "user.id");
  }
  REQUIRE(mid.attributes_size() == 1);
  const std::string hashed = mid.attributes(0).value().string_value();
  CHECK(hashed.rfind("hash:", 0) == 0);
  CHECK(hashed.find("203.0.113.7") == std::string::npos);

  const auto logs = ReadTemplateRequests<LogsRequest>(dir.File("out/prod-logs.pb"));
  REQUIRE(logs.size() == 1);
  const auto& record = logs[0].resource_logs(0).scope_logs(0).log_records(0);
  CHECK(record.trace_id() == root.trace_id());  // Still inside its trace...
  CHECK(record.span_id() == mid.span_id());     // ...and its span.
  CHECK(record.time_unix_nano() == kTemplateEpochNs);
  CHECK(record.observed_time_unix_nano() == kTemplateEpochNs + 1'000'000);
  CHECK(record.attributes(0).value().string_value() == hashed);

  // One point per series: the sum's last capture, still cumulative and monotonic.
  const auto metrics = ReadTemplateRequests<MetricsRequest>(dir.File("out/prod-metrics.pb"));
  REQUIRE(metrics.size() == 1);
  const auto& ms = metrics[0].resource_metrics(0).scope_metrics(0);
  REQUIRE(ms.metrics_size() == 2);
  const auto& sum = ms.metrics(0).sum();
  CHECK(sum.is_monotonic());
  CHECK(sum.aggregation_temporality() ==
        opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
  REQUIRE(sum.data_points_size() == 1);
  CHECK(sum.data_points(0).as_int() == 20);
  CHECK(sum.data_points(0).time_unix_nano() == kTemplateEpochNs);
  CHECK(ms.metrics(1).gauge().data_points(0).as_int() == 31);
  const std::string meta = ReadText(dir.File("out/prod-metadata.yaml"));
  CHECK(MetaCount(meta, "repeated_points_dropped") == 2);
  CHECK(MetaCount(meta, "traces") == 1);
}

TEST_CASE("import: bad input is named by file and line or byte offset, and nothing is written") {
  TempDir dir;
  const std::string first =
      std::string(kCollectorFile).substr(0, std::string(kCollectorFile).find('\n') + 1);
  WriteText(dir.File("mixed.json"), first + "GET /metrics HTTP/1.1\n");
  auto r = Run({BinaryPath("telemetry-generator"), "import", "--output", dir.File("out"),
                dir.File("mixed.json")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.File("mixed.json") + ":2: not an OTLP/JSON request"));
  WriteText(dir.File("broken.json"), first + "{\"resourceSpans\": [{\"scopeSpans\": [}\n");
  r = Run({BinaryPath("telemetry-generator"), "import", "--output", dir.File("out"),
           dir.File("broken.json")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.File("broken.json") + ":2: "));
  // A binary request cut short: named with the byte offset where the damage starts.
  WriteText(dir.File("one.json"), first);
  REQUIRE(Run({BinaryPath("telemetry-generator"), "import", "--output", dir.File("ok"), "--prefix",
               "p", dir.File("one.json")})
              .exit_code == 0);
  const auto chunks = ReadTemplateRequests<TraceRequest>(dir.File("ok/p-traces.pb"));
  const std::string request = chunks[0].SerializeAsString();
  WriteText(dir.File("cut.bin"), request.substr(0, request.size() - 7));
  r = Run({BinaryPath("telemetry-generator"), "import", "--output", dir.File("out"),
           dir.File("cut.bin")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err,
             Catch::Contains(dir.File("cut.bin") + ": byte offset 0: truncated or malformed"));
  // The whole request, as a binary file, imports.
  WriteText(dir.File("whole.bin"), request);
  CHECK(Run({BinaryPath("telemetry-generator"), "import", "--output", dir.File("bin"),
             dir.File("whole.bin")})
            .exit_code == 0);
  CHECK(std::filesystem::exists(dir.File("bin/imported-traces.pb")));
  // Nothing half-written where the imports failed.
  if (std::filesystem::exists(dir.File("out"))) CHECK(std::filesystem::is_empty(dir.File("out")));
}

}  // namespace
}  // namespace loadgen
