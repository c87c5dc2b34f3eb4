// The real binaries against each other on 127.0.0.1: generator -> files -> sender -> sink.
#include <cmath>
#include <csignal>
#include <filesystem>

#include "catch2/catch.hpp"
#include "tests/browser.h"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

TEST_CASE("generator -> sender -> sink delivers exactly the dataset times the multiplier") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string meta = ReadText(prefix + "-metadata.yaml");
  SinkProcess sink({"--validate"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                "--endpoint", sink.endpoint(), "--rate", "0", "--multiplier", "3", "--stats-json",
                dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  INFO(sent << got);
  const int64_t spans = MetaCount(meta, "spans"), points = MetaCount(meta, "data_points"),
                records = MetaCount(meta, "log_records");
  CHECK(JsonInt(sent, "events_accepted", "\"traces\"") == 3 * spans);
  CHECK(JsonInt(sent, "events_accepted", "\"metrics\"") == 3 * points);
  CHECK(JsonInt(sent, "events_accepted", "\"logs\"") == 3 * records);
  CHECK(JsonInt(got, "spans") == 3 * spans);
  CHECK(JsonInt(got, "data_points") == 3 * points);
  CHECK(JsonInt(got, "log_records") == 3 * records);
  CHECK(JsonInt(got, "errors", "\"validation\"") == 0);
  CHECK(JsonInt(got, "malformed_requests") == 0);
  CHECK(JsonInt(sent, "events_failed", "\"total\"") == 0);
}

TEST_CASE("the default configs work together from the project layout") {
  TempDir dir;
  std::filesystem::create_directories(dir.File("configs"));
  for (const char* f : {"generator.yaml", "sender.yaml"}) {
    std::filesystem::copy_file(SourceDir() + "/configs/" + f,
                               dir.File(std::string("configs/") + f));
  }
  auto gen = Run({BinaryPath("telemetry-generator"), "--config", "configs/generator.yaml"}, {},
                 dir.path());
  INFO(gen.err);
  REQUIRE(gen.exit_code == 0);
  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", "configs/sender.yaml", "--endpoint",
                sink.endpoint(), "--multiplier", "1", "--duration", "0", "--rate", "0"},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string got = sink.Stop();
  const std::string meta = ReadText(dir.File("generated/telemetry-metadata.yaml"));
  CHECK(JsonInt(got, "spans") == MetaCount(meta, "spans"));
  CHECK(JsonInt(got, "log_records") == MetaCount(meta, "log_records"));
  CHECK_THAT(r.out, Catch::Contains("multiplier reached"));
}

TEST_CASE("a duration ends the run on time, with every sent event accounted for") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                "--endpoint", sink.endpoint(), "--rate", "20000", "--multiplier", "0", "--duration",
                "1s", "--stats-json", dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("(duration reached)"));
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  const int64_t accepted = JsonInt(sent, "events_accepted", "\"total\"");
  CHECK(accepted == SinkAccepted(got));
  CHECK(accepted > 0);
  // 20000/s for one second: the limiter sends each request when the schedule reaches
  // its middle, so the run delivers that within 1% (half a request per signal).
  CHECK(std::abs(accepted - 20000) <= 200);
}

TEST_CASE("at a set rate each signal gets its share of the dataset's events") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string meta = ReadText(prefix + "-metadata.yaml");
  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                "--endpoint", sink.endpoint(), "--rate", "30000", "--multiplier", "0", "--duration",
                "2s", "--stats-json", dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  sink.Stop();
  const std::string sent = ReadText(dir.File("sender.json"));
  const double dataset = static_cast<double>(
      MetaCount(meta, "spans") + MetaCount(meta, "data_points") + MetaCount(meta, "log_records"));
  const double total = static_cast<double>(JsonInt(sent, "events_sent", "\"total\""));
  REQUIRE(total > 0);
  for (auto [signal, key] :
       {std::pair{"\"traces\"", "spans"}, std::pair{"\"metrics\"", "data_points"},
        std::pair{"\"logs\"", "log_records"}}) {
    INFO(signal);
    const double share = MetaCount(meta, key) / dataset;
    // Within a request (one 50 ms pacing interval of the signal's rate) of its share.
    CHECK(std::abs(JsonInt(sent, "events_sent", signal) - share * total) <=
          share * 30000 * 0.05 + 30);
  }
}

