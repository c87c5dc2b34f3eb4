#include "sink/otlp_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "common/compression.h"
#include "common/otlp_wire.h"
#include "common/random.h"
#include "common/read_file.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/wire.h"
#include "grpc/byte_buffer.h"
#include "grpcpp/alarm.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "proto/otlp_json.h"
#include "sink/validate.h"

namespace loadgen {
namespace {

// Calls fn(field) for each LEN field `number`; false on malformed bytes.
template <typename Fn>
bool ForEachLen(const uint8_t* data, size_t size, uint32_t number, Fn&& fn) {
  wire::FieldReader r(data, size);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number != number) continue;
    if (f.type != wire::kLen || !fn(f)) return false;
  }
  return !r.error();
}

bool CountDataPoints(const wire::Field& metric, uint64_t* items) {
  wire::FieldReader r(metric.data, metric.size);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number == 5 || f.number == 7 || f.number == 9 || f.number == 10 || f.number == 11) {
      if (f.type != wire::kLen) return false;
      if (!ForEachLen(f.data, f.size, 1, [&](const wire::Field&) {
            ++*items;
            return true;
          })) {
        return false;
      }
    }
  }
  return !r.error();
}

// What the sink answers to one Export request message.
struct ExportAnswer {
  grpc::Status status;
  grpc::ByteBuffer response;
  int64_t delay_ns = 0;  // Answer this much later (the sink's --delay faults).
};

// The coding of a request message as it arrived. gRPC's own decompression is off in
// the sink, so the message is as the client sent it: a buffer gRPC marked compressed
// names its grpc-encoding (gzip or deflate). gRPC C-core knows no other encoding: it
// drops a grpc-encoding of zstd with a parse error and hands the bytes over unmarked,
// so zstd is told by its frame magic, which no Export request can start with (its first
// byte would be field 5, which Export requests do not have).
Compression MessageCoding(const grpc::ByteBuffer& buffer, std::string_view bytes) {
  // grpc::ByteBuffer is exactly one grpc_byte_buffer* (its header static_asserts it).
  static_assert(sizeof(grpc::ByteBuffer) == sizeof(grpc_byte_buffer*));
  const grpc_byte_buffer* raw = *reinterpret_cast<grpc_byte_buffer* const*>(&buffer);
  if (raw != nullptr && raw->type == GRPC_BB_RAW) {
    if (raw->data.raw.compression == GRPC_COMPRESS_GZIP) return Compression::kGzip;
    if (raw->data.raw.compression == GRPC_COMPRESS_DEFLATE) return Compression::kDeflate;
  }
  return LooksLikeZstd(bytes) ? Compression::kZstd : Compression::kNone;
}

grpc::StatusCode GrpcCode(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnimplemented: return grpc::UNIMPLEMENTED;
    case absl::StatusCode::kResourceExhausted: return grpc::RESOURCE_EXHAUSTED;
    default: return grpc::INVALID_ARGUMENT;
  }
}

