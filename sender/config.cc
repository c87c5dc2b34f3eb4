#include "sender/config.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "common/duration.h"
#include "common/otlp_signal.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"
#include "google/protobuf/stubs/common.h"

namespace loadgen {
namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What both gRPC (HTTP/2 metadata) and HTTP/1.1 accept, so a header that loads is
// never refused later inside the transport (gRPC aborts the process on a bad one).
// Names are lower-cased, as the OTLP exporter spec does with its environment; the
// value is only checked, and never quoted in an error: it is often a credential.
absl::Status CheckHeader(std::string* name, std::string_view value) {
  for (char& c : *name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name->empty()) return absl::InvalidArgumentError("a header with an empty name");
  for (char c : *name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return absl::InvalidArgumentError(
          StrCat("header '", *name, "': a name may hold only letters, digits, '-', '_' and '.'"));
    }
  }
  // The transport writes these itself; a second copy breaks the call.
  static constexpr std::string_view kReserved[] = {
      "content-type", "content-length", "content-encoding", "transfer-encoding", "te", "host",
      "connection",   "keep-alive",     "upgrade"};
  if (name->starts_with("grpc-") ||
      std::find(std::begin(kReserved), std::end(kReserved), *name) != std::end(kReserved)) {
    return absl::InvalidArgumentError(
        StrCat("header '", *name, "' is set by the transport and cannot be configured"));
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) {
      return absl::InvalidArgumentError(
          StrCat("header '", *name, "': its value holds ",
                 u == '\n' || u == '\r' ? "a line break"
                 : u < 0x20             ? "a control character"
                                        : "a non-ASCII byte",
                 " (the value is not shown); values must be printable ASCII"));
    }
  }
  return absl::OkStatus();
}

// `k=v,k2=v2` with percent-encoded values (W3C baggage form).
// `key1=value1,key2=value2` with percent-encoded values, as the OTEL_* variables
// write lists (W3C Baggage's format without properties).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseKeyValueList(
    std::string_view text, std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(i, comma - i);
    auto trim = [](std::string_view s) {
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      return s;
    };
    item = trim(item);
    if (!item.empty()) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return absl::InvalidArgumentError(
            StrCat(what, ": expected key=value pairs separated by commas"));
      }
      std::string key(trim(item.substr(0, eq)));
      std::string value;
      std::string_view raw = trim(item.substr(eq + 1));
      for (size_t j = 0; j < raw.size(); ++j) {
        if (raw[j] != '%') {
          value += raw[j];
          continue;
        }
        const bool room = j + 2 < raw.size();
        const int hi = room ? HexDigit(raw[j + 1]) : -1;
        const int lo = room ? HexDigit(raw[j + 2]) : -1;
        if (hi < 0 || lo < 0) {
          return absl::InvalidArgumentError(
              StrCat(what, ": bad percent-encoding in the value of '", key, "'"));
        }
        value += static_cast<char>(hi * 16 + lo);
        j += 2;
      }
      out.emplace_back(std::move(key), std::move(value));
    }
    i = comma + 1;
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseHeaderList(
    std::string_view text, std::string_view what) {
  ASSIGN_OR_RETURN(auto headers, ParseKeyValueList(text, what));
  for (auto& [key, value] : headers) {
    if (auto status = CheckHeader(&key, value); !status.ok()) {
      return absl::InvalidArgumentError(StrCat(what, ": ", status.message()));
    }
  }
  return headers;
}

