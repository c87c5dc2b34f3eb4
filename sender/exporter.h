// OTLP/gRPC export of pre-serialized requests. The request bytes go to gRPC as a
// ByteBuffer over one slice that the transform wrote into directly, through the
// generic stub: nothing is parsed or serialized on the way.
//
// A GrpcExporter owns one channel (its own TCP connection) and one completion queue,
// and keeps up to `max_in_flight` requests outstanding, counting those waiting for a
// retry, so memory stays bounded however slow the backend is. It is used by exactly
// one worker thread; outcomes are added to the shared RunStats.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "common/signal.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "sender/config.h"
#include "sender/stats.h"

namespace loadgen {

// Whether an Export failing with `code` may be retried; `has_retry_info` says whether
// the status carried google.rpc.RetryInfo.
bool IsRetryable(int code, bool has_retry_info);

// The RetryInfo delay in a serialized google.rpc.Status, or -1 when there is none.
int64_t RetryDelayNs(std::string_view status_details);

struct ExporterOptions {
  std::string protocol = "grpc";                         // Or http/protobuf.
  std::array<std::string, 3> http_urls;                  // For http/protobuf, by SignalIndex.
  std::string tls_ca_file, tls_cert_file, tls_key_file;  // For http/protobuf.
  bool insecure = true;
  std::string target;                         // host:port
  std::array<std::string, 3> signal_targets;  // Per signal (by SignalIndex); empty = target.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string tls_server_name;
  std::vector<std::pair<std::string, std::string>> headers;
  bool gzip = false;
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  int max_in_flight = 8;
  size_t max_request_bytes = 4 << 20;
  RetryPolicy retry;
  // Called (from worker threads) with a description of each request the receiver
  // refused for good; may be empty. The sender uses it to stop on the first refusal
  // when asked to.
  std::function<void(Signal, const std::string& reason)> on_rejected;
};

// Channel credentials from the config: plaintext when `insecure`, else TLS with the
// system roots or tls.ca_file, plus a client certificate for mTLS. Errors name the
// file that could not be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const SenderConfig& config);

// What a worker sends through: its own connection(s) with up to `max_in_flight`
// requests outstanding, counting those waiting for a retry. Used by one thread.
class Exporter {
 public:
  virtual ~Exporter() = default;
  // Blocks until a call slot is free, handling completed calls meanwhile.
  virtual void WaitForSlot() = 0;
  // Handles completions (and starts due retries) until the steady-clock time
  // `until_ns`: a worker waiting for rate-limit tokens calls this, so a request's
  // latency is measured when it completes, not when the worker next looks.
  virtual void WaitUntil(int64_t until_ns) = 0;
  // A buffer of n bytes for the next request, which the caller fills, then Send()s.
  // For gRPC it is the outgoing slice itself: no copy on the way to the wire.
  virtual uint8_t* Prepare(size_t n) = 0;
  virtual void Send(uint64_t events) = 0;
  // Waits for every outstanding request to finish, retries included (each bounded by
  // the retry policy). With `abandon_retries`, requests waiting for a retry are given
  // up and counted as failed; calls on the wire are still waited for.
  virtual void Drain(bool abandon_retries) = 0;
};

// The exporter for options.protocol (grpc or http/protobuf).
std::unique_ptr<Exporter> MakeExporter(const ExporterOptions& options, Signal signal,
                                       RunStats* stats);

// The wait before retry number `attempt` (1 = the first retry) by the policy's
// exponential backoff with jitter, or the server's delay when it gave one (>= 0).
int64_t RetryBackoffNs(const RetryPolicy& policy, int attempt, int64_t server_delay_ns, Rng* rng);

// The name of a gRPC status code (UNAVAILABLE, ...).
const char* GrpcCodeName(int code);

// A request's final outcome, counted the same way by every exporter: one count per
// request however many attempts it took. `response` is an Export*ServiceResponse
// (partial success); refusals call options.on_rejected.
class OutcomeCounter {
 public:
  OutcomeCounter(const ExporterOptions& options, Signal signal, RunStats* stats)
      : options_(options), signal_(signal), stats_(stats) {}
  void Accepted(uint64_t events, size_t bytes, std::string_view response);
  void Rejected(uint64_t events, size_t bytes, const std::string& kind, const std::string& message);
  void Failed(uint64_t events, size_t bytes, const std::string& kind, const std::string& message);
  // An attempt that will be retried: counted, and its cause reported once per kind.
  void Retried(const std::string& kind, const std::string& message);

 private:
  void Completed(uint64_t events, size_t bytes);
  const ExporterOptions& options_;
  Signal signal_;
  RunStats* stats_;
};

class GrpcExporter : public Exporter {
 public:
  GrpcExporter(const ExporterOptions& options, Signal signal, RunStats* stats);
  ~GrpcExporter() override;

  void WaitForSlot() override;
  void WaitUntil(int64_t until_ns) override;
  uint8_t* Prepare(size_t n) override;
  void Send(uint64_t events) override { Start(std::move(pending_), events); }
  void Drain(bool abandon_retries) override;
  // Starts an Export call carrying `payload` (a whole serialized request). Requires a
  // free slot (WaitForSlot).
  void Start(grpc::Slice payload, uint64_t events);
  int in_flight() const { return in_flight_; }

 private:
  struct Call;
  void StartAttempt(Call* call);
  // Starts due retries, then handles completions until none is ready; first waits
  // up to `wait_until_ns` (steady clock; 0: no wait, kForever: as long as it takes)
  // for one completion or the next retry time.
  void Pump(int64_t wait_until_ns);
  void Complete(Call* call, bool ok);
  void Finish(Call* call);  // Frees the call and its slot.

  ExporterOptions options_;
  Signal signal_;
  RunStats* stats_;
  OutcomeCounter outcomes_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  const std::string method_;
  int in_flight_ = 0;
  Rng rng_;
  // Requests waiting for their retry time, soonest first.
  std::vector<std::pair<int64_t, Call*>> retries_;
  grpc::Slice pending_;  // Prepare()d, not yet sent.
};

}  // namespace loadgen