ExportAnswer AnswerExport(OtlpSink* sink, Signal signal, const grpc::ByteBuffer& request,
                          const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  SinkVerdict verdict;
  std::string found;
  auto headers = [&](std::string_view name) -> const std::string* {
    auto it = metadata.find(grpc::string_ref(name.data(), name.size()));
    if (it == metadata.end()) return nullptr;
    found.assign(it->second.data(), it->second.size());
    return &found;
  };
  std::vector<grpc::Slice> slices;
  if (!request.Valid()) {
    // No message reached the handler: the call ended before one (or it was
    // truncated, or its compression flag had no encoding). Never an OK.
    verdict.code = grpc::INTERNAL;
    verdict.message = "otlp-sink: the call ended without a request message";
  } else if (!request.Dump(&slices).ok()) {
    verdict.code = grpc::INTERNAL;
    verdict.message = "otlp-sink: unreadable request message";
  } else {
    thread_local std::string joined, decoded;
    std::string_view wire;
    if (slices.size() == 1) {
      wire = {reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()};
    } else {
      joined.clear();
      for (const auto& s : slices) {
        joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      wire = joined;
    }
    const Compression coding = MessageCoding(request, wire);
    if (const absl::Status s = sink->Decode(signal, coding, wire, &decoded); !s.ok()) {
      verdict.code = GrpcCode(s);
      verdict.message = StrCat("otlp-sink: ", s.message());
    } else {
      verdict = sink->Receive(signal, coding == Compression::kNone ? wire : decoded, headers);
    }
  }
  ExportAnswer answer;
  answer.delay_ns = verdict.delay_ns;
  if (verdict.code == grpc::OK) {
    const std::string body = otlp::EncodeExportResponse({verdict.rejected, verdict.message});
    grpc::Slice slice(body.data(), body.size());
    answer.response = grpc::ByteBuffer(&slice, 1);
  } else {
    // A google.rpc.Status with RetryInfo, when the refusal says when to come back.
    answer.status =
        grpc::Status(verdict.code, verdict.message,
                     verdict.retry_after_ns > 0
                         ? otlp::EncodeStatus(verdict.code, verdict.message, verdict.retry_after_ns)
                         : "");
  }
  return answer;
}

// Runs fn() `delay_ns` from now on a gRPC thread, or at once.
template <typename Fn>
void AfterDelay(int64_t delay_ns, Fn fn) {
  if (delay_ns <= 0) {
    fn();
    return;
  }
  // Heap-held and freed by its own callback: the call may be done (and its
  // reactor gone) by the time the callback returns.
  auto* alarm = new grpc::Alarm;
  alarm->Set(std::chrono::system_clock::now() + std::chrono::nanoseconds(delay_ns),
             [alarm, fn = std::move(fn)](bool) mutable {
               fn();
               delete alarm;
             });
}

// One Export call served as a stream, so that the unary contract is held to as a
// strict backend holds it: exactly one request message, then the client's half-close.
// A second message is refused, and nothing of the call counts. (gRPC's own unary
// handler reads one message and never sees a second; this costs no more: bench/
// sink_ab.sh, counting, median of 5 x 8 s, traces 0.187 CPU-s per M events either way.)
class UnaryExport : public grpc::ServerGenericBidiReactor {
 public:
  UnaryExport(OtlpSink* sink, grpc::GenericCallbackServerContext* context, Signal signal)
      : sink_(sink), context_(context), signal_(signal) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!got_request_) {
      if (!ok) {
        Finish(grpc::Status(grpc::INTERNAL, "otlp-sink: the call ended without a request message"));
        return;
      }
      got_request_ = true;
      StartRead(&extra_);  // Expected to fail: the client's half-close.
      return;
    }
    if (ok) {
      Finish(
          grpc::Status(grpc::INTERNAL, "otlp-sink: more than one request message on a unary call"));
      return;
    }
    answer_ = AnswerExport(sink_, signal_, request_, context_->client_metadata());
    AfterDelay(answer_.delay_ns, [this] {
      if (answer_.status.ok()) {
        StartWriteAndFinish(&answer_.response, grpc::WriteOptions(), answer_.status);
      } else {
        Finish(answer_.status);
      }
    });
  }

  void OnDone() override { delete this; }

 private:
  OtlpSink* sink_;
  grpc::GenericCallbackServerContext* context_;
  Signal signal_;
  grpc::ByteBuffer request_, extra_;
  ExportAnswer answer_;
  bool got_request_ = false;
};

// Answers a call to a method the sink does not serve, as gRPC's own server does.
class UnknownMethod : public grpc::ServerGenericBidiReactor {
 public:
  explicit UnknownMethod(const std::string& method) {
    Finish(grpc::Status(grpc::UNIMPLEMENTED, StrCat("otlp-sink: unknown method ", method)));
  }
  void OnDone() override { delete this; }
};

class ExportService : public grpc::CallbackGenericService {
 public:
  explicit ExportService(OtlpSink* sink) : sink_(sink) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    const std::string& method = context->method();
    if (method == "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
      return new UnaryExport(sink_, context, Signal::kTraces);
    if (method == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export")
      return new UnaryExport(sink_, context, Signal::kMetrics);
    if (method == "/opentelemetry.proto.collector.logs.v1.LogsService/Export")
      return new UnaryExport(sink_, context, Signal::kLogs);
    return new UnknownMethod(method);
  }

 private:
  OtlpSink* sink_;
};

}  // namespace

bool CountItems(Signal signal, std::string_view request, uint64_t* items) {
  *items = 0;
  const auto* data = reinterpret_cast<const uint8_t*>(request.data());
  return ForEachLen(data, request.size(), 1, [&](const wire::Field& resource) {
    return ForEachLen(resource.data, resource.size, 2, [&](const wire::Field& scope) {
      return ForEachLen(scope.data, scope.size, 2, [&](const wire::Field& item) {
        if (signal == Signal::kMetrics) return CountDataPoints(item, items);
        ++*items;
        return true;
      });
    });
  });
}

