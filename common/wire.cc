#include "common/wire.h"

#include <bit>

namespace loadgen::wire {

static_assert(std::endian::native == std::endian::little,
              "fixed-width OTLP fields are patched in place as little-endian");

bool FieldReader::ReadVarint(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) return false;
    uint8_t b = *p_++;
    result |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool FieldReader::Next(Field* f) {
  if (p_ >= end_ || error_) return false;
  uint64_t tag;
  const uint8_t* tag_start = p_;
  // A tag is a 32-bit varint: protobuf refuses one longer than 5 bytes.
  if (!ReadVarint(&tag) || p_ - tag_start > 5 || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) {
    error_ = true;
    return false;
  }
  f->number = static_cast<uint32_t>(tag >> 3);
  f->type = static_cast<WireType>(tag & 7);
  switch (f->type) {
    case kVarint:
      if (!ReadVarint(&f->varint)) break;
      return true;
    case kI64:
      if (end_ - p_ < 8) break;
      f->data = p_;
      f->size = 8;
      p_ += 8;
      return true;
    case kI32:
      if (end_ - p_ < 4) break;
      f->data = p_;
      f->size = 4;
      p_ += 4;
      return true;
    case kLen: {
      uint64_t len;
      if (!ReadVarint(&len) || len > static_cast<uint64_t>(end_ - p_)) break;
      f->data = p_;
      f->size = static_cast<size_t>(len);
      p_ += len;
      return true;
    }
    default: break;  // Groups are deprecated and never used by OTLP.
  }
  error_ = true;
  return false;
}

}  // namespace loadgen::wire
