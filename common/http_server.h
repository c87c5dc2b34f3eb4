// A small HTTP/1.1 server for the tools' own endpoints (the sender's /metrics and
// /rate): one thread, one connection at a time, Content-Length bodies, then close.
// Enough for a Prometheus scrape or a curl, not a general web server.
// Thread-safe: the handler runs on the server's thread.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace loadgen {

struct HttpRequest {
  std::string method;  // GET, PUT, ...
  std::string path;    // Without the query string.
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit HttpServer(Handler handler, size_t max_body_bytes = 1 << 20);
  ~HttpServer();

  // Listens on host:port (port 0: any free port); returns the port.
  absl::StatusOr<int> Start(const std::string& listen);
  void Stop();

 private:
  void Loop();
  void Serve(int fd);
  Handler handler_;
  size_t max_body_bytes_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // A pipe that Stop() writes to, to end the poll.
  std::thread thread_;
};

}  // namespace loadgen