TEST_CASE("a schedule shapes the load: ramps and steps followed, target beside achieved") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink;
  // 1 s at 4000/s, a ramp to 12000/s over 1 s, a step down to 2000/s for 1 s: 14000.
  const std::string config = WriteSenderConfig(
      dir, prefix,
      "sending:\n  multiplier: 0\n"
      "  schedule:\n    - {duration: 0s, target_rate: 4000}\n"
      "    - {duration: 1s, target_rate: 4000}\n    - {duration: 1s, target_rate: 12000}\n"
      "    - {duration: 0s, target_rate: 2000}\n    - {duration: 1s, target_rate: 2000}\n"
      "stats:\n  interval: 250ms\n");
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--stats-json", dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("(schedule completed)"));
  CHECK_THAT(r.out, Catch::Contains(
                        "step to 4000/s, 4000/s for 1s, ramp to 12000/s over 1s, step to 2000/s, "
                        "2000/s for 1s"));
  CHECK_THAT(r.out, Catch::Contains(", target 4000/s,"));
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  const int64_t accepted = JsonInt(sent, "events_accepted", "\"total\"");
  CHECK(accepted == SinkAccepted(got));
  // The schedule's integral, within 2% (half a request per signal at the end).
  CHECK(std::abs(accepted - 14000) <= 14000 * 2 / 100);
  // The time series: each interval's target, as the schedule says at that time.
  CHECK(JsonDouble(sent, "target", "\"intervals\"") == Approx(4000).margin(40));
  CHECK_THAT(sent, Catch::Contains("\"schedule\": \"step to 4000/s"));
}

TEST_CASE("a plan (--plan) sends nothing and predicts what a real run then sends") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string config = WriteSenderConfig(dir, prefix);
  // Nobody listens on port 9: a plan must not need a receiver.
  auto plan = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", "127.0.0.1:9",
                   "--rate", "20000", "--duration", "2s", "--multiplier", "0", "--plan",
                   "--stats-json", dir.File("plan.json")});
  INFO(plan.out << plan.err);
  REQUIRE(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("40000 events in 2 s") &&
                           Catch::Contains("nothing is sent") && Catch::Contains("per day"));
  const std::string planned = ReadText(dir.File("plan.json"));
  CHECK(JsonDouble(planned, "events", "\"plan\"") == Approx(40000));
  for (const char* codec : {"\"gzip\"", "\"zstd\""}) {
    INFO(codec);
    const double ratio = JsonDouble(planned, "ratio", codec);
    CHECK(ratio > 1.5);  // OTLP compresses well...
    CHECK(ratio < 50);   // ...but real frames carry random IDs, so not endlessly.
    CHECK(JsonDouble(planned, "cpu_seconds_per_million_events", codec) > 0);
  }

  SinkProcess sink;
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "20000", "--duration", "2s", "--multiplier", "0", "--stats-json",
                dir.File("sent.json")});
  REQUIRE(r.exit_code == 0);
  sink.Stop();
  const std::string sent = ReadText(dir.File("sent.json"));
  for (const char* signal : {"\"traces\"", "\"metrics\"", "\"logs\""}) {
    INFO(signal);
    // How many events the run sends is the plan's arithmetic, checked exactly on a fake
    // clock (worker_pool_test); this real run checks the plan's bytes per event, the
    // dataset's own, against the bytes it really sent.
    const double events = JsonDouble(sent, "events_sent", signal);
    const double planned_events = JsonDouble(planned, "events", signal);
    REQUIRE(events > 0);
    CHECK(JsonDouble(sent, "bytes", signal) / events ==
          Approx(JsonDouble(planned, "bytes", signal) / planned_events).epsilon(0.05));
  }
}

