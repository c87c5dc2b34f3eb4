#include "generator/logs.h"

#include "common/otlp_signal.h"
#include "common/strings.h"

namespace loadgen {
namespace {

namespace lp = opentelemetry::proto::logs::v1;
using opentelemetry::proto::common::v1::KeyValue;

void Str(lp::LogRecord* r, std::string_view k, std::string_view v) {
  KeyValue* kv = r->add_attributes();
  kv->set_key(std::string(k));
  kv->mutable_value()->set_string_value(std::string(v));
}
void Int(lp::LogRecord* r, std::string_view k, int64_t v) {
  KeyValue* kv = r->add_attributes();
  kv->set_key(std::string(k));
  kv->mutable_value()->set_int_value(v);
}

struct Severity {
  lp::SeverityNumber number;
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

int LogBuilder::Build(lp::LogRecord* r) {
  const auto& services = topology_.services;
  int service = static_cast<int>(rng_.Below(services.size()));
  const double pick = rng_.Unit() * 100;
  const uint64_t offset = rng_.Below(1000) * 1000;  // Spread within a millisecond.
  r->set_time_unix_nano(kTemplateEpochNs + offset);
  r->set_observed_time_unix_nano(kTemplateEpochNs + offset + rng_.Range(100, 5000) * 1000);

  if (pick < config_.http_access_pct) {
    const Service& svc = services[service];
    const Operation& op = svc.server_ops[rng_.Below(svc.server_ops.size())];
    const int code = rng_.Chance(0.03) ? 500 : rng_.Chance(0.05) ? 404 : 200;
    const int64_t ms = rng_.Range(1, 400);
    const std::string ip =
        StrCat("10.", rng_.Below(256), ".", rng_.Below(256), ".", 1 + rng_.Below(254));
    r->set_severity_number(code >= 500   ? lp::SEVERITY_NUMBER_ERROR
                           : code >= 400 ? lp::SEVERITY_NUMBER_WARN
                                         : lp::SEVERITY_NUMBER_INFO);
    r->set_severity_text(code >= 500 ? "ERROR" : code >= 400 ? "WARN" : "INFO");
    r->mutable_body()->set_string_value(StrCat(ip, " - - \"", op.method, " ", op.route,
                                               " HTTP/1.1\" ", code, " ", rng_.Range(200, 20000),
                                               " ", ms, "ms"));
    Str(r, "http.request.method", op.method);
    Str(r, "http.route", op.route);
    Str(r, "url.path", op.route);
    Int(r, "http.response.status_code", code);
    Int(r, "http.server.request.duration_ms", ms);
    Str(r, "client.address", ip);
    Str(r, "user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)");
    r->set_event_name("http.access");
    return service;
  }
  if (pick < config_.http_access_pct + config_.application_pct) {
    static constexpr Severity kLevels[] = {{lp::SEVERITY_NUMBER_DEBUG, "DEBUG"},
                                           {lp::SEVERITY_NUMBER_INFO, "INFO"},
                                           {lp::SEVERITY_NUMBER_WARN, "WARN"},
                                           {lp::SEVERITY_NUMBER_ERROR, "ERROR"}};
    const double l = rng_.Unit();
    const Severity& sev = kLevels[l < 0.15 ? 0 : l < 0.85 ? 1 : l < 0.95 ? 2 : 3];
    r->set_severity_number(sev.number);
    r->set_severity_text(sev.text);
    r->mutable_body()->set_string_value(kAppMessages[rng_.Below(std::size(kAppMessages))]);
    Str(r, "code.function.name", "handleRequest");
    if (sev.number == lp::SEVERITY_NUMBER_ERROR) {
      Str(r, "exception.type", "java.net.SocketTimeoutException");
      Str(r, "exception.message", "Read timed out");
      Str(r, "exception.stacktrace",
          "java.net.SocketTimeoutException: Read timed out\n\tat java.net.SocketInputStream.read");
    }
    if (!spans_[service].empty() && rng_.Chance(config_.trace_correlated_share)) {
      const SpanRef& ref = spans_[service][rng_.Below(spans_[service].size())];
      r->set_trace_id(ref.trace_id, 16);
      r->set_span_id(ref.span_id, 8);
      r->set_flags(0x01);
    }
    return service;
  }
  const bool warn = rng_.Chance(0.1);
  r->set_severity_number(warn ? lp::SEVERITY_NUMBER_WARN : lp::SEVERITY_NUMBER_INFO);
  r->set_severity_text(warn ? "WARN" : "INFO");
  r->mutable_body()->set_string_value(kSystemMessages[rng_.Below(std::size(kSystemMessages))]);
  Str(r, "log.file.path", "/var/log/syslog");
  Str(r, "log.iostream", "stdout");
  return service;
}

}  // namespace loadgen
