// The fault suite: the real sender against a real otlp-sink that misbehaves on
// purpose (late start, SIGKILL and restart, refusals, throttling, stalls, slowness).
// Each case asserts that the sender's accounting matches what the sink accepted,
// event for event. Waiting is always on something the processes say (a progress line,
// an exit), never on the clock.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <optional>

#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

// Progress every 100 ms, so tests can follow the run line by line.
constexpr const char* kFastStats = "stats:\n  interval: 100ms\n";

int64_t Total(const std::string& sender_json, const char* key) {
  return JsonInt(sender_json, key, "\"total\"");
}

// Reads progress lines until one satisfies `done`; fails the test if the sender
// exits first. Returns that line.
template <typename Pred>
std::string WaitForProgress(Process& sender, Pred done) {
  std::string line;
  while (sender.ReadLine(&line)) {
    if (line.starts_with("[") && done(line)) return line;
  }
  sender.Wait();
  FAIL("the sender ended before the expected progress line:\n" << sender.out() << sender.err());
  return "";
}

// Per signal, the sender's accepted events must be what the sink counted.
void CheckPerSignal(const std::string& sent, const std::string& got) {
  CHECK(JsonInt(sent, "events_accepted", "\"traces\"") == JsonInt(got, "spans"));
  CHECK(JsonInt(sent, "events_accepted", "\"metrics\"") == JsonInt(got, "data_points"));
  CHECK(JsonInt(sent, "events_accepted", "\"logs\"") == JsonInt(got, "log_records"));
}

TEST_CASE("fault: a receiver that starts late is waited for with backoff, then gets everything") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string meta = ReadText(prefix + "-metadata.yaml");
  ClosedPort port;
  Process sender({BinaryPath("telemetry-sender"), "--config",
                  WriteSenderConfig(dir, prefix,
                                    std::string(kFastStats) +
                                        "sending:\n  retry:\n    initial_interval: 100ms\n"
                                        "    max_interval: 500ms\n    max_elapsed_time: 60s\n"),
                  "--endpoint", port.endpoint(), "--rate", "0", "--stats-json",
                  dir.File("sender.json")});
  // The sender has been refused (nobody listens) and is retrying with backoff.
  WaitForProgress(sender, [](const std::string& l) { return WordInt(l, "retries") >= 6; });
  port.Release();  // For the sink, at once.
  SinkProcess sink({}, port.port());
  REQUIRE(sender.Wait() == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  INFO(sender.out());
  CHECK(Total(sent, "events_failed") == 0);
  CHECK(Total(sent, "retries") >= 6);
  CheckPerSignal(sent, got);
  CHECK(SinkAccepted(got) ==
        MetaCount(meta, "spans") + MetaCount(meta, "data_points") + MetaCount(meta, "log_records"));
}

TEST_CASE("fault: a receiver SIGKILLed mid-run and restarted: accepted = sum over its lives") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string ledger = dir.File("sink.ledger");
  std::optional<SinkProcess> sink(std::in_place, std::vector<std::string>{"--ledger", ledger});
  const int port = sink->port();
  Process sender({BinaryPath("telemetry-sender"), "--config",
                  WriteSenderConfig(dir, prefix,
                                    std::string(kFastStats) +
                                        "sending:\n  retry:\n    initial_interval: 50ms\n"
                                        "    max_interval: 300ms\n    max_elapsed_time: 60s\n"),
                  "--endpoint", sink->endpoint(), "--rate", "30000", "--multiplier", "0",
                  "--duration", "4s", "--stats-json", dir.File("sender.json")});
  WaitForProgress(sender, [](const std::string& l) { return WordInt(l, "accepted") > 5000; });
  sink->Kill();
  // The sender notices (its calls fail and are retried) before the receiver is back.
  const std::string noticed =
      WaitForProgress(sender, [](const std::string& l) { return WordInt(l, "retries") >= 3; });
  sink.emplace(std::vector<std::string>{"--ledger", ledger}, port);
  REQUIRE(sender.Wait() == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink->Stop();
  INFO(sender.out() << got);
  // The ledger holds both lives; a request whose OK was lost in the kill and that was
  // then retried is a duplicate, counted once.
  CHECK(JsonInt(sent, "events_accepted", "\"traces\"") == JsonInt(got, "traces", "\"ledger\""));
  CHECK(JsonInt(sent, "events_accepted", "\"metrics\"") == JsonInt(got, "metrics", "\"ledger\""));
  CHECK(JsonInt(sent, "events_accepted", "\"logs\"") == JsonInt(got, "logs", "\"ledger\""));
  CHECK(Total(sent, "events_failed") == 0);
  CHECK(Total(sent, "retries") >= 3);                                    // Reported, not hidden.
  CHECK(Total(sent, "events_accepted") > WordInt(noticed, "accepted"));  // Went on after.
  CHECK_THAT(sender.out(), Catch::Contains("UNAVAILABLE"));
}

