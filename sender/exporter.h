// OTLP/gRPC export of pre-serialized requests. The request bytes go to gRPC as a
// ByteBuffer over one slice that the transform wrote into directly, through the
// generic stub: nothing is parsed or serialized on the way.
//
// A GrpcExporter owns one channel (its own TCP connection) and one completion queue,
// and keeps up to `max_in_flight` Export calls outstanding. It is used by exactly one
// worker thread; outcomes are added to the shared RunStats.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/signal.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "sender/config.h"
#include "sender/stats.h"

namespace loadgen {

struct ExporterOptions {
  std::string target;  // host:port
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string tls_server_name;
  std::vector<std::pair<std::string, std::string>> headers;
  bool gzip = false;
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  int max_in_flight = 8;
  size_t max_request_bytes = 4 << 20;
};

// Channel credentials from the config: plaintext when `insecure`, else TLS with the
// system roots or tls.ca_file, plus a client certificate for mTLS. Errors name the
// file that could not be read.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const SenderConfig& config);

class GrpcExporter {
 public:
  GrpcExporter(const ExporterOptions& options, Signal signal, RunStats* stats);
  ~GrpcExporter();

  // Blocks until a call slot is free, handling completed calls meanwhile.
  void WaitForSlot();
  // Starts an Export call carrying `payload` (a whole serialized request). Requires a
  // free slot (WaitForSlot).
  void Start(grpc::Slice payload, uint64_t events);
  // Waits for every outstanding call to finish; each is bounded by the request timeout.
  void Drain();
  int in_flight() const { return in_flight_; }

 private:
  struct Call;
  // Handles completions; blocks for one when `block`. Returns false if none was handled.
  bool Reap(bool block);
  void Finish(Call* call, bool ok);

  ExporterOptions options_;
  Signal signal_;
  RunStats* stats_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  const std::string method_;
  int in_flight_ = 0;
};

}  // namespace loadgen
