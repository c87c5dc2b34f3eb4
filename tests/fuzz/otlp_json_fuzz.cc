// libFuzzer target: the sink's OTLP/JSON reader on untrusted bodies. The first byte
// picks the signal. A body is refused as InvalidArgument or read into a request that
// the sink's counting walk takes as well-formed.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/otlp_json.h"
#include "sink/otlp_sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const loadgen::Signal signal = loadgen::kAllSignals[data[0] % 3];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string binary;
  const absl::Status s = loadgen::OtlpJsonToBinary(signal, body, &binary);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  uint64_t items = 0;
  if (!loadgen::CountItems(signal, binary, &items)) std::abort();
  return 0;
}
