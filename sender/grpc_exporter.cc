#include "sender/grpc_exporter.h"

#include <algorithm>
#include <vector>

#include "common/clock.h"
#include "common/otlp_wire.h"
#include "common/read_file.h"
#include "common/strings.h"
#include "grpc/byte_buffer.h"

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

uint8_t* GrpcExporter::Buffer(size_t n) {
  pending_ = grpc::Slice(n);
  // The slice is fresh and only ours until Start hands it to gRPC.
  return const_cast<uint8_t*>(pending_.begin());
}

namespace {

// A ByteBuffer over `payload` that gRPC sends as it is, already compressed with `codec`:
// a buffer marked compressed makes gRPC set the message's compressed flag and skip its
// own compression (grpc/grpc#8522: "Skip compress filter if byte_buffer is
// compressed"; call.cc sets GRPC_WRITE_INTERNAL_COMPRESS for it), while the call's
// compression algorithm names the encoding in grpc-encoding. grpc::ByteBuffer has no
// constructor from a C buffer, but its header asserts that it is exactly one
// grpc_byte_buffer* (byte_buffer.h's static_asserts), which is what this relies on.
grpc::ByteBuffer CompressedBuffer(grpc::Slice payload, grpc_compression_algorithm codec) {
  static_assert(sizeof(grpc::ByteBuffer) == sizeof(grpc_byte_buffer*));
  grpc_slice raw = payload.c_slice();  // A new reference, which the buffer takes.
  grpc::ByteBuffer buffer;
  *reinterpret_cast<grpc_byte_buffer**>(&buffer) =
      grpc_raw_compressed_byte_buffer_create(&raw, 1, codec);
  grpc_slice_unref(raw);
  return buffer;
}

}  // namespace

void GrpcExporter::Start(const RequestInfo& request, size_t raw_bytes) {
  auto* call = new Call;
  call->bytes = raw_bytes;
  call->wire_bytes = pending_.size();
  call->payload = options_.compression == Compression::kGzip
                      ? CompressedBuffer(std::move(pending_), GRPC_COMPRESS_GZIP)
                      : grpc::ByteBuffer(&pending_, 1);
  pending_ = grpc::Slice();
  Begin(call, request);
  StartAttempt(call);
}

void GrpcExporter::StartAttempt(Call* call) {
  ++call->attempt;
  call->context = std::make_unique<grpc::ClientContext>();
  for (const auto& [k, v] : options_.headers) call->context->AddMetadata(k, v);
  // Names the payload's encoding (grpc-encoding: gzip); the payload is compressed.
  if (options_.compression == Compression::kGzip) {
    call->context->set_compression_algorithm(GRPC_COMPRESS_GZIP);
  }
  call->context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  call->response.Clear();
  call->attempt_started_ns = SteadyClock().NowNs();
  call->reader = stub_.PrepareUnaryCall(call->context.get(), method_, call->payload, &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

void GrpcExporter::Complete(Call* call, bool ok) {
  stats_->of(signal_).latency.Record(SteadyClock().NowNs() - call->attempt_started_ns);
  if (!ok) {
    CompleteGrpc(call, grpc::UNAVAILABLE, false, "completion queue failure", "", "", &rng_);
    return;
  }
  CompleteGrpc(call, call->status.error_code(), true, call->status.error_message(),
               call->status.error_details(), Flatten(call->response), &rng_);
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
