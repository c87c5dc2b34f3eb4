// otlp-sink --ui, the real binaries: the page in headless Chromium finds a trace this
// test sent by its ID, draws its waterfall with the right span count and its log
// record, and filters the recent traces by service and by error; the store stays within
// --keep-traces, and past its share of a core skips requests and counts them (every
// accepted request looked at or skipped); bad flags and a port in use are errors at start.
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "catch2/catch.hpp"
#include "fmt/core.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/browser.h"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

int PagePort(SinkProcess& sink) {
  return PortAfter(sink.process(), "otlp-sink page on http://127.0.0.1:");
}

int HttpPort(SinkProcess& sink) {
  return PortAfter(sink.process(), "otlp-sink OTLP/HTTP listening on 127.0.0.1:");
}

// Waits until the view has looked at or skipped every request the sink accepted and has
// at least half of its share of the second left, so that the few small requests a test
// sends next are looked at whatever the machine's speed; returns the summary's view.
nlohmann::json WaitForIdleView(int page_port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    const HttpResult r = HttpCall(page_port, "GET", "/api/summary");
    REQUIRE(r.status == 200);
    const nlohmann::json s = nlohmann::json::parse(r.body);
    const nlohmann::json& view = s["view"];
    uint64_t accepted = 0;
    for (const auto& [name, signal] : s["signals"].items()) {
      accepted += signal["requests"].get<uint64_t>() - signal["refused_requests"].get<uint64_t>();
    }
    const uint64_t accounted =
        view["requests_looked_at"].get<uint64_t>() + view["requests_skipped"].get<uint64_t>();
    if (view["requests_queued"] == 0 && view["skipping_now"] == false &&
        view["share_left_ms"].get<double>() >= 50) {
      // Every accepted request was offered to the view before it was answered.
      CHECK(accounted == accepted);
      return view;
    }
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // Between polls.
  }
}

// One trace of `spans` spans of service "ui-test" (a root and a chain under it), the
// last one failing, and a log record naming the root; sent over OTLP/HTTP.
void SendKnownTrace(int http_port, const std::string& trace_id, int spans) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest traces;
  auto* rs = traces.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("ui-test");
  auto* ss = rs->add_scope_spans();
  const uint64_t now = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                             std::chrono::nanoseconds(1));
  for (int i = 0; i < spans; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(trace_id);
    span->set_span_id(std::string(7, '\x01') + static_cast<char>(i + 1));
    if (i > 0) span->set_parent_span_id(std::string(7, '\x01') + static_cast<char>(i));
    span->set_name("step " + std::to_string(i));
    span->set_kind(i == 0 ? opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER
                          : opentelemetry::proto::trace::v1::Span::SPAN_KIND_INTERNAL);
    span->set_start_time_unix_nano(now - 10'000'000 + i * 1'000'000);
    span->set_end_time_unix_nano(now - i * 100'000);
    if (i == spans - 1) {
      span->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
    }
  }
  const HttpResult sent = HttpCall(http_port, "POST", "/v1/traces", traces.SerializeAsString(),
                                   "application/x-protobuf");
  REQUIRE(sent.status == 200);
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest logs;
  auto* rl = logs.add_resource_logs();
  *rl->mutable_resource() = rs->resource();
  auto* record = rl->add_scope_logs()->add_log_records();
  record->set_time_unix_nano(now - 5'000'000);
  record->set_severity_text("ERROR");
  record->mutable_body()->set_string_value("payment declined for the ui test");
  record->set_trace_id(trace_id);
  record->set_span_id(std::string(7, '\x01') + '\x01');
  REQUIRE(
      HttpCall(http_port, "POST", "/v1/logs", logs.SerializeAsString(), "application/x-protobuf")
          .status == 200);
}