TEST_CASE("latency is measured when a request completes, also at a low rate") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  // The sink answers after 30 ms; requests go out every 50 ms per signal, so a worker
  // mostly waits for tokens, and must notice completions while it waits.
  SinkProcess sink({"--delay", "30ms"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                "--endpoint", sink.endpoint(), "--rate", "1000", "--duration", "2s", "--multiplier",
                "0", "--stats-json", dir.File("sender.json")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  sink.Stop();
  const std::string sent = ReadText(dir.File("sender.json"));
  for (const char* signal : {"\"traces\"", "\"logs\""}) {
    INFO(signal);
    CHECK(JsonDouble(sent, "p50", signal) >= 30);
    CHECK(JsonDouble(sent, "p50", signal) < 80);  // Was the wait for the next tokens too.
  }
}

// The search's arithmetic is tested exactly on a fake clock (capacity_test.cc), and how
// close it comes to the cap on the wall clock is bench/capacity.sh; this is the run.
TEST_CASE("capacity search runs against a capped receiver and reports what held") {
  TempDir dir;
  // The shipped defaults on the default dataset; only the steps are shorter (2 s instead
  // of 10 s), for the test's time.
  const std::string config =
      DefaultSetup(dir, {{"hold: 10s", "hold: 2s"}, {"warmup: 2s", "warmup: 500ms"}});
  // A backend that takes 15,000 items/s and refuses the rest (RESOURCE_EXHAUSTED).
  SinkProcess sink({"--max-rate", "15000"});
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--find-capacity", "--stats-json", dir.File("sender.json")},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("(capacity search done)"));
  CHECK_THAT(r.out, Catch::Contains("capacity: 10000/s held") &&
                        Catch::Contains("capacity: 20000/s broke"));
  const std::string got = sink.Stop();
  const std::string sent = ReadText(dir.File("sender.json"));
  // Bisected between the last rate that held and the first that broke.
  const double found = JsonDouble(sent, "sustained_rate", "\"capacity\"");
  CHECK(found >= 10000);
  CHECK(found < 20000);
  // Every accepted event is accounted for, refusals and all.
  CHECK(JsonInt(sent, "events_accepted", "\"total\"") == SinkAccepted(got));
}

TEST_CASE("the admin endpoint serves Prometheus metrics and changes the rate when allowed") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink;
  const std::string config = WriteSenderConfig(dir, prefix, "stats:\n  interval: 100ms\n");
  Process sender({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                  "--rate", "2000", "--duration", "4s", "--multiplier", "0", "--admin",
                  "127.0.0.1:0", "--allow-rate-change"});
  const int port = PortAfter(sender, "admin endpoint on http://127.0.0.1:");
  REQUIRE(port > 0);
  std::string line;
  while (sender.ReadLine(&line) && !(line.starts_with("[") && WordInt(line, "accepted") > 0)) {
  }
  const HttpResult metrics = HttpCall(port, "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK_THAT(metrics.body,
             Catch::Contains("# TYPE loadgen_events_accepted_total counter") &&
                 Catch::Contains("loadgen_events_accepted_total{signal=\"traces\"} ") &&
                 Catch::Contains("loadgen_target_rate 2000") &&
                 Catch::Contains("loadgen_schedule_lag_seconds ") &&
                 Catch::Contains("loadgen_late_requests_total{signal=\"metrics\"} ") &&
                 Catch::Contains("loadgen_intended_latency_seconds{signal=\"traces\","
                                 "quantile=\"0.99\"}") &&
                 Catch::Contains("loadgen_request_duration_seconds{signal=\"logs\","
                                 "quantile=\"0.99\"}"));
  CHECK(HttpCall(port, "GET", "/rate").body == "{\"target_rate\": 2000.0}\n");
  CHECK(HttpCall(port, "PUT", "/rate", "lots").status == 400);
  const HttpResult put = HttpCall(port, "PUT", "/rate", "{\"target_rate\": 8000}");
  CHECK(put.status == 200);
  // The limiter follows: the next intervals' target is the new rate.
  bool seen = false;
  while (!seen && sender.ReadLine(&line)) seen = line.find(", target 8000/s,") != std::string::npos;
  CHECK(seen);
  REQUIRE(sender.Wait() == 0);
  CHECK_THAT(sender.out(), Catch::Contains("rate changed from 2000 to 8000 events/s by PUT /rate"));
  CHECK(HttpCall(port, "GET", "/metrics").status == 0);  // Gone with the sender.
  sink.Stop();
}

