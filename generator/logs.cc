#include "generator/logs.h"

#include <cstring>

#include "common/otlp_signal.h"
#include "common/strings.h"

namespace loadgen {
namespace {

void Str(LogDraft* r, std::string_view k, std::string_view v) { r->attributes.Str(k, v); }
void Int(LogDraft* r, std::string_view k, int64_t v) { r->attributes.Int(k, v); }

struct Level {
  int number;
  const char* text;
};

constexpr const char* kAppMessages[] = {
    "order placed",           "cache miss, loading from database",
    "payment authorised",     "retrying request to downstream service",
    "user session refreshed", "inventory reserved",
    "configuration reloaded", "slow query detected"};
constexpr const char* kSystemMessages[] = {"systemd[1]: Started Session of user root.",
                                           "kernel: TCP: request_sock_TCP: Possible SYN flooding",
                                           "kubelet: Successfully pulled image",
                                           "containerd: shim disconnected",
                                           "kernel: EXT4-fs (nvme0n1p1): re-mounted. Opts: (null)",
                                           "sshd: Accepted publickey for deploy"};

}  // namespace

int LogBuilder::Build(LogDraft* r, int* scope) {
  r->Clear();
  const auto& services = topology_.services;
  int service = static_cast<int>(rng_.Below(services.size()));
  // The service's own log bridge, but for system logs (the Collector's filelog).
  *scope = LibraryScope(services[service], Library::kLogs);
  const double pick = rng_.Unit() * 100;
  const uint64_t offset = rng_.Below(1000) * 1000;  // Spread within a millisecond.
  r->time_ns = kTemplateEpochNs + offset;
  r->observed_ns = kTemplateEpochNs + offset + rng_.Range(100, 5000) * 1000;

  if (pick < config_.http_access_pct) {
    const Service& svc = services[service];
    const Operation& op = svc.server_ops[rng_.Below(svc.server_ops.size())];
    const int code = rng_.Chance(0.03) ? 500 : rng_.Chance(0.05) ? 404 : 200;
    const int64_t ms = rng_.Range(1, 400);
    const std::string ip = PrivateIpv4(rng_);
    r->severity_number = code >= 500 ? kSeverityError : code >= 400 ? kSeverityWarn : kSeverityInfo;
    r->severity_text = code >= 500 ? "ERROR" : code >= 400 ? "WARN" : "INFO";
    r->body = StrCat(ip, " - - \"", op.method, " ", op.route, " HTTP/1.1\" ", code, " ",
                     rng_.Range(200, 20000), " ", ms, "ms");
    Str(r, "http.request.method", op.method);
    Str(r, "http.route", op.route);
    Str(r, "url.path", op.route);
    Int(r, "http.response.status_code", code);
    Int(r, "http.server.request.duration_ms", ms);
    Str(r, "client.address", ip);
    Str(r, "user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)");
    r->event_name = "http.access";
    return service;
  }
  if (pick < config_.http_access_pct + config_.application_pct) {
    static constexpr Level kLevels[] = {{kSeverityDebug, "DEBUG"},
                                        {kSeverityInfo, "INFO"},
                                        {kSeverityWarn, "WARN"},
                                        {kSeverityError, "ERROR"}};
    const double l = rng_.Unit();
    const Level& sev = kLevels[l < 0.15 ? 0 : l < 0.85 ? 1 : l < 0.95 ? 2 : 3];
    r->severity_number = sev.number;
    r->severity_text = sev.text;
    r->body = kAppMessages[rng_.Below(std::size(kAppMessages))];
    Str(r, "code.function.name", "handleRequest");
    if (sev.number == kSeverityError) {
      Str(r, "exception.type", "java.net.SocketTimeoutException");
      Str(r, "exception.message", "Read timed out");
      Str(r, "exception.stacktrace",
          "java.net.SocketTimeoutException: Read timed out\n\tat java.net.SocketInputStream.read");
    }
    if (!spans_[service].empty() && rng_.Chance(config_.trace_correlated_share)) {
      const SpanRef& ref = spans_[service][rng_.Below(spans_[service].size())];
      r->has_ids = true;
      std::memcpy(r->trace_id, ref.trace_id, 16);
      std::memcpy(r->span_id, ref.span_id, 8);
      r->flags = 0x01;
    }
    return service;
  }
  *scope = FilelogScope(topology_);
  const bool warn = rng_.Chance(0.1);
  r->severity_number = warn ? kSeverityWarn : kSeverityInfo;
  r->severity_text = warn ? "WARN" : "INFO";
  r->body = kSystemMessages[rng_.Below(std::size(kSystemMessages))];
  Str(r, "log.file.path", "/var/log/syslog");
  Str(r, "log.iostream", "stdout");
  return service;
}

}  // namespace loadgen
