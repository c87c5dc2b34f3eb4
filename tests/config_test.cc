#include "generator/config.h"

#include <cstdlib>

#include "catch2/catch.hpp"
#include "common/otlp_signal.h"
#include "sender/config.h"
#include "tests/test_util.h"

namespace loadgen {
namespace {

using testing::TempDir;
using testing::WriteText;

std::string SenderError(const std::string& yaml) {
  TempDir dir;
  const std::string path = dir.File("sender.yaml");
  WriteText(path, yaml);
  SenderConfig c;
  auto s = ApplySenderConfigFile(path, &c);
  return s.ok() ? "" : std::string(s.message());
}

TEST_CASE("the shipped configs load") {
  SenderConfig s;
  REQUIRE(ApplySenderConfigFile(testing::SourceDir() + "/configs/sender.yaml", &s).ok());
  CHECK(s.traces_file == "./generated/telemetry-traces.pb");
  CHECK(s.insecure);
  auto g = LoadGeneratorConfig(testing::SourceDir() + "/configs/generator.yaml");
  REQUIRE(g.ok());
  CHECK(g->output_directory == "./generated");
  CHECK(g->output_prefix == "telemetry");
}

TEST_CASE("unknown keys name file, line and the nearest valid key") {
  const std::string err = SenderError("sending:\n  rate_limt:\n    events_per_second: 5\n");
  CHECK_THAT(err, Catch::Contains("sender.yaml:2:3: unknown key 'sending.rate_limt'"));
  CHECK_THAT(err, Catch::Contains("did you mean 'rate_limit'?"));
}

TEST_CASE("wrong types and values name the key and what was expected") {
  CHECK_THAT(SenderError("sending:\n  rate_limit:\n    events_per_second: fast\n"),
             Catch::Contains(":3:24: sending.rate_limit.events_per_second: expected a number, "
                             "got \"fast\""));
  CHECK_THAT(SenderError("sending:\n  duration: soon\n"),
             Catch::Contains("sending.duration: expected a duration such as 500ms, 10s"));
  CHECK_THAT(SenderError("sending:\n  duration: -5s\n"),
             Catch::Contains("sending.duration: a duration cannot be negative"));
  CHECK_THAT(SenderError("sending:\n  concurrency: 0\n"),
             Catch::Contains("sending.concurrency: must be between 1 and 1024, got 0"));
  CHECK_THAT(SenderError("otlp:\n  insecure: maybe\n"),
             Catch::Contains("otlp.insecure: expected true or false, got \"maybe\""));
  CHECK_THAT(SenderError("otlp: [1, 2]\n"), Catch::Contains("otlp: expected a map of settings"));
  CHECK_THAT(SenderError("otlp:\n  compression: brotli\n"),
             Catch::Contains("otlp.compression: expected none, gzip or zstd, got \"brotli\""));
  CHECK_THAT(SenderError("sending: {\n"), Catch::Contains("invalid YAML"));
}

TEST_CASE("compression: the codec, and a level within the codec's range") {
  auto load = [](const std::string& yaml, SenderConfig* c) {
    TempDir dir;
    WriteText(dir.File("s.yaml"), yaml);
    return ApplySenderConfigFile(dir.File("s.yaml"), c);
  };
  SenderConfig c;
  REQUIRE(load("otlp:\n  compression: zstd\n  compression_level: 19\n", &c).ok());
  CHECK(c.compression == Compression::kZstd);
  CHECK(c.compression_level == 19);
  SenderConfig d;
  REQUIRE(load("otlp:\n  compression: gzip\n", &d).ok());
  CHECK(d.compression == Compression::kGzip);
  CHECK(d.compression_level == 1);  // The fastest, by default.
  CHECK_THAT(SenderError("otlp:\n  compression: gzip\n  compression_level: 13\n"),
             Catch::EndsWith(":3:22: otlp.compression_level: gzip takes levels 1 to 12, got 13"));
  CHECK_THAT(SenderError("otlp:\n  compression: zstd\n  compression_level: 0\n"),
             Catch::EndsWith("otlp.compression_level: zstd takes levels 1 to 22, got 0"));
  CHECK_THAT(SenderError("otlp:\n  compression_level: 30\n"),
             Catch::EndsWith("otlp.compression_level: gzip takes levels 1 to 12, zstd takes "
                             "levels 1 to 22, got 30"));
  CHECK_THAT(SenderError("otlp:\n  compression: zstd\n  compression_level: fast\n"),
             Catch::Contains("otlp.compression_level: expected an integer, got \"fast\""));
  CHECK_THAT(SenderError("otlp:\n  compression: GZIP\n"),
             Catch::Contains("otlp.compression: expected none, gzip or zstd, got \"GZIP\""));
}

TEST_CASE("pacing_interval must be above 0 and at most 1h") {
  CHECK_THAT(
      SenderError("sending:\n  pacing_interval: 0s\n"),
      Catch::Contains(":2:20: sending.pacing_interval: must be above 0 and at most 1h, got 0s"));
  CHECK_THAT(SenderError("sending:\n  pacing_interval: 2h\n"),
             Catch::Contains("sending.pacing_interval: must be above 0 and at most 1h, got 2h"));
  CHECK(SenderError("sending:\n  duration: 2s\n  pacing_interval: 3s\n").empty());
}

TEST_CASE("a missing config file is named") {
  SenderConfig c;
  auto s = ApplySenderConfigFile("/nonexistent/sender.yaml", &c);
  CHECK_THAT(std::string(s.message()), Catch::Contains("/nonexistent/sender.yaml"));
  auto g = LoadGeneratorConfig("/nonexistent/generator.yaml");
  CHECK_THAT(std::string(g.status().message()), Catch::Contains("/nonexistent/generator.yaml"));
}

TEST_CASE("${VAR} expands from the environment, and an unset one is an error") {
  setenv("LOADGEN_TEST_TOKEN", "s3cret", 1);
  TempDir dir;
  WriteText(dir.File("s.yaml"), "otlp:\n  headers:\n    x-api-key: \"${LOADGEN_TEST_TOKEN}\"\n");
  SenderConfig c;
  REQUIRE(ApplySenderConfigFile(dir.File("s.yaml"), &c).ok());
  REQUIRE(c.headers.size() == 1);
  CHECK(c.headers[0].second == "s3cret");
  unsetenv("LOADGEN_TEST_TOKEN");
  const std::string err =
      SenderError("otlp:\n  headers:\n    x-api-key: \"${LOADGEN_TEST_TOKEN}\"\n");
  CHECK_THAT(err, Catch::Contains("otlp.headers.x-api-key: environment variable "
                                  "LOADGEN_TEST_TOKEN is not set"));
}

TEST_CASE("OTEL_EXPORTER_OTLP_* sets defaults that the file overrides") {
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:5555", 1);
  setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=x%20y", 1);
  setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
  SenderConfig c;
  REQUIRE(ApplyOtelEnvironment(&c).ok());
  CHECK(c.endpoint == "http://127.0.0.1:5555");
  REQUIRE(c.headers.size() == 2);
  CHECK(c.headers[1] == std::pair<std::string, std::string>{"b", "x y"});
  CHECK(c.timeout == std::chrono::milliseconds(2500));
  setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://127.0.0.1:6666", 1);
  REQUIRE(ApplyOtelEnvironment(&c).ok());
  auto targets = ResolveGrpcTargets(&c);
  REQUIRE(targets.ok());
  CHECK((*targets)[SignalIndex(Signal::kTraces)] == "127.0.0.1:5555");
  CHECK((*targets)[SignalIndex(Signal::kLogs)] == "127.0.0.1:6666");  // The signal's own wins.
  CHECK(c.insecure);                                                  // http:// means plaintext.
  unsetenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");

  TempDir dir;
  WriteText(dir.File("s.yaml"), "otlp:\n  endpoint: 127.0.0.1:4317\n");
  REQUIRE(ApplySenderConfigFile(dir.File("s.yaml"), &c).ok());
  CHECK(c.endpoint == "127.0.0.1:4317");
  setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", 1);
  CHECK_THAT(std::string(ApplyOtelEnvironment(&c).message()),
             Catch::Contains("OTEL_EXPORTER_OTLP_TIMEOUT"));
  unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
  unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");
}

TEST_CASE("every OTEL_* value is validated like the config key it stands for") {
  struct Case {
    const char* name;
    const char* value;
    const char* error;
  };
  const Case cases[] = {
      {"OTEL_EXPORTER_OTLP_INSECURE", "yes please",
       "OTEL_EXPORTER_OTLP_INSECURE: expected true or false, got \"yes please\""},
      {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc%0Adef",
       "OTEL_EXPORTER_OTLP_HEADERS: header 'api-key': its value holds a line break (the value "
       "is not shown); values must be printable ASCII"},
      {"OTEL_EXPORTER_OTLP_HEADERS", "my key=1",
       "OTEL_EXPORTER_OTLP_HEADERS: header 'my key': a name may hold only letters, digits, '-', "
       "'_' and '.'"},
      {"OTEL_EXPORTER_OTLP_HEADERS", "Content-Type=text/plain",
       "OTEL_EXPORTER_OTLP_HEADERS: header 'content-type' is set by the transport and cannot be "
       "configured"},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "brotli",
       "OTEL_EXPORTER_OTLP_COMPRESSION: expected none, gzip or zstd, got \"brotli\""},
  };
  for (const Case& c : cases) {
    setenv(c.name, c.value, 1);
    SenderConfig config;
    const absl::Status s = ApplyOtelEnvironment(&config);
    unsetenv(c.name);
    INFO(c.name << "=" << c.value);
    CHECK(std::string(s.message()) == c.error);
  }
  // Upper-case names are lower-cased, as the OTLP exporter spec does.
  setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Api-Key=k1", 1);
  setenv("OTEL_EXPORTER_OTLP_INSECURE", "TRUE", 1);
  SenderConfig config;
  REQUIRE(ApplyOtelEnvironment(&config).ok());
  unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
  unsetenv("OTEL_EXPORTER_OTLP_INSECURE");
  CHECK(config.headers == std::vector<std::pair<std::string, std::string>>{{"x-api-key", "k1"}});
  CHECK(config.insecure);
}

TEST_CASE("endpoints without a port or with a foreign scheme are refused") {
  for (const char* bad : {"127.0.0.1", "grpc://127.0.0.1:4317", "127.0.0.1:99999", ":4317"}) {
    SenderConfig c;
    c.endpoint = bad;
    INFO(bad);
    CHECK_FALSE(ResolveGrpcTargets(&c).ok());
  }
  SenderConfig mixed;
  mixed.endpoint = "https://127.0.0.1:4317";
  mixed.signal_endpoints[SignalIndex(Signal::kLogs)] = "http://127.0.0.1:4318";
  CHECK_THAT(std::string(ResolveGrpcTargets(&mixed).status().message()), Catch::Contains("mixing"));
}

TEST_CASE("generator config rules: percentages, ranges, unknown keys") {
  TempDir dir;
  auto err = [&](const std::string& yaml) {
    WriteText(dir.File("g.yaml"), yaml);
    auto c = LoadGeneratorConfig(dir.File("g.yaml"));
    return c.ok() ? std::string() : std::string(c.status().message());
  };
  CHECK_THAT(err("logs:\n  types:\n    http_access: {percentage: 50}\n"),
             Catch::Contains("logs.types: percentages must add up to 100, got 110"));
  CHECK_THAT(err("metrics:\n  timeseries_per_metric: {min: 9, max: 3}\n"),
             Catch::Contains("min (9) exceeds max (3)"));
  CHECK_THAT(err("traces:\n  cont: 5\n"),
             Catch::Contains("g.yaml:2:3: unknown key 'traces.cont'; did you mean 'count'?"));
  CHECK_THAT(err("traces:\n  count: -1\n"), Catch::Contains("traces.count: must be between 0"));
  CHECK(err("").empty());  // Every key has a default.
}

}  // namespace
}  // namespace loadgen
