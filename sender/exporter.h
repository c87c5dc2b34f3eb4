// OTLP/gRPC export of pre-serialized requests. The request bytes go to gRPC as a
// ByteBuffer over one slice that the transform wrote into directly, through the
// generic stub: nothing is parsed or serialized on the way.
//
// A GrpcExporter owns one channel (its own TCP connection) and one completion queue,
// and keeps up to `max_in_flight` requests outstanding, counting those waiting for a
// retry, so memory stays bounded however slow the backend is. It is used by exactly
// one worker thread; outcomes are added to the shared RunStats.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
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

// What the worker knows of a request it hands over.
struct RequestInfo {
  uint64_t events = 0;
  uint64_t tag = 0;         // Given back to the RequestListener when the request is done.
  int64_t intended_ns = 0;  // When the schedule meant it to go (steady clock): latency is
                            // also measured from here, not only from when it went.
};

// Told, on the worker's thread, when a request is done for good: accepted, rejected,
// failed, or given up at a stop.
class RequestListener {
 public:
  virtual ~RequestListener() = default;
  virtual void RequestDone(uint64_t tag) = 0;
};

// What a worker sends through: its own connection(s) with up to `max_in_flight`
// requests outstanding, counting those waiting for a retry. Used by one thread.
class Exporter {
 public:
  virtual ~Exporter() = default;
  // May be null (the default); must outlive the exporter's calls.
  void SetListener(RequestListener* listener) { listener_ = listener; }
  // Blocks until a call slot is free, handling completed calls meanwhile.
  virtual void WaitForSlot() = 0;
  // Handles completions (and starts due retries) until the steady-clock time
  // `until_ns`: a worker waiting for rate-limit tokens calls this, so a request's
  // latency is measured when it completes, not when the worker next looks.
  virtual void WaitUntil(int64_t until_ns) = 0;
  // A buffer of n bytes for the next request, which the caller fills, then Send()s.
  // For gRPC it is the outgoing slice itself: no copy on the way to the wire.
  virtual uint8_t* Prepare(size_t n) = 0;
  virtual void Send(const RequestInfo& request) = 0;
  // Blocks until something happens to an outstanding request (a completion, a retry
  // started); returns at once when none is outstanding.
  virtual void WaitForProgress() = 0;
  // Waits for every outstanding request to finish, retries included (each bounded by
  // the retry policy). With `abandon_retries`, requests waiting for a retry are given
  // up and counted as failed; calls on the wire are still waited for.
  virtual void Drain(bool abandon_retries) = 0;

 protected:
  RequestListener* listener_ = nullptr;
};

namespace internal {
// What every exporter's calls hold besides their transport state.
struct CallBase {
  RequestInfo request;
  size_t bytes = 0;  // Before compression.
  int64_t first_started_ns = 0;
  int attempt = 0;
};
}  // namespace internal

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

// What every exporter keeps per worker: the calls outstanding, on the wire or waiting
// for a retry (all count against max_in_flight, so memory stays bounded however slow
// the backend is), and the retry queue, soonest first. `Derived` provides
// StartAttempt(Call*), Pump(wait_until_ns) (start due retries with StartDueRetries,
// then handle completions, waiting up to wait_until_ns: 0 none, kForever unbounded)
// and Release(Call*) (give back what the call held); `Call` derives from CallBase.
template <typename Derived, typename Call>
class CallQueueExporter : public Exporter {
 public:
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

  void WaitForSlot() override {
    self().Pump(0);
    while (in_flight_ >= options_.max_in_flight) self().Pump(kForever);
  }
  void WaitUntil(int64_t until_ns) override {
    while (SteadyClock().NowNs() < until_ns) self().Pump(until_ns);
  }
  void WaitForProgress() override {
    if (in_flight_ > 0) self().Pump(kForever);
  }
  void Drain(bool abandon_retries) override {
    while (in_flight_ > 0) {
      if (abandon_retries) {
        for (auto& [due, call] : retries_) {
          outcomes_.Failed(call->request.events, call->bytes, "stopped before retry",
                           "the run stopped while the request waited for a retry");
          Finish(call, /*answered=*/false);
        }
        retries_.clear();
        if (in_flight_ == 0) break;
      }
      self().Pump(kForever);
    }
  }

 protected:
  CallQueueExporter(const ExporterOptions& options, Signal signal, RunStats* stats)
      : options_(options), signal_(signal), stats_(stats), outcomes_(options_, signal, stats) {}

  // A new call takes a slot; Finish frees the call and its slot, and tells the
  // listener. A request the receiver answered has its latency from the intended time
  // recorded (one abandoned at a stop has none).
  void Begin(Call* call, const RequestInfo& request) {
    call->request = request;
    call->first_started_ns = SteadyClock().NowNs();
    ++in_flight_;
    stats_->AddInFlight(1);
  }
  void Finish(Call* call, bool answered = true) {
    if (answered) {
      stats_->of(signal_).intended_latency.Record(SteadyClock().NowNs() -
                                                  call->request.intended_ns);
    }
    const uint64_t tag = call->request.tag;
    self().Release(call);
    delete call;
    --in_flight_;
    stats_->AddInFlight(-1);
    if (listener_ != nullptr) listener_->RequestDone(tag);
  }
  void RetryAt(int64_t due_ns, Call* call) {
    retries_.emplace_back(due_ns, call);
    std::push_heap(retries_.begin(), retries_.end(), std::greater<>());
  }
  void StartDueRetries(int64_t now_ns) {
    while (!retries_.empty() && retries_.front().first <= now_ns) {
      std::pop_heap(retries_.begin(), retries_.end(), std::greater<>());
      Call* call = retries_.back().second;
      retries_.pop_back();
      self().StartAttempt(call);
    }
  }
  // How long Pump may wait: until `wait_until_ns` or the soonest retry.
  int64_t WaitLimit(int64_t wait_until_ns) const {
    return retries_.empty() ? wait_until_ns : std::min(wait_until_ns, retries_.front().first);
  }

  ExporterOptions options_;
  Signal signal_;
  RunStats* stats_;
  OutcomeCounter outcomes_;
  int in_flight_ = 0;

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  std::vector<std::pair<int64_t, Call*>> retries_;
};

namespace internal {
struct GrpcCall;
}  // namespace internal

class GrpcExporter : public CallQueueExporter<GrpcExporter, internal::GrpcCall> {
 public:
  GrpcExporter(const ExporterOptions& options, Signal signal, RunStats* stats);
  ~GrpcExporter() override;

  uint8_t* Prepare(size_t n) override;
  void Send(const RequestInfo& request) override { Start(std::move(pending_), request); }
  // Starts an Export call carrying `payload` (a whole serialized request). Requires a
  // free slot (WaitForSlot).
  void Start(grpc::Slice payload, const RequestInfo& request);
  int in_flight() const { return in_flight_; }

 private:
  friend class CallQueueExporter<GrpcExporter, internal::GrpcCall>;
  using Call = internal::GrpcCall;
  void StartAttempt(Call* call);
  void Pump(int64_t wait_until_ns);
  void Complete(Call* call, bool ok);
  void Release(Call*) {}

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  const std::string method_;
  Rng rng_;
  grpc::Slice pending_;  // Prepare()d, not yet sent.
};

}  // namespace loadgen
