#include "common/compression.h"

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "common/strings.h"

namespace loadgen {

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    case Compression::kDeflate: return "deflate";
  }
  return "none";
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

}  // namespace

absl::StatusOr<Compression> ParseSendCompression(std::string_view name) {
  if (name == "none" || name == "identity") return Compression::kNone;
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  return absl::InvalidArgumentError(
      StrCat("expected none, gzip or zstd, got \"", std::string(name), "\""));
}

absl::StatusOr<Compression> ParseContentCoding(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "deflate") return Compression::kDeflate;
  if (n == "" || n == "none") return Compression::kNone;
  auto c = ParseSendCompression(n);
  if (!c.ok()) {
    return absl::InvalidArgumentError(StrCat("unsupported content coding \"", std::string(name),
                                             "\" (identity, gzip, zstd or deflate)"));
  }
  return c;
}

LevelRange CompressionLevels(Compression c) {
  switch (c) {
    case Compression::kGzip: return {1, 12};
    case Compression::kZstd: return {1, 22};
    default: return {0, 0};
  }
}

struct Compressor::State {
  libdeflate_compressor* deflate = nullptr;
  ZSTD_CCtx* zstd = nullptr;
};

Compressor::Compressor(Compression c, int level)
    : codec_(c), level_(level), state_(std::make_unique<State>()) {
  assert(level >= CompressionLevels(c).min && level <= CompressionLevels(c).max);
  if (c == Compression::kGzip) {
    state_->deflate = libdeflate_alloc_compressor(level);
  } else if (c == Compression::kZstd) {
    state_->zstd = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_compressionLevel, level);
    // A receiver sizes its output from the frame header (Go's and ours do), and a
    // checksum lets it tell a corrupt body from a different one (as Go's encoder does).
    ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_checksumFlag, 1);
  }
  assert(state_->deflate != nullptr || state_->zstd != nullptr);
}

Compressor::~Compressor() {
  if (state_->deflate != nullptr) libdeflate_free_compressor(state_->deflate);
  if (state_->zstd != nullptr) ZSTD_freeCCtx(state_->zstd);
}

size_t Compressor::MaxCompressedSize(size_t n) const {
  return codec_ == Compression::kGzip ? libdeflate_gzip_compress_bound(state_->deflate, n)
                                      : ZSTD_compressBound(n);
}

size_t Compressor::Compress(const void* in, size_t n, void* out) {
  const size_t cap = MaxCompressedSize(n);
  size_t written;
  if (codec_ == Compression::kGzip) {
    written = libdeflate_gzip_compress(state_->deflate, in, n, out, cap);
  } else {
    written = ZSTD_compress2(state_->zstd, out, cap, in, n);
    // Only a bad parameter or a too-small buffer fail, and neither can happen here.
    assert(!ZSTD_isError(written));
  }
  assert(written > 0);
  return written;
}

std::string Compressor::Compress(std::string_view in) {
  std::string out(MaxCompressedSize(in.size()), '\0');
  out.resize(Compress(in.data(), in.size(), out.data()));
  return out;
}

namespace {

absl::Status TooLarge(size_t max_bytes) {
  return absl::ResourceExhaustedError(
      StrCat("decompressed body is larger than ", max_bytes, " bytes"));
}

// zlib's streaming inflate for the cases libdeflate's whole-buffer API does not take:
// the zlib ("deflate") coding, whose size is not in the stream, and gzip bodies of
// several members (RFC 1952 2.2 allows them).
absl::Status Inflate(Compression c, std::string_view in, size_t max_bytes, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, c == Compression::kGzip ? 15 + 16 : 15) != Z_OK) {
    return absl::InternalError("zlib: inflateInit2 failed");
  }
  out->clear();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[65536];
  int rc = Z_OK;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out->append(buf, sizeof buf - z.avail_out);
    if (out->size() > max_bytes) {
      inflateEnd(&z);
      return TooLarge(max_bytes);
    }
    if (rc == Z_STREAM_END && c == Compression::kGzip && z.avail_in > 0) {
      inflateReset(&z);  // The next member.
      continue;
    }
    if (rc != Z_OK) break;
    if (z.avail_in == 0 && z.avail_out != 0) break;  // Input ended mid-stream.
  }
  const bool complete = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (!complete) {
    return absl::InvalidArgumentError(StrCat("corrupt or truncated ", CompressionName(c), " body"));
  }
  return absl::OkStatus();
}

