// Sender settings: a plain struct with documented defaults (configs/sender.yaml lists
// every key). Precedence, lowest first: these defaults, the standard
// OTEL_EXPORTER_OTLP_* environment variables, the config file, command-line flags.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/compression.h"
#include "common/otlp_wire.h"
#include "sender/schedule.h"

namespace loadgen {

struct TlsConfig {
  std::string ca_file;      // PEM roots; empty = the system's.
  std::string cert_file;    // Client certificate chain for mTLS.
  std::string key_file;     // Client private key for mTLS.
  std::string server_name;  // Overrides the name checked in the server certificate.
};

// Retries follow the OTLP exporter rules: only retryable codes (UNAVAILABLE,
// DEADLINE_EXCEEDED, CANCELLED, ABORTED, OUT_OF_RANGE, DATA_LOSS, and RESOURCE_EXHAUSTED
// when the server sent RetryInfo), exponential backoff with jitter, the server's
// RetryInfo delay when given, and a bound on the total time per request.
struct RetryPolicy {
  bool enabled = true;
  std::chrono::nanoseconds initial_interval = std::chrono::milliseconds(500);
  std::chrono::nanoseconds max_interval = std::chrono::seconds(10);
  std::chrono::nanoseconds max_elapsed_time = std::chrono::seconds(60);
  double multiplier = 1.5;
  double randomization_factor = 0.5;
};

// --find-capacity (see capacity.h): the steps and the thresholds a step must hold.
struct CapacityOptions {
  double start_rate = 10000;
  double factor = 2;    // Multiply the rate while it holds...
  double step = 0;      // ...or, when > 0, add this instead.
  double max_rate = 0;  // Stop raising here (0: no bound).
  std::chrono::nanoseconds hold = std::chrono::seconds(10);
  std::chrono::nanoseconds warmup = std::chrono::seconds(2);
  int refine_steps = 4;  // Bisections between the last good and the first bad rate.
  // Thresholds: a step holds while every one does.
  double max_error_share = 0.01;  // (retries + failed + rejected requests) / attempts
  double max_p99_ms = 1000;
  double min_achieved_ratio = 0.95;  // Accepted events/s over target.
  // The most the sends may fall behind the schedule during a step: a receiver slower
  // than the target shows as growing lag before it shows as errors.
  double max_lag_ms = 1000;
};

struct SenderConfig {
  // Template files; an empty or omitted path skips that signal (no default paths, so
  // removing a line from `input:` skips it, as configs/sender.yaml says).
  std::string traces_file;
  std::string metrics_file;
  std::string logs_file;

  std::string endpoint = "127.0.0.1:4317";  // host:port, or http:// / https:// URL.
  // grpc, or http/protobuf (OTLP/HTTP: POST to <endpoint>/v1/traces, ...).
  std::string protocol = "grpc";
  // Per-signal endpoints (by SignalIndex); empty means `endpoint`.
  std::array<std::string, 3> signal_endpoints;
  bool insecure = false;  // Plaintext instead of TLS.
  TlsConfig tls;
  // Sent as gRPC metadata. Values are secrets: never printed.
  std::vector<std::pair<std::string, std::string>> headers;
  // Requests are compressed once, on the worker's thread; the level is the codec's
  // (CompressionLevels), 1 (the fastest) by default.
  Compression compression = Compression::kNone;
  int64_t compression_level = kDefaultCompressionLevel;
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  // Attributes on everything sent, set at load (free per send); each replaces the
  // templates' attribute of the same key. Lowest precedence first: OTEL_RESOURCE_ATTRIBUTES
  // and OTEL_SERVICE_NAME, otlp.*_attributes, the --*-attribute flags.
  std::vector<std::pair<std::string, std::string>> resource_attributes;
  std::vector<std::pair<std::string, std::string>> scope_attributes;  // Every scope.
  std::vector<std::pair<std::string, std::string>> span_attributes;   // Every span.