TEST_CASE("an admin port already in use is an error at start, before sending") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink;
  // The sink's own port is taken.
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "1000", "--duration", "1s", "--admin", sink.endpoint()},
               {}, dir.path());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("admin.listen: cannot listen on '" + sink.endpoint() +
                                    "': Address already in use"));
  CHECK(SinkAccepted(sink.Stop()) == 0);
}

TEST_CASE("without --allow-rate-change the rate cannot be changed") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink;
  Process sender({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                  "--endpoint", sink.endpoint(), "--rate", "1000", "--duration", "1s",
                  "--multiplier", "0", "--admin", "127.0.0.1:0"});
  const int port = PortAfter(sender, "admin endpoint on http://127.0.0.1:");
  REQUIRE(port > 0);
  const HttpResult put = HttpCall(port, "PUT", "/rate", "5000");
  CHECK(put.status == 405);
  CHECK_THAT(put.body, Catch::Contains("--allow-rate-change"));
  CHECK(HttpCall(port, "POST", "/stop").status == 405);
  // The dashboard shows its controls disabled, and why.
  const HttpResult page = HttpCall(port, "GET", "/");
  CHECK(page.status == 200);
  CHECK_THAT(page.body, Catch::Contains("id=\"stop\" disabled") &&
                            Catch::Contains("disabled: start the sender with --allow-rate-change"));
  CHECK(sender.Wait() == 0);
  CHECK_THAT(sender.out(), Catch::Contains("(duration reached)"));
  sink.Stop();
}

TEST_CASE("the live dashboard follows the run in headless Chromium, changes the rate, stops it") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink;
  Process sender(
      {BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(), "--rate",
       "2000", "--duration", "120s", "--admin", "127.0.0.1:0", "--allow-rate-change"},
      {}, dir.path());
  const int port = PortAfter(sender, "admin endpoint on http://127.0.0.1:");
  REQUIRE(port > 0);
  HeadlessBrowser browser;
  browser.Open("http://127.0.0.1:" + std::to_string(port) + "/");
  // It loads with the run in progress: running, the target, charts drawn by the report's
  // code, and the achieved rate of the last second near the target.
  browser.WaitFor(
      "document.getElementById('state').textContent === 'running' && "
      "document.querySelectorAll('#charts svg.chart').length === 6 && "
      "Math.abs(Number(document.getElementById('achieved').dataset.value) - 2000) "
      "< 200");
  CHECK(browser.Eval("document.getElementById('target').textContent") == "2000/s");
  CHECK(browser.Eval("document.querySelector('#totals-body').rows.length") == 3);
  CHECK(browser.Eval("document.getElementById('rate-set').disabled") == false);
  // The rate control: the sender's GET /rate says the new target, and the page's
  // achieved rate follows it within a few refreshes.
  browser.Eval(
      "document.getElementById('rate-input').value = '4000'; "
      "document.getElementById('rate-set').click(); true");
  browser.WaitFor("document.getElementById('target').textContent === '4000/s'");
  CHECK(HttpCall(port, "GET", "/rate").body == "{\"target_rate\": 4000.0}\n");
  browser.WaitFor(
      "Math.abs(Number(document.getElementById('achieved').dataset.value) - 4000) < 400");
  const std::string artifacts = std::string(LOADGEN_BIN_DIR) + "/../test-artifacts";
  browser.Screenshot(artifacts + "/dashboard.png");
  CHECK(std::filesystem::file_size(artifacts + "/dashboard.png") > 40000);
  // Stop ends the run gracefully, with the usual summary; the page says the sender is gone.
  browser.Eval("document.getElementById('stop').click(); true");
  REQUIRE(sender.Wait() == 0);
  CHECK_THAT(sender.out(), Catch::Contains("stopped from the dashboard (POST /stop)") &&
                               Catch::Contains("telemetry-sender summary:") &&
                               Catch::Contains("stopping: POST /stop"));
  browser.WaitFor("document.getElementById('state').textContent.startsWith('ended')");
  sink.Stop();
}

