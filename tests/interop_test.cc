// otlp-sink against a client it did not write: the official OpenTelemetry JS SDK and its
// OTLP exporters (tests/interop, pinned in its package-lock.json and installed by
// scripts/install-deps.sh), over gRPC, HTTP/protobuf and HTTP/JSON, and OTLP/JSON as
// the specification writes it, read back through a real curl request.
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "sink/otlp_sink.h"
#include "tests/test_util.h"

namespace loadgen {
namespace {

using testing::ReadText;
using testing::Run;
using testing::TempDir;
using testing::WriteText;

TEST_CASE("interop: the OpenTelemetry JS SDK's exporters deliver exactly to otlp-sink") {
  const std::string interop = testing::SourceDir() + "/tests/interop";
  INFO("scripts/install-deps.sh installs the SDK into tests/interop/node_modules");
  REQUIRE(Run({"/usr/bin/test", "-d", interop + "/node_modules/@opentelemetry"}).exit_code == 0);
  const auto [protocol, compression] = GENERATE(table<std::string, std::string>({
      {"grpc", "none"},
      {"grpc", "gzip"},
      {"http/protobuf", "none"},
      {"http/protobuf", "gzip"},
      {"http/json", "none"},
      {"http/json", "gzip"},
  }));
  INFO(protocol << " " << compression);
  SinkOptions options;
  options.validate = true;
  OtlpSink sink(options);
  auto port = protocol == "grpc" ? sink.Start("127.0.0.1:0") : sink.StartHttp("127.0.0.1:0");
  REQUIRE(port.ok());
  auto r = Run({"/usr/bin/env", "node", interop + "/send.js", protocol,
                "127.0.0.1:" + std::to_string(*port), compression});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  sink.Shutdown();
  const SinkSnapshot got = sink.Snapshot();
  for (const auto& e : got.examples) WARN(e);
  CHECK(got.items == std::array<uint64_t, 3>{12, 10, 4});
  CHECK(got.refused_requests == std::array<uint64_t, 3>{0, 0, 0});
  CHECK(got.malformed_requests == 0);
  CHECK(got.validation_errors == 0);
  CHECK(got.series == 10);
  // The log records name spans of the trace, which arrived.
  CHECK(got.log_links.named == 4);
  CHECK(got.log_links.resolved == 4);
}

// One POST from curl: "STATUS CONTENT-TYPE" and the body.
std::pair<std::string, std::string> Post(const TempDir& dir, int port, const std::string& path,
                                         const std::string& json) {
  WriteText(dir.File("request.json"), json);
  // Built by appending: GCC 12 warns falsely of overlap in "literal" + string (-Wrestrict).
  std::string data = "@", url = "http://127.0.0.1:";
  data += dir.File("request.json");
  url += std::to_string(port);
  url += path;
  auto r = Run({"/usr/bin/curl", "-s", "-S", "-o", dir.File("response"), "-w",
                "%{http_code} %{content_type}", "-H", "Content-Type: application/json",
                "--data-binary", data, url});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return {r.out, ReadText(dir.File("response"))};
}

TEST_CASE("interop: otlp-sink reads OTLP/JSON as the specification writes it") {
  TempDir dir;
  SinkOptions options;
  options.validate = true;
  OtlpSink sink(options);
  auto port = sink.StartHttp("127.0.0.1:0");
  REQUIRE(port.ok());
  // The specification's example shape: hex IDs, an integer enum, 64-bit integers as
  // strings and as numbers, snake_case beside camelCase, and keys it does not know.
  const std::string spans = R"({"resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}}]},
    "futureField": {"anything": [1, 2]},
    "scopeSpans": [{"scope": {"name": "io.opentelemetry.okhttp", "version": "2.1.0"},
      "spans": [
        {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
         "parentSpanId": "", "name": "GET /cart", "kind": 2,
         "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": 1544712661000000000,
         "attributes": [{"key": "http.response.status_code", "value": {"intValue": "200"}}],
         "status": {"code": 1}},
        {"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b175",
         "parent_span_id": "eee19b7ec3c1b174", "name": "SELECT cart", "kind": 3,
         "start_time_unix_nano": "1544712660100000000",
         "end_time_unix_nano": "1544712660200000000"}]}]}]})";
  auto [status, body] = Post(dir, *port, "/v1/traces", spans);
  CHECK(status == "200 application/json");
  CHECK(body == "{}");

  const std::string points = R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
    {"name": "queue.depth", "unit": "{item}", "gauge": {"dataPoints": [
      {"timeUnixNano": "1544712660300000000", "asInt": "12",
       "exemplars": [{"timeUnixNano": "1544712660300000000", "asDouble": 1.5,
                      "traceId": "5b8efff798038103d269b633813fc60c",
                      "spanId": "eee19b7ec3c1b175"}]}]}}]}]}]})";
  std::tie(status, body) = Post(dir, *port, "/v1/metrics", points);
  CHECK(status == "200 application/json");

  // Refusals name the place and what was expected, as JSON google.rpc.Status bodies.
  std::tie(status, body) =
      Post(dir, *port, "/v1/traces",
           R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "not-hex"}]}]}]})");
  CHECK(status == "400 application/json");
  CHECK_THAT(body, Catch::Contains(R"("code":3)") &&
                       Catch::Contains("resourceSpans[0].scopeSpans[0].spans[0].traceId") &&
                       Catch::Contains("hex"));
  std::tie(status, body) = Post(dir, *port, "/v1/logs", R"({"resourceLogs": [)");
  CHECK(status == "400 application/json");
  CHECK_THAT(body, Catch::Contains("not JSON"));
  std::tie(status, body) = Post(dir, *port, "/v1/logs", R"({"resourceLogs": 5})");
  CHECK(status == "400 application/json");
  CHECK_THAT(body, Catch::Contains("ExportLogsServiceRequest"));
  // A trace ID of the wrong length decodes; the validation counts it, as for protobuf.
  std::tie(status, body) = Post(
      dir, *port, "/v1/traces",
      R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abcd", "spanId": "eee19b7ec3c1b176", "name": "x"}]}]}]})");
  CHECK(status == "200 application/json");

  sink.Shutdown();
  const SinkSnapshot got = sink.Snapshot();
  CHECK(got.items[0] == 3);
  CHECK(got.items[1] == 1);
  CHECK(got.malformed_requests == 3);
  CHECK(got.exemplars.resolved == 1);  // The exemplar's span came in the first request.
  CHECK(got.errors_by_kind.count("bad_trace_id") == 1);
}

}  // namespace
}  // namespace loadgen
