// Fuzzes the HTTP/1.1 request parser: any bytes parse as more-to-come, a request that
// consumed no more than it was given, or a refusal with a 4xx/5xx status; never a
// crash, and a request parsed again from its own bytes is the same request.
#include <cstdint>
#include <string_view>

#include "common/http_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const loadgen::HttpParse p = loadgen::ParseHttpRequest(text, 1 << 16);
  switch (p.kind) {
    case loadgen::HttpParse::kRequest: {
      if (p.consumed == 0 || p.consumed > size) __builtin_trap();
      const loadgen::HttpParse again =
          loadgen::ParseHttpRequest(text.substr(0, p.consumed), 1 << 16);
      if (again.kind != loadgen::HttpParse::kRequest || again.request.body != p.request.body ||
          again.request.path != p.request.path) {
        __builtin_trap();
      }
      break;
    }
    case loadgen::HttpParse::kError:
      if (p.status < 400 || p.status > 599 || p.error.empty()) __builtin_trap();
      break;
    case loadgen::HttpParse::kNeedMore:
      if (p.needed != 0 && p.needed <= size) __builtin_trap();
      break;
  }
  return 0;
}