namespace {

// Fast and stable across processes (absl::Hash is seeded per process).
uint64_t HashBytes(std::string_view bytes) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    h = Fmix64(h ^ wire::LoadLE64(reinterpret_cast<const uint8_t*>(bytes.data() + i)));
  }
  uint64_t tail = 0;
  for (size_t k = 0; i + k < bytes.size(); ++k) {
    tail |= uint64_t{static_cast<uint8_t>(bytes[i + k])} << (8 * k);
  }
  return Fmix64(h ^ tail ^ 0xFF51AFD7ED558CCDull);
}

std::string_view Bytes(const wire::Field& f) {
  return {reinterpret_cast<const char*>(f.data), f.size};
}

// An attribute list's identity whatever the order of its key-values (backends sort
// labels): the sum of the key-values' hashes.
struct AttributeHash {
  uint64_t sum = 0;
  void Add(const wire::Field& kv) { sum += Fmix64(HashBytes(Bytes(kv))); }
};

// A message's attributes (field `number`), order-independent.
uint64_t AttributesOf(const wire::Field& msg, uint32_t number) {
  AttributeHash h;
  wire::FieldReader r(msg.data, msg.size);
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number == number && f.type == wire::kLen) h.Add(f);
  }
  return h.sum;
}

uint64_t Combine(uint64_t a, uint64_t b) { return Fmix64(a * 0x9E3779B97F4A7C15ull + b); }

}  // namespace

bool SeriesChecker::Check(std::string_view request, Problems* problems) {
  const auto* data = reinterpret_cast<const uint8_t*>(request.data());
  return ForEachLen(data, request.size(), 1, [&](const wire::Field& rm) {
    uint64_t resource = 0;
    std::vector<wire::Field> scopes;
    wire::FieldReader r(rm.data, rm.size);
    wire::Field f;
    while (r.Next(&f)) {
      if (f.number == 1 && f.type == wire::kLen) resource = AttributesOf(f, 1);
      if (f.number == 2 && f.type == wire::kLen) scopes.push_back(f);
    }
    if (r.error()) return false;
    for (const wire::Field& sm : scopes) {
      if (!CheckScope(resource, sm, problems)) return false;
    }
    return true;
  });
}

bool SeriesChecker::CheckScope(uint64_t resource, const wire::Field& sm, Problems* problems) {
  uint64_t scope = 0;
  std::vector<wire::Field> metrics;
  wire::FieldReader sr(sm.data, sm.size);
  wire::Field f;
  while (sr.Next(&f)) {
    if (f.number == 1 && f.type == wire::kLen) {
      // InstrumentationScope: 1 name, 2 version identify it.
      wire::FieldReader ir(f.data, f.size);
      wire::Field sf;
      while (ir.Next(&sf)) {
        if ((sf.number == 1 || sf.number == 2) && sf.type == wire::kLen) {
          scope = Combine(scope + sf.number, HashBytes(Bytes(sf)));
        }
      }
    }
    if (f.number == 2 && f.type == wire::kLen) metrics.push_back(f);
  }
  if (sr.error()) return false;
  for (const wire::Field& m : metrics) {
    std::string_view name;
    wire::FieldReader mr(m.data, m.size);
    std::vector<wire::Field> data;
    while (mr.Next(&f)) {
      if (f.number == 1 && f.type == wire::kLen) name = Bytes(f);
      if ((f.number == 5 || f.number == 7 || f.number == 9 || f.number == 10 || f.number == 11) &&
          f.type == wire::kLen) {
        data.push_back(f);
      }
    }
    if (mr.error()) return false;
    const uint64_t metric = Combine(Combine(resource, scope), HashBytes(name));
    for (const wire::Field& d : data) {
      if (!CheckData(metric, name, d, problems)) return false;
    }
  }
  return true;
}