  double events_per_second = 0;  // <= 0: unlimited.
  // Events a request may go ahead of its intended time, at the peak rate. 0: none,
  // every request goes when the schedule reaches it.
  double burst_events = 0;
  // One request carries at most this much of its signal's rate, so the receiver sees
  // evenly spaced requests rather than bursts (within batch_size and max_request_bytes,
  // and at least one trace, point or record). In (0, 1h]; a run shorter than it uses
  // its own length, so that every request falls inside the run.
  std::chrono::nanoseconds pacing_interval = std::chrono::milliseconds(50);
  int64_t concurrency = 4;    // Workers across all signals (at least one per signal).
  int64_t max_in_flight = 8;  // Outstanding requests per worker.
  int64_t max_request_bytes =
      otlp::kDefaultMaxMessageBytes;  // Larger template chunks are split at load.
  // Most events per request (spans, data points, log records); larger chunks are split
  // at load, keeping traces whole where they fit.
  int64_t batch_traces = 8192;
  int64_t batch_metrics = 8192;
  int64_t batch_logs = 8192;
  std::chrono::nanoseconds duration{0};  // 0: no time limit.
  int64_t multiplier = 1;                // Replays of the whole dataset; 0: unlimited.

  RetryPolicy retry;
  // Late roots (LateRoots in loader.h): at most this many wait to be sent at once (a
  // trace worker waits for room beyond it), and at the end of a run those still waiting
  // are sent when due within this long, or counted as failed.
  int64_t deferred_max_pending = 100000;
  std::chrono::nanoseconds deferred_drain_timeout = std::chrono::seconds(30);
  // Metric series as agents send them (see SeriesFanout in transform.h): one point per
  // series per collection interval at any rate (0: off), and a share of the series
  // identities replaced every churn interval (0: none).
  std::chrono::nanoseconds collection_interval{0};
  std::chrono::nanoseconds churn_interval{0};
  double churn_share = 0;
  // A load shape instead of a constant rate (see schedule.h); the run ends with it.
  std::vector<ScheduleStage> schedule;
  // What a refusal for good (a non-retryable status or partial_success) does: the run
  // continues (it is counted as rejected and reported once per cause) or stops.
  bool stop_on_rejected = false;

  std::chrono::nanoseconds jitter{0};
  std::chrono::nanoseconds backdate{0};

  // Scale-out: this process is instance `instance` of `instances` (see worker_pool.h):
  // it sends 1/instances of the rate or schedule, its share of the replays, and trace
  // IDs disjoint from every other instance's.
  CapacityOptions capacity;
  // The sender's own HTTP endpoint: /metrics (Prometheus) and /rate. Off by default.
  std::string admin_listen;
  bool allow_rate_change = false;

  int64_t instance = 0;
  int64_t instances = 1;

  std::chrono::nanoseconds stats_interval = std::chrono::seconds(5);
  std::string stats_json_file;
  std::string report_file;  // --report: the HTML report.
};

// Applies the OTEL_EXPORTER_OTLP_* variables to `config`. Errors name the variable.
absl::Status ApplyOtelEnvironment(SenderConfig* config);

// Applies the settings present in a YAML file over `config`.
absl::Status ApplySenderConfigFile(const std::string& file, SenderConfig* config);

// Normalises the endpoints: a scheme of http:// (plaintext) or https:// (TLS) decides
// `insecure`; the result is the gRPC target host:port of each signal (by SignalIndex).
absl::StatusOr<std::array<std::string, 3>> ResolveGrpcTargets(SenderConfig* config);

// Sets `key` to `value` in `list`: replaces an entry with that key, or appends one.
void SetAttribute(std::vector<std::pair<std::string, std::string>>* list, std::string_view key,
                  std::string_view value);
// "key=value" (a flag's value) into `list`; the error names `flag`.
absl::Status ParseAttributeFlag(std::string_view text, std::string_view flag,
                                std::vector<std::pair<std::string, std::string>>* list);

// For http/protobuf: each signal's URL. A per-signal endpoint is used as it is (as the
// OTLP exporter spec says); the base endpoint gets /v1/traces, /v1/metrics or /v1/logs
// appended. Without a scheme, `insecure` picks http:// or https://.
absl::StatusOr<std::array<std::string, 3>> ResolveHttpUrls(SenderConfig* config);

}  // namespace loadgen