// What protobuf's parser (and so every receiver) requires of a string field.
bool IsUtf8(std::string_view s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

// An attribute is a non-empty key with a string value, both UTF-8 (protobuf's strings).
absl::Status CheckAttribute(std::string_view key, std::string_view value, std::string_view what) {
  if (key.empty()) return absl::InvalidArgumentError(StrCat(what, ": an attribute needs a key"));
  if (!IsUtf8(key)) return absl::InvalidArgumentError(StrCat(what, ": a key is not UTF-8"));
  if (!IsUtf8(value)) {
    return absl::InvalidArgumentError(StrCat(what, ": the value of '", key, "' is not UTF-8"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyOtelEnvironment(SenderConfig* c) {
  if (const char* v = Env("OTEL_EXPORTER_OTLP_ENDPOINT")) c->endpoint = v;
  // A signal's own variable wins over the generic one for that signal.
  for (auto [name, signal] : {std::pair{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Signal::kTraces},
                              std::pair{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", Signal::kMetrics},
                              std::pair{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", Signal::kLogs}}) {
    if (const char* v = Env(name)) c->signal_endpoints[SignalIndex(signal)] = v;
  }
  if (const char* v = Env("OTEL_EXPORTER_OTLP_PROTOCOL")) {
    if (std::string_view(v) != "grpc" && std::string_view(v) != "http/protobuf") {
      return absl::InvalidArgumentError(
          StrCat("OTEL_EXPORTER_OTLP_PROTOCOL: expected grpc or http/protobuf, got \"", v, "\""));
    }
    c->protocol = v;
  }
  if (const char* v = Env("OTEL_EXPORTER_OTLP_INSECURE")) {
    std::string s(v);
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (s != "true" && s != "false") {
      return absl::InvalidArgumentError(
          StrCat("OTEL_EXPORTER_OTLP_INSECURE: expected true or false, got \"", v, "\""));
    }
    c->insecure = (s == "true");
  }
  if (const char* v = Env("OTEL_EXPORTER_OTLP_HEADERS")) {
    ASSIGN_OR_RETURN(c->headers, ParseHeaderList(v, "OTEL_EXPORTER_OTLP_HEADERS"));
  }
  if (const char* v = Env("OTEL_EXPORTER_OTLP_TIMEOUT")) {
    int64_t ms;
    if (!ParseInt64(v, &ms) || ms < 0) {
      return absl::InvalidArgumentError(
          StrCat("OTEL_EXPORTER_OTLP_TIMEOUT: expected whole milliseconds, got \"", v, "\""));
    }
    c->timeout = std::chrono::milliseconds(ms == 0 ? int64_t{1} << 40 : ms);
  }
  if (const char* v = Env("OTEL_EXPORTER_OTLP_COMPRESSION")) {
    auto codec = ParseSendCompression(v);
    if (!codec.ok()) {
      return absl::InvalidArgumentError(
          StrCat("OTEL_EXPORTER_OTLP_COMPRESSION: ", codec.status().message()));
    }
    c->compression = *codec;
  }
  if (const char* v = Env("OTEL_RESOURCE_ATTRIBUTES")) {
    ASSIGN_OR_RETURN(auto attrs, ParseKeyValueList(v, "OTEL_RESOURCE_ATTRIBUTES"));
    for (const auto& [k, value] : attrs) {
      RETURN_IF_ERROR(CheckAttribute(k, value, "OTEL_RESOURCE_ATTRIBUTES"));
      SetAttribute(&c->resource_attributes, k, value);
    }
  }
  // The SDK rule: OTEL_SERVICE_NAME wins over a service.name in the list above.
  if (const char* v = Env("OTEL_SERVICE_NAME")) {
    RETURN_IF_ERROR(CheckAttribute("service.name", v, "OTEL_SERVICE_NAME"));
    if (*v == '\0') return absl::InvalidArgumentError("OTEL_SERVICE_NAME: empty");
    SetAttribute(&c->resource_attributes, "service.name", v);
  }
  if (const char* v = Env("OTEL_EXPORTER_OTLP_CERTIFICATE")) c->tls.ca_file = v;
  if (const char* v = Env("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")) c->tls.cert_file = v;
  if (const char* v = Env("OTEL_EXPORTER_OTLP_CLIENT_KEY")) c->tls.key_file = v;
  return absl::OkStatus();
}

namespace {

// input: the template files.
absl::Status ReadInput(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap input, root.Map("input"));
  RETURN_IF_ERROR(input.GetString("traces", &c->traces_file));
  RETURN_IF_ERROR(input.GetString("metrics", &c->metrics_file));
  RETURN_IF_ERROR(input.GetString("logs", &c->logs_file));
  RETURN_IF_ERROR(input.Finish());
  return absl::OkStatus();
}

// otlp: where and how requests go.
absl::Status ReadOtlp(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap otlp, root.Map("otlp"));
  RETURN_IF_ERROR(otlp.GetString("endpoint", &c->endpoint));
  ASSIGN_OR_RETURN(ConfigMap endpoints, otlp.Map("endpoints"));
  for (Signal s : kAllSignals) {
    RETURN_IF_ERROR(endpoints.GetString(SignalName(s), &c->signal_endpoints[SignalIndex(s)]));
  }
  RETURN_IF_ERROR(endpoints.Finish());
  RETURN_IF_ERROR(otlp.GetBool("insecure", &c->insecure));
  RETURN_IF_ERROR(otlp.GetString("protocol", &c->protocol));
  if (c->protocol != "grpc" && c->protocol != "http/protobuf") {
    return otlp.ErrorAt("protocol", StrCat("expected grpc or http/protobuf, got \"", c->protocol,
                                           "\" (http/json is not supported)"));
  }
  RETURN_IF_ERROR(otlp.GetStringMap("headers", &c->headers));
  for (auto& [name, value] : c->headers) {
    const std::string written = name;
    if (auto status = CheckHeader(&name, value); !status.ok()) {
      ASSIGN_OR_RETURN(ConfigMap headers, otlp.Map("headers"));
      return headers.ErrorAt(written, std::string(status.message()));
    }
  }
  if (otlp.Has("compression")) {
    std::string name;
    RETURN_IF_ERROR(otlp.GetString("compression", &name));
    auto codec = ParseSendCompression(name);
    if (!codec.ok()) return otlp.ErrorAt("compression", std::string(codec.status().message()));
    c->compression = *codec;
  }
  if (otlp.Has("compression_level")) {
    RETURN_IF_ERROR(otlp.GetInt("compression_level", &c->compression_level, INT32_MIN, INT32_MAX));
    // Without compression the level waits for a --compression flag: any codec's will do.
    const LevelRange levels = c->compression == Compression::kNone
                                  ? CompressionLevels(Compression::kZstd)
                                  : CompressionLevels(c->compression);
    if (c->compression_level < levels.min || c->compression_level > levels.max) {
      return otlp.ErrorAt(
          "compression_level",
          StrCat(c->compression == Compression::kNone
                     ? std::string("gzip takes levels 1 to 12, zstd")
                     : std::string(CompressionName(c->compression)),
                 " takes levels ", levels.min, " to ", levels.max, ", got ", c->compression_level));
    }
  }
  for (auto [key, list] : {std::pair{"resource_attributes", &c->resource_attributes},
                           std::pair{"scope_attributes", &c->scope_attributes},
                           std::pair{"span_attributes", &c->span_attributes}}) {
    std::vector<std::pair<std::string, std::string>> attrs;
    RETURN_IF_ERROR(otlp.GetStringMap(key, &attrs));
    for (const auto& [k, v] : attrs) {
      if (auto s = CheckAttribute(k, v, key); !s.ok()) {
        ASSIGN_OR_RETURN(ConfigMap map, otlp.Map(key));
        return map.ErrorAt(k, std::string(s.message()).substr(std::string_view(key).size() + 2));
      }
      SetAttribute(list, k, v);
    }
  }
  RETURN_IF_ERROR(otlp.GetDuration("timeout", &c->timeout));
  ASSIGN_OR_RETURN(ConfigMap tls, otlp.Map("tls"));
  RETURN_IF_ERROR(tls.GetString("ca_file", &c->tls.ca_file));
  RETURN_IF_ERROR(tls.GetString("cert_file", &c->tls.cert_file));
  RETURN_IF_ERROR(tls.GetString("key_file", &c->tls.key_file));
  RETURN_IF_ERROR(tls.GetString("server_name", &c->tls.server_name));
  RETURN_IF_ERROR(tls.Finish());
  RETURN_IF_ERROR(otlp.Finish());
  return absl::OkStatus();
}

// sending: rate or schedule, request sizes, workers, ending, retries.
absl::Status ReadSending(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap sending, root.Map("sending"));
  ASSIGN_OR_RETURN(ConfigMap rate, sending.Map("rate_limit"));
  RETURN_IF_ERROR(rate.GetDouble("events_per_second", &c->events_per_second, 0, 1e12));
  RETURN_IF_ERROR(rate.GetDouble("burst", &c->burst_events, 0, 1e12));
  RETURN_IF_ERROR(rate.Finish());
  ASSIGN_OR_RETURN(std::vector<ConfigMap> stages, sending.MapList("schedule"));
  if (!stages.empty()) {
    c->schedule.clear();
    std::chrono::nanoseconds total{0};
    for (ConfigMap& stage : stages) {
      ScheduleStage st;
      RETURN_IF_ERROR(stage.GetDuration("duration", &st.duration));
      if (!stage.Has("target_rate")) {
        return stage.ErrorAt("", "a schedule stage needs target_rate (events per second)");
      }
      RETURN_IF_ERROR(stage.GetDouble("target_rate", &st.target_rate, 0, 1e12));
      RETURN_IF_ERROR(stage.Finish());
      total += st.duration;
      c->schedule.push_back(st);
    }
    if (total.count() == 0) {
      return sending.ErrorAt("schedule", "the stages add up to no time; give them durations");
    }
    if (rate.Has("events_per_second")) {
      return sending.ErrorAt("schedule",
                             "set either sending.schedule or rate_limit.events_per_second, not "
                             "both: a schedule sets the rate");
    }
  }
  ASSIGN_OR_RETURN(ConfigMap batch, sending.Map("batch_size"));
  RETURN_IF_ERROR(batch.GetInt("traces", &c->batch_traces, 1, int64_t{1} << 30));
  RETURN_IF_ERROR(batch.GetInt("metrics", &c->batch_metrics, 1, int64_t{1} << 30));
  RETURN_IF_ERROR(batch.GetInt("logs", &c->batch_logs, 1, int64_t{1} << 30));
  RETURN_IF_ERROR(batch.Finish());
  RETURN_IF_ERROR(sending.GetInt("concurrency", &c->concurrency, 1, 1024));
  RETURN_IF_ERROR(sending.GetInt("max_in_flight", &c->max_in_flight, 1, 4096));
  RETURN_IF_ERROR(sending.GetInt("max_request_bytes", &c->max_request_bytes, 1024, 64LL << 20));
  RETURN_IF_ERROR(sending.GetDuration("duration", &c->duration));
  RETURN_IF_ERROR(sending.GetDuration("pacing_interval", &c->pacing_interval));
  if (c->pacing_interval.count() <= 0 || c->pacing_interval > std::chrono::hours(1)) {
    return sending.ErrorAt("pacing_interval", StrCat("must be above 0 and at most 1h, got ",
                                                     FormatDuration(c->pacing_interval)));
  }
  RETURN_IF_ERROR(sending.GetInt("multiplier", &c->multiplier, 0, INT64_MAX));
  ASSIGN_OR_RETURN(ConfigMap retry, sending.Map("retry"));
  RETURN_IF_ERROR(retry.GetBool("enabled", &c->retry.enabled));
  RETURN_IF_ERROR(retry.GetDuration("initial_interval", &c->retry.initial_interval));
  RETURN_IF_ERROR(retry.GetDuration("max_interval", &c->retry.max_interval));
  RETURN_IF_ERROR(retry.GetDuration("max_elapsed_time", &c->retry.max_elapsed_time));
  RETURN_IF_ERROR(retry.GetDouble("multiplier", &c->retry.multiplier, 1, 100));
  RETURN_IF_ERROR(retry.GetDouble("randomization_factor", &c->retry.randomization_factor, 0, 1));
  RETURN_IF_ERROR(retry.Finish());
  ASSIGN_OR_RETURN(ConfigMap deferred, sending.Map("deferred"));
  RETURN_IF_ERROR(deferred.GetInt("max_pending", &c->deferred_max_pending, 1, int64_t{1} << 32));
  RETURN_IF_ERROR(deferred.GetDuration("drain_timeout", &c->deferred_drain_timeout));
  RETURN_IF_ERROR(deferred.Finish());
  std::string on_rejected = c->stop_on_rejected ? "stop" : "continue";
  RETURN_IF_ERROR(sending.GetString("on_rejected", &on_rejected));
  if (on_rejected != "continue" && on_rejected != "stop") {
    return sending.ErrorAt("on_rejected",
                           StrCat("expected continue or stop, got \"", on_rejected, "\""));
  }
  c->stop_on_rejected = on_rejected == "stop";
  RETURN_IF_ERROR(sending.Finish());
  return absl::OkStatus();
}

// admin: the HTTP endpoint.
absl::Status ReadAdmin(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap admin, root.Map("admin"));
  RETURN_IF_ERROR(admin.GetString("listen", &c->admin_listen));
  RETURN_IF_ERROR(admin.GetBool("allow_rate_change", &c->allow_rate_change));
  RETURN_IF_ERROR(admin.Finish());
  return absl::OkStatus();
}

// capacity: the search for the highest sustained rate.
absl::Status ReadCapacity(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap cap, root.Map("capacity"));
  CapacityOptions& co = c->capacity;
  RETURN_IF_ERROR(cap.GetDouble("start_rate", &co.start_rate, 1, 1e12));
  RETURN_IF_ERROR(cap.GetDouble("factor", &co.factor, 1.01, 100));
  RETURN_IF_ERROR(cap.GetDouble("step", &co.step, 0, 1e12));
  RETURN_IF_ERROR(cap.GetDouble("max_rate", &co.max_rate, 0, 1e12));
  RETURN_IF_ERROR(cap.GetDuration("hold", &co.hold));
  RETURN_IF_ERROR(cap.GetDuration("warmup", &co.warmup));
  int64_t refine = co.refine_steps;
  RETURN_IF_ERROR(cap.GetInt("refine_steps", &refine, 0, 20));
  co.refine_steps = static_cast<int>(refine);
  ASSIGN_OR_RETURN(ConfigMap thresholds, cap.Map("thresholds"));
  RETURN_IF_ERROR(thresholds.GetDouble("max_error_share", &co.max_error_share, 0, 1));
  RETURN_IF_ERROR(thresholds.GetDouble("max_p99_ms", &co.max_p99_ms, 0, 1e9));
  RETURN_IF_ERROR(thresholds.GetDouble("min_achieved_ratio", &co.min_achieved_ratio, 0, 1));
  RETURN_IF_ERROR(thresholds.GetDouble("max_lag_ms", &co.max_lag_ms, 0, 1e9));
  RETURN_IF_ERROR(thresholds.Finish());
  RETURN_IF_ERROR(cap.Finish());
  if (co.warmup >= co.hold) {
    return cap.ErrorAt("warmup",
                       "must be shorter than capacity.hold (the step is measured after it)");
  }
  return absl::OkStatus();
}

// timestamps: jitter and backdating.
absl::Status ReadTimestamps(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap ts, root.Map("timestamps"));
  int64_t jitter_ms = c->jitter.count() / 1000000, backdate_ms = c->backdate.count() / 1000000;
  RETURN_IF_ERROR(ts.GetInt("jitter_ms", &jitter_ms, 0, int64_t{1} << 40));
  RETURN_IF_ERROR(ts.GetInt("backdate_ms", &backdate_ms, 0, int64_t{1} << 40));
  c->jitter = std::chrono::milliseconds(jitter_ms);
  c->backdate = std::chrono::milliseconds(backdate_ms);
  RETURN_IF_ERROR(ts.Finish());
  return absl::OkStatus();
}

// metrics: series as a fleet of agents sends them.
absl::Status ReadMetrics(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap m, root.Map("metrics"));
  RETURN_IF_ERROR(m.GetDuration("collection_interval", &c->collection_interval));
  ASSIGN_OR_RETURN(ConfigMap churn, m.Map("churn"));
  RETURN_IF_ERROR(churn.GetDuration("interval", &c->churn_interval));
  RETURN_IF_ERROR(churn.GetDouble("share", &c->churn_share, 0, 1));
  RETURN_IF_ERROR(churn.Finish());
  if ((c->churn_interval.count() > 0) != (c->churn_share > 0)) {
    return m.ErrorAt("churn", "set both interval and share (above 0) to churn series, or neither");
  }
  RETURN_IF_ERROR(m.Finish());
  return absl::OkStatus();
}

// stats: progress lines and the summary files.
absl::Status ReadStats(ConfigMap& root, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigMap stats, root.Map("stats"));
  RETURN_IF_ERROR(stats.GetDuration("interval", &c->stats_interval));
  RETURN_IF_ERROR(stats.GetString("json_file", &c->stats_json_file));
  RETURN_IF_ERROR(stats.GetString("report_file", &c->report_file));
  RETURN_IF_ERROR(stats.Finish());
  if (c->stats_interval.count() == 0) {
    return stats.ErrorAt("interval", "must be above 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplySenderConfigFile(const std::string& file, SenderConfig* c) {
  ASSIGN_OR_RETURN(ConfigDoc doc, ConfigDoc::Load(file));
  ConfigMap& root = doc.root();
  for (auto* read : {ReadInput, ReadOtlp, ReadSending, ReadAdmin, ReadCapacity, ReadTimestamps,
                     ReadMetrics, ReadStats}) {
    RETURN_IF_ERROR(read(root, c));
  }
  return root.Finish();
}

namespace {

// host:port from an endpoint; *tls is set when the scheme says so.
absl::StatusOr<std::string> ParseEndpoint(const std::string& endpoint, std::string_view key,
                                          std::optional<bool>* tls) {
  std::string_view ep = endpoint;
  if (ep.starts_with("http://")) {
    *tls = false;
    ep.remove_prefix(7);
  } else if (ep.starts_with("https://")) {
    *tls = true;
    ep.remove_prefix(8);
  } else if (ep.find("://") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat(key, ": unsupported scheme in \"", endpoint,
               "\"; use host:port, http://host:port or https://host:port"));
  }
  while (!ep.empty() && ep.back() == '/') ep.remove_suffix(1);
  const size_t colon = ep.rfind(':');
  int64_t port;
  if (ep.empty() || colon == std::string_view::npos || colon == 0 ||
      !ParseInt64(ep.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        StrCat(key, ": expected host:port (for example 127.0.0.1:4317), got \"", endpoint, "\""));
  }
  return std::string(ep);
}

}  // namespace

absl::StatusOr<std::array<std::string, 3>> ResolveGrpcTargets(SenderConfig* c) {
  std::array<std::string, 3> targets;
  std::optional<bool> tls;
  for (Signal s : kAllSignals) {
    const std::string& own = c->signal_endpoints[SignalIndex(s)];
    const std::string key =
        own.empty() ? "otlp.endpoint" : StrCat("otlp.endpoints.", SignalName(s));
    std::optional<bool> this_tls;
    ASSIGN_OR_RETURN(targets[SignalIndex(s)],
                     ParseEndpoint(own.empty() ? c->endpoint : own, key, &this_tls));
    if (this_tls.has_value()) {
      if (tls.has_value() && *tls != *this_tls) {
        return absl::InvalidArgumentError(
            "otlp.endpoints: mixing http:// and https:// endpoints in one run is not supported");
      }
      tls = this_tls;
    }
  }
  if (tls.has_value()) c->insecure = !*tls;
  return targets;
}

absl::StatusOr<std::array<std::string, 3>> ResolveHttpUrls(SenderConfig* c) {
  std::array<std::string, 3> urls;
  auto with_scheme = [&](std::string url, std::string_view key) -> absl::StatusOr<std::string> {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      if (url.find("://") != std::string::npos) {
        return absl::InvalidArgumentError(
            StrCat(key, ": unsupported scheme in \"", url, "\"; use http:// or https://"));
      }
      url = StrCat(c->insecure ? "http://" : "https://", url);
    }
    return url;
  };
  std::optional<bool> tls;
  for (Signal s : kAllSignals) {
    const std::string& own = c->signal_endpoints[SignalIndex(s)];
    std::string url;
    if (!own.empty()) {
      ASSIGN_OR_RETURN(url, with_scheme(own, StrCat("otlp.endpoints.", SignalName(s))));
    } else {
      ASSIGN_OR_RETURN(url, with_scheme(c->endpoint, "otlp.endpoint"));
      while (url.ends_with("/")) url.pop_back();
      url = StrCat(url, "/v1/", SignalName(s));
    }
    const bool this_tls = url.starts_with("https://");
    if (tls.has_value() && *tls != this_tls) {
      return absl::InvalidArgumentError(
          "otlp.endpoints: mixing http:// and https:// endpoints in one run is not supported");
    }
    tls = this_tls;
    urls[SignalIndex(s)] = url;
  }
  c->insecure = !*tls;
  return urls;
}

void SetAttribute(std::vector<std::pair<std::string, std::string>>* list, std::string_view key,
                  std::string_view value) {
  for (auto& [k, v] : *list) {
    if (k == key) {
      v = value;
      return;
    }
  }
  list->emplace_back(key, value);
}

absl::Status ParseAttributeFlag(std::string_view text, std::string_view flag,
                                std::vector<std::pair<std::string, std::string>>* list) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        StrCat(flag, ": expected key=value, got \"", std::string(text), "\""));
  }
  RETURN_IF_ERROR(CheckAttribute(text.substr(0, eq), text.substr(eq + 1), flag));
  SetAttribute(list, text.substr(0, eq), text.substr(eq + 1));
  return absl::OkStatus();
}

}  // namespace loadgen
