#include "common/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
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
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

std::string SslError() {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return buf;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t Ns(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(s).count();
}

// A response that does not come out within this long is given up (a client that
// stopped reading).
constexpr int kWriteTimeoutMs = 10'000;

}  // namespace

// One accepted connection. The I/O thread owns it while it is kHandshake or
// kReading (armed in epoll, one shot); a handler thread owns it while kHandling, and
// the held queue while its delayed response waits (still kHandling, so no sweep).
struct HttpServer::Conn {
  enum State { kHandshake, kReading, kHandling } state = kReading;
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;        // Bytes read and not yet parsed into a request.
  size_t needed = 0;     // Parse again once `in` holds this many bytes.
  int64_t deadline = 0;  // Steady-clock ns: closed by the sweep when passed.
  HttpParse parsed;      // kRequest or kError, for the handler.
  std::string response;  // Composed and not yet written (a delayed one, while held).
  bool keep = false;     // Whether the connection stays open after `response`.

  // Writes `response`: true when it went out and the connection stays open.
  bool Flush() {
    const bool ok = WriteAll(response) && keep;
    response.clear();
    return ok;
  }

  // Reads what is available without blocking: false when the peer closed or failed.
  // `want_write` is set when TLS must write before it can read.
  bool ReadAvailable(bool* want_write, size_t limit) {
    *want_write = false;
    char buf[65536];
    while (in.size() < limit) {
      if (ssl != nullptr) {
        const int r = SSL_read(ssl, buf, sizeof buf);
        if (r > 0) {
          in.append(buf, static_cast<size_t>(r));
          continue;
        }
        const int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ) return true;
        if (err == SSL_ERROR_WANT_WRITE) {
          *want_write = true;
          return true;
        }
        ERR_clear_error();
        return false;
      }
      const ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r > 0) {
        in.append(buf, static_cast<size_t>(r));
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return true;
  }

  // Writes all of `data`, waiting (bounded) while the socket is full.
  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      short wait_for = POLLOUT;
      if (ssl != nullptr) {
        const int n = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
        if (n > 0) {
          data.remove_prefix(static_cast<size_t>(n));
          continue;
        }
        const int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_WANT_READ) {
          wait_for = POLLIN;
        } else if (err != SSL_ERROR_WANT_WRITE) {
          ERR_clear_error();
          return false;
        }
      } else {
        const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
          data.remove_prefix(static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return false;
      }
      pollfd p{fd, wait_for, 0};
      if (poll(&p, 1, kWriteTimeoutMs) <= 0) return false;
    }
    return true;
  }

  // Parses `in` once enough of it is there.
  HttpParse::Kind Parse(size_t max_body_bytes) {
    if (in.size() < needed) return HttpParse::kNeedMore;
    parsed = ParseHttpRequest(in, max_body_bytes);
    needed = parsed.kind == HttpParse::kNeedMore ? parsed.needed : 0;
    if (parsed.kind == HttpParse::kRequest) in.erase(0, parsed.consumed);
    return parsed.kind;
  }
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
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  // SO_REUSEADDR only rebinds past TIME_WAIT; a port someone listens on stays refused.
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
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
  listen_fd_ = fd;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0) {
    const std::string why = std::strerror(errno);
    Stop();
    return absl::InternalError(StrCat("epoll: ", why));
  }
  for (int* fd : {&listen_fd_, &wake_fd_, &timer_fd_}) {
    epoll_event e{EPOLLIN, {.ptr = fd}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, *fd, &e);
  }
  io_thread_ = std::thread([this] { IoLoop(); });
  for (int i = 0; i < threads_count_; ++i) handlers_.emplace_back([this] { HandlerLoop(); });
  return bound_port;
}