bool SeriesChecker::CheckData(uint64_t metric, std::string_view name, const wire::Field& d,
                              Problems* problems) {
  uint64_t temporality = 0;
  bool monotonic = false;
  std::vector<wire::Field> points;
  wire::FieldReader dr(d.data, d.size);
  wire::Field f;
  while (dr.Next(&f)) {
    if (f.number == 2 && f.type == wire::kVarint) temporality = f.varint;
    if (f.number == 3 && f.type == wire::kVarint) monotonic = f.varint != 0;
    if (f.number == 1 && f.type == wire::kLen) points.push_back(f);
  }
  if (dr.error()) return false;
  // Attributes: 7 (number, summary points), 9 (histogram), 1 (exponential).
  const uint32_t attrs = d.number == 9 ? 9 : d.number == 10 ? 1 : 7;
  // What must not decrease: a monotonic cumulative sum's value, or the count of a
  // cumulative histogram or a summary.
  const bool cumulative = temporality == 2;
  const bool grows =
      (cumulative && ((d.number == 7 && monotonic) || d.number == 9 || d.number == 10)) ||
      d.number == 11;
  for (const wire::Field& p : points) {
    State now;
    bool has_value = false;
    wire::FieldReader pr(p.data, p.size);
    while (pr.Next(&f)) {
      if (f.type != wire::kI64) continue;
      const uint64_t bits = wire::LoadLE64(f.data);
      if (f.number == 2) now.start = bits;
      if (f.number == 3) now.time = bits;
      if (d.number == 7 && f.number == 4) {  // as_double
        std::memcpy(&now.value, &bits, 8);
        has_value = true;
      } else if (d.number == 7 && f.number == 6) {  // as_int (sfixed64)
        now.value = static_cast<double>(static_cast<int64_t>(bits));
        has_value = true;
      } else if (d.number != 7 && d.number != 5 && f.number == 4) {  // count
        now.value = static_cast<double>(bits);
        has_value = true;
      }
    }
    if (pr.error()) return false;
    const uint64_t key = Combine(Combine(metric, d.number), AttributesOf(p, attrs));
    Follow(key, now, grows && has_value, name, problems);
  }
  return true;
}

void SeriesChecker::Follow(uint64_t key, const State& now, bool grows, std::string_view name,
                           Problems* problems) {
  auto [it, fresh] = series_.try_emplace(key, now);
  if (fresh) return;
  State& last = it->second;
  const std::string what(name);
  if (now.time == last.time) {
    problems->emplace_back("series_duplicate_point", what);
    return;
  }
  if (now.time < last.time) {
    problems->emplace_back("series_out_of_order", fmt::format("{}: a point at {} after one at {}",
                                                              what, now.time, last.time));
    return;
  }
  if (grows && now.start == last.start && now.value < last.value) {
    problems->emplace_back("cumulative_decrease",
                           fmt::format("{}: {} after {}", what, now.value, last.value));
  }
  // Cadence: an agent sends a series once per collection interval.
  const uint64_t gap = now.time - last.time;
  min_gap_ns_ = std::min(min_gap_ns_, gap);
  ++gaps_;
  if (expected_gap_ns_ > 0 && gap * 10 < expected_gap_ns_ * 9) {
    problems->emplace_back("series_too_frequent",
                           fmt::format("{}: points {:.3f}s apart, less than the series interval",
                                       what, static_cast<double>(gap) / 1e9));
  }
  last = now;
}

OtlpSink::OtlpSink(SinkOptions options)
    : options_(options),
      trace_context_(options_.span_memory),
      delay_{options_.delay_ns, options_.delay_jitter_ns, options_.delay_share} {
  series_.ExpectInterval(options_.series_interval_ns);
  if (options_.max_rate > 0) {
    rate_cap_ = std::make_unique<RateCap>(options_.max_rate, options_.over_rate_delay);
  }
}

OtlpSink::~OtlpSink() { Shutdown(); }

absl::StatusOr<int> OtlpSink::Start(const std::string& listen) {
  if (!options_.ledger_path.empty()) RETURN_IF_ERROR(OpenLedger());
  service_ = std::make_unique<ExportService>(this);
  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options_.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions ssl(
        options_.client_ca_pem.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = options_.client_ca_pem;
    ssl.pem_key_cert_pairs.push_back({options_.tls_key_pem, options_.tls_cert_pem});
    credentials = grpc::SslServerCredentials(ssl);
  }
  builder.AddListeningPort(listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(options_.max_receive_bytes);
  // The sink decodes requests itself (Decode): it sees each message's coding, takes
  // zstd, which gRPC C-core does not know, and holds every coding to the same limits
  // and to malformed-body refusals.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
  // Without this, gRPC listens with SO_REUSEPORT: a second sink on the same port
  // would start, and the kernel would split the traffic and the counts between them.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterCallbackGenericService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    server_.reset();
    return absl::UnavailableError(
        StrCat("cannot listen on ", listen, " (address in use, or not host:port?)"));
  }
  return port;
}

