// The template file format (.pb): a versioned header, then length-delimited chunks,
// each a complete serialized Export{Trace,Metrics,Logs}ServiceRequest with its own
// CRC-32, then a trailer that counts the chunks so a file cut at a chunk boundary is
// still detected. All integers little-endian. docs/template-format.md has the layout.
//
//   header  : "OTLPTMPL" | u32 version=1 | u32 signal (1 traces, 2 metrics, 3 logs)
//   chunk   : u32 payload_len (1..kMaxChunkBytes) | u32 crc32(payload) | u64 items | payload
//   trailer : u32 0 | u32 crc32(next 16 bytes) | u64 chunk_count | u64 total_items
//
// Reader and writer stream chunk by chunk, so file size is not bounded by memory.
// Neither is thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/atomic_file.h"
#include "common/otlp_signal.h"

namespace loadgen {

inline constexpr char kTemplateMagic[8] = {'O', 'T', 'L', 'P', 'T', 'M', 'P', 'L'};
inline constexpr uint32_t kTemplateFormatVersion = 1;
inline constexpr size_t kTemplateHeaderBytes = 16;
inline constexpr size_t kChunkHeaderBytes = 16;
inline constexpr size_t kTrailerBytes = 24;
// The OTLP recommended receiver limit; a chunk must be sendable as one request.
inline constexpr uint32_t kMaxChunkBytes = 64u << 20;

// What a sender holds beside a dataset's compiled templates: gRPC, its buffers and the
// process itself.
inline constexpr uint64_t kSenderBaseMemoryBytes = 24u << 20;

// A sender's memory for a dataset: its compiled templates (`template_bytes`), up to
// `in_flight` requests of at most `largest_request` bytes each, and the base. The
// generator's metadata (templates only) and the sender's --plan both say it through this.
inline uint64_t SenderMemoryBytes(uint64_t template_bytes, uint64_t in_flight,
                                  uint64_t largest_request) {
  return template_bytes + in_flight * largest_request + kSenderBaseMemoryBytes;
}

// The compiled size of template files, before they are loaded: their bytes once, plus
// the patch table (~16 bytes per patched field: IDs and times of a span, a point's
// times and value, a record's times and trace context).
inline uint64_t EstimatedTemplateBytes(uint64_t file_bytes, uint64_t spans, uint64_t points,
                                       uint64_t records) {
  return file_bytes + spans * 80 + points * 32 + records * 64;
}

// A trace's root span that a sender exports after the rest of its trace
// (traces.root.late_root): the span carries this integer attribute, the delay in
// milliseconds. The sender removes it at load, so it never reaches a backend.
inline constexpr std::string_view kLateRootDelayAttribute = "loadgen.late_root.delay_ms";

struct TemplateChunk {
  uint64_t file_offset = 0;  // Offset of the chunk record (its length prefix).
  uint64_t index = 0;
  uint64_t item_count = 0;  // Spans, data points or log records in the payload.
  std::string payload;      // A serialized Export*ServiceRequest.
};

class TemplateWriter {
 public:
  static absl::StatusOr<std::unique_ptr<TemplateWriter>> Create(const std::string& path,
                                                                Signal signal);
  // Requires 0 < payload.size() <= kMaxChunkBytes.
  absl::Status Append(std::string_view payload, uint64_t item_count);
  // Writes the trailer and renames the file into place. Without a successful Commit
  // the final path is never created.
  absl::Status Commit();

  uint64_t chunk_count() const { return chunks_; }
  uint64_t item_count() const { return items_; }
  uint64_t bytes_written() const { return file_->bytes_written(); }

 private:
  explicit TemplateWriter(std::unique_ptr<AtomicFile> f) : file_(std::move(f)) {}
  std::unique_ptr<AtomicFile> file_;
  uint64_t chunks_ = 0;
  uint64_t items_ = 0;
};

class TemplateReader {
 public:
  // Opens and checks the header. Every error names the file and the byte offset.
  static absl::StatusOr<std::unique_ptr<TemplateReader>> Open(const std::string& path);
  ~TemplateReader();

  Signal signal() const { return signal_; }
  const std::string& path() const { return path_; }

  // Reads the next chunk into *chunk and verifies its checksum. Returns false after
  // the trailer has been read and checked (and nothing follows it).
  absl::StatusOr<bool> Next(TemplateChunk* chunk);

 private:
  TemplateReader(std::string path, std::FILE* f, Signal s)
      : path_(std::move(path)), file_(f), signal_(s) {}
  absl::Status Error(uint64_t offset, std::string_view what) const;
  bool ReadExact(void* dst, size_t n, size_t* got);

  std::string path_;
  std::FILE* file_;
  Signal signal_;
  uint64_t offset_ = kTemplateHeaderBytes;
  uint64_t chunks_ = 0;
  uint64_t items_ = 0;
  bool done_ = false;
};

// CRC-32 (zlib polynomial) of `data`.
uint32_t Crc32(std::string_view data);

}  // namespace loadgen
