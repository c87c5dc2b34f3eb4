// libFuzzer target: the sink's request decoders (gzip, zstd, deflate) on untrusted
// bodies. The first byte picks the coding. A body is either refused (invalid or over
// the limit) or decoded within the limit; what decodes, compressed again by the
// sender's Compressor, decodes back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/compression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  constexpr loadgen::Compression kCodings[] = {
      loadgen::Compression::kGzip, loadgen::Compression::kZstd, loadgen::Compression::kDeflate};
  const loadgen::Compression coding = kCodings[data[0] % 3];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kLimit = 1 << 20;
  std::string out;
  const absl::Status s = loadgen::Decompress(coding, body, kLimit, &out);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument &&
        s.code() != absl::StatusCode::kResourceExhausted) {
      std::abort();  // Only malformed or too large.
    }
    return 0;
  }
  if (out.size() > kLimit) std::abort();
  if (coding == loadgen::Compression::kDeflate) return 0;  // The sender never writes it.
  loadgen::Compressor compressor(coding, 1 + data[0] % 3);
  std::string back;
  if (!loadgen::Decompress(coding, compressor.Compress(out), kLimit, &back).ok() || back != out) {
    std::abort();
  }
  return 0;
}