absl::StatusOr<int> OtlpSink::StartHttp(const std::string& listen) {
  auto handler = [this](const HttpRequest& r) -> HttpResponse {
    const std::string proto = "application/x-protobuf", kJson = "application/json";
    Signal signal;
    if (r.path == "/v1/traces") {
      signal = Signal::kTraces;
    } else if (r.path == "/v1/metrics") {
      signal = Signal::kMetrics;
    } else if (r.path == "/v1/logs") {
      signal = Signal::kLogs;
    } else {
      return {404, "text/plain; charset=utf-8",
              "OTLP/HTTP paths: /v1/traces, /v1/metrics, /v1/logs\n"};
    }
    if (r.method != "POST") return {405, "text/plain; charset=utf-8", "POST only\n"};
    const std::string* type = r.Header("content-type");
    const bool json = type != nullptr && absl::AsciiStrToLower(*type).starts_with(kJson);
    if (type == nullptr || !(json || absl::AsciiStrToLower(*type).starts_with(proto))) {
      return {415, "text/plain; charset=utf-8",
              "OTLP/HTTP bodies are application/x-protobuf or application/json\n"};
    }
    Compression coding = Compression::kNone;
    if (const std::string* enc = r.Header("content-encoding"); enc != nullptr) {
      auto parsed = ParseContentCoding(*enc);
      if (!parsed.ok()) {
        return {415, "text/plain; charset=utf-8", StrCat(parsed.status().message(), "\n")};
      }
      coding = *parsed;
    }
    thread_local std::string decoded;
    if (const absl::Status s = Decode(signal, coding, r.body, &decoded); !s.ok()) {
      const int status = s.code() == absl::StatusCode::kUnimplemented       ? 415
                         : s.code() == absl::StatusCode::kResourceExhausted ? 413
                                                                            : 400;
      return {status, "text/plain; charset=utf-8", StrCat(s.message(), "\n")};
    }
    std::string_view body = coding == Compression::kNone ? std::string_view(r.body) : decoded;
    // OTLP/JSON is read into the protobuf encoding, which the rest checks and counts.
    thread_local std::string from_json;
    if (json) {
      if (const absl::Status s = OtlpJsonToBinary(signal, body, &from_json); !s.ok()) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        return {400, kJson, StatusJson(grpc::INVALID_ARGUMENT, std::string(s.message()))};
      }
      body = from_json;
    }
    const SinkVerdict v =
        Receive(signal, body, [&](std::string_view name) { return r.Header(name); });
    // The response is in the request's encoding, as the OTLP/HTTP spec asks. A delay
    // is the server's to keep (HttpResponse::delay_ns), not a handler thread's.
    if (v.code == grpc::OK) {
      HttpResponse ok =
          json ? HttpResponse{200, kJson, ExportResponseJson(signal, {v.rejected, v.message})}
               : HttpResponse{200, proto, otlp::EncodeExportResponse({v.rejected, v.message})};
      ok.delay_ns = v.delay_ns;
      return ok;
    }
    // A google.rpc.Status body, and the HTTP status the OTLP/HTTP spec maps to.
    HttpResponse out{otlp::HttpStatusFor(v.code), json ? kJson : proto,
                     json ? StatusJson(v.code, v.message) : otlp::EncodeStatus(v.code, v.message)};
    if (v.retry_after_ns > 0) {
      out.headers.push_back(
          {"Retry-After", std::to_string((v.retry_after_ns + 999999999) / 1000000000)});
    }
    out.delay_ns = v.delay_ns;
    return out;
  };
  // The same certificate (and client CA) as the gRPC port, when there is one.
  const HttpTls tls{options_.tls_cert_pem, options_.tls_key_pem, options_.client_ca_pem};
  http_ = std::make_unique<HttpServer>(handler, static_cast<size_t>(options_.max_receive_bytes),
                                       /*threads=*/64, /*keep_alive=*/true,
                                       options_.tls_cert_pem.empty() ? nullptr : &tls);
  return http_->Start(listen);
}

