#include "sender/h2_grpc_exporter.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/clock.h"
#include "common/compression.h"
#include "common/otlp_wire.h"
#include "common/strings.h"
#include "sender/call_queue.h"

namespace loadgen {
namespace {

// gRPC's length prefix before each message: a compressed flag and a big-endian length.
constexpr size_t kPrefix = 5;

struct H2Call : internal::CallBase {
  std::string body;  // Prefix + message, as sent (retries resend it).
  size_t sent = 0;   // Of body, in the current attempt.
  int32_t stream = -1;
  int64_t attempt_started_ns = 0, deadline_ns = 0;
  bool timed_out = false;
  // The answer: HTTP status, gRPC status, response message.
  int http_status = 0;
  std::optional<int> grpc_status;
  std::string grpc_message, grpc_details, response_encoding, response;
};

std::string SslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

class H2GrpcExporter : public CallQueueExporter<H2GrpcExporter, H2Call> {
 public:
  H2GrpcExporter(const ExporterOptions& options, Signal signal, RunStats* stats)
      : CallQueueExporter(options, signal, stats),
        method_(ExportMethod(signal)),
        rng_(reinterpret_cast<uintptr_t>(this) ^ static_cast<uint64_t>(SteadyClock().NowNs())) {
    const std::string& own = options.signal_targets[SignalIndex(signal)];
    authority_ = own.empty() ? options.target : own;
    const size_t colon = authority_.rfind(':');
    host_ = authority_.substr(0, colon);
    port_ = colon == std::string::npos ? "443" : authority_.substr(colon + 1);
    if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') {
      host_ = host_.substr(1, host_.size() - 2);  // [::1]:4317
    }
    const std::string_view coding = CompressionName(options.compression);
    headers_ = {
        {":method", "POST"},
        {":scheme", options.plaintext ? "http" : "https"},
        {":path", std::string(method_)},
        {":authority", authority_},
        {"content-type", "application/grpc"},
        {"te", "trailers"},
        {"grpc-encoding",
         options.compression == Compression::kNone ? "identity" : std::string(coding)},
        {"grpc-accept-encoding", "identity,gzip,zstd"},
        {"user-agent", "telemetry-sender/0.1"},
    };
    const int64_t ms = std::max<int64_t>(1, options.timeout.count() / 1000000);
    if (ms < 100000000) headers_.push_back({"grpc-timeout", StrCat(ms, "m")});  // 8 digits.
    for (const auto& [k, v] : options.headers) headers_.push_back({k, v});
  }

  ~H2GrpcExporter() override {
    Drain(/*abandon_retries=*/true);
    Disconnect("exporter closed");
    if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  }

 private:
  friend class CallQueueExporter<H2GrpcExporter, H2Call>;
  using Call = H2Call;
  enum class State { kIdle, kConnecting, kHandshaking, kReady };

  // --- What CallQueueExporter asks of a transport.

  uint8_t* Buffer(size_t n) {
    pending_ = std::make_unique<Call>();
    pending_->body.resize(kPrefix + n);
    return reinterpret_cast<uint8_t*>(pending_->body.data() + kPrefix);
  }

  void Start(const RequestInfo& request, size_t raw_bytes) {
    Call* call = pending_.release();
    call->bytes = raw_bytes;
    call->wire_bytes = call->body.size() - kPrefix;
    const auto n = static_cast<uint32_t>(call->wire_bytes);
    call->body[0] = options_.compression == Compression::kNone ? 0 : 1;
    for (int i = 0; i < 4; ++i) call->body[1 + i] = static_cast<char>(n >> (24 - 8 * i));
    Begin(call, request);
    StartAttempt(call);
  }

