#include "common/template_file.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/read_file.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/wire.h"

namespace loadgen {

// The CRC-32 of gzip and zlib (ISO-HDLC), from libdeflate: it folds with carry-less
// multiplication where the CPU has it, several times zlib 1.2's speed.
uint32_t Crc32(std::string_view data) { return libdeflate_crc32(0, data.data(), data.size()); }

absl::StatusOr<std::unique_ptr<TemplateWriter>> TemplateWriter::Create(const std::string& path,
                                                                       Signal signal) {
  auto file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  uint8_t header[kTemplateHeaderBytes];
  std::memcpy(header, kTemplateMagic, 8);
  wire::StoreLE32(header + 8, kTemplateFormatVersion);
  wire::StoreLE32(header + 12, static_cast<uint32_t>(signal));
  if (auto s = (*file)->Write({reinterpret_cast<char*>(header), sizeof header}); !s.ok()) {
    return s;
  }
  return std::unique_ptr<TemplateWriter>(new TemplateWriter(std::move(*file)));
}

absl::Status TemplateWriter::Append(std::string_view payload, uint64_t item_count) {
  if (payload.empty() || payload.size() > kMaxChunkBytes) {
    return absl::InvalidArgumentError(StrCat("'", file_->path(), "': chunk of ", payload.size(),
                                             " bytes; a chunk holds 1 to ", kMaxChunkBytes,
                                             " bytes"));
  }
  uint8_t h[kChunkHeaderBytes];
  wire::StoreLE32(h, static_cast<uint32_t>(payload.size()));
  wire::StoreLE32(h + 4, Crc32(payload));
  wire::StoreLE64(h + 8, item_count);
  if (auto s = file_->Write({reinterpret_cast<char*>(h), sizeof h}); !s.ok()) return s;
  if (auto s = file_->Write(payload); !s.ok()) return s;
  ++chunks_;
  items_ += item_count;
  return absl::OkStatus();
}

absl::Status TemplateWriter::Commit() {
  uint8_t t[kTrailerBytes];
  wire::StoreLE32(t, 0);
  wire::StoreLE64(t + 8, chunks_);
  wire::StoreLE64(t + 16, items_);
  wire::StoreLE32(t + 4, Crc32({reinterpret_cast<char*>(t + 8), 16}));
  if (auto s = file_->Write({reinterpret_cast<char*>(t), sizeof t}); !s.ok()) return s;
  return file_->Commit();
}

absl::StatusOr<std::unique_ptr<TemplateReader>> TemplateReader::Open(const std::string& path) {
  ASSIGN_OR_RETURN(const int fd, OpenRegularFile(path, O_RDONLY, "template file"));
  std::FILE* f = fdopen(fd, "rb");
  if (f == nullptr) {
    close(fd);
    return absl::InternalError(StrCat("template file '", path, "': ", std::strerror(errno)));
  }
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  uint8_t h[kTemplateHeaderBytes];
  size_t got = std::fread(h, 1, sizeof h, f);
  auto fail = [&](std::string msg) {
    std::fclose(f);
    return absl::InvalidArgumentError(StrCat(path, ": offset 0: ", msg));
  };
  if (got == 0 && std::ferror(f)) return fail(StrCat("read error: ", std::strerror(errno)));
  if (got == 0) return fail("empty file; expected a template file header");
  if (got < sizeof h && std::memcmp(h, kTemplateMagic, std::min<size_t>(got, 8)) == 0) {
    return fail(StrCat("header is truncated: ", got, " of ", sizeof h, " bytes"));
  }
  if (got < sizeof h || std::memcmp(h, kTemplateMagic, 8) != 0) {
    return fail(
        "not a template file (expected magic \"OTLPTMPL\"; was it written by "
        "telemetry-generator?)");
  }
  uint32_t version = wire::LoadLE32(h + 8);
  if (version != kTemplateFormatVersion) {
    return fail(StrCat("unsupported template format version ", version,
                       "; this build reads version ", kTemplateFormatVersion));
  }
  uint32_t signal = wire::LoadLE32(h + 12);
  if (signal < 1 || signal > 3) {
    return fail(StrCat("unknown signal ", signal, " in header; expected 1-3"));
  }
  return std::unique_ptr<TemplateReader>(new TemplateReader(path, f, static_cast<Signal>(signal)));
}

TemplateReader::~TemplateReader() { std::fclose(file_); }

absl::Status TemplateReader::Error(uint64_t offset, std::string_view what) const {
  return absl::DataLossError(StrCat(path_, ": offset ", offset, ": ", what));
}

bool TemplateReader::ReadExact(void* dst, size_t n, size_t* got) {
  *got = std::fread(dst, 1, n, file_);
  return *got == n;
}

absl::StatusOr<bool> TemplateReader::Next(TemplateChunk* chunk) {
  if (done_) return false;
  const uint64_t at = offset_;
  uint8_t h[kChunkHeaderBytes];
  size_t got;
  if (!ReadExact(h, 8, &got)) {
    if (got > 0) {
      return Error(at,
                   StrCat("cut short after ", chunks_, chunks_ == 1 ? " chunk: " : " chunks: ", got,
                          " bytes where a chunk header or the trailer starts (truncated?)"));
    }
    return Error(at, StrCat("file ends after ", chunks_, chunks_ == 1 ? " chunk" : " chunks",
                            " without its trailer (truncated?)"));
  }
  uint32_t len = wire::LoadLE32(h);
  if (len == 0) {
    uint8_t t[16];
    if (!ReadExact(t, 16, &got)) return Error(at, "trailer is truncated");
    if (Crc32({reinterpret_cast<char*>(t), 16}) != wire::LoadLE32(h + 4)) {
      return Error(at, "trailer checksum mismatch (corrupted)");
    }
    uint64_t want_chunks = wire::LoadLE64(t), want_items = wire::LoadLE64(t + 8);
    if (want_chunks != chunks_ || want_items != items_) {
      return Error(at, StrCat("trailer counts ", want_chunks, " chunks and ", want_items,
                              " items but the file holds ", chunks_, " and ", items_));
    }
    if (std::fgetc(file_) != EOF) {
      return Error(at + kTrailerBytes, "unexpected bytes after the trailer");
    }
    done_ = true;
    return false;
  }
  if (len > kMaxChunkBytes) {
    return Error(at, StrCat("chunk ", chunks_, " claims ", len, " bytes; at most ", kMaxChunkBytes,
                            " are allowed (corrupted length?)"));
  }
  if (!ReadExact(h + 8, 8, &got)) {
    return Error(at, StrCat("chunk ", chunks_, " header is truncated"));
  }
  chunk->payload.resize(len);
  if (!ReadExact(chunk->payload.data(), len, &got)) {
    return Error(at, StrCat("chunk ", chunks_, " is truncated: expected ", len,
                            " payload bytes, found ", got));
  }
  uint32_t want = wire::LoadLE32(h + 4), have = Crc32(chunk->payload);
  if (want != have) {
    return Error(at, fmt::format("chunk {} checksum mismatch (stored {:08x}, computed "
                                 "{:08x}): the file is corrupted",
                                 chunks_, want, have));
  }
  chunk->file_offset = at;
  chunk->index = chunks_;
  chunk->item_count = wire::LoadLE64(h + 8);
  ++chunks_;
  items_ += chunk->item_count;
  offset_ = at + kChunkHeaderBytes + len;
  return true;
}

}  // namespace loadgen
