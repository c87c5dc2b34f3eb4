// A small HTTP/1.1 server for the tools' own endpoints (the sender's /metrics and
// /rate, otlp-sink's OTLP/HTTP receiver). One I/O thread reads every connection
// without blocking (epoll) and parses requests (common/http_parser.h); a complete
// request goes to one of `threads` handler threads, which answers it and hands the
// connection back. So idle or slow clients hold a descriptor, never a thread: the
// server keeps serving at full speed with hundreds of them open. A connection gets
// kHeaderTimeout to deliver a request once it has started one (and for a TLS
// handshake), kIdleTimeout between requests. The handler may run on several threads
// at once; it is not called for requests the parser refuses (they are answered 4xx
// and the connection closed). A response with a delay is held by the I/O thread's
// timer, not by a handler thread, so delays cost no throughput.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/http_parser.h"
#include "common/mutex.h"

namespace loadgen {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // Extra ones.
  // Sent this long after the handler returns, without holding a handler thread
  // meanwhile (a slow backend's latency, otlp-sink --delay).
  int64_t delay_ns = 0;
};

// Serve HTTPS: a certificate chain and key (PEM text), and with client_ca_pem,
// require client certificates signed by it (mTLS).
struct HttpTls {
  std::string cert_pem, key_pem, client_ca_pem;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  static constexpr std::chrono::seconds kHeaderTimeout{10};
  static constexpr std::chrono::seconds kIdleTimeout{60};
  static constexpr int kListenBacklog = 4096;

  explicit HttpServer(Handler handler, size_t max_body_bytes = 1 << 20, int threads = 1,
                      bool keep_alive = false, const HttpTls* tls = nullptr);
  ~HttpServer();

  // Listens on host:port (port 0: any free port); returns the port. Fails when the
  // port is taken (no SO_REUSEPORT: two servers never share one).
  absl::StatusOr<int> Start(const std::string& listen);
  void Stop();

 private:
  struct Conn;
  void IoLoop();
  void HandlerLoop();
  void Accept();
  // Reads what a connection has (and finishes a TLS handshake); queues a complete
  // request. False when the connection is to be closed.
  bool OnReadable(Conn* conn);
  void Close(Conn* conn);
  void Arm(Conn* conn, uint32_t events);
  void Sweep();
  // Answers conn's requests (after its held response, if any) until it must wait
  // for bytes (re-armed), holds a delayed response, or ends (closed).
  void Serve(Conn* conn);
  // After a response: true when the next request is already there; otherwise conn is
  // re-armed for reading or closed.
  bool NextRequest(Conn* conn);
  // Holds conn (its response composed) until `due_ns`; ReleaseDue queues it then.
  void Hold(Conn* conn, int64_t due_ns);
  void ReleaseDue();
  void ArmTimer(int64_t due_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Handler handler_;
  size_t max_body_bytes_;
  int threads_count_;
  bool keep_alive_;
  HttpTls tls_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, when serving HTTPS.
  int listen_fd_ = -1, epoll_fd_ = -1, wake_fd_ = -1, timer_fd_ = -1;
  std::atomic<bool> stopping_{false};
  bool listen_paused_ = false;  // I/O thread only: out of descriptors.
  std::thread io_thread_;
  std::vector<std::thread> handlers_;

  // Also guards each Conn's state, the hand-over between the I/O and handler threads.
  Mutex mu_;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_ ABSL_GUARDED_BY(mu_);
  // Connections with a complete request, for the handlers.
  std::deque<Conn*> ready_ ABSL_GUARDED_BY(mu_);
  // Delayed responses, by when they are due.
  std::multimap<int64_t, Conn*> held_ ABSL_GUARDED_BY(mu_);
  std::condition_variable_any ready_cv_;
};

}  // namespace loadgen
