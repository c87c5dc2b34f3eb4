// Request compression as OTLP sends it: gzip (RFC 1952) and zstd (RFC 8878) whole-buffer
// codecs for the sender, and bounded decoders for the sink (which also takes the zlib
// "deflate" coding, as the Collector's OTLP/HTTP receiver does).
//
// Why these libraries: on the default dataset's patched requests (~2 MB each), gzip
// from libdeflate at level 1 costs 0.63 CPU-s per million spans at a 6.9x ratio, zlib
// at level 1 1.23 CPU-s at 6.6x (zlib 6: 3.3 CPU-s, 7.4x); zstd level 1 costs 0.29
// CPU-s at 8.1x. Level 1 is the default of both: the fastest, and within 10% of the
// best ratio either reaches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loadgen {

enum class Compression : uint8_t { kNone, kGzip, kZstd, kDeflate };

// "none", "gzip", "zstd", "deflate": the names OTLP and gRPC use (grpc-encoding,
// Content-Encoding, OTEL_EXPORTER_OTLP_COMPRESSION).
std::string_view CompressionName(Compression c);
// The codecs a sender can be asked for: none, gzip or zstd ("identity" is none).
absl::StatusOr<Compression> ParseSendCompression(std::string_view name);
// A content coding a receiver may be sent: the send codecs, "deflate" and "identity".
// Names are case-insensitive (HTTP content codings are).
absl::StatusOr<Compression> ParseContentCoding(std::string_view name);

// The levels each codec takes: gzip 1..12 (libdeflate's), zstd 1..22.
struct LevelRange {
  int min = 0, max = 0;
};
LevelRange CompressionLevels(Compression c);
constexpr int kDefaultCompressionLevel = 1;

// Compresses whole buffers with one codec and level, reusing its state between calls.
// Not thread-safe: one per thread.
class Compressor {
 public:
  // Requires `level` within CompressionLevels(c); c is not kNone or kDeflate.
  Compressor(Compression c, int level);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Compression codec() const { return codec_; }
  // The most bytes Compress can write for n input bytes.
  size_t MaxCompressedSize(size_t n) const;
  // Compresses [in, in + n) into `out` (capacity MaxCompressedSize(n)); returns the
  // compressed size. One complete gzip member or zstd frame (with its content size).
  size_t Compress(const void* in, size_t n, void* out);
  // Convenience for tests and --plan.
  std::string Compress(std::string_view in);

 private:
  Compression codec_;
  int level_;
  struct State;
  std::unique_ptr<State> state_;
};

// Decodes `in` of coding `c` into `out` (replacing its contents). Errors:
// InvalidArgument for a corrupt or truncated body (or bytes after its end),
// ResourceExhausted when the result would exceed `max_bytes`.
absl::Status Decompress(Compression c, std::string_view in, size_t max_bytes, std::string* out);

// Whether `bytes` start like a zstd frame (its magic number, RFC 8878 3.1.1).
bool LooksLikeZstd(std::string_view bytes);

}  // namespace loadgen