TEST_CASE("fault: 20% UNAVAILABLE - each refusal retried once, accounting exact") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink({"--fail-share", "0.2"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config",
                WriteSenderConfig(dir, prefix,
                                  "sending:\n  retry:\n    initial_interval: 10ms\n"
                                  "    max_interval: 50ms\n"),
                "--endpoint", sink.endpoint(), "--rate", "0", "--multiplier", "3", "--stats-json",
                dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  CheckPerSignal(sent, got);
  CHECK(Total(sent, "events_failed") == 0);
  const int64_t refused = SinkSum(got, "refused_requests");
  CHECK(refused > 0);
  CHECK(Total(sent, "retries") == refused);
  CHECK(JsonInt(sent, "peak", "\"in_flight\"") <= JsonInt(sent, "limit", "\"in_flight\""));
}

TEST_CASE("fault: RESOURCE_EXHAUSTED with RetryInfo - the sender waits as long as it is told") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink(
      {"--fail-share", "0.25", "--fail-code", "RESOURCE_EXHAUSTED", "--retry-after", "250ms"});
  // One worker, one request at a time: the retry waits add up in the elapsed time.
  // The sender's own backoff is 1 ms, so only RetryInfo can explain the wait.
  auto r = Run({BinaryPath("telemetry-sender"), "--config",
                WriteSenderConfig(dir, prefix,
                                  "sending:\n  concurrency: 1\n  max_in_flight: 1\n"
                                  "  retry:\n    initial_interval: 1ms\n    max_interval: 1ms\n"),
                "--endpoint", sink.endpoint(), "--rate", "0", "--multiplier", "8", "--stats-json",
                dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  CheckPerSignal(sent, got);
  CHECK(Total(sent, "retries") > 0);
  CHECK(Total(sent, "events_failed") == 0);
  // Each signal's one worker waited 250 ms per retry; the workers ran side by side.
  int64_t most = 0;
  for (const char* signal : {"\"traces\"", "\"metrics\"", "\"logs\""}) {
    most = std::max(most, JsonInt(sent, "retries", signal));
  }
  CHECK(JsonDouble(sent, "elapsed_seconds") >= 0.25 * static_cast<double>(most));
  CHECK_THAT(r.out, Catch::Contains("RESOURCE_EXHAUSTED (retried) x"));
}

TEST_CASE("fault: a slow receiver - requests in flight stay capped, accounting exact") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink({"--delay", "150ms", "--delay-jitter", "100ms"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config",
                WriteSenderConfig(dir, prefix, "sending:\n  concurrency: 3\n  max_in_flight: 2\n"),
                "--endpoint", sink.endpoint(), "--rate", "0", "--multiplier", "0", "--duration",
                "1500ms", "--stats-json", dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  CheckPerSignal(sent, got);
  CHECK(JsonInt(sent, "limit", "\"in_flight\"") == 6);  // 3 workers x 2.
  CHECK(JsonInt(sent, "peak", "\"in_flight\"") <= 6);
  CHECK(JsonInt(sent, "peak", "\"in_flight\"") >= 1);
  // Nothing was sent twice: with a 5 s timeout no call timed out.
  const int64_t sink_requests = SinkSum(got, "requests");
  CHECK(sink_requests == JsonInt(sent, "requests", "\"traces\"") +
                             JsonInt(sent, "requests", "\"metrics\"") +
                             JsonInt(sent, "requests", "\"logs\""));
  CHECK(JsonDouble(sent, "p50", "\"traces\"") >= 150);  // The sink's delay shows.
}

TEST_CASE("fault: after a receiver stall the sender catches up, and reports the lag") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink;
  constexpr int64_t kRate = 20000;
  Process sender({BinaryPath("telemetry-sender"), "--config",
                  WriteSenderConfig(dir, prefix, kFastStats), "--endpoint", sink.endpoint(),
                  "--rate", std::to_string(kRate), "--multiplier", "0", "--duration", "4s",
                  "--stats-json", dir.File("sender.json")});
  WaitForProgress(sender, [](const std::string& l) { return WordInt(l, "accepted") > 0; });
  sink.process().Signal(SIGSTOP);
  // The stall lasts 15 of the sender's progress intervals (1.5 s by its clock).
  int stalled_lines = 0;
  WaitForProgress(sender, [&](const std::string& l) {
    // While the receiver is stopped, the sender falls behind, and says so.
    if (stalled_lines >= 10) CHECK(WordInt(l, "lag") >= 500);
    return ++stalled_lines >= 15;
  });
  sink.process().Signal(SIGCONT);
  REQUIRE(sender.Wait() == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  INFO(sender.out());
  CheckPerSignal(sent, got);
  // The stall is not a silently lower load: what the schedule asked for during it was
  // sent when the receiver came back, so the run still delivers 4 s at the rate
  // (give or take half a request per signal, and 1%).
  const int64_t accepted = Total(sent, "events_accepted");
  CHECK(std::abs(accepted - kRate * 4) <= kRate * 4 / 100);
  // How far behind it was is in the summary: about the stall, and requests late.
  CHECK(JsonDouble(sent, "max", "\"schedule_lag_ms\"") >= 1000);
  CHECK(JsonInt(sent, "late_requests", "\"total\"") > 0);
  // Latency from the intended time shows the stall; the service time mostly not.
  CHECK(JsonDouble(sent, "p99", "\"intended_latency_ms\"") >
        JsonDouble(sent, "p50", "\"latency_ms\""));
}

TEST_CASE("fault: non-retryable refusals are rejected, reported once per cause") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string config = WriteSenderConfig(dir, prefix);

  SECTION("INVALID_ARGUMENT: the run continues by default") {
    SinkProcess sink({"--fail-share", "0.2", "--fail-code", "INVALID_ARGUMENT"});
    auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                  "--rate", "0", "--multiplier", "8", "--stats-json", dir.File("sender.json")});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string sent = ReadText(dir.File("sender.json"));
    const std::string got = sink.Stop();
    CheckPerSignal(sent, got);
    CHECK(Total(sent, "retries") == 0);
    CHECK(Total(sent, "events_failed") == 0);
    CHECK(Total(sent, "events_rejected") == SinkSum(got, "refused_items"));
    CHECK(Total(sent, "events_rejected") > 0);
    // One line per signal and cause, with its count and the receiver's message.
    size_t lines = 0;
    for (size_t at = r.out.find("INVALID_ARGUMENT x"); at != std::string::npos;
         at = r.out.find("INVALID_ARGUMENT x", at + 1)) {
      ++lines;
    }
    CHECK(lines >= 1);
    CHECK(lines <= 3);
    CHECK_THAT(r.out, Catch::Contains("refused on purpose"));
  }
  SECTION("INVALID_ARGUMENT with on_rejected: stop - the run stops, exit 3") {
    SinkProcess sink({"--fail-share", "0.2", "--fail-code", "INVALID_ARGUMENT"});
    auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                  "--rate", "0", "--multiplier", "0", "--on-rejected", "stop", "--stats-json",
                  dir.File("sender.json")});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.out, Catch::Contains("stopped on rejection: ") &&
                          Catch::Contains("INVALID_ARGUMENT: otlp-sink: refused on purpose"));
    const std::string sent = ReadText(dir.File("sender.json"));
    const std::string got = sink.Stop();
    CheckPerSignal(sent, got);  // What was in flight when it stopped is still counted.
    CHECK(Total(sent, "events_rejected") > 0);
  }
  SECTION("partial success: rejected items counted apart from accepted ones") {
    SinkProcess sink({"--reject-share", "0.1"});
    auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                  "--rate", "0", "--stats-json", dir.File("sender.json")});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string sent = ReadText(dir.File("sender.json"));
    const std::string got = sink.Stop();
    CheckPerSignal(sent, got);
    CHECK(Total(sent, "events_rejected") == SinkSum(got, "rejected_items"));
    CHECK(Total(sent, "events_rejected") > 0);
    CHECK(Total(sent, "retries") == 0);
    CHECK_THAT(r.out, Catch::Contains("partial_success x"));
  }
}