  void StartAttempt(Call* call) {
    ++call->attempt;
    call->sent = 0;
    call->stream = -1;
    call->timed_out = false;
    call->http_status = 0;
    call->grpc_status.reset();
    call->grpc_message.clear();
    call->grpc_details.clear();
    call->response_encoding.clear();
    call->response.clear();
    call->attempt_started_ns = SteadyClock().NowNs();
    call->deadline_ns = call->attempt_started_ns + options_.timeout.count();
    waiting_.push_back(call);
    if (state_ == State::kIdle) Connect();
    if (state_ == State::kReady) SubmitWaiting();
  }

  void Release(Call*) {}

  // Handles the connection until `wait_until_ns` (0: only what is ready now) or until
  // something completes.
  void Pump(int64_t wait_until_ns) {
    const int64_t now = SteadyClock().NowNs();
    StartDueRetries(now);
    ExpireDeadlines(now);
    int64_t until = WaitLimit(wait_until_ns);
    for (Call* c : waiting_) until = std::min(until, c->deadline_ns);
    for (const auto& [stream, c] : streams_) until = std::min(until, c->deadline_ns);
    if (fd_ < 0 || !done_.empty()) {
      FinishDone();
      if (fd_ < 0 && until > now && until != kForever && in_flight_ > 0) {
        // Nothing to wait on but retries and deadlines.
        const int64_t ns = std::min<int64_t>(until - now, 1'000'000'000);
        struct timespec ts {
          ns / 1000000000, ns % 1000000000
        };
        nanosleep(&ts, nullptr);
      }
      return;
    }
    pollfd p{fd_, POLLIN, 0};
    if (WantsWrite()) p.events |= POLLOUT;
    int timeout_ms = 0;
    if (until > now) {
      timeout_ms =
          until == kForever
              ? 1000
              : static_cast<int>(std::min<int64_t>(1000, (until - now + 999'999) / 1'000'000));
    }
    const int ready = poll(&p, 1, timeout_ms);
    if (ready > 0) {
      if (state_ != State::kConnecting && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) &&
          !(p.revents & POLLIN)) {
        Disconnect(StrCat("connection to ", authority_, " lost"));
      } else {
        Advance(p.revents);
      }
    }
    ExpireDeadlines(SteadyClock().NowNs());
    FinishDone();
  }

  // --- Connecting.

  void Connect() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (const int rc = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res); rc != 0) {
      FailWaiting(StrCat("cannot resolve ", host_, ": ", gai_strerror(rc)));
      return;
    }
    fd_ = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      freeaddrinfo(res);
      FailWaiting(StrCat("socket: ", std::strerror(errno)));
      return;
    }
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int rc = connect(fd_, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
      Disconnect(StrCat("connect to ", authority_, ": ", std::strerror(errno)));
      return;
    }
    state_ = State::kConnecting;
  }

  bool WantsWrite() const {
    if (state_ == State::kConnecting) return true;
    if (state_ == State::kHandshaking) return ssl_wants_write_;
    return !out_.empty() || (session_ != nullptr && nghttp2_session_want_write(session_));
  }

  void Advance(short revents) {
    if (state_ == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Disconnect(StrCat("connect to ", authority_, ": ", std::strerror(err)));
        return;
      }
      if (options_.plaintext) {
        StartSession();
      } else if (StartTls()) {
        state_ = State::kHandshaking;
        Handshake();
      }
      return;
    }
    if (state_ == State::kHandshaking) {
      Handshake();
      return;
    }
    if (revents & POLLIN) Receive();
    if (fd_ >= 0) Flush();
  }

