#include "sender/grpc_exporter.h"

#include <algorithm>
#include <vector>

#include "common/clock.h"
#include "common/otlp_wire.h"
#include "common/read_file.h"
#include "common/strings.h"

namespace loadgen {

struct internal::GrpcCall : internal::CallBase {
  std::unique_ptr<grpc::ClientContext> context;  // A context serves one attempt only.
  grpc::ByteBuffer payload;                      // Kept for retries; the slice is shared.
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader;
  int64_t attempt_started_ns = 0;
};

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const SenderConfig& config) {
  if (config.insecure) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  auto read = [](const std::string& path, const char* key, std::string* out) -> absl::Status {
    if (path.empty()) return absl::OkStatus();
    auto text = ReadFile(path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(StrCat("otlp.tls.", key, ": ", text.status().message()));
    }
    *out = *std::move(text);
    return absl::OkStatus();
  };
  if (auto s = read(config.tls.ca_file, "ca_file", &ssl.pem_root_certs); !s.ok()) return s;
  if (auto s = read(config.tls.cert_file, "cert_file", &ssl.pem_cert_chain); !s.ok()) return s;
  if (auto s = read(config.tls.key_file, "key_file", &ssl.pem_private_key); !s.ok()) return s;
  if (ssl.pem_cert_chain.empty() != ssl.pem_private_key.empty()) {
    return absl::InvalidArgumentError(
        "otlp.tls: cert_file and key_file go together for mTLS; set both or neither");
  }
  return grpc::SslCredentials(ssl);
}

namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const ExporterOptions& o, Signal signal) {
  grpc::ChannelArguments args;
  // A private subchannel pool gives every exporter its own connection, so workers do
  // not queue behind each other on one HTTP/2 connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(static_cast<int>(o.max_request_bytes) + 4096);
  args.SetUserAgentPrefix("telemetry-sender/0.1");
  // gRPC's own reconnect backoff grows to 120 s; keep it within the retry policy's, so
  // a receiver that comes back is used as soon as our retries would reach it.
  const auto reconnect_max_ms = static_cast<int>(std::clamp<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(o.retry.max_interval).count(), 100,
      120000));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(reconnect_max_ms, 500));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, reconnect_max_ms);
  if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  const std::string& own = o.signal_targets[SignalIndex(signal)];
  return grpc::CreateCustomChannel(own.empty() ? o.target : own, o.credentials, args);
}

// The bytes of a response, from however many slices gRPC delivered it in.
std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Valid() || !buffer.Dump(&slices).ok()) return bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

}  // namespace

GrpcExporter::GrpcExporter(const ExporterOptions& options, Signal signal, RunStats* stats)
    : CallQueueExporter(options, signal, stats),
      channel_(MakeChannel(options, signal)),
      stub_(channel_),
      method_(ExportMethod(signal)),
      rng_(reinterpret_cast<uintptr_t>(this) ^ static_cast<uint64_t>(SteadyClock().NowNs())) {}

GrpcExporter::~GrpcExporter() {
  Drain(/*abandon_retries=*/true);
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

uint8_t* GrpcExporter::Prepare(size_t n) {
  pending_ = grpc::Slice(n);
  // The slice is fresh and only ours until Send hands it to gRPC.
  return const_cast<uint8_t*>(pending_.begin());
}

void GrpcExporter::Start(grpc::Slice payload, const RequestInfo& request) {
  auto* call = new Call;
  call->bytes = payload.size();
  call->payload = grpc::ByteBuffer(&payload, 1);
  Begin(call, request);
  StartAttempt(call);
}

void GrpcExporter::StartAttempt(Call* call) {
  ++call->attempt;
  call->context = std::make_unique<grpc::ClientContext>();
  for (const auto& [k, v] : options_.headers) call->context->AddMetadata(k, v);
  if (options_.gzip) call->context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  call->context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  call->response.Clear();
  call->attempt_started_ns = SteadyClock().NowNs();
  call->reader = stub_.PrepareUnaryCall(call->context.get(), method_, call->payload, &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

void GrpcExporter::Complete(Call* call, bool ok) {
  SignalCounters& c = stats_->of(signal_);
  const int64_t now = SteadyClock().NowNs();
  c.latency.Record(now - call->attempt_started_ns);
  const grpc::StatusCode code = ok ? call->status.error_code() : grpc::UNAVAILABLE;
  if (code != grpc::OK) {
    const int64_t server_delay = otlp::RetryDelayNs(call->status.error_details());
    if (options_.retry.enabled && otlp::IsRetryable(code, server_delay >= 0)) {
      // The server's RetryInfo says when it wants to hear from us again.
      const int64_t delay = RetryBackoffNs(options_.retry, call->attempt, server_delay, &rng_);
      if (now + delay - call->first_started_ns <= options_.retry.max_elapsed_time.count()) {
        // Retried causes are reported too (once per kind), not only final failures.
        outcomes_.Retried(std::string(otlp::StatusCodeName(code)),
                          ok ? call->status.error_message() : "completion queue failure");
        RetryAt(now + delay, call);
        return;
      }
    }
  }
  const uint64_t events = call->request.events;
  if (code == grpc::OK) {
    outcomes_.Accepted(events, call->bytes, Flatten(call->response));
  } else if (ok &&
             !otlp::IsRetryable(code, otlp::RetryDelayNs(call->status.error_details()) >= 0)) {
    // The receiver refused the request itself; resending it would not help.
    outcomes_.Rejected(events, call->bytes, std::string(otlp::StatusCodeName(code)),
                       call->status.error_message());
  } else {
    outcomes_.Failed(events, call->bytes, std::string(otlp::StatusCodeName(code)),
                     ok ? call->status.error_message() : "completion queue failure");
  }
  Finish(call);
}

void GrpcExporter::Pump(int64_t wait_until_ns) {
  const int64_t now = SteadyClock().NowNs();
  StartDueRetries(now);
  void* tag;
  bool ok;
  if (wait_until_ns > now) {
    // Wake for a completion, or when the soonest retry is due, or at wait_until_ns.
    const int64_t until = WaitLimit(wait_until_ns);
    const auto deadline =
        until == kForever
            ? gpr_inf_future(GPR_CLOCK_MONOTONIC)
            : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                           gpr_time_from_nanos(std::max<int64_t>(0, until - now), GPR_TIMESPAN));
    if (cq_.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
      Complete(static_cast<Call*>(tag), ok);
    }
  }
  while (cq_.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) ==
         grpc::CompletionQueue::GOT_EVENT) {
    Complete(static_cast<Call*>(tag), ok);
  }
}

}  // namespace loadgen