TEST_CASE("fault: a receiver capped below the offered rate - throttled, retried, exact") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink({"--max-rate", "20000"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config",
                WriteSenderConfig(dir, prefix,
                                  "sending:\n  retry:\n    initial_interval: 10ms\n"
                                  "    max_interval: 100ms\n"),
                "--endpoint", sink.endpoint(), "--rate", "0", "--multiplier", "0", "--duration",
                "2s", "--stats-json", dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  CheckPerSignal(sent, got);
  CHECK(Total(sent, "retries") > 0);
  CHECK_THAT(r.out, Catch::Contains("RESOURCE_EXHAUSTED"));
  // The cap holds: 20,000/s over the time the sink was busy (the run and the drain of
  // what was in flight), plus the sink's 0.1 s tolerance and one request.
  const double busy = JsonDouble(got, "active_seconds");
  CHECK(SinkAccepted(got) <= static_cast<int64_t>(20000 * (busy + 0.1)) + 8192);
  CHECK(SinkAccepted(got) >= static_cast<int64_t>(20000 * busy * 0.8));
}

TEST_CASE("fault: SIGINT during heavy sending - summary, exit 0, in flight bounded") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink({"--delay", "20ms"});
  Process sender({BinaryPath("telemetry-sender"), "--config",
                  WriteSenderConfig(dir, prefix, kFastStats), "--endpoint", sink.endpoint(),
                  "--rate", "0", "--multiplier", "0", "--stats-json", dir.File("sender.json")});
  WaitForProgress(sender, [](const std::string& l) { return WordInt(l, "accepted") > 20000; });
  sender.Signal(SIGINT);
  REQUIRE(sender.Wait() == 0);
  CHECK_THAT(sender.out(), Catch::Contains("(interrupted)"));
  CHECK_THAT(sender.out(), Catch::Contains("requests in flight: peak"));
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  CheckPerSignal(sent, got);
  CHECK(JsonInt(sent, "peak", "\"in_flight\"") <= JsonInt(sent, "limit", "\"in_flight\""));
}