TEST_CASE("the HTML report is self-contained and renders in headless Chromium") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink({"--fail-share", "0.1"});  // Some retries to chart.
  auto r = Run({BinaryPath("telemetry-sender"), "--config",
                WriteSenderConfig(dir, prefix,
                                  "sending:\n  retry: {initial_interval: 10ms}\n"
                                  "stats:\n  interval: 200ms\n"),
                "--endpoint", sink.endpoint(), "--rate", "20000", "--duration", "2s",
                "--multiplier", "0", "--report", dir.File("report.html")});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  sink.Stop();
  const std::string html = ReadText(dir.File("report.html"));
  // Nothing to fetch: no scripts, stylesheets, images or fonts from anywhere.
  for (const char* needle : {"<script", "<link", "<img", "src=", "@import", "url("}) {
    CHECK(html.find(needle) == std::string::npos);
  }
  CHECK_THAT(html, Catch::Contains("Rate: target vs achieved") &&
                       Catch::Contains("Request latency") && Catch::Contains("Schedule lag") &&
                       Catch::Contains("p99 from intended time") &&
                       Catch::Contains("Errors and retries") && Catch::Contains("Signal mix") &&
                       Catch::Contains("UNAVAILABLE (retried)"));
  // Chromium (Debian's) parses it into six charts with their lines...
  auto dom = Run({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                  "file://" + dir.File("report.html")});
  REQUIRE(dom.exit_code == 0);
  size_t charts = 0, lines = 0;
  for (size_t at = dom.out.find("<svg class=\"chart\""); at != std::string::npos;
       at = dom.out.find("<svg class=\"chart\"", at + 1)) {
    ++charts;
  }
  for (size_t at = dom.out.find("<polyline"); at != std::string::npos;
       at = dom.out.find("<polyline", at + 1)) {
    ++lines;
  }
  CHECK(charts == 6);
  // target+achieved, p50+p99+intended p99, lag+late, 3 errors, 3 signals, in flight.
  CHECK(lines == 14);
  // ...and paints them: the screenshot (kept in the build tree for people to look at)
  // is far from the ~9 KB of a blank page.
  const std::string artifacts = std::string(LOADGEN_BIN_DIR) + "/../test-artifacts";
  std::filesystem::create_directories(artifacts);
  auto shot =
      Run({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--window-size=1240,1500", "--screenshot=" + artifacts + "/report.png",
           "file://" + dir.File("report.html")});
  REQUIRE(shot.exit_code == 0);
  CHECK(std::filesystem::file_size(artifacts + "/report.png") > 40000);
}

TEST_CASE("SIGINT stops the sender cleanly: summary, exit 0, nothing lost in flight") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  SinkProcess sink;
  Process sender({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                  "--endpoint", sink.endpoint(), "--rate", "20000", "--multiplier", "0",
                  "--stats-json", dir.File("sender.json")});
  std::string line;
  while (sender.ReadLine(&line) && line.find("sending to") == std::string::npos) {
  }
  sender.Signal(SIGINT);
  REQUIRE(sender.Wait() == 0);
  CHECK_THAT(sender.out(), Catch::Contains("(interrupted)"));
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.Stop();
  CHECK(JsonInt(sent, "events_accepted", "\"total\"") == SinkAccepted(got));
}

