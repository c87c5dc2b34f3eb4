// A small HTTP/1.1 server for the tools' own endpoints (the sender's /metrics and
// /rate, otlp-sink's OTLP/HTTP receiver): `threads` threads each serve one connection
// at a time, with keep-alive when asked for, Content-Length bodies only (no chunked
// uploads). Enough for a Prometheus scrape, a curl or an OTLP exporter, not a general
// web server. The handler may run on several threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace loadgen {

struct HttpRequest {
  std::string method;  // GET, PUT, ...
  std::string path;    // Without the query string.
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Names in lower case.
  const std::string* Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // Extra ones.
};

// Serve HTTPS: a certificate chain and key (PEM text), and with client_ca_pem,
// require client certificates signed by it (mTLS).
struct HttpTls {
  std::string cert_pem, key_pem, client_ca_pem;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit HttpServer(Handler handler, size_t max_body_bytes = 1 << 20, int threads = 1,
                      bool keep_alive = false, const HttpTls* tls = nullptr);
  ~HttpServer();

  // Listens on host:port (port 0: any free port); returns the port.
  absl::StatusOr<int> Start(const std::string& listen);
  void Stop();

 private:
  struct Conn;
  void Loop();
  // Serves one request on a connection; false when the connection is done.
  bool ServeOne(Conn* conn, std::string* buffered);
  Handler handler_;
  size_t max_body_bytes_;
  int threads_count_;
  bool keep_alive_;
  int listen_fd_ = -1;
  HttpTls tls_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, when serving HTTPS.
  int wake_[2] = {-1, -1};   // A pipe that Stop() writes to, to end the polls.
  std::vector<std::thread> threads_;
};

}  // namespace loadgen
