// Parsing one HTTP/1.1 request from the bytes a connection has buffered so far: the
// request line, headers (names lower-cased) and a body sized by Content-Length or sent
// chunked. Pure, so the server and the fuzzer share it. It refuses what a proxy or
// server would: malformed lines, oversized headers (431) or bodies (413), both or
// conflicting lengths (the request-smuggling shapes), transfer codings other than
// chunked (501).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loadgen {

struct HttpRequest {
  std::string method;                                        // GET, PUT, ...
  std::string path;                                          // Without the query string.
  std::string body;                                          // Chunked bodies are decoded.
  std::vector<std::pair<std::string, std::string>> headers;  // Names in lower case.
  bool keep_alive = true;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive.
  const std::string* Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

struct HttpParse {
  enum Kind { kNeedMore, kRequest, kError } kind = kNeedMore;
  size_t consumed = 0;  // kRequest: the bytes the request took from the buffer.
  size_t needed = 0;    // kNeedMore: the bytes the request will take, when known.
  HttpRequest request;  // kRequest.
  int status = 0;       // kError: the response status, and a one-line reason.
  std::string error;
};

inline constexpr size_t kMaxHttpHeaderBytes = 64 * 1024;

// Parses the request at the start of `buffered`; kNeedMore until it is complete.
HttpParse ParseHttpRequest(std::string_view buffered, size_t max_body_bytes);

}  // namespace loadgen