void HttpServer::Stop() {
  if (io_thread_.joinable()) {
    stopping_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    io_thread_.join();
    {
      MutexLock lock(&mu_);
      ready_cv_.notify_all();
    }
    for (std::thread& t : handlers_) t.join();
    handlers_.clear();
  }
  MutexLock lock(&mu_);
  for (auto& [fd, conn] : conns_) {
    if (conn->ssl != nullptr) SSL_free(conn->ssl);
    close(fd);
  }
  conns_.clear();
  ready_.clear();
  held_.clear();
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_, &timer_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void HttpServer::Arm(Conn* conn, uint32_t events) {
  epoll_event e{events | EPOLLONESHOT, {.ptr = conn}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &e);
}

void HttpServer::Close(Conn* conn) {
  // Out of the table before the descriptor is closed: once closed, its number may
  // come back from accept() for a new connection at once.
  std::unique_ptr<Conn> owned;
  {
    MutexLock lock(&mu_);
    auto it = conns_.find(conn->fd);
    owned = std::move(it->second);
    conns_.erase(it);
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
  if (conn->ssl != nullptr) {
    SSL_shutdown(conn->ssl);
    SSL_free(conn->ssl);
  }
  close(conn->fd);
}

void HttpServer::Accept() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop accepting until the next sweep frees some.
        epoll_event off{0, {.ptr = &listen_fd_}};
        epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &off);
        listen_paused_ = true;
      }
      return;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    conn->deadline = NowNs() + Ns(kIdleTimeout);
    if (ssl_ctx_ != nullptr) {
      conn->ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
      SSL_set_fd(conn->ssl, fd);
      SSL_set_accept_state(conn->ssl);
      conn->state = Conn::kHandshake;
      conn->deadline = NowNs() + Ns(kHeaderTimeout);
    }
    Conn* c = conn.get();
    {
      MutexLock lock(&mu_);
      conns_[fd] = std::move(conn);
    }
    epoll_event e{EPOLLIN | EPOLLONESHOT, {.ptr = c}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e);
  }
}

bool HttpServer::OnReadable(Conn* conn) {
  Conn::State state;
  {
    // A handler hands a connection back by setting its state under mu_ before it
    // re-arms it: taking mu_ here makes everything that handler wrote visible.
    MutexLock lock(&mu_);
    state = conn->state;
  }
  if (state == Conn::kHandshake) {
    const int r = SSL_do_handshake(conn->ssl);
    if (r != 1) {
      const int err = SSL_get_error(conn->ssl, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        Arm(conn, err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
        return true;
      }
      ERR_clear_error();  // A failed handshake: no or wrong client certificate.
      return false;
    }
    {
      MutexLock lock(&mu_);
      conn->state = Conn::kReading;
    }
    conn->deadline = NowNs() + Ns(kIdleTimeout);
  }
  bool want_write;
  // Never more than one request (and the headers of the next) ahead.
  const size_t limit = max_body_bytes_ + 2 * kMaxHttpHeaderBytes;
  if (!conn->ReadAvailable(&want_write, limit)) return false;
  switch (conn->Parse(max_body_bytes_)) {
    case HttpParse::kNeedMore:
      // A request under way must keep coming: kHeaderTimeout without a byte ends it.
      if (!conn->in.empty()) conn->deadline = NowNs() + Ns(kHeaderTimeout);
      Arm(conn, want_write ? EPOLLOUT : EPOLLIN);
      return true;
    case HttpParse::kRequest:
    case HttpParse::kError: {
      MutexLock lock(&mu_);
      conn->state = Conn::kHandling;
      ready_.push_back(conn);
      ready_cv_.notify_one();
      return true;
    }
  }
  return true;
}

void HttpServer::Sweep() {
  const int64_t now = NowNs();
  std::vector<Conn*> expired;
  {
    MutexLock lock(&mu_);
    for (auto& [fd, conn] : conns_) {
      if (conn->state != Conn::kHandling && conn->deadline < now) expired.push_back(conn.get());
    }
  }
  for (Conn* conn : expired) Close(conn);
  if (listen_paused_ && !expired.empty()) {
    epoll_event on{EPOLLIN, {.ptr = &listen_fd_}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &on);
    listen_paused_ = false;
  }
}

void HttpServer::IoLoop() {
  epoll_event events[256];
  int64_t next_sweep = NowNs() + 1'000'000'000;
  while (!stopping_.load()) {
    const int n = epoll_wait(epoll_fd_, events, 256, 1000);
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &wake_fd_) return;
      if (tag == &timer_fd_) {
        ReleaseDue();
        continue;
      }
      if (tag == &listen_fd_) {
        Accept();
        continue;
      }
      Conn* conn = static_cast<Conn*>(tag);
      if (!OnReadable(conn)) Close(conn);
    }
    // Between batches, so no event above points at a connection the sweep closed.
    if (NowNs() >= next_sweep) {
      Sweep();
      next_sweep = NowNs() + 1'000'000'000;
    }
  }
}

