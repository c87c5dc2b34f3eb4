// The HTTP/1.1 parser on its own, and the server over real sockets on 127.0.0.1: a
// server that keeps serving while hundreds of idle or half-sent connections are open,
// keep-alive and pipelining, chunked bodies, and the refusals a real server gives.
#include "common/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "common/http_parser.h"

namespace loadgen {
namespace {

HttpParse Parse(std::string_view text, size_t max_body = 1 << 20) {
  return ParseHttpRequest(text, max_body);
}

TEST_CASE("http parser: Content-Length and chunked bodies, pipelined requests") {
  const std::string two =
      "POST /v1/traces?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "GET /metrics HTTP/1.1\r\n\r\n";
  HttpParse p = Parse(two);
  REQUIRE(p.kind == HttpParse::kRequest);
  CHECK(p.request.method == "POST");
  CHECK(p.request.path == "/v1/traces");
  CHECK(p.request.body == "hello");
  CHECK(*p.request.Header("host") == "a");
  CHECK(p.request.keep_alive);
  HttpParse next = Parse(std::string_view(two).substr(p.consumed));
  REQUIRE(next.kind == HttpParse::kRequest);
  CHECK(next.request.path == "/metrics");
  CHECK(p.consumed + next.consumed == two.size());

  const std::string chunked =
      "POST /v1/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
  p = Parse(chunked);
  REQUIRE(p.kind == HttpParse::kRequest);
  CHECK(p.request.body == "abcdefg");
  CHECK(p.consumed == chunked.size());
  // Every prefix of a request is "more to come", never an error or a request.
  for (size_t n = 0; n < chunked.size(); ++n) {
    INFO(n);
    CHECK(Parse(chunked.substr(0, n)).kind == HttpParse::kNeedMore);
  }
  // With the headers in, the parser says how much the body still needs.
  CHECK(Parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").needed == 39 + 10);
  CHECK_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  CHECK(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").request.keep_alive);
  CHECK_FALSE(Parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").request.keep_alive);
}

TEST_CASE("http parser: refuses what a real server refuses, with the status it gives") {
  struct Case {
    std::string text;
    int status;
    const char* error;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "both Content-Length and Transfer-Encoding"},
      {"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400,
       "conflicting Content-Length headers"},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "malformed Content-Length"},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
       "only the chunked transfer coding"},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "malformed header line"},
      {"GET / HTTP/1.1\r\nfolded: a\r\n continued\r\n\r\n", 400, "malformed header line"},
      {"GET / HTTP/1.1\r\nx: a\x01b\r\n\r\n", 400, "control character in a header"},
      {"GET /\r\n\r\n", 400, "malformed request line"},
      {"GET / HTTP/2.0\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1 are served"},
      {"POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413, "body too large"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "malformed chunk size"},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400,
       "chunk not followed by CRLF"},
      {"GET / HTTP/1.1\r\nx: " + std::string(70000, 'a'), 431, "headers too large"},
  };
  for (const Case& c : cases) {
    INFO(c.text.substr(0, 80));
    const HttpParse p = Parse(c.text);
    REQUIRE(p.kind == HttpParse::kError);
    CHECK(p.status == c.status);
    CHECK(p.error == c.error);
  }
}

// A plain TCP client.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

void Send(int fd, std::string_view data) {
  REQUIRE(send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
}

// Reads until `responses` complete responses (with Content-Length bodies) are in.
std::string ReadResponses(int fd, int responses) {
  std::string got;
  char buf[4096];
  while (true) {
    int complete = 0;
    for (size_t at = 0;;) {
      const size_t end = got.find("\r\n\r\n", at);
      if (end == std::string::npos) break;
      const size_t cl = got.find("Content-Length: ", at);
      const size_t length = std::stoul(got.substr(cl + 16));
      if (got.size() < end + 4 + length) break;
      ++complete;
      at = end + 4 + length;
    }
    if (complete >= responses) return got;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return got;
    got.append(buf, static_cast<size_t>(n));
  }
}

// True while the server has not closed the connection (nothing to read yet).
bool StillOpen(int fd) {
  char c;
  const ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

TEST_CASE("http server: hundreds of idle and half-sent connections hold no thread") {
  std::atomic<int> served{0};
  HttpServer server(
      [&](const HttpRequest& r) {
        ++served;
        return HttpResponse{200, "text/plain", r.path + ":" + r.body};
      },
      1 << 20, /*threads=*/2, /*keep_alive=*/true);
  auto port = server.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  // More idle connections than the old thread-per-connection server had threads,
  // and slow clients that stopped halfway through their headers or body.
  std::vector<int> idle, slow;
  for (int i = 0; i < 300; ++i) idle.push_back(Connect(*port));
  for (int i = 0; i < 50; ++i) {
    slow.push_back(Connect(*port));
    Send(slow.back(), i % 2 ? "POST /v1/traces HTTP/1.1\r\nContent-Le"
                            : "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  }
  // Real clients are served meanwhile, keep-alive and pipelined.
  for (int i = 0; i < 20; ++i) {
    const int fd = Connect(*port);
    Send(fd,
         "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
         "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nyou\r\n0\r\n\r\n");
    const std::string got = ReadResponses(fd, 2);
    CHECK(got.find("/a:hi") != std::string::npos);
    CHECK(got.find("/b:you") != std::string::npos);
    close(fd);
  }
  CHECK(served == 40);
  // ... without closing the idle ones to make room: they simply wait.
  int open = 0;
  for (int fd : idle) open += StillOpen(fd);
  for (int fd : slow) open += StillOpen(fd);
  CHECK(open == 350);
  for (int fd : idle) close(fd);
  for (int fd : slow) close(fd);
}

TEST_CASE("http server: a refused request gets its status and the connection is closed") {
  std::atomic<int> served{0};
  HttpServer server(
      [&](const HttpRequest&) {
        ++served;
        return HttpResponse{};
      },
      1024, 1, true);
  auto port = server.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  const int fd = Connect(*port);
  Send(fd, "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string got = ReadResponses(fd, 1);
  CHECK(got.starts_with("HTTP/1.1 400 Bad Request\r\n"));
  CHECK(got.find("Connection: close") != std::string::npos);
  CHECK(got.ends_with("both Content-Length and Transfer-Encoding\n"));
  char c;
  CHECK(recv(fd, &c, 1, 0) == 0);  // Closed by the server.
  close(fd);
  CHECK(served == 0);  // The handler never saw it.

  HttpServer second([](const HttpRequest&) { return HttpResponse{}; });
  CHECK_FALSE(second.Start("127.0.0.1:" + std::to_string(*port)).ok());
}

}  // namespace
}  // namespace loadgen

namespace loadgen {
namespace {

TEST_CASE("http server: a delayed response holds no handler thread") {
  // One handler thread, and answers due 3 s after each request: had the thread waited
  // out each delay, the second request would reach the handler only after 3 s.
  std::mutex mu;
  std::condition_variable cv;
  int handled = 0;
  HttpServer server(
      [&](const HttpRequest& r) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ++handled;
        }
        cv.notify_all();
        HttpResponse out{200, "text/plain", r.path};
        if (r.path != "/again") out.delay_ns = 3'000'000'000;
        return out;
      },
      1 << 20, /*threads=*/1, /*keep_alive=*/true);
  auto port = server.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  constexpr int kClients = 10;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    fds.push_back(Connect(*port));
    Send(fds.back(), "GET /c" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
  }
  // A client that leaves before its answer is due costs nothing either.
  const int gone = Connect(*port);
  Send(gone, "GET /gone HTTP/1.1\r\n\r\n");
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return handled == kClients + 1; }));
  }
  close(gone);
  // Every request was handled, and no answer has gone out before its time.
  for (int fd : fds) CHECK(StillOpen(fd));
  for (int i = 0; i < kClients; ++i) {
    const std::string got = ReadResponses(fds[i], 1);
    CHECK_THAT(
        got, Catch::StartsWith("HTTP/1.1 200 OK\r\n") && Catch::EndsWith("/c" + std::to_string(i)));
    // Kept alive: the connection serves the next request.
    Send(fds[i], "GET /again HTTP/1.1\r\n\r\n");
    CHECK_THAT(ReadResponses(fds[i], 1), Catch::EndsWith("/again"));
    close(fds[i]);
  }
}

}  // namespace
}  // namespace loadgen