  bool StartTls() {
    if (ssl_ctx_ == nullptr) {
      ssl_ctx_ = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
      const bool roots =
          options_.tls_ca_file.empty()
              ? SSL_CTX_set_default_verify_paths(ssl_ctx_) == 1
              : SSL_CTX_load_verify_locations(ssl_ctx_, options_.tls_ca_file.c_str(), nullptr) == 1;
      bool client = true;
      if (!options_.tls_cert_file.empty()) {
        client =
            SSL_CTX_use_certificate_chain_file(ssl_ctx_, options_.tls_cert_file.c_str()) == 1 &&
            SSL_CTX_use_PrivateKey_file(ssl_ctx_, options_.tls_key_file.c_str(),
                                        SSL_FILETYPE_PEM) == 1;
      }
      SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
      static const unsigned char kAlpn[] = {2, 'h', '2'};
      SSL_CTX_set_alpn_protos(ssl_ctx_, kAlpn, sizeof kAlpn);
      if (!roots || !client) {
        const std::string why = SslError();
        SSL_CTX_free(ssl_ctx_);
        ssl_ctx_ = nullptr;
        Disconnect(StrCat("TLS setup: ", why));
        return false;
      }
    }
    ssl_ = SSL_new(ssl_ctx_);
    SSL_set_fd(ssl_, fd_);
    const std::string& name = options_.tls_server_name.empty() ? host_ : options_.tls_server_name;
    SSL_set_tlsext_host_name(ssl_, name.c_str());
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    // An IP address is checked against the certificate's IP names, a name against DNS.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
    SSL_set_connect_state(ssl_);
    return true;
  }