void OtlpSink::Shutdown() {
  if (http_ != nullptr) {
    http_->Stop();
    http_.reset();
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
    server_.reset();
  }
  if (ledger_fd_ >= 0) {
    close(ledger_fd_);
    ledger_fd_ = -1;
  }
  // Nothing more arrives: a span still missing never will.
  MutexLock lock(&mu_);
  NoteUnresolved(trace_context_.Settle());
}

namespace {

constexpr char kLedgerLetters[] = "TML";

}  // namespace

absl::Status OtlpSink::OpenLedger() {
  const std::string& path = options_.ledger_path;
  // One descriptor reads the earlier lives' records, then appends this life's.
  ASSIGN_OR_RETURN(ledger_fd_, OpenRegularFile(path, O_RDWR | O_CREAT | O_APPEND, "ledger"));
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(ledger_fd_, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(StrCat(path, ": ", std::strerror(errno)));
    text.append(buf, static_cast<size_t>(n));
  }
  int line = 0;
  MutexLock lock(&ledger_mu_);  // Before any request, but the records are guarded.
  for (const std::string& record :
       std::vector<std::string>(absl::StrSplit(text, '\n', absl::SkipEmpty()))) {
    ++line;
    char letter;
    unsigned long long accepted, rejected, hash;
    const char* at = nullptr;
    if (std::sscanf(record.c_str(), "%c %llu %llu %llx", &letter, &accepted, &rejected, &hash) ==
        4) {
      at = std::strchr(kLedgerLetters, letter);
    }
    if (at == nullptr || letter == '\0') {
      return absl::InvalidArgumentError(
          StrCat(path, ": line ", line,
                 ": not a ledger record (expected: letter accepted rejected hash)"));
    }
    if (ledger_seen_.insert(hash).second) {
      ledger_items_[at - kLedgerLetters] += accepted;
    } else {
      ++duplicate_requests_;
      duplicate_items_ += accepted;
    }
  }
  return absl::OkStatus();
}

