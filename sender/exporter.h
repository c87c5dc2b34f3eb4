// What a worker sends through, whatever the protocol: an Exporter keeps up to
// `max_in_flight` requests outstanding on its own connection(s), counting those waiting
// for a retry, so memory stays bounded however slow the backend is. It is used by
// exactly one worker thread; outcomes are added to the shared RunStats.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/compression.h"
#include "common/otlp_signal.h"
#include "common/otlp_wire.h"
#include "grpcpp/security/credentials.h"
#include "sender/config.h"
#include "sender/stats.h"

namespace loadgen {

struct ExporterOptions {
  std::string protocol = "grpc";                         // Or http/protobuf.
  std::array<std::string, 3> http_urls;                  // For http/protobuf, by SignalIndex.
  std::string tls_ca_file, tls_cert_file, tls_key_file;  // For http/protobuf.
  std::string target;                                    // host:port
  std::array<std::string, 3> signal_targets;  // Per signal (by SignalIndex); empty = target.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // gRPC targets are plaintext (else TLS): the scheme of the libcurl exporter's URLs
  // when it carries gRPC (zstd).
  bool plaintext = false;
  std::string tls_server_name;
  std::vector<std::pair<std::string, std::string>> headers;
  // Each request is compressed once, on the worker's thread, before it is handed to
  // the transport; retries resend the compressed bytes.
  Compression compression = Compression::kNone;
  int compression_level = kDefaultCompressionLevel;
  std::chrono::nanoseconds timeout = std::chrono::seconds(10);
  int max_in_flight = 8;
  size_t max_request_bytes = otlp::kDefaultMaxMessageBytes;
  RetryPolicy retry;
  // Called (from worker threads) with a description of each request the receiver
  // refused for good; may be empty. The sender uses it to stop on the first refusal
  // when asked to.
  std::function<void(Signal, const std::string& reason)> on_rejected;
};

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
  // Blocks until a call slot is free or the steady-clock time `until_ns` passes,
  // handling completed calls meanwhile; true when a slot is free. Bounded, so that a
  // worker whose slots are all held by retries still sees its deadline and a stop.
  virtual bool WaitForSlot(int64_t until_ns) = 0;
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

// The exporter for options.protocol (grpc or http/protobuf).
std::unique_ptr<Exporter> MakeExporter(const ExporterOptions& options, Signal signal,
                                       RunStats* stats);

}  // namespace loadgen