  void Handshake() {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) {
      const unsigned char* alpn = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(ssl_, &alpn, &len);
      if (len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
        Disconnect(
            StrCat(authority_, " does not offer HTTP/2 over TLS (ALPN h2), which gRPC needs"));
        return;
      }
      StartSession();
      return;
    }
    const int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
      return;
    }
    const long verify = SSL_get_verify_result(ssl_);
    Disconnect(verify != X509_V_OK
                   ? StrCat("TLS handshake with ", authority_,
                            ": certificate verify failed: ", X509_verify_cert_error_string(verify))
                   : StrCat("TLS handshake with ", authority_, ": ", SslError(),
                            " (the server speaks plaintext? use insecure)"));
  }

  void StartSession() {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &H2GrpcExporter::OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &H2GrpcExporter::OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &H2GrpcExporter::OnClose);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
    state_ = State::kReady;
    SubmitWaiting();
    Flush();
  }

  // --- Calls on the connection.

  void SubmitWaiting() {
    while (!waiting_.empty()) {
      Call* call = waiting_.front();
      waiting_.erase(waiting_.begin());
      std::vector<nghttp2_nv> nv;
      nv.reserve(headers_.size());
      for (const auto& [k, v] : headers_) {
        nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(k.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), k.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE});
      }
      nghttp2_data_provider body;
      body.source.ptr = call;
      body.read_callback = &H2GrpcExporter::ReadBody;
      const int32_t stream =
          nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), &body, call);
      if (stream < 0) {
        // Out of stream IDs (a long-lived connection) or the server said GOAWAY:
        // this call waits for the next connection.
        waiting_.insert(waiting_.begin(), call);
        draining_ = true;
        return;
      }
      call->stream = stream;
      streams_[stream] = call;
    }
  }

  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* call = static_cast<Call*>(source->ptr);
    const size_t n = std::min(length, call->body.size() - call->sent);
    std::memcpy(buf, call->body.data() + call->sent, n);
    call->sent += n;
    if (call->sent == call->body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void*) {
    auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(s, frame->hd.stream_id));
    if (call == nullptr) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    int64_t number;
    if (n == ":status") {
      call->http_status = ParseInt64(v, &number) ? static_cast<int>(number) : 0;
    } else if (n == "grpc-status") {
      call->grpc_status =
          ParseInt64(v, &number) && number >= 0 && number <= 16 ? static_cast<int>(number) : 2;
    } else if (n == "grpc-message") {
      call->grpc_message = otlp::PercentDecode(v);
    } else if (n == "grpc-status-details-bin") {
      if (!absl::Base64Unescape(absl::string_view(v.data(), v.size()), &call->grpc_details)) {
        call->grpc_details.clear();
      }
    } else if (n == "grpc-encoding") {
      call->response_encoding = std::string(v);
    }
    return 0;
  }

  static int OnData(nghttp2_session* s, uint8_t, int32_t stream, const uint8_t* data, size_t len,
                    void*) {
    auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(s, stream));
    // A response is a few bytes; anything past a response limit is not read on.
    if (call != nullptr && call->response.size() < otlp::kDefaultMaxMessageBytes) {
      call->response.append(reinterpret_cast<const char*>(data), len);
    }
    return 0;
  }

  static int OnClose(nghttp2_session* s, int32_t stream, uint32_t error, void* self) {
    auto* exporter = static_cast<H2GrpcExporter*>(self);
    auto* call = static_cast<Call*>(nghttp2_session_get_stream_user_data(s, stream));
    if (call == nullptr) return 0;
    exporter->streams_.erase(stream);
    exporter->done_.push_back({call, error});
    return 0;
  }

  // Reads what the socket has and feeds it to the session.
  void Receive() {
    uint8_t buf[65536];
    while (fd_ >= 0) {
      ssize_t n;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        const int rc = SSL_read(ssl_, buf, sizeof buf);
        if (rc <= 0) {
          const int e = SSL_get_error(ssl_, rc);
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
          Disconnect(StrCat("connection to ", authority_, " closed",
                            e == SSL_ERROR_ZERO_RETURN ? "" : StrCat(": ", SslError())));
          return;
        }
        n = rc;
      } else {
        n = read(fd_, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
          Disconnect(StrCat("connection to ", authority_,
                            n == 0 ? " closed by the server" : StrCat(": ", std::strerror(errno))));
          return;
        }
      }
      if (nghttp2_session_mem_recv(session_, buf, static_cast<size_t>(n)) < 0) {
        Disconnect(StrCat("HTTP/2 protocol error from ", authority_));
        return;
      }
      if (n < static_cast<ssize_t>(sizeof buf) && ssl_ == nullptr) return;
    }
  }

  // Writes what the session has to send, keeping what the socket does not take.
  void Flush() {
    while (fd_ >= 0) {
      if (out_.empty()) {
        const uint8_t* data;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n < 0) {
          Disconnect(StrCat("HTTP/2 error: ", nghttp2_strerror(static_cast<int>(n))));
          return;
        }
        if (n == 0) break;
        out_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        out_sent_ = 0;
      }
      while (out_sent_ < out_.size()) {
        ssize_t n;
        if (ssl_ != nullptr) {
          ERR_clear_error();
          const int rc =
              SSL_write(ssl_, out_.data() + out_sent_, static_cast<int>(out_.size() - out_sent_));
          if (rc <= 0) {
            const int e = SSL_get_error(ssl_, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
            Disconnect(StrCat("connection to ", authority_, ": ", SslError()));
            return;
          }
          n = rc;
        } else {
          n = send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
          if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
          if (n < 0) {
            Disconnect(StrCat("connection to ", authority_, ": ", std::strerror(errno)));
            return;
          }
        }
        out_sent_ += static_cast<size_t>(n);
      }
      out_.clear();
      out_sent_ = 0;
    }
    // A connection the server is closing (GOAWAY) takes no new calls: once its last
    // stream is done, the next call opens another.
    if (fd_ >= 0 && streams_.empty() &&
        (draining_ ||
         (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)))) {
      std::vector<Call*> waiting;
      waiting.swap(waiting_);
      Disconnect("connection closed by the server (GOAWAY)");
      waiting_.swap(waiting);
      if (!waiting_.empty()) Connect();
    }
  }

  // Cancels the calls past their deadline: DEADLINE_EXCEEDED, as gRPC reports it.
  void ExpireDeadlines(int64_t now) {
    // A call that waited its whole deadline for the connection: the connection is not
    // coming (a host that drops packets, a TLS handshake that stalls).
    for (Call* call : waiting_) {
      if (call->deadline_ns <= now && state_ != State::kReady) {
        Disconnect(StrCat("connect to ", authority_, ": timed out"));
        return;
      }
    }
    bool reset = false;
    for (auto& [stream, call] : streams_) {
      if (call->deadline_ns <= now && !call->timed_out) {
        call->timed_out = true;
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL);
        reset = true;
      }
    }
    if (reset) Flush();
  }

  // Ends the connection; its calls, and those waiting for it, fail with `why`.
  void Disconnect(const std::string& why) {
    if (session_ != nullptr) {
      nghttp2_session_del(session_);
      session_ = nullptr;
    }
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    state_ = State::kIdle;
    draining_ = false;
    ssl_wants_write_ = false;
    out_.clear();
    out_sent_ = 0;
    for (auto& [stream, call] : streams_) Fail(call, why);
    streams_.clear();
    FailWaiting(why);
  }

  void FailWaiting(const std::string& why) {
    for (Call* call : waiting_) Fail(call, why);
    waiting_.clear();
  }

  void Fail(Call* call, const std::string& why) {
    call->grpc_status.reset();
    call->http_status = 0;
    call->grpc_message = why;
    done_.push_back({call, NGHTTP2_CONNECT_ERROR});
  }

  // Counts the calls that ended (outside nghttp2's callbacks: counting may free them).
  void FinishDone() {
    std::vector<std::pair<Call*, uint32_t>> done;
    done.swap(done_);
    for (auto [call, error] : done) {
      stats_->of(signal_).latency.Record(SteadyClock().NowNs() - call->attempt_started_ns);
      Judge(call, error);
    }
  }

  void Judge(Call* call, uint32_t error) {
    if (call->timed_out) {
      CompleteGrpc(call, grpc::DEADLINE_EXCEEDED, false, "deadline exceeded", "", "", &rng_);
    } else if (error == NGHTTP2_CONNECT_ERROR && call->http_status == 0) {
      CompleteGrpc(call, grpc::UNAVAILABLE, false, call->grpc_message, "", "", &rng_);
    } else if (call->http_status != 200 && call->http_status != 0) {
      CompleteGrpc(call, otlp::GrpcCodeForHttpStatus(call->http_status), true,
                   StrCat("HTTP ", call->http_status, " from a gRPC endpoint"), "", "", &rng_);
    } else if (!call->grpc_status.has_value()) {
      // Reset without a status: REFUSED_STREAM means the server did not start it.
      CompleteGrpc(call, grpc::UNAVAILABLE, false,
                   StrCat("stream reset by ", authority_, " (", nghttp2_http2_strerror(error), ")"),
                   "", "", &rng_);
    } else {
      std::string_view response = call->response;
      std::string decoded;
      if (response.size() >= kPrefix) {
        const bool compressed = response[0] != 0;
        response.remove_prefix(kPrefix);
        if (compressed) {
          auto coding = ParseContentCoding(call->response_encoding);
          if (coding.ok() &&
              Decompress(*coding, response, otlp::kDefaultMaxMessageBytes, &decoded).ok()) {
            response = decoded;
          } else {
            response = {};
          }
        }
      }
      CompleteGrpc(call, static_cast<grpc::StatusCode>(*call->grpc_status), true,
                   call->grpc_message, call->grpc_details, response, &rng_);
    }
  }

  const std::string_view method_;
  std::string authority_, host_, port_;
  std::vector<std::pair<std::string, std::string>> headers_;
  Rng rng_;
  State state_ = State::kIdle;
  int fd_ = -1;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ssl_wants_write_ = false;
  nghttp2_session* session_ = nullptr;
  bool draining_ = false;  // No new streams on this connection.
  std::string out_;        // Session output the socket has not taken yet.
  size_t out_sent_ = 0;
  std::vector<Call*> waiting_;                    // Started, waiting for the connection.
  std::unordered_map<int32_t, Call*> streams_;    // On the connection.
  std::vector<std::pair<Call*, uint32_t>> done_;  // Ended, not yet counted.
  std::unique_ptr<Call> pending_;
};

}  // namespace

std::unique_ptr<Exporter> MakeH2GrpcExporter(const ExporterOptions& options, Signal signal,
                                             RunStats* stats) {
  return std::make_unique<H2GrpcExporter>(options, signal, stats);
}

}  // namespace loadgen
