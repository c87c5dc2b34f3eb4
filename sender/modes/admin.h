// The sender's own HTTP endpoint (opt-in, `admin.listen`): GET /metrics in Prometheus
// text format (counters per signal, the target rate, requests in flight, service and
// intended-time latency quantiles, schedule lag), GET /rate, and, only with
// `admin.allow_rate_change`, PUT /rate to change the target rate while running (logged). Never
// exposes header values.
#pragma once

#include <cstdio>
#include <string>

#include "common/http_server.h"
#include "sender/stats.h"
#include "sender/token_bucket.h"

namespace loadgen {

struct AdminOptions {
  std::string listen;  // host:port; empty = off.
  bool allow_rate_change = false;
};

// `limiter` may be null (an unlimited run: PUT /rate is refused). `log` gets a line
// for every rate change.
HttpServer::Handler AdminHandler(const AdminOptions& options, const RunStats* stats,
                                 RateLimiter* limiter, std::FILE* log);

// The Prometheus exposition of `stats` (and the limiter's target, if any).
std::string PrometheusText(const RunStats& stats, const RateLimiter* limiter);

}  // namespace loadgen
