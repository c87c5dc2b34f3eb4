#include "common/http_parser.h"

#include <cctype>
#include <charconv>
#include <optional>

namespace loadgen {
namespace {

HttpParse Error(int status, std::string why) {
  HttpParse p;
  p.kind = HttpParse::kError;
  p.status = status;
  p.error = std::move(why);
  return p;
}

// RFC 9110 token characters: what a method or a header name may hold.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseSize(std::string_view s, int base, size_t* out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

// Decodes a chunked body starting at `at`; kNeedMore until the last chunk and the
// trailers are in. Trailers are read past and dropped.
HttpParse Chunked(std::string_view data, size_t at, size_t max_body_bytes, HttpRequest request) {
  std::string body;
  while (true) {
    const size_t line_end = data.find("\r\n", at);
    if (line_end == std::string_view::npos) {
      if (data.size() - at > 1024) return Error(400, "chunk size line too long");
      return {};
    }
    std::string_view size_text = data.substr(at, line_end - at);
    size_text = Trim(size_text.substr(0, size_text.find(';')));  // Extensions are ignored.
    size_t size;
    if (!ParseSize(size_text, 16, &size)) return Error(400, "malformed chunk size");
    if (size > max_body_bytes || body.size() + size > max_body_bytes) {
      return Error(413, "body too large");
    }
    at = line_end + 2;
    if (size == 0) break;
    if (data.size() < at + size + 2) return {};
    if (data.substr(at + size, 2) != "\r\n") return Error(400, "chunk not followed by CRLF");
    body.append(data.substr(at, size));
    at += size + 2;
  }
  // Trailer fields, then the empty line.
  while (true) {
    const size_t line_end = data.find("\r\n", at);
    if (line_end == std::string_view::npos) {
      if (data.size() - at > kMaxHttpHeaderBytes) return Error(431, "trailers too large");
      return {};
    }
    const bool last = line_end == at;
    at = line_end + 2;
    if (last) break;
  }
  HttpParse p;
  p.kind = HttpParse::kRequest;
  p.consumed = at;
  p.request = std::move(request);
  p.request.body = std::move(body);
  return p;
}

// How the body is delimited, from the headers.
struct BodyFraming {
  bool has_length = false, chunked = false;
  size_t length = 0;
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads the header lines of `head` after the request line (which ends at `line_end`)
// into request->headers (names lower-case), its keep-alive and the body's framing; the
// refusal for a malformed or conflicting header, if any.
std::optional<HttpParse> ParseHeaders(std::string_view head, size_t line_end, bool http10,
                                      HttpRequest* request, BodyFraming* framing) {
  for (size_t at = line_end; at != std::string_view::npos && at < head.size();) {
    const size_t next = head.find("\r\n", at + 2);
    const std::string_view h = head.substr(
        at + 2, next == std::string_view::npos ? std::string_view::npos : next - at - 2);
    at = next;
    const size_t colon = h.find(':');
    // No obsolete line folding, no space before the colon (RFC 9112 section 5).
    if (colon == std::string_view::npos || !IsToken(h.substr(0, colon))) {
      return Error(400, "malformed header line");
    }
    std::string name = Lower(h.substr(0, colon));
    const std::string_view value = Trim(h.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Error(400, "control character in a header");
    }
    if (name == "content-length") {
      size_t n;
      if (!ParseSize(value, 10, &n)) return Error(400, "malformed Content-Length");
      if (framing->has_length && n != framing->length) {
        return Error(400, "conflicting Content-Length headers");
      }
      framing->has_length = true;
      framing->length = n;
    } else if (name == "transfer-encoding") {
      if (Lower(value) != "chunked" || framing->chunked) {
        return Error(501, "only the chunked transfer coding");
      }
      framing->chunked = true;
    } else if (name == "connection") {
      const std::string v = Lower(value);
      if (v.find("close") != std::string::npos) request->keep_alive = false;
      if (v.find("keep-alive") != std::string::npos && http10) request->keep_alive = true;
    }
    request->headers.emplace_back(std::move(name), std::string(value));
  }
  return std::nullopt;
}

}  // namespace

HttpParse ParseHttpRequest(std::string_view data, size_t max_body_bytes) {
  // Empty lines before a request are allowed (RFC 9112 section 2.2).
  size_t start = 0;
  while (data.substr(start, 2) == "\r\n") start += 2;
  const size_t header_end = data.find("\r\n\r\n", start);
  if (header_end == std::string_view::npos) {
    if (data.size() - start > kMaxHttpHeaderBytes) return Error(431, "headers too large");
    return {};
  }
  if (header_end - start > kMaxHttpHeaderBytes) return Error(431, "headers too large");
  const std::string_view head = data.substr(start, header_end - start);
  const size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) return Error(400, "malformed request line");
  HttpRequest request;
  const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() || target.find(' ') != std::string_view::npos) {
    return Error(400, "malformed request line");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return Error(505, "only HTTP/1.0 and HTTP/1.1 are served");
  }
  request.method = std::string(method);
  request.path = std::string(target.substr(0, target.find('?')));
  request.keep_alive = version == "HTTP/1.1";

  BodyFraming framing;
  if (auto error = ParseHeaders(head, line_end, version == "HTTP/1.0", &request, &framing)) {
    return *error;
  }
  const bool has_length = framing.has_length, chunked = framing.chunked;
  const size_t length = framing.length;
  if (has_length && chunked) return Error(400, "both Content-Length and Transfer-Encoding");
  const size_t body_start = header_end + 4;
  if (chunked) return Chunked(data, body_start, max_body_bytes, std::move(request));
  if (length > max_body_bytes) return Error(413, "body too large");
  if (data.size() - body_start < length) {
    HttpParse more;
    more.needed = body_start + length;  // The server reads on without parsing again.
    return more;
  }
  HttpParse p;
  p.kind = HttpParse::kRequest;
  p.consumed = body_start + length;
  request.body = std::string(data.substr(body_start, length));
  p.request = std::move(request);
  return p;
}

}  // namespace loadgen