absl::Status Gunzip(std::string_view in, size_t max_bytes, std::string* out) {
  // A gzip member ends with its size modulo 2^32 (ISIZE): the output size of a body of
  // one member, which is what every OTLP exporter sends.
  if (in.size() < 18) return absl::InvalidArgumentError("truncated gzip body");
  uint32_t isize;
  std::memcpy(&isize, in.data() + in.size() - 4, 4);
  // Not the size of a body of several members, or with bytes after its end: the
  // streaming decoder tells those apart.
  if (isize > max_bytes) return Inflate(Compression::kGzip, in, max_bytes, out);
  thread_local const std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)>
      owner(libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  libdeflate_decompressor* d = owner.get();
  out->resize(isize);
  size_t used = 0, produced = 0;
  const libdeflate_result r = libdeflate_gzip_decompress_ex(d, in.data(), in.size(), out->data(),
                                                            out->size(), &used, &produced);
  if (r == LIBDEFLATE_SUCCESS && used == in.size() && produced == isize) return absl::OkStatus();
  if (r == LIBDEFLATE_BAD_DATA) return absl::InvalidArgumentError("corrupt gzip body");
  return Inflate(Compression::kGzip, in, max_bytes, out);  // Several members, or a lying ISIZE.
}

absl::Status Unzstd(std::string_view in, size_t max_bytes, std::string* out) {
  thread_local const std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> owner(ZSTD_createDCtx(),
                                                                              ZSTD_freeDCtx);
  ZSTD_DCtx* d = owner.get();
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return absl::InvalidArgumentError("corrupt zstd body");
  // One frame with its size in the header (what every OTLP exporter sends): one call.
  if (size != ZSTD_CONTENTSIZE_UNKNOWN &&
      ZSTD_findFrameCompressedSize(in.data(), in.size()) == in.size()) {
    if (size > max_bytes) return TooLarge(max_bytes);
    out->resize(size);
    const size_t n = ZSTD_decompressDCtx(d, out->data(), out->size(), in.data(), in.size());
    if (ZSTD_isError(n) || n != size) {
      return absl::InvalidArgumentError(
          StrCat("corrupt zstd body (", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short", ")"));
    }
    return absl::OkStatus();
  }
  // Frames written by a streaming encoder carry no content size, and a body may hold
  // several frames: decode in steps.
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  out->clear();
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  char buf[65536];
  size_t hint = 0;
  while (true) {
    ZSTD_outBuffer dst{buf, sizeof buf, 0};
    hint = ZSTD_decompressStream(d, &dst, &src);
    if (ZSTD_isError(hint)) {
      return absl::InvalidArgumentError(
          StrCat("corrupt zstd body (", ZSTD_getErrorName(hint), ")"));
    }
    out->append(buf, dst.pos);
    if (out->size() > max_bytes) return TooLarge(max_bytes);
    // All input read and the output not full: the decoder has nothing more to give.
    if (src.pos == src.size && dst.pos < dst.size) break;
  }
  if (hint != 0) return absl::InvalidArgumentError("truncated zstd body");
  return absl::OkStatus();
}

}  // namespace

absl::Status Decompress(Compression c, std::string_view in, size_t max_bytes, std::string* out) {
  switch (c) {
    case Compression::kNone:
      if (in.size() > max_bytes) return TooLarge(max_bytes);
      out->assign(in);
      return absl::OkStatus();
    case Compression::kGzip: return Gunzip(in, max_bytes, out);
    case Compression::kZstd: return Unzstd(in, max_bytes, out);
    case Compression::kDeflate: return Inflate(Compression::kDeflate, in, max_bytes, out);
  }
  return absl::InternalError("unknown compression");
}

bool LooksLikeZstd(std::string_view bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "\x28\xB5\x2F\xFD", 4) == 0;
}

}  // namespace loadgen
