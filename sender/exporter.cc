#include "sender/exporter.h"

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/strings.h"
#include "common/wire.h"
#include "grpcpp/generic/generic_stub.h"

namespace loadgen {

struct GrpcExporter::Call {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader;
  int64_t started_ns = 0;
  uint64_t events = 0;
  size_t bytes = 0;
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

std::shared_ptr<grpc::Channel> MakeChannel(const ExporterOptions& o) {
  grpc::ChannelArguments args;
  // A private subchannel pool gives every exporter its own connection, so workers do
  // not queue behind each other on one HTTP/2 connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(static_cast<int>(o.max_request_bytes) + 4096);
  args.SetUserAgentPrefix("telemetry-sender/0.1");
  if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  return grpc::CreateCustomChannel(o.target, o.credentials, args);
}

// Reads partial_success.{rejected_*, error_message} from an Export*ServiceResponse
// without knowing its type: the three responses share field numbers.
void ParsePartialSuccess(const grpc::ByteBuffer& buffer, int64_t* rejected, std::string* message) {
  *rejected = 0;
  std::vector<grpc::Slice> slices;
  if (!buffer.Valid() || !buffer.Dump(&slices).ok()) return;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  wire::FieldReader r(bytes);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != wire::kLen) continue;
    wire::FieldReader pr(f.data, f.size);
    wire::Field pf;
    while (pr.Next(&pf)) {
      if (pf.number == 1 && pf.type == wire::kVarint) *rejected = static_cast<int64_t>(pf.varint);
      if (pf.number == 2 && pf.type == wire::kLen) {
        message->assign(reinterpret_cast<const char*>(pf.data), pf.size);
      }
    }
  }
}

}  // namespace

GrpcExporter::GrpcExporter(const ExporterOptions& options, Signal signal, RunStats* stats)
    : options_(options),
      signal_(signal),
      stats_(stats),
      channel_(MakeChannel(options)),
      stub_(channel_),
      method_(ExportMethod(signal)) {}

GrpcExporter::~GrpcExporter() {
  Drain();
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

void GrpcExporter::Start(grpc::Slice payload, uint64_t events) {
  auto* call = new Call;
  call->events = events;
  call->bytes = payload.size();
  call->request = grpc::ByteBuffer(&payload, 1);
  for (const auto& [k, v] : options_.headers) call->context.AddMetadata(k, v);
  if (options_.gzip) call->context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  call->context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  call->started_ns = SteadyClock().NowNs();
  call->reader = stub_.PrepareUnaryCall(&call->context, method_, call->request, &cq_);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
  ++in_flight_;
}

void GrpcExporter::Finish(Call* call, bool ok) {
  SignalCounters& c = stats_->of(signal_);
  c.latency.Record(SteadyClock().NowNs() - call->started_ns);
  c.requests.fetch_add(1, std::memory_order_relaxed);
  c.events_sent.fetch_add(call->events, std::memory_order_relaxed);
  c.bytes_sent.fetch_add(call->bytes, std::memory_order_relaxed);
  if (ok && call->status.ok()) {
    int64_t rejected = 0;
    std::string message;
    ParsePartialSuccess(call->response, &rejected, &message);
    rejected = std::clamp<int64_t>(rejected, 0, static_cast<int64_t>(call->events));
    c.events_accepted.fetch_add(call->events - rejected, std::memory_order_relaxed);
    if (rejected > 0) {
      c.events_rejected.fetch_add(rejected, std::memory_order_relaxed);
      stats_->NoteError(signal_, StrCat("partial success: ", rejected, " rejected: ", message));
    }
  } else {
    c.failed_requests.fetch_add(1, std::memory_order_relaxed);
    c.events_failed.fetch_add(call->events, std::memory_order_relaxed);
    stats_->NoteError(signal_, StrCat("gRPC status ", static_cast<int>(call->status.error_code()),
                                      ": ", call->status.error_message()));
  }
  delete call;
  --in_flight_;
}

bool GrpcExporter::Reap(bool block) {
  void* tag;
  bool ok;
  if (block) {
    if (!cq_.Next(&tag, &ok)) return false;
  } else {
    const auto status = cq_.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC));
    if (status != grpc::CompletionQueue::GOT_EVENT) return false;
  }
  Finish(static_cast<Call*>(tag), ok);
  return true;
}

void GrpcExporter::WaitForSlot() {
  while (Reap(false)) {
  }
  while (in_flight_ >= options_.max_in_flight) Reap(true);
}

void GrpcExporter::Drain() {
  while (in_flight_ > 0) Reap(true);
}

}  // namespace loadgen
