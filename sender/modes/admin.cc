#include "sender/modes/admin.h"

#include "common/clock.h"
#include "common/strings.h"
#include "sender/modes/html_report.h"

namespace loadgen {
namespace {

// A latency summary per signal: its p50 and p99 and its count; the service time, or with
// `intended` the latency from each request's intended send time.
void AppendLatency(std::string* out, const char* name, const char* help, const RunStats& stats,
                   bool intended) {
  StrAppend(out, fmt::format("# HELP {} {}\n# TYPE {} summary\n", name, help, name));
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    const int64_t p50 = intended ? snap.intended_p50_ns : snap.p50_ns;
    const int64_t p99 = intended ? snap.intended_p99_ns : snap.p99_ns;
    for (auto [q, v] : {std::pair{"0.5", p50}, std::pair{"0.99", p99}}) {
      StrAppend(out, fmt::format("{}{{signal=\"{}\",quantile=\"{}\"}} {}\n", name, SignalName(s), q,
                                 v / 1e9));
    }
    const LatencyHistogram& h = intended ? stats.of(s).intended_latency : stats.of(s).latency;
    StrAppend(out, fmt::format("{}_count{{signal=\"{}\"}} {}\n", name, SignalName(s), h.Count()));
  }
}

}  // namespace

std::string PrometheusText(const RunStats& stats, const RateLimiter* limiter) {
  std::string out;
  struct Counter {
    const char* name;
    const char* help;
    uint64_t SignalSnapshot::*field;
  };
  static const Counter kCounters[] = {
      {"loadgen_events_sent_total", "Events in requests that completed.",
       &SignalSnapshot::events_sent},
      {"loadgen_events_accepted_total", "Events the receiver accepted.",
       &SignalSnapshot::events_accepted},
      {"loadgen_events_rejected_total", "Events the receiver refused for good.",
       &SignalSnapshot::events_rejected},
      {"loadgen_events_failed_total", "Events not delivered (retries exhausted, stopped).",
       &SignalSnapshot::events_failed},
      {"loadgen_requests_total", "Requests completed, whatever the outcome.",
       &SignalSnapshot::requests},
      {"loadgen_retries_total", "Attempts after the first.", &SignalSnapshot::retries},
      {"loadgen_bytes_sent_total", "Request payload bytes, before compression.",
       &SignalSnapshot::bytes_sent},
      {"loadgen_wire_bytes_sent_total", "Request payload bytes as sent, after compression.",
       &SignalSnapshot::wire_bytes_sent},
      {"loadgen_late_requests_total",
       "Requests sent more than one pacing interval after their intended time.",
       &SignalSnapshot::late_requests},
  };
  std::array<SignalSnapshot, 3> snaps;
  for (Signal s : kAllSignals) snaps[SignalIndex(s)] = stats.Snapshot(s);
  for (const Counter& c : kCounters) {
    StrAppend(&out, fmt::format("# HELP {} {}\n# TYPE {} counter\n", c.name, c.help, c.name));
    for (Signal s : kAllSignals) {
      StrAppend(&out, fmt::format("{}{{signal=\"{}\"}} {}\n", c.name, SignalName(s),
                                  snaps[SignalIndex(s)].*c.field));
    }
  }
  AppendLatency(&out, "loadgen_request_duration_seconds", "Export request latency (over the run).",
                stats, false);
  // Latency from the time the schedule intended each request for: under backpressure it
  // grows while the service time above stays flat (coordinated omission).
  AppendLatency(&out, "loadgen_intended_latency_seconds",
                "Latency from each request's intended send time to its final answer (over the "
                "run).",
                stats, true);
  StrAppend(&out, fmt::format("# HELP loadgen_requests_in_flight Requests outstanding.\n"
                              "# TYPE loadgen_requests_in_flight gauge\n"
                              "loadgen_requests_in_flight {}\n",
                              stats.in_flight()));
  if (limiter != nullptr) {
    StrAppend(&out, fmt::format("# HELP loadgen_target_rate Target events per second now.\n"
                                "# TYPE loadgen_target_rate gauge\nloadgen_target_rate {}\n",
                                limiter->TargetRate()));
    StrAppend(&out, fmt::format("# HELP loadgen_schedule_lag_seconds How far the sends are behind "
                                "the schedule now.\n# TYPE loadgen_schedule_lag_seconds gauge\n"
                                "loadgen_schedule_lag_seconds {}\n",
                                limiter->LagNs(SteadyClock().NowNs()) / 1e9));
  }
  StrAppend(&out, fmt::format("# HELP loadgen_schedule_lag_max_seconds The most any request was "
                              "behind its intended time.\n"
                              "# TYPE loadgen_schedule_lag_max_seconds gauge\n"
                              "loadgen_schedule_lag_max_seconds {}\n",
                              stats.lag_max_ns() / 1e9));
  return out;
}