bool OtlpSink::Record(Signal signal, std::string_view request, uint64_t accepted,
                      uint64_t rejected) {
  const uint64_t hash = HashBytes(request);
  const int i = SignalIndex(signal);
  MutexLock lock(&ledger_mu_);
  const bool fresh = ledger_seen_.insert(hash).second;
  if (fresh) {
    ledger_items_[i] += accepted;
  } else {
    ++duplicate_requests_;
    duplicate_items_ += accepted;
  }
  // One write(2) per line on an O_APPEND descriptor: lines never interleave, and a
  // line is in the kernel (safe from SIGKILL) before the sender hears OK.
  const std::string line =
      fmt::format("{} {} {} {:016x}\n", kLedgerLetters[i], accepted, rejected, hash);
  if (write(ledger_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    fmt::print(stderr, "otlp-sink: ledger write failed: {}\n", std::strerror(errno));
    std::abort();  // A ledger with a hole would make every count after it a lie.
  }
  return fresh;
}

absl::Status OtlpSink::Decode(Signal signal, Compression coding, std::string_view wire,
                              std::string* out) {
  wire_bytes_[SignalIndex(signal)].fetch_add(wire.size(), std::memory_order_relaxed);
  if (options_.on_wire) options_.on_wire(signal, coding, wire);
  if (!options_.codings[static_cast<size_t>(coding)]) {
    return absl::UnimplementedError(
        StrCat(CompressionName(coding), " requests are not accepted here"));
  }
  if (coding == Compression::kNone) return absl::OkStatus();
  absl::Status s =
      loadgen::Decompress(coding, wire, static_cast<size_t>(options_.max_receive_bytes), out);
  if (s.code() == absl::StatusCode::kInvalidArgument) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

SinkVerdict OtlpSink::Receive(Signal signal, std::string_view request,
                              const std::function<const std::string*(std::string_view)>& headers) {
  const int i = SignalIndex(signal);
  const int64_t now = SteadyClock().NowNs();
  int64_t expected = 0;
  first_ns_.compare_exchange_strong(expected, now);
  int64_t last = last_ns_.load(std::memory_order_relaxed);
  while (now > last && !last_ns_.compare_exchange_weak(last, now)) {
  }
  requests_[i].fetch_add(1, std::memory_order_relaxed);
  bytes_[i].fetch_add(request.size(), std::memory_order_relaxed);

  SinkVerdict verdict;
  const uint64_t n = sequence_.fetch_add(1);
  verdict.delay_ns = delay_.For(n);
  uint64_t items;
  std::vector<std::pair<std::string, std::string>> problems;
  thread_local SpanLinks links;  // Kept for its capacity.
  // Validation decodes the request first: a request a backend cannot decode (a
  // trace payload sent to the logs service) is refused whole, and nothing counted.
  if (options_.validate)
    ValidateRequest(signal, request, WallNowNs(), options_.max_skew_ns, &problems, &links);
  const bool undecodable = !problems.empty() && problems.back().first == "undecodable_request";
  if (undecodable || !CountItems(signal, request, &items)) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    verdict.code = grpc::INVALID_ARGUMENT;  // Never worth a retry.
    verdict.message = StrCat("otlp-sink: malformed ", SignalName(signal), " request");
    return verdict;
  }
  if (!options_.required_header_name.empty()) {
    const std::string* value = headers ? headers(options_.required_header_name) : nullptr;
    if (value == nullptr || *value != options_.required_header_value) {
      refused_requests_[i].fetch_add(1, std::memory_order_relaxed);
      refused_items_[i].fetch_add(items, std::memory_order_relaxed);
      verdict.code = grpc::UNAUTHENTICATED;
      verdict.message =
          StrCat("otlp-sink: missing or wrong ", options_.required_header_name, " header");
      return verdict;
    }
  }
  if (PickedByShare(n, options_.fail_share)) {
    refused_requests_[i].fetch_add(1, std::memory_order_relaxed);
    refused_items_[i].fetch_add(items, std::memory_order_relaxed);
    verdict.code = options_.fail_code;
    verdict.message = "otlp-sink: refused on purpose (--fail-share)";
    verdict.retry_after_ns = options_.retry_after_ns;
    return verdict;
  }
  if (rate_cap_ != nullptr) {
    const RateCap::Admission a = rate_cap_->Admit(items, now);
    if (!a.admitted) {
      refused_requests_[i].fetch_add(1, std::memory_order_relaxed);
      refused_items_[i].fetch_add(items, std::memory_order_relaxed);
      verdict.code = grpc::RESOURCE_EXHAUSTED;
      verdict.message = "otlp-sink: over --max-rate";
      verdict.retry_after_ns = a.retry_after_ns;
      return verdict;
    }
    verdict.delay_ns += a.delay_ns;
  }
  if (options_.reject_share > 0) {
    verdict.rejected = static_cast<int64_t>(static_cast<double>(items) * options_.reject_share);
    verdict.message = "otlp-sink: items rejected on purpose (--reject-share)";
    rejected_items_[i].fetch_add(verdict.rejected, std::memory_order_relaxed);
  }
  items_[i].fetch_add(items - verdict.rejected, std::memory_order_relaxed);
  Arrived(items - verdict.rejected);
  if (ledger_fd_ >= 0) Record(signal, request, items - verdict.rejected, verdict.rejected);
  if (options_.on_request) options_.on_request(signal, request);
  if (!options_.validate) return verdict;
  MutexLock lock(&mu_);
  // Order across requests is checked in the order they arrive.
  if (signal == Signal::kMetrics) series_.Check(request, &problems);
  NoteProblems(signal, problems);
  NoteUnresolved(trace_context_.Note(links));
  return verdict;
}

void OtlpSink::NoteUnresolved(std::pair<uint64_t, uint64_t> lost) {
  // An exemplar is there to jump to its trace: one naming a span that never came is an
  // error. A log record's span may have been sampled away: that is only counted.
  if (lost.first == 0) return;
  validation_errors_ += lost.first;
  errors_by_kind_["exemplar_span_not_seen"] += lost.first;
  if (static_cast<int>(examples_.size()) < options_.max_examples) {
    examples_.push_back(
        StrCat("metrics: exemplar_span_not_seen: ", lost.first, " exemplars name spans that ",
               "did not arrive (or arrived more than --span-memory spans before them)"));
  }
}

void OtlpSink::NoteProblems(Signal signal,
                            const std::vector<std::pair<std::string, std::string>>& problems) {
  validation_errors_ += problems.size();
  for (auto& [kind, detail] : problems) {
    ++errors_by_kind_[kind];
    if (static_cast<int>(examples_.size()) < options_.max_examples) {
      examples_.push_back(StrCat(SignalName(signal), ": ", kind, ": ", detail));
    }
  }
}

void OtlpSink::Arrived(uint64_t items) {
  // A day of seconds at most: the oldest go first.
  constexpr size_t kMaxSeconds = 86400;
  const auto second = static_cast<int64_t>(WallNowNs() / 1000000000);
  MutexLock lock(&arrivals_mu_);
  if (arrivals_.empty()) arrivals_start_s_ = second;
  if (second < arrivals_start_s_) return;  // The wall clock stepped back.
  const auto at = static_cast<size_t>(second - arrivals_start_s_);
  if (at >= arrivals_.size()) arrivals_.resize(at + 1, 0);
  arrivals_[at] += items;
  if (arrivals_.size() > kMaxSeconds) {
    const size_t drop = arrivals_.size() - kMaxSeconds;
    arrivals_.erase(arrivals_.begin(), arrivals_.begin() + static_cast<ptrdiff_t>(drop));
    arrivals_start_s_ += static_cast<int64_t>(drop);
  }
}

SinkSnapshot OtlpSink::Snapshot() const {
  SinkSnapshot s;
  for (int i = 0; i < 3; ++i) {
    s.requests[i] = requests_[i].load();
    s.bytes[i] = bytes_[i].load();
    s.wire_bytes[i] = wire_bytes_[i].load();
    s.items[i] = items_[i].load();
    s.refused_requests[i] = refused_requests_[i].load();
    s.refused_items[i] = refused_items_[i].load();
    s.rejected_items[i] = rejected_items_[i].load();
  }
  s.malformed_requests = malformed_.load();
  {
    MutexLock lock(&ledger_mu_);
    s.ledger_items = ledger_items_;
    s.duplicate_requests = duplicate_requests_;
    s.duplicate_items = duplicate_items_;
  }
  s.active_seconds = (last_ns_.load() - first_ns_.load()) / 1e9;
  {
    MutexLock lock(&arrivals_mu_);
    s.arrivals_start_unix_s = arrivals_start_s_;
    s.arrivals = arrivals_;
  }
  MutexLock lock(&mu_);
  s.series = series_.series();
  s.series_gaps = series_.gaps();
  s.min_series_gap_ns = series_.min_gap_ns();
  s.exemplars = trace_context_.exemplars();
  s.log_links = trace_context_.logs();
  s.validation_errors = validation_errors_;
  s.errors_by_kind = errors_by_kind_;
  s.examples = examples_;
  return s;
}

std::string OtlpSink::SummaryJson() const {
  using Json = nlohmann::ordered_json;
  const SinkSnapshot s = Snapshot();
  auto per_signal = [](const std::array<uint64_t, 3>& v) {
    return Json{{"traces", v[0]}, {"metrics", v[1]}, {"logs", v[2]}};
  };
  Json j;
  j["requests"] = per_signal(s.requests);
  j["bytes"] = per_signal(s.bytes);
  j["wire_bytes"] = per_signal(s.wire_bytes);
  j["refused_requests"] = per_signal(s.refused_requests);
  j["refused_items"] = per_signal(s.refused_items);
  j["rejected_items"] = per_signal(s.rejected_items);
  j["spans"] = s.items[0];
  j["data_points"] = s.items[1];
  j["log_records"] = s.items[2];
  j["malformed_requests"] = s.malformed_requests;
  j["active_seconds"] = std::round(s.active_seconds * 1000) / 1000;
  if (!options_.ledger_path.empty()) {
    j["ledger"] = per_signal(s.ledger_items);
    j["ledger"]["duplicate_requests"] = s.duplicate_requests;
    j["ledger"]["duplicate_items"] = s.duplicate_items;
  }
  j["arrivals"] = {{"start_unix_s", s.arrivals_start_unix_s}, {"items_per_second", s.arrivals}};
  auto links = [](const TraceContextChecker::Counts& c) {
    return Json{{"naming_spans", c.named},
                {"resolved", c.resolved},
                {"unresolved", c.unresolved},
                {"pending", c.pending}};
  };
  Json by_kind = Json::object();
  for (const auto& [k, v] : s.errors_by_kind) by_kind[k] = v;
  j["validation"] = {
      {"enabled", options_.validate},
      {"errors", s.validation_errors},
      {"series", s.series},
      {"series_min_gap_ms", s.series_gaps > 0 ? Json(s.min_series_gap_ns / 1e6) : Json(nullptr)},
      {"trace_context", {{"exemplars", links(s.exemplars)}, {"log_records", links(s.log_links)}}},
      {"by_kind", by_kind},
      {"examples", s.examples}};
  // Replaced, not thrown on: an example quotes a request's own bytes.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace loadgen