TEST_CASE("fault: nothing listening - the run ends on time, says why at once, and fails") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  // The helper's config has a 5 s request timeout; the retry budget is the default 60 s.
  const std::string config = WriteSenderConfig(dir, prefix, kFastStats);
  const ClosedPort port;  // Bound, never listening: connections are refused.
  const std::string closed = port.endpoint();
  constexpr auto kBound = std::chrono::seconds(2 + 5);
  auto elapsed = [](auto start) { return std::chrono::steady_clock::now() - start; };

  SECTION("gRPC, --duration 2s") {
    const auto start = std::chrono::steady_clock::now();
    auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", closed,
                  "--rate", "2000", "--duration", "2s"});
    CHECK(elapsed(start) < kBound);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.out, Catch::Contains("(duration reached)"));
    CHECK_THAT(r.err, Catch::Contains("Connection refused (nothing listens there: is the "
                                      "receiver up, and is the endpoint right?)"));
  }
  SECTION("OTLP/HTTP, --duration 2s") {
    const auto start = std::chrono::steady_clock::now();
    auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--protocol", "http/protobuf",
                  "--endpoint", "http://" + closed, "--rate", "2000", "--duration", "2s"});
    CHECK(elapsed(start) < kBound);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("(nothing listens there"));
  }
  SECTION("the first SIGINT, whatever the retry state") {
    Process sender({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", closed,
                    "--rate", "2000", "--multiplier", "0"});
    WaitForProgress(sender, [](const std::string& l) { return WordInt(l, "retries") >= 3; });
    const auto start = std::chrono::steady_clock::now();
    sender.Signal(SIGINT);
    const int code = sender.Wait();
    CHECK(elapsed(start) < std::chrono::seconds(5));
    CHECK(code == 1);  // Nothing was ever accepted.
    CHECK_THAT(sender.out(), Catch::Contains("(interrupted)"));
    CHECK_THAT(sender.out(), Catch::Contains("stopped before retry"));
  }
}

}  // namespace
}  // namespace loadgen::testing
