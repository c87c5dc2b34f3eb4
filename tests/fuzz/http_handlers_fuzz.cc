// Fuzzes the HTTP endpoints behind the HTTP parser: any bytes that parse as a request
// get an answer from the sender's admin handler (the dashboard, its status and charts,
// /metrics, /rate, /stop) and from otlp-sink's page (--ui: its summary, traces and one
// trace) with a status in 200..599 and a message on every refusal; never a crash.
#include <cstdint>
#include <string_view>

#include "common/http_parser.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/modes/admin.h"
#include "sink/otlp_sink.h"
#include "sink/trace_store.h"
#include "sink/ui.h"

namespace {

struct Endpoint {
  loadgen::SteadyClock clock;
  loadgen::RunStats stats;
  loadgen::RateLimiter limiter{loadgen::RateSchedule::Constant(1000), 0, {5, 3, 2}, &clock};
  loadgen::StopSignal stop;
  loadgen::StatsReporter live{stats, std::chrono::seconds(0), nullptr, &limiter};
  loadgen::DashboardRun run;
  loadgen::CapacityProgress capacity;
  loadgen::HttpServer::Handler handler;
  loadgen::OtlpSink sink{loadgen::SinkOptions{}};
  loadgen::TraceStore store{4};
  loadgen::HttpServer::Handler page;
  Endpoint() {
    // One trace in the store, so that /api/trace/<its ID> finds something.
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
    auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
    span->set_trace_id(std::string(16, '\x11'));
    span->set_span_id(std::string(8, '\x22'));
    span->set_name("GET /\xff");
    store.Offer(loadgen::Signal::kTraces, req.SerializeAsString());
    store.Flush();
    page = loadgen::SinkUiHandler(sink, store, true);
    run.endpoint = "127.0.0.1:4317";
    capacity.Measured({1000, 990, 0.001, 3.5, 2, true, ""});
    capacity.Measured({2000, 1500, 0.2, 900, 800, false, "error share 20% > 1%"});
    stats.NoteError(loadgen::Signal::kTraces, "UNAVAILABLE", "\xff\xfe not UTF-8 <b>");
    live.Start();
    live.Sample();
    handler = loadgen::AdminHandler({"127.0.0.1:0", true},
                                    {&stats, &limiter, nullptr, &stop, &live, &run, &capacity});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Endpoint* endpoint = new Endpoint();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const loadgen::HttpParse p = loadgen::ParseHttpRequest(text, 1 << 16);
  if (p.kind != loadgen::HttpParse::kRequest) return 0;
  for (const auto* handler : {&endpoint->handler, &endpoint->page}) {
    const loadgen::HttpResponse r = (*handler)(p.request);
    if (r.status < 200 || r.status > 599) __builtin_trap();
    if (r.status >= 400 && r.body.empty()) __builtin_trap();
  }
  return 0;
}
