// OTLP/HTTP end to end: the sender with --protocol http/protobuf against otlp-sink's
// OTLP/HTTP receiver on 127.0.0.1 (real processes), plain and gzip, and the faults
// the OTLP/HTTP spec names: 503 and 429 with Retry-After are retried, 400 is refused
// for good, partial success is counted as rejected.
#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

// An otlp-sink serving OTLP/HTTP too; the HTTP port is on its second line.
struct HttpSink {
  explicit HttpSink(std::vector<std::string> args = {}) : sink(With(std::move(args))) {
    std::string line;
    while (http_port == 0 && sink.process().ReadLine(&line)) {
      if (line.starts_with("otlp-sink OTLP/HTTP listening on ")) {
        http_port = std::atoi(line.c_str() + line.rfind(':') + 1);
      }
    }
    if (http_port == 0) throw std::runtime_error("no OTLP/HTTP port from otlp-sink");
  }
  static std::vector<std::string> With(std::vector<std::string> args) {
    args.insert(args.end(), {"--http-listen", "127.0.0.1:0", "--validate"});
    return args;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port); }
  SinkProcess sink;
  int http_port = 0;
};

RunResult SendHttp(const TempDir& dir, const std::string& prefix, const HttpSink& sink,
                   const std::string& extra, std::vector<std::string> flags) {
  std::vector<std::string> argv = {BinaryPath("telemetry-sender"),
                                   "--config",
                                   WriteSenderConfig(dir, prefix, extra),
                                   "--protocol",
                                   "http/protobuf",
                                   "--endpoint",
                                   sink.url(),
                                   "--rate",
                                   "0",
                                   "--stats-json",
                                   dir.File("sender.json")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return Run(argv);
}

void CheckExact(const std::string& sent, const std::string& got) {
  CHECK(JsonInt(sent, "events_accepted", "\"traces\"") == JsonInt(got, "spans"));
  CHECK(JsonInt(sent, "events_accepted", "\"metrics\"") == JsonInt(got, "data_points"));
  CHECK(JsonInt(sent, "events_accepted", "\"logs\"") == JsonInt(got, "log_records"));
  CHECK(JsonInt(got, "errors", "\"validation\"") == 0);
}

TEST_CASE("OTLP/HTTP delivers the dataset exactly, plain and gzip") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string meta = ReadText(prefix + "-metadata.yaml");
  const std::string compression = GENERATE(std::string("none"), std::string("gzip"));
  HttpSink sink;
  auto r =
      SendHttp(dir, prefix, sink, "  compression: " + compression + "\n", {"--multiplier", "2"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("/v1/traces") && Catch::Contains("OTLP/HTTP"));
  const std::string got = sink.sink.Stop();
  CheckExact(ReadText(dir.File("sender.json")), got);
  CHECK(JsonInt(got, "spans") == 2 * MetaCount(meta, "spans"));
  CHECK(JsonInt(got, "log_records") == 2 * MetaCount(meta, "log_records"));
}

TEST_CASE("OTLP/HTTP faults: 503 retried, 429 waits for Retry-After, 400 rejected") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SECTION("503 (UNAVAILABLE) is retried until accepted") {
    HttpSink sink({"--fail-share", "0.2"});
    // Eight replays: enough requests for every fifth to be refused.
    auto r = SendHttp(dir, prefix, sink, "sending:\n  retry: {initial_interval: 10ms}\n",
                      {"--multiplier", "8"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string sent = ReadText(dir.File("sender.json"));
    const std::string got = sink.sink.Stop();
    CheckExact(sent, got);
    CHECK(JsonInt(sent, "retries", "\"total\"") > 0);
    CHECK(JsonInt(sent, "events_failed", "\"total\"") == 0);
    CHECK_THAT(r.out, Catch::Contains("HTTP 503 (retried)"));
  }
  SECTION("429 with Retry-After: the sender waits the whole second") {
    HttpSink sink(
        {"--fail-share", "0.25", "--fail-code", "RESOURCE_EXHAUSTED", "--retry-after", "1s"});
    auto r = SendHttp(dir, prefix, sink,
                      "sending:\n  concurrency: 1\n  max_in_flight: 1\n"
                      "  retry: {initial_interval: 1ms, max_interval: 1ms}\n",
                      {"--multiplier", "4"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string sent = ReadText(dir.File("sender.json"));
    CheckExact(sent, sink.sink.Stop());
    int64_t most = 0;
    for (const char* signal : {"\"traces\"", "\"metrics\"", "\"logs\""}) {
      most = std::max(most, JsonInt(sent, "retries", signal));
    }
    CHECK(most > 0);
    CHECK(JsonDouble(sent, "elapsed_seconds") >= 1.0 * static_cast<double>(most));
    CHECK_THAT(r.out, Catch::Contains("HTTP 429 (retried)"));
  }
  SECTION("400 (INVALID_ARGUMENT) is rejected for good, and partial success counted") {
    HttpSink sink(
        {"--fail-share", "0.2", "--fail-code", "INVALID_ARGUMENT", "--reject-share", "0.1"});
    auto r = SendHttp(dir, prefix, sink, "", {"--multiplier", "8"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string sent = ReadText(dir.File("sender.json"));
    const std::string got = sink.sink.Stop();
    CheckExact(sent, got);
    CHECK(JsonInt(sent, "retries", "\"total\"") == 0);
    CHECK(JsonInt(sent, "events_rejected", "\"total\"") ==
          SinkSum(got, "refused_items") + SinkSum(got, "rejected_items"));
    CHECK_THAT(r.out, Catch::Contains("HTTP 400 x") &&
                          Catch::Contains("otlp-sink: refused on purpose") &&
                          Catch::Contains("partial_success x"));
  }
}

TEST_CASE("headers reach the receiver over gRPC and OTLP/HTTP (an API key it checks)") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const bool http = GENERATE(false, true);
  INFO((http ? "OTLP/HTTP" : "OTLP/gRPC"));
  HttpSink sink({"--require-header", "X-Api-Key=s3cret"});
  const std::string endpoint = http ? sink.url() : sink.sink.endpoint();
  const std::string protocol = http ? "http/protobuf" : "grpc";
  // With the key (from the environment, as a secret would come) everything arrives...
  auto with = Run(
      {BinaryPath("telemetry-sender"), "--config",
       WriteSenderConfig(dir, prefix, "  headers: {x-api-key: \"${LOADGEN_KEY}\"}\n"), "--protocol",
       protocol, "--endpoint", endpoint, "--rate", "0", "--stats-json", dir.File("with.json")},
      {"LOADGEN_KEY=s3cret"});
  INFO(with.out << with.err);
  REQUIRE(with.exit_code == 0);
  // ...without it, everything is refused for good, once per cause, and nothing counts.
  auto without = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                      "--protocol", protocol, "--endpoint", endpoint, "--rate", "0", "--stats-json",
                      dir.File("without.json")});
  CHECK(without.exit_code == 1);
  CHECK_THAT(without.out, Catch::Contains(http ? "HTTP 401 x" : "UNAUTHENTICATED x") &&
                              Catch::Contains("missing or wrong x-api-key header"));
  const std::string got = sink.sink.Stop();
  CHECK(SinkAccepted(got) ==
        JsonInt(ReadText(dir.File("with.json")), "events_accepted", "\"total\""));
  CHECK(SinkSum(got, "refused_items") ==
        JsonInt(ReadText(dir.File("without.json")), "events_rejected", "\"total\""));
  CHECK(with.out.find("s3cret") == std::string::npos);  // Never printed.
}

TEST_CASE("OTEL_EXPORTER_OTLP_PROTOCOL selects OTLP/HTTP, and bad values are named") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  HttpSink sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                "--endpoint", sink.url(), "--rate", "0"},
               {"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(JsonInt(sink.sink.Stop(), "spans") > 0);
  auto bad = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix)},
                 {"OTEL_EXPORTER_OTLP_PROTOCOL=http/json"});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err,
             Catch::Contains("OTEL_EXPORTER_OTLP_PROTOCOL: expected grpc or http/protobuf, got "
                             "\"http/json\""));
}

}  // namespace
}  // namespace loadgen::testing
