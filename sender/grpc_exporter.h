// OTLP/gRPC export of pre-serialized requests. The request bytes go to gRPC as a
// ByteBuffer over one slice that the transform wrote into directly (or, with gzip, that
// the worker compressed into), through the generic stub: nothing is parsed, serialized
// or compressed on gRPC's side. A GrpcExporter owns one channel (its own TCP
// connection) and one completion queue.
//
// gRPC C++ cannot send zstd (its core knows identity, deflate and gzip only, and turns
// any other grpc-encoding into identity: grpc/grpc#26460); MakeExporter sends zstd over
// gRPC through the libcurl exporter instead (http_exporter.h).
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

  int in_flight() const { return in_flight_; }

 private:
  friend class CallQueueExporter<GrpcExporter, internal::GrpcCall>;
  using Call = internal::GrpcCall;
  uint8_t* Buffer(size_t n);
  void Start(const RequestInfo& request, size_t raw_bytes);
  void StartAttempt(Call* call);
  void Pump(int64_t wait_until_ns);
  void Complete(Call* call, bool ok);
  void Release(Call*) {}

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  const std::string method_;
  Rng rng_;
  grpc::Slice pending_;  // The next request's bytes as sent, not yet started.
};

}  // namespace loadgen