namespace {

constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kJson = "application/json";

// PUT /rate: the body is a number, or {"target_rate": number}.
HttpResponse ChangeRate(const HttpRequest& r, RateLimiter* limiter, std::FILE* log) {
  if (limiter == nullptr) {
    return {409, kText, "this run has no rate limit to change (it was started with rate 0)\n"};
  }
  std::string text = r.body;
  if (auto colon = text.find(':'); colon != std::string::npos) text = text.substr(colon + 1);
  while (!text.empty() && std::string_view(" \t\r\n}").find(text.back()) != std::string::npos) {
    text.pop_back();
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.erase(0, 1);
  double rate = 0;
  if (!ParseDouble(text, &rate) || !(rate > 0) || rate > 1e12) {
    // The body may be anything: it is quoted back cut short, never whole.
    std::string shown = r.body.substr(0, 64);
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    return {400, kText,
            StrCat("expected a target rate in events per second above 0 (a number, or "
                   "{\"target_rate\": number}), got \"",
                   shown, r.body.size() > 64 ? "...\"" : "\"", "\n")};
  }
  const double before = limiter->TargetRate();
  limiter->SetRate(rate);
  if (log != nullptr) {
    fmt::print(log, "rate changed from {:.0f} to {:.0f} events/s by PUT /rate\n", before, rate);
    std::fflush(log);
  }
  return {200, kJson, fmt::format("{{\"target_rate\": {:.1f}}}\n", rate)};
}

}  // namespace

HttpServer::Handler AdminHandler(const AdminOptions& options, const AdminContext& context) {
  return [options, c = context](const HttpRequest& r) -> HttpResponse {
    if (r.path == "/" && r.method == "GET") {
      return {200, "text/html; charset=utf-8", DashboardPage(options)};
    }
    if (r.path == "/api/status" && r.method == "GET") {
      return {200, kJson, DashboardStatusJson(options, c, SteadyClock().NowNs())};
    }
    if (r.path == "/api/charts" && r.method == "GET") {
      std::vector<IntervalSummary> intervals;
      if (c.live != nullptr) {
        for (const IntervalRecord& record : c.live->intervals()) {
          intervals.push_back(SummaryOf(record));
        }
      }
      return {200, "text/html; charset=utf-8", ChartsHtml(intervals)};
    }
    if (r.path == "/metrics" && r.method == "GET") {
      return {200, "text/plain; version=0.0.4; charset=utf-8", PrometheusText(*c.stats, c.limiter)};
    }
    const bool control = r.path == "/rate" || r.path == "/stop";
    if (!control) return {404, kText, "try /, /api/status, /api/charts, /metrics or /rate\n"};
    if (r.path == "/rate" && r.method == "GET") {
      if (c.limiter == nullptr)
        return {200, kJson, "{\"target_rate\": null, \"unlimited\": true}\n"};
      return {200, kJson, fmt::format("{{\"target_rate\": {:.1f}}}\n", c.limiter->TargetRate())};
    }
    const char* method = r.path == "/rate" ? "PUT" : "POST";
    if (r.method != method) {
      return {405, kText, StrCat(r.path == "/rate" ? "GET or PUT" : "POST", "\n")};
    }
    if (!options.allow_rate_change) {
      return {405, kText,
              "controls are off; start the sender with --allow-rate-change "
              "(admin.allow_rate_change)\n"};
    }
    if (r.path == "/rate") return ChangeRate(r, c.limiter, c.log);
    if (c.stop == nullptr) return {409, kText, "this run cannot be stopped from here\n"};
    if (c.run != nullptr) c.run->stopped_by_user.store(true);
    if (c.log != nullptr) {
      fmt::print(c.log, "stopping: POST /stop\n");
      std::fflush(c.log);
    }
    c.stop->Stop();
    return {200, kJson, "{\"stopping\": true}\n"};
  };
}

}  // namespace loadgen
