// otlp-sink: an OTLP/gRPC receiver that counts what arrives and, on request, checks
// it. Counting walks the protobuf wire format without decoding (so the sink keeps up
// with the sender in benchmarks); validation decodes every request and checks IDs,
// parent links within the request, span timing and timestamp freshness.
// Thread-safe: gRPC calls handlers concurrently; Snapshot() may be called any time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/compression.h"
#include "common/http_server.h"
#include "common/mutex.h"
#include "common/otlp_signal.h"
#include "common/otlp_wire.h"
#include "common/wire.h"
#include "grpcpp/support/status_code_enum.h"
#include "sink/faults.h"
#include "sink/trace_context.h"

namespace grpc {
class Server;
class Service;
class CallbackGenericService;
}  // namespace grpc

namespace loadgen {

struct SinkOptions {
  bool validate = false;
  // Timestamps further than this from the sink's clock are validation errors.
  int64_t max_skew_ns = 15LL * 60 * 1000000000;
  int max_receive_bytes = otlp::kDefaultMaxMessageBytes;
  int max_examples = 10;  // Validation error texts kept for the summary.

  // Misbehaviour, for tests and demos of how senders cope. Shares are exact, not random:
  // with fail_share 0.2 every fifth request of the sink fails.
  double fail_share = 0;  // Share of requests refused with fail_code.
  grpc::StatusCode fail_code = grpc::UNAVAILABLE;
  int64_t retry_after_ns = 0;  // If > 0, refusals carry google.rpc.RetryInfo with this delay.
  double reject_share = 0;  // Share of each accepted request's items refused via partial_success.
  int64_t delay_ns = 0;     // Added to responses (to delay_share of them).
  int64_t delay_jitter_ns = 0;  // Plus uniform [0, jitter].
  double delay_share = 1;       // Share of requests delayed (exact: 0.5 = every other one).

  // A backend that can take only max_rate items per second (0: no cap). Over the cap
  // the sink either refuses (RESOURCE_EXHAUSTED with a RetryInfo delay of when it
  // would have room, as overloaded collectors do) or, with over_rate_delay, queues:
  // it answers only when it would have processed the request, so latency grows.
  double max_rate = 0;
  bool over_rate_delay = false;

  // With a path: every accepted request is appended as one line ("<signal letter>
  // <accepted> <rejected> <hash of the bytes>") before it is answered, so the record
  // survives SIGKILL. A sink started on an existing ledger continues it, and counts a
  // request whose bytes it has already accepted (a retry whose answer was lost) as a
  // duplicate. The summary's "ledger" totals are across every life of the ledger.
  std::string ledger_path;

  // When set (lower-case name), requests without this header (gRPC metadata) and value
  // are refused with UNAUTHENTICATED (HTTP 401), as a backend that checks an API key.
  std::string required_header_name, required_header_value;

  // TLS: serve with this certificate chain and key (PEM text, not paths); with
  // client_ca_pem, require and verify client certificates (mTLS).
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string client_ca_pem;

  // With validation: metric points of one series closer than 90% of this are
  // series_too_frequent (an agent sends one per collection interval); 0: no check.
  int64_t series_interval_ns = 0;
  // With validation: the spans whose IDs are kept to resolve the spans exemplars and
  // log records name (trace_context.h).
  size_t span_memory = TraceContextChecker::kDefaultSpans;

  // The content codings accepted (by Compression value): a request in another is
  // refused with UNIMPLEMENTED (HTTP 415), as a receiver without that decoder does.
  std::array<bool, 4> codings = {true, true, true, true};

  // Called with every well-formed request before it is answered (tests use it to look
  // at what arrived). Must be thread-safe; may be empty.
  std::function<void(Signal, std::string_view)> on_request;
  // Called with every request's bytes as they arrived (compressed, if they were) and
  // their coding, before they are decoded. Must be thread-safe; may be empty.
  std::function<void(Signal, Compression, std::string_view)> on_wire;
};

// What the sink answers to one request.
struct SinkVerdict {
  grpc::StatusCode code = grpc::OK;
  std::string message;
  int64_t retry_after_ns = 0;
  int64_t rejected = 0;  // Items refused via partial_success (with code 0).
  int64_t delay_ns = 0;
};

struct SinkSnapshot {
  std::array<uint64_t, 3> requests{};          // Every request received, whatever the answer.
  std::array<uint64_t, 3> bytes{};             // Decoded (after decompression).
  std::array<uint64_t, 3> wire_bytes{};        // As received (compressed, if it was).
  std::array<uint64_t, 3> items{};             // Accepted spans, data points, log records.
  std::array<uint64_t, 3> refused_requests{};  // Answered with an error status.
  std::array<uint64_t, 3> refused_items{};
  std::array<uint64_t, 3> rejected_items{};  // Refused via partial_success.
  std::array<uint64_t, 3> ledger_items{};    // Unique accepted items across ledger lives.
  uint64_t duplicate_requests = 0;
  uint64_t duplicate_items = 0;
  uint64_t malformed_requests = 0;
  uint64_t validation_errors = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  std::vector<std::string> examples;
  uint64_t series = 0;             // Distinct metric series seen (with validation).
  uint64_t series_gaps = 0;        // Consecutive points of one series seen,
  uint64_t min_series_gap_ns = 0;  // and the least time between two.
  // Whether the spans that exemplars and log records name arrived (with validation).
  TraceContextChecker::Counts exemplars, log_links;
  double active_seconds = 0;  // From the first to the last request.
  // Items accepted per second of the wall clock, from arrivals_start_unix_s on.
  int64_t arrivals_start_unix_s = 0;
  std::vector<uint64_t> arrivals;
};

// Counts the spans, data points or log records in a serialized Export request
// without decoding it. Returns false if the bytes are not a well-formed request.
bool CountItems(Signal signal, std::string_view request, uint64_t* items);

// What a strict metrics backend (Prometheus, Mimir) checks across requests, per series
// (resource, scope, metric and point attributes, in any order): points arrive with
// strictly increasing time_unix_nano, a cumulative sum or histogram count never
// decreases while its start time stays, and no point is sent twice. Not thread-safe.
class SeriesChecker {
 public:
  using Problems = std::vector<std::pair<std::string, std::string>>;
  // Checks the points of one ExportMetricsServiceRequest in order; appends (kind,
  // detail) for each violation: series_out_of_order, series_duplicate_point,
  // cumulative_decrease, series_too_frequent. Returns false on bytes it cannot walk.
  bool Check(std::string_view request, Problems* problems);
  size_t series() const { return series_.size(); }
  // Points of a series closer than 90% of `ns` (0: no check) are series_too_frequent.
  void ExpectInterval(int64_t ns) { expected_gap_ns_ = static_cast<uint64_t>(ns); }
  // The smallest time between two consecutive points of a series, and how many such
  // gaps there were.
  uint64_t min_gap_ns() const { return min_gap_ns_; }
  uint64_t gaps() const { return gaps_; }

