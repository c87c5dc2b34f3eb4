// OTLP/gRPC export of pre-serialized requests. The request bytes go to gRPC as a
// ByteBuffer over one slice that the transform wrote into directly, through the
// generic stub: nothing is parsed or serialized on the way. A GrpcExporter owns one
// channel (its own TCP connection) and one completion queue.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "sender/call_queue.h"
#include "sender/config.h"

namespace loadgen {

// Channel credentials from the config: plaintext when `insecure`, else TLS with the
// system roots or tls.ca_file, plus a client certificate for mTLS. Errors name the
// file that could not be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const SenderConfig& config);

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