TEST_CASE("header values and ${VAR} secrets never appear in output or summaries") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const std::string secret = "sk-live-7f3a9c1e5b2d";
  SinkProcess sink({"--fail-share", "1", "--fail-code", "UNAUTHENTICATED"});
  const std::string config = WriteSenderConfig(
      dir, prefix, "  headers:\n    authorization: \"Bearer ${LOADGEN_E2E_TOKEN}\"\n");
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--stats-json", dir.File("sender.json")},
               {"LOADGEN_E2E_TOKEN=" + secret, "OTEL_EXPORTER_OTLP_HEADERS=x-other=" + secret});
  sink.Stop();
  CHECK(r.exit_code == 1);  // Every request refused: nothing accepted.
  CHECK_THAT(r.out, Catch::Contains("UNAUTHENTICATED"));
  const std::string json = ReadText(dir.File("sender.json"));
  CHECK_THAT(json, Catch::Contains("UNAUTHENTICATED"));
  for (const std::string& text : std::vector<std::string>{r.out, r.err, json}) {
    CHECK(text.find(secret) == std::string::npos);
  }
}

}  // namespace
}  // namespace loadgen::testing

namespace loadgen {
namespace {

using namespace testing;

TEST_CASE("a count of 0 skips that signal's file, and the sender replays any subset exactly") {
  // Every non-empty subset of the three signals, from the shipped defaults.
  for (int mask = 1; mask < 8; ++mask) {
    const bool traces = mask & 1, metrics = mask & 2, logs = mask & 4;
    INFO("traces " << traces << " metrics " << metrics << " logs " << logs);
    TempDir dir;
    TextEdits generator, sender;
    if (!traces) {
      generator.push_back({"  count: 2000 ", "  count: 0 "});
      sender.push_back({"  traces: ./generated/telemetry-traces.pb", "  traces: \"\""});
    }
    if (!metrics) {
      generator.push_back({"metric_count: 85 ", "metric_count: 0 "});
      sender.push_back({"  metrics: ./generated/telemetry-metrics.pb", "  metrics: \"\""});
    }
    if (!logs) {
      generator.push_back({"  count: 20000 ", "  count: 0 "});
      sender.push_back({"  logs: ./generated/telemetry-logs.pb", "  logs: \"\""});
    }
    const std::string config = DefaultSetup(dir, sender, generator);
    const std::string meta = ReadText(dir.File("generated/telemetry-metadata.yaml"));
    // A signal of count 0 has no file and no section in the metadata.
    CHECK(std::filesystem::exists(dir.File("generated/telemetry-traces.pb")) == traces);
    CHECK(std::filesystem::exists(dir.File("generated/telemetry-metrics.pb")) == metrics);
    CHECK(std::filesystem::exists(dir.File("generated/telemetry-logs.pb")) == logs);
    CHECK((meta.find("\ntraces:") != std::string::npos) == traces);
    CHECK((meta.find("\nmetrics:") != std::string::npos) == metrics);
    CHECK((meta.find("\nlogs:") != std::string::npos) == logs);
    SinkProcess sink({"--validate"});
    auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                  "--rate", "0", "--multiplier", "1"},
                 {}, dir.path());
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string got = sink.Stop();
    CHECK(JsonInt(got, "spans") == (traces ? MetaCount(meta, "spans") : 0));
    CHECK(JsonInt(got, "data_points") == (metrics ? MetaCount(meta, "data_points") : 0));
    CHECK(JsonInt(got, "log_records") == (logs ? MetaCount(meta, "log_records") : 0));
    CHECK(JsonInt(got, "errors", "\"validation\"") == 0);
  }
}

}  // namespace
}  // namespace loadgen