TEST_CASE("sink page: a sent trace is found by its ID, whole, with its log, in Chromium") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink({"--validate", "--http-listen", "127.0.0.1:0", "--ui", "127.0.0.1:0"});
  const int http_port = HttpPort(sink);
  const int page_port = PagePort(sink);
  REQUIRE(http_port > 0);
  REQUIRE(page_port > 0);
  // Traffic from the real sender first, then, once the view takes arrivals again (a slow
  // machine, or a sanitizer, may use its share of a second), the trace the test knows.
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "2000", "--duration", "1s"},
               {}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json view = WaitForIdleView(page_port);
  CHECK(view["requests_looked_at"].get<uint64_t>() > 0);
  const std::string trace_id("\x4b\x1d\x00\x07\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11\x22\x33\x44",
                             16);
  const std::string hex = "4b1d0007123456789abcdef011223344";
  SendKnownTrace(http_port, trace_id, 7);
  // Both its requests (spans, then the log record) were looked at, nothing more skipped.
  const nlohmann::json after = WaitForIdleView(page_port);
  CHECK(after["requests_looked_at"] == view["requests_looked_at"].get<uint64_t>() + 2);
  CHECK(after["requests_skipped"] == view["requests_skipped"]);

  HeadlessBrowser browser;
  browser.Open("http://127.0.0.1:" + std::to_string(page_port) + "/");
  // The totals and the recent traces are there, ours among them.
  browser.WaitFor(
      "document.querySelectorAll('#traces tr.row').length > 10 && "
      "document.querySelector('#traces tr.row[data-id=\"" +
      hex + "\"]') !== null");
  CHECK(browser.Eval("Number(document.getElementById('signals').dataset.total) > 1000") == true);
  CHECK_THAT(browser.Eval("document.getElementById('meta').textContent").get<std::string>(),
             Catch::Contains(fmt::format("{} requests looked at, {} skipped",
                                         after["requests_looked_at"].get<uint64_t>(),
                                         after["requests_skipped"].get<uint64_t>())));
  // Found by its ID: seven spans in the waterfall, its tree in order, its log record.
  browser.Eval("document.getElementById('trace-id').value = '" + hex +
               "'; document.getElementById('find').click(); true");
  browser.WaitFor("document.querySelectorAll('#waterfall .span').length > 0");
  CHECK(browser.Eval("document.querySelectorAll('#waterfall .span').length") == 7);
  CHECK_THAT(browser.Eval("document.getElementById('trace-meta').textContent").get<std::string>(),
             Catch::StartsWith("7 spans"));
  CHECK(browser.Eval("document.querySelector('#waterfall .label').textContent")
            .get<std::string>()
            .starts_with("ui-test: step 0"));
  CHECK(browser.Eval("document.querySelectorAll('#waterfall .bar.error').length") == 1);
  CHECK(browser.Eval("document.querySelectorAll('#trace-logs tr').length") == 2);
  // A click on a span shows its attributes and IDs.
  browser.Eval("document.querySelector('#waterfall .span').click(); true");
  CHECK(browser.Eval("getComputedStyle(document.querySelector('#waterfall .details')).display") ==
        "block");
  browser.Screenshot(std::string(LOADGEN_BIN_DIR) + "/../test-artifacts/sink-ui.png");
  // Filters: by service, ours alone; by error, ours among the failing.
  browser.Eval(
      "const s = document.getElementById('service'); s.value = 'ui-test'; "
      "s.dispatchEvent(new Event('change')); true");
  CHECK(browser.Eval("document.querySelectorAll('#traces tr.row').length") == 1);
  browser.Eval(
      "const t = document.getElementById('service'); t.value = ''; "
      "t.dispatchEvent(new Event('change')); const e = "
      "document.getElementById('errors-only'); e.checked = true; "
      "e.dispatchEvent(new Event('change')); true");
  CHECK(browser.Eval("Array.from(document.querySelectorAll('#traces tr.row')).every((r) => "
                     "r.lastElementChild.textContent === 'yes')") == true);
  CHECK(browser.Eval("document.querySelector('#traces tr.row[data-id=\"" + hex +
                     "\"]') !== null") == true);
  CHECK(std::filesystem::file_size(std::string(LOADGEN_BIN_DIR) +
                                   "/../test-artifacts/sink-ui.png") > 40000);
  // A trace that is not kept is a 404 with the reason; a malformed ID a 400.
  CHECK(HttpCall(page_port, "GET", "/api/trace/" + std::string(32, 'f')).status == 404);
  CHECK(HttpCall(page_port, "GET", "/api/trace/xyz").status == 400);
  CHECK(HttpCall(page_port, "POST", "/api/summary").status == 405);
  sink.Stop();
}

TEST_CASE(
    "sink page: at most --keep-traces traces are kept, the oldest dropped first; past its "
    "share of a core the view skips requests and says how many") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);
  SinkProcess sink({"--http-listen", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--keep-traces", "20"});
  const int http_port = HttpPort(sink);
  const int page_port = PagePort(sink);
  REQUIRE(page_port > 0);
  SendKnownTrace(http_port, std::string(16, '\x0a'), 3);  // The oldest.
  // As fast as the sink takes it: more than a tenth of a core can look at.
  auto r = Run({BinaryPath("telemetry-sender"), "--config", config, "--endpoint", sink.endpoint(),
                "--rate", "0", "--duration", "1s"},
               {}, dir.path());
  REQUIRE(r.exit_code == 0);
  const nlohmann::json view = WaitForIdleView(page_port);
  CHECK(view["requests_skipped"].get<uint64_t>() > 0);
  CHECK(view["requests_looked_at"].get<uint64_t>() > 0);
  SendKnownTrace(http_port, std::string(16, '\x0b'), 3);  // The newest.
  // The page's data: the newest is kept, the oldest was dropped, 20 at most.
  HeadlessBrowser browser;
  browser.Open("http://127.0.0.1:" + std::to_string(page_port) + "/");
  std::string newest, oldest;
  for (int i = 0; i < 16; ++i) {
    newest += "0b";
    oldest += "0a";
  }
  browser.WaitFor("document.querySelector('#traces tr.row[data-id=\"" + newest + "\"]') !== null");
  CHECK(browser.Eval("document.querySelectorAll('#traces tr.row').length <= 20") == true);
  CHECK(HttpCall(page_port, "GET", "/api/trace/" + newest).status == 200);
  CHECK(HttpCall(page_port, "GET", "/api/trace/" + oldest).status == 404);
  sink.Stop();
}

TEST_CASE("sink page: bad --keep-traces and a --ui port in use are errors at start") {
  for (const char* keep : {"0", "-3", "many"}) {
    auto r = Run({BinaryPath("otlp-sink"), "--listen", "127.0.0.1:0", "--ui", "127.0.0.1:0",
                  "--keep-traces", keep});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--keep-traces: expected a number of traces from 1 to "
                                      "1000000, got \"" +
                                      std::string(keep) + "\""));
  }
  SinkProcess taken;
  auto r = Run({BinaryPath("otlp-sink"), "--listen", "127.0.0.1:0", "--ui", taken.endpoint()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--ui: cannot listen on '" + taken.endpoint() +
                                    "': Address already in use"));
}

}  // namespace
}  // namespace loadgen::testing
