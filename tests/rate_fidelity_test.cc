// Rate fidelity at the shipped defaults (configs/*.yaml, the default dataset), real
// processes on 127.0.0.1: exact totals at low rates, evenly paced arrivals, per-series
// order at full speed, and an honest lag when the receiver cannot keep up.
#include <cmath>
#include <vector>

#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

// The numbers of the "items_per_second" list in otlp-sink's summary.
std::vector<int64_t> Arrivals(const std::string& sink_json) {
  std::vector<int64_t> out;
  size_t at = sink_json.find("\"items_per_second\": [");
  REQUIRE(at != std::string::npos);
  at = sink_json.find('[', at) + 1;
  const size_t end = sink_json.find(']', at);
  while (at < end) {
    size_t next = sink_json.find_first_of(",]", at);
    out.push_back(std::stoll(sink_json.substr(at, next - at)));
    at = next + 1;
  }
  return out;
}

TEST_CASE("defaults: 1,000 events/s for 5 s arrive within 2%") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink({"--validate"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "1000", "--duration", "5s", "--stats-json", dir.File("sender.json")},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("(duration reached)"));
  const std::string got = sink.Stop();
  CHECK(std::abs(SinkAccepted(got) - 5000) <= 5000 * 2 / 100);
  // Every signal arrived, each its share (metrics are 3% of the dataset: 150 points).
  CHECK(JsonInt(got, "data_points") >= 140);
  CHECK(JsonInt(got, "errors", "\"validation\"") == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  CHECK(JsonDouble(sent, "elapsed_seconds") >= 5.0);  // It lasts its duration.
}

TEST_CASE("defaults with late roots: 10,000 events/s for 5 s arrive within 2%") {
  // 20% of the traces have their root sent 300 ms after the rest: the roots take their
  // tokens from the same limiter.
  TempDir dir;
  const std::string config = DefaultSetup(dir, {}, LateRootEdits(20, 300));
  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "10000", "--duration", "5s"},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("late roots: ") && Catch::Contains(" 0 not sent"));
  const std::string got = sink.Stop();
  CHECK(std::abs(SinkAccepted(got) - 50000) <= 50000 * 2 / 100);
  CHECK(JsonInt(got, "log_records") >= 18000);
}

TEST_CASE("defaults: a run shorter than the pacing interval still runs and sends") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "10000", "--duration", "20ms"},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // 200 events are due; the default 50 ms interval shrank to the run, so whole requests
  // at the middle of their share went out.
  CHECK(SinkAccepted(sink.Stop()) > 0);
}

TEST_CASE("defaults: 10,000 events/s arrive paced, every full second within 5%") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "10000", "--duration", "5s"},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string got = sink.Stop();
  CHECK(std::abs(SinkAccepted(got) - 50000) <= 50000 * 2 / 100);
  const std::vector<int64_t> seconds = Arrivals(got);
  INFO(got);
  REQUIRE(seconds.size() >= 5);
  // The first and last seconds are partial; every one between holds a second's worth.
  for (size_t i = 1; i + 1 < seconds.size(); ++i) {
    INFO("second " << i);
    CHECK(std::abs(seconds[i] - 10000) <= 10000 * 5 / 100);
  }
}

TEST_CASE("defaults: at full speed, per-series order holds against a receiver that reorders") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  const int64_t points =
      MetaCount(ReadText(dir.File("generated/telemetry-metadata.yaml")), "data_points");
  // Every other request is answered 20 ms late: without the series gate, a replay's
  // points would overtake the previous replay's.
  SinkProcess sink({"--validate", "--delay", "20ms", "--delay-share", "0.5"});
  auto r = Run(
      {BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(), "--rate",
       "0", "--multiplier", "3", "--duration", "0", "--stats-json", dir.File("sender.json")},
      {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("(multiplier reached)"));
  const std::string got = sink.Stop();
  INFO(got);
  CHECK(JsonInt(got, "data_points") == 3 * points);
  CHECK(JsonInt(got, "series", "\"validation\"") == points);
  CHECK(JsonInt(got, "errors", "\"validation\"") == 0);  // No series out of order or back.
  CHECK(JsonInt(ReadText(dir.File("sender.json")), "limit", "\"in_flight\"") == 32);
}

TEST_CASE("defaults: a receiver slower than the schedule shows as growing lag") {
  TempDir dir;
  const std::string config = DefaultSetup(dir, {{"interval: 5s", "interval: 250ms"}});
  SinkProcess sink({"--max-rate", "4000"});  // A quarter of the target.
  Process sender({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                  "--rate", "16000", "--duration", "3s", "--stats-json", dir.File("sender.json")},
                 {}, dir.path());
  std::vector<int64_t> lags;
  std::string line;
  while (sender.ReadLine(&line)) {
    // Only lines within the 3 s of sending: the lag stops where the schedule ends.
    if (line.starts_with("[") && std::stod(line.substr(1)) <= 3.0) {
      lags.push_back(WordInt(line, "lag"));
    }
  }
  REQUIRE(sender.Wait() == 0);
  INFO(sender.out());
  sink.Stop();
  REQUIRE(lags.size() >= 8);
  // The sender falls further behind every second: 12,000 events a second of it.
  CHECK(lags.back() > lags[lags.size() / 2]);
  CHECK(lags[lags.size() / 2] > lags[1]);
  CHECK(lags.back() >= 1000);
  const std::string sent = ReadText(dir.File("sender.json"));
  // The worst lag includes the backlog never sent: at least the lag at the end.
  CHECK(JsonDouble(sent, "max", "\"schedule_lag_ms\"") >= 1000);
  CHECK(JsonDouble(sent, "max", "\"schedule_lag_ms\"") >=
        JsonDouble(sent, "final", "\"schedule_lag_ms\""));
  CHECK(JsonInt(sent, "late_requests", "\"total\"") > 0);
  // Latency from the intended send time carries the wait; the service time does not.
  CHECK(JsonDouble(sent, "p50", "\"intended_latency_ms\"") >
        2 * JsonDouble(sent, "p50", "\"latency_ms\""));
  CHECK_THAT(sender.out(), Catch::Contains("schedule: lag worst"));
}

}  // namespace
}  // namespace loadgen::testing
