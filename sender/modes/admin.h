// The sender's own HTTP endpoint (opt-in, `admin.listen`):
//   GET /         a live dashboard: one self-contained page (nothing fetched from
//                 elsewhere) that refreshes every second from the two below;
//   GET /api/status  the run's state as JSON (target, endpoint, times, totals, errors by
//                 kind, in flight, lag, the capacity search's steps);
//   GET /api/charts  the charts of the last intervals, drawn by the report's code
//                 (html_report.h), so the live view and the report look alike;
//   GET /metrics  Prometheus text (counters per signal, the target rate, requests in
//                 flight, service and intended-time latency quantiles, schedule lag);
//   GET /rate, and only with `admin.allow_rate_change`: PUT /rate to change the target
//                 rate while running (logged) and POST /stop to end the run gracefully
//                 (as SIGINT does).
// Never exposes header values. Every handler is bounded and total: a bad request gets a
// 4xx with a message.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/http_server.h"
#include "sender/modes/capacity.h"
#include "sender/modes/report.h"
#include "sender/stats.h"
#include "sender/stop_signal.h"
#include "sender/token_bucket.h"

namespace loadgen {

struct AdminOptions {
  std::string listen;  // host:port; empty = off.
  bool allow_rate_change = false;
};

// What the dashboard says of the run besides its counters. Set before the endpoint
// starts, except the atomics.
struct DashboardRun {
  std::string endpoint, protocol, rate_text;
  int64_t duration_ns = 0;                   // 0: none.
  uint64_t multiplier = 0;                   // 0: unlimited.
  std::atomic<int64_t> start_ns{0};          // Steady clock; 0: not started yet.
  std::atomic<bool> stopped_by_user{false};  // POST /stop.
};

// What the endpoint reads and controls. Only `stats` is required; the rest may be null:
// `limiter` (an unlimited run: PUT /rate is refused), `stop` (no POST /stop), `live`
// (no charts), `run`, `capacity` (no search). `log` gets a line for every change.
struct AdminContext {
  const RunStats* stats = nullptr;
  RateLimiter* limiter = nullptr;
  std::FILE* log = nullptr;
  StopSignal* stop = nullptr;
  const StatsReporter* live = nullptr;
  DashboardRun* run = nullptr;
  const CapacityProgress* capacity = nullptr;
};

HttpServer::Handler AdminHandler(const AdminOptions& options, const AdminContext& context);

// The Prometheus exposition of `stats` (and the limiter's target, if any).
std::string PrometheusText(const RunStats& stats, const RateLimiter* limiter);

// The dashboard's parts (admin.cc serves them).
std::string DashboardPage(const AdminOptions& options);
std::string DashboardStatusJson(const AdminOptions& options, const AdminContext& context,
                                int64_t now_ns);

}  // namespace loadgen
