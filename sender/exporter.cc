#include "sender/exporter.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/strings.h"
#include "common/wire.h"
#include "grpcpp/generic/generic_stub.h"
#include "sender/http_exporter.h"

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

// Reads partial_success.{rejected_*, error_message} from an Export*ServiceResponse
// without knowing its type: the three responses share field numbers.
// The bytes of a response, from however many slices gRPC delivered it in.
std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Valid() || !buffer.Dump(&slices).ok()) return bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

}  // namespace

void OutcomeCounter::Completed(uint64_t events, size_t bytes) {
  SignalCounters& c = stats_->of(signal_);
  c.requests.fetch_add(1, std::memory_order_relaxed);
  c.events_sent.fetch_add(events, std::memory_order_relaxed);
  c.bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
}

void OutcomeCounter::Accepted(uint64_t events, size_t bytes, std::string_view response) {
  Completed(events, bytes);
  // partial_success (field 1 of all three responses): 1 rejected count, 2 error_message.
  int64_t rejected = 0;
  std::string message;
  wire::FieldReader r(response);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != wire::kLen) continue;
    wire::FieldReader pr(f.data, f.size);
    wire::Field pf;
    while (pr.Next(&pf)) {
      if (pf.number == 1 && pf.type == wire::kVarint) rejected = static_cast<int64_t>(pf.varint);
      if (pf.number == 2 && pf.type == wire::kLen) {
        message.assign(reinterpret_cast<const char*>(pf.data), pf.size);
      }
    }
  }
  rejected = std::clamp<int64_t>(rejected, 0, static_cast<int64_t>(events));
  SignalCounters& c = stats_->of(signal_);
  c.events_accepted.fetch_add(events - rejected, std::memory_order_relaxed);
  if (rejected > 0) {
    c.events_rejected.fetch_add(rejected, std::memory_order_relaxed);
    stats_->NoteError(signal_, "partial_success", message);
    if (options_.on_rejected) {
      options_.on_rejected(signal_, StrCat("partial_success: ", rejected, " rejected: ", message));
    }
  }
}

void OutcomeCounter::Rejected(uint64_t events, size_t bytes, const std::string& kind,
                              const std::string& message) {
  Completed(events, bytes);
  SignalCounters& c = stats_->of(signal_);
  c.rejected_requests.fetch_add(1, std::memory_order_relaxed);
  c.events_rejected.fetch_add(events, std::memory_order_relaxed);
  stats_->NoteError(signal_, kind, message);
  if (options_.on_rejected) options_.on_rejected(signal_, StrCat(kind, ": ", message));
}

void OutcomeCounter::Failed(uint64_t events, size_t bytes, const std::string& kind,
                            const std::string& message) {
  Completed(events, bytes);
  SignalCounters& c = stats_->of(signal_);
  c.failed_requests.fetch_add(1, std::memory_order_relaxed);
  c.events_failed.fetch_add(events, std::memory_order_relaxed);
  stats_->NoteError(signal_, kind, message);
}

void OutcomeCounter::Retried(const std::string& kind, const std::string& message) {
  stats_->of(signal_).retries.fetch_add(1, std::memory_order_relaxed);
  stats_->NoteError(signal_, StrCat(kind, " (retried)"), message);
}

bool IsRetryable(int code, bool has_retry_info) {
  switch (code) {
    case grpc::CANCELLED:
    case grpc::DEADLINE_EXCEEDED:
    case grpc::ABORTED:
    case grpc::OUT_OF_RANGE:
    case grpc::UNAVAILABLE:
    case grpc::DATA_LOSS: return true;
    case grpc::RESOURCE_EXHAUSTED:
      return has_retry_info;  // Throttling; without RetryInfo it means "too big".
    default: return false;
  }
}

int64_t RetryDelayNs(std::string_view details) {
  // google.rpc.Status: 3 details (repeated Any: 1 type_url, 2 value);
  // RetryInfo: 1 retry_delay (Duration: 1 seconds, 2 nanos).
  int64_t delay = -1;
  wire::FieldReader status(details);
  wire::Field f;
  while (status.Next(&f)) {
    if (f.number != 3 || f.type != wire::kLen) continue;
    std::string_view type_url, value;
    wire::FieldReader any(f.data, f.size);
    wire::Field af;
    while (any.Next(&af)) {
      if (af.type != wire::kLen) continue;
      std::string_view v(reinterpret_cast<const char*>(af.data), af.size);
      if (af.number == 1) type_url = v;
      if (af.number == 2) value = v;
    }
    if (type_url != "type.googleapis.com/google.rpc.RetryInfo") continue;
    delay = 0;
    wire::FieldReader info(value);
    wire::Field rf;
    while (info.Next(&rf)) {
      if (rf.number != 1 || rf.type != wire::kLen) continue;
      wire::FieldReader duration(rf.data, rf.size);
      wire::Field df;
      while (duration.Next(&df)) {
        if (df.type != wire::kVarint) continue;
        if (df.number == 1) delay += static_cast<int64_t>(df.varint) * 1000000000;
        if (df.number == 2) delay += static_cast<int64_t>(df.varint);
      }
    }
  }
  return delay;
}

int64_t RetryBackoffNs(const RetryPolicy& p, int attempt, int64_t server_delay_ns, Rng* rng) {
  if (server_delay_ns >= 0) return server_delay_ns;
  double interval =
      static_cast<double>(p.initial_interval.count()) * std::pow(p.multiplier, attempt - 1);
  interval = std::min(interval, static_cast<double>(p.max_interval.count()));
  interval *= 1 + p.randomization_factor * (2 * rng->Unit() - 1);
  return static_cast<int64_t>(interval);
}

std::unique_ptr<Exporter> MakeExporter(const ExporterOptions& options, Signal signal,
                                       RunStats* stats) {
  if (options.protocol == "http/protobuf") return MakeHttpExporter(options, signal, stats);
  return std::make_unique<GrpcExporter>(options, signal, stats);
}

const char* GrpcCodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

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
  const int code = ok ? call->status.error_code() : grpc::UNAVAILABLE;
  if (code != grpc::OK) {
    const int64_t server_delay = RetryDelayNs(call->status.error_details());
    if (options_.retry.enabled && IsRetryable(code, server_delay >= 0)) {
      // The server's RetryInfo says when it wants to hear from us again.
      const int64_t delay = RetryBackoffNs(options_.retry, call->attempt, server_delay, &rng_);
      if (now + delay - call->first_started_ns <= options_.retry.max_elapsed_time.count()) {
        // Retried causes are reported too (once per kind), not only final failures.
        outcomes_.Retried(GrpcCodeName(code),
                          ok ? call->status.error_message() : "completion queue failure");
        RetryAt(now + delay, call);
        return;
      }
    }
  }
  const uint64_t events = call->request.events;
  if (code == grpc::OK) {
    outcomes_.Accepted(events, call->bytes, Flatten(call->response));
  } else if (ok && !IsRetryable(code, RetryDelayNs(call->status.error_details()) >= 0)) {
    // The receiver refused the request itself; resending it would not help.
    outcomes_.Rejected(events, call->bytes, GrpcCodeName(code), call->status.error_message());
  } else {
    outcomes_.Failed(events, call->bytes, GrpcCodeName(code),
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