 private:
  struct State {
    uint64_t time = 0, start = 0;
    double value = 0;
  };
  // The levels of the walk: a ScopeMetrics under a resource's identity, one metric's
  // data (Sum, Gauge, ...), and one point of a series against the one before it.
  bool CheckScope(uint64_t resource, const wire::Field& scope_metrics, Problems* problems);
  bool CheckData(uint64_t metric, std::string_view name, const wire::Field& data,
                 Problems* problems);
  void Follow(uint64_t key, const State& now, bool grows, std::string_view name,
              Problems* problems);
  std::unordered_map<uint64_t, State> series_;
  uint64_t expected_gap_ns_ = 0;
  uint64_t min_gap_ns_ = UINT64_MAX, gaps_ = 0;
};

class OtlpSink {
 public:
  explicit OtlpSink(SinkOptions options);
  ~OtlpSink();

  // Serves on `listen` (host:port; port 0 picks a free port). Returns the bound port.
  absl::StatusOr<int> Start(const std::string& listen);
  // Also serves OTLP/HTTP (POST /v1/traces, /v1/metrics, /v1/logs with protobuf
  // bodies, gzip or not) on `listen`, with the same counting, checks and faults:
  // refusals map to 503 (UNAVAILABLE), 429 with Retry-After (RESOURCE_EXHAUSTED),
  // 400 (INVALID_ARGUMENT), 401, 403, else 500. Returns the bound port.
  absl::StatusOr<int> StartHttp(const std::string& listen);
  void Shutdown();

  // Called by the services for every request (public for them, not for users).
  // Decode undoes a request's content coding into `out` (which keeps its capacity for
  // the next call): Unimplemented for a coding the sink does not accept,
  // InvalidArgument for a corrupt body (counted as malformed), ResourceExhausted when
  // it decodes to more than max_receive_bytes. Counts the wire bytes.
  absl::Status Decode(Signal signal, Compression coding, std::string_view wire, std::string* out);
  // `headers` looks a request header up by lower-case name (null when absent).
  SinkVerdict Receive(Signal signal, std::string_view request,
                      const std::function<const std::string*(std::string_view)>& headers = {});

  SinkSnapshot Snapshot() const;
  std::string SummaryJson() const;

 private:
  SinkOptions options_;
  std::unique_ptr<grpc::CallbackGenericService> service_;  // Export, one message a call.
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpServer> http_;
  std::array<std::atomic<uint64_t>, 3> requests_{}, bytes_{}, wire_bytes_{}, items_{},
      refused_requests_{}, refused_items_{}, rejected_items_{};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> sequence_{0};  // Requests seen, for the exact fail share.
  std::atomic<int64_t> first_ns_{0}, last_ns_{0};
  mutable Mutex mu_;  // Guards the validation results below.
  uint64_t validation_errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> errors_by_kind_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> examples_ ABSL_GUARDED_BY(mu_);
  SeriesChecker series_ ABSL_GUARDED_BY(mu_);
  TraceContextChecker trace_context_ ABSL_GUARDED_BY(mu_);
  // Counts references that became unresolved: (exemplars, log records).
  void NoteUnresolved(std::pair<uint64_t, uint64_t> lost) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteProblems(Signal signal, const std::vector<std::pair<std::string, std::string>>& problems)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex arrivals_mu_;
  int64_t arrivals_start_s_ ABSL_GUARDED_BY(arrivals_mu_) = 0;
  // Items accepted per wall-clock second.
  std::vector<uint64_t> arrivals_ ABSL_GUARDED_BY(arrivals_mu_);
  void Arrived(uint64_t items);

  absl::Status OpenLedger();
  // Returns false when the request was already in the ledger.
  bool Record(Signal signal, std::string_view request, uint64_t accepted, uint64_t rejected);
  int ledger_fd_ = -1;
  mutable Mutex ledger_mu_;
  std::unordered_set<uint64_t> ledger_seen_ ABSL_GUARDED_BY(ledger_mu_);
  std::array<uint64_t, 3> ledger_items_ ABSL_GUARDED_BY(ledger_mu_){};
  uint64_t duplicate_requests_ ABSL_GUARDED_BY(ledger_mu_) = 0;
  uint64_t duplicate_items_ ABSL_GUARDED_BY(ledger_mu_) = 0;

  const ResponseDelay delay_;
  std::unique_ptr<RateCap> rate_cap_;  // With max_rate.
};

}  // namespace loadgen