void HttpServer::Hold(Conn* conn, int64_t due_ns) {
  MutexLock lock(&mu_);
  const bool earliest = held_.empty() || due_ns < held_.begin()->first;
  held_.emplace(due_ns, conn);
  if (earliest) ArmTimer(due_ns);
}

void HttpServer::ArmTimer(int64_t due_ns) {
  itimerspec at{};
  at.it_value.tv_sec = due_ns / 1'000'000'000;
  at.it_value.tv_nsec = due_ns % 1'000'000'000;
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &at, nullptr);
}

void HttpServer::ReleaseDue() {
  uint64_t expirations;
  (void)!read(timer_fd_, &expirations, sizeof expirations);
  MutexLock lock(&mu_);
  const int64_t now = NowNs();
  while (!held_.empty() && held_.begin()->first <= now) {
    ready_.push_back(held_.begin()->second);
    held_.erase(held_.begin());
  }
  if (!held_.empty()) ArmTimer(held_.begin()->first);
  ready_cv_.notify_all();
}

void HttpServer::HandlerLoop() {
  while (true) {
    Conn* conn;
    {
      MutexLock lock(&mu_);
      while (ready_.empty() && !stopping_.load()) ready_cv_.wait(mu_);
      if (ready_.empty()) return;
      conn = ready_.front();
      ready_.pop_front();
    }
    Serve(conn);
  }
}

void HttpServer::Serve(Conn* conn) {
  // A delayed response is written when it is due, then the requests behind it.
  if (!conn->response.empty()) {
    if (!conn->Flush()) return Close(conn);
    if (!NextRequest(conn)) return;
  }
  // Answer this request, then any the client pipelined behind it.
  while (true) {
    const bool refused = conn->parsed.kind == HttpParse::kError;
    const HttpResponse r = refused ? HttpResponse{conn->parsed.status, "text/plain; charset=utf-8",
                                                  StrCat(conn->parsed.error, "\n")}
                                   : handler_(conn->parsed.request);
    conn->keep = keep_alive_ && !refused && conn->parsed.request.keep_alive;
    conn->response = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                                 r.status, Reason(r.status), r.content_type, r.body.size());
    for (const auto& [k, v] : r.headers) StrAppend(&conn->response, k, ": ", v, "\r\n");
    StrAppend(&conn->response, conn->keep ? "\r\n" : "Connection: close\r\n\r\n", r.body);
    if (r.delay_ns > 0) return Hold(conn, NowNs() + r.delay_ns);
    if (!conn->Flush()) return Close(conn);
    if (!NextRequest(conn)) return;
  }
}

bool HttpServer::NextRequest(Conn* conn) {
  // TLS may hold decrypted bytes that epoll cannot see: read them here.
  if (conn->ssl != nullptr && SSL_pending(conn->ssl) > 0) {
    bool want_write;
    if (!conn->ReadAvailable(&want_write, max_body_bytes_ + 2 * kMaxHttpHeaderBytes)) {
      Close(conn);
      return false;
    }
  }
  if (conn->Parse(max_body_bytes_) != HttpParse::kNeedMore) return true;
  conn->deadline = NowNs() + Ns(conn->in.empty() ? kIdleTimeout : kHeaderTimeout);
  // Re-armed under mu_: the I/O thread takes mu_ before it can close this descriptor
  // (OnReadable, Sweep), so the close is ordered after this epoll_ctl. epoll itself is
  // no happens-before edge for TSan on EPOLL_CTL_MOD.
  MutexLock lock(&mu_);
  conn->state = Conn::kReading;
  Arm(conn, EPOLLIN);
  return false;
}

}  // namespace loadgen
