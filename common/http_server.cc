#include "common/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace loadgen {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string SslError() {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return buf;
}

}  // namespace

// One accepted connection, plain or TLS.
struct HttpServer::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  ssize_t Read(char* buf, size_t n) {
    if (ssl != nullptr) {
      const int r = SSL_read(ssl, buf, static_cast<int>(n));
      return r > 0 ? r : -1;
    }
    ssize_t r;
    do {
      r = recv(fd, buf, n, 0);
    } while (r < 0 && errno == EINTR);
    return r;
  }
  void WriteAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ssl != nullptr ? SSL_write(ssl, data.data(), static_cast<int>(data.size()))
                                       : send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && ssl == nullptr && errno == EINTR) continue;
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  bool Pending() const { return ssl != nullptr && SSL_pending(ssl) > 0; }
};

HttpServer::HttpServer(Handler handler, size_t max_body_bytes, int threads, bool keep_alive,
                       const HttpTls* tls)
    : handler_(std::move(handler)),
      max_body_bytes_(max_body_bytes),
      threads_count_(std::max(1, threads)),
      keep_alive_(keep_alive) {
  if (tls != nullptr) tls_ = *tls;
}

HttpServer::~HttpServer() {
  Stop();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

absl::StatusOr<int> HttpServer::Start(const std::string& listen) {
  if (!tls_.cert_pem.empty()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    ssl_ctx_ = ctx;
    BIO* certs = BIO_new_mem_buf(tls_.cert_pem.data(), static_cast<int>(tls_.cert_pem.size()));
    X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
    bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    while (X509* extra = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr)) {
      SSL_CTX_add_extra_chain_cert(ctx, extra);  // Takes ownership.
    }
    BIO_free(certs);
    BIO* key_bio = BIO_new_mem_buf(tls_.key_pem.data(), static_cast<int>(tls_.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    ok = ok && key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
         SSL_CTX_check_private_key(ctx) == 1;
    EVP_PKEY_free(key);
    BIO_free(key_bio);
    if (ok && !tls_.client_ca_pem.empty()) {
      BIO* ca =
          BIO_new_mem_buf(tls_.client_ca_pem.data(), static_cast<int>(tls_.client_ca_pem.size()));
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      while (X509* c = PEM_read_bio_X509(ca, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, c);
        X509_free(c);
      }
      BIO_free(ca);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    if (!ok) return absl::InvalidArgumentError(StrCat("TLS certificate or key: ", SslError()));
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(StrCat("'", listen, "': expected host:port"));
  }
  const std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(StrCat("'", listen, "': ", gai_strerror(rc)));
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
    const std::string why = std::strerror(errno);
    freeaddrinfo(found);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(StrCat("cannot listen on '", listen, "': ", why));
  }
  freeaddrinfo(found);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (pipe2(wake_, O_CLOEXEC) != 0) {
    close(fd);
    return absl::InternalError(StrCat("pipe: ", std::strerror(errno)));
  }
  listen_fd_ = fd;
  // Non-blocking, so threads woken for the same connection do not wait in accept().
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  for (int i = 0; i < threads_count_; ++i) threads_.emplace_back([this] { Loop(); });
  return bound_port;
}

void HttpServer::Stop() {
  if (threads_.empty()) return;
  const char x = 0;
  (void)!write(wake_[1], &x, 1);  // Never read: it wakes every poll for good.
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
  listen_fd_ = -1;
}

void HttpServer::Loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // A client that sends nothing must not hold a thread: 5 s per read.
    const timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    Conn conn{fd, nullptr};
    if (ssl_ctx_ != nullptr) {
      conn.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
      SSL_set_fd(conn.ssl, fd);
      if (SSL_accept(conn.ssl) != 1) {  // A failed handshake (no or wrong client cert).
        ERR_clear_error();
        SSL_free(conn.ssl);
        close(fd);
        continue;
      }
    }
    std::string buffered;
    while (ServeOne(&conn, &buffered)) {
      // Between requests, wait for the next one or for Stop().
      if (!buffered.empty() || conn.Pending()) continue;
      pollfd wait[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(wait, 2, 5000) <= 0 || wait[1].revents || !(wait[0].revents & POLLIN)) break;
    }
    if (conn.ssl != nullptr) {
      SSL_shutdown(conn.ssl);
      SSL_free(conn.ssl);
    }
    close(fd);
  }
}

bool HttpServer::ServeOne(Conn* conn, std::string* buffered) {
  std::string& data = *buffered;
  size_t header_end = data.find("\r\n\r\n");
  char buf[65536];
  bool keep = keep_alive_;
  auto reply = [&](const HttpResponse& r) {
    std::string head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                                   r.status, Reason(r.status), r.content_type, r.body.size());
    for (const auto& [k, v] : r.headers) StrAppend(&head, k, ": ", v, "\r\n");
    StrAppend(&head, keep ? "\r\n" : "Connection: close\r\n\r\n");
    conn->WriteAll(head);
    conn->WriteAll(r.body);
    return keep;
  };
  while (header_end == std::string::npos) {
    const ssize_t n = conn->Read(buf, sizeof buf);
    if (n <= 0) return false;
    data.append(buf, static_cast<size_t>(n));
    header_end = data.find("\r\n\r\n");
    if (header_end == std::string::npos && data.size() > 65536) {
      keep = false;
      return reply({400, "text/plain; charset=utf-8", "headers too large\n"});
    }
  }
  HttpRequest request;
  const std::string_view head(data.data(), header_end);
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) {
    keep = false;
    return reply({400, "text/plain; charset=utf-8", "malformed request line\n"});
  }
  request.method = std::string(line.substr(0, sp1));
  request.path = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (auto q = request.path.find('?'); q != std::string::npos) request.path.resize(q);
  size_t length = 0;
  for (size_t at = line_end; at != std::string_view::npos && at < head.size();) {
    const size_t next = head.find("\r\n", at + 2);
    const std::string_view h = head.substr(
        at + 2, next == std::string_view::npos ? std::string_view::npos : next - at - 2);
    at = next;
    const auto colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(h.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "content-length") length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    if (name == "connection" && value == "close") keep = false;
    if (name == "transfer-encoding") {
      keep = false;
      return reply({400, "text/plain; charset=utf-8", "chunked bodies are not supported\n"});
    }
    request.headers.emplace_back(std::move(name), std::string(value));
  }
  if (length > max_body_bytes_) {
    keep = false;
    return reply({413, "text/plain; charset=utf-8", "body too large\n"});
  }
  while (data.size() < header_end + 4 + length) {
    const ssize_t n = conn->Read(buf, sizeof buf);
    if (n <= 0) return false;
    data.append(buf, static_cast<size_t>(n));
  }
  request.body = data.substr(header_end + 4, length);
  data.erase(0, header_end + 4 + length);
  return reply(handler_(request));
}

}  // namespace loadgen
