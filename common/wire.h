// Minimal protobuf wire-format reading, for code that needs byte offsets of fields
// (the frame compiler) or must count items without decoding (the sink). Every read is
// bounds-checked: malformed input makes Next() return false and sets error(), never
// reads past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen::wire {

enum WireType : uint8_t { kVarint = 0, kI64 = 1, kLen = 2, kSGroup = 3, kEGroup = 4, kI32 = 5 };

inline uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // Little-endian hosts only; checked in wire.cc.
}
inline void StoreLE64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint32_t LoadLE32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void StoreLE32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// One field as seen by FieldReader. For kLen, `data`/`size` are the payload; for kI64
// and kI32, `data` points at the fixed-width payload; for kVarint, `varint` holds it.
struct Field {
  uint32_t number = 0;
  WireType type = kVarint;
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint64_t varint = 0;
};

// Iterates the top-level fields of one serialized message.
class FieldReader {
 public:
  FieldReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  explicit FieldReader(std::string_view s)
      : FieldReader(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}

  // Reads the next field into *f. Returns false at the end or on malformed input.
  bool Next(Field* f);
  // True when Next() stopped on malformed input rather than at the end.
  bool error() const { return error_; }
  const uint8_t* position() const { return p_; }

 private:
  bool ReadVarint(uint64_t* v);

  const uint8_t* p_;
  const uint8_t* end_;
  bool error_ = false;
};

// Writing: small messages built by hand (status details, responses) and the
// generator's items. One append per varint, not one per byte.
inline void AppendVarint(std::string* out, uint64_t v) {
  char bytes[10];
  size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  out->append(bytes, n);
}
inline void AppendTag(std::string* out, uint32_t number, WireType type) {
  AppendVarint(out, (uint64_t{number} << 3) | type);
}
inline void AppendVarintField(std::string* out, uint32_t number, uint64_t v) {
  AppendTag(out, number, kVarint);
  AppendVarint(out, v);
}
inline void AppendLenField(std::string* out, uint32_t number, std::string_view bytes) {
  AppendTag(out, number, kLen);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes protobuf wire format into one growing buffer, nested messages included, for
// code that builds many messages (the generator) without protobuf objects. A nested
// message reserves one byte for its length and moves its bytes along only when the
// length needs more; most nested OTLP messages (attributes, values) are shorter than
// 128 bytes. Fields come out in the order they are written; protobuf's own serializer
// writes them by field number, so writers that follow that order produce its bytes.
// Not thread-safe; Clear() keeps the buffer's capacity.
class Writer {
 public:
  void Clear() {
    buf_.clear();
    open_.clear();
  }
  const std::string& str() const { return buf_; }
  std::string_view view() const { return buf_; }
  size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }

  void Varint(uint64_t v) { AppendVarint(&buf_, v); }
  void Tag(uint32_t number, WireType type) { Varint((uint64_t{number} << 3) | type); }
  void VarintField(uint32_t number, uint64_t v) {
    Tag(number, kVarint);
    Varint(v);
  }
  void Fixed64Field(uint32_t number, uint64_t v) {
    Tag(number, kI64);
    char bytes[8];
    std::memcpy(bytes, &v, 8);  // Little-endian hosts only; checked in wire.cc.
    buf_.append(bytes, 8);
  }
  void DoubleField(uint32_t number, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    Fixed64Field(number, bits);
  }
  void Fixed32Field(uint32_t number, uint32_t v) {
    Tag(number, kI32);
    char bytes[4];
    std::memcpy(bytes, &v, 4);
    buf_.append(bytes, 4);
  }
  void BytesField(uint32_t number, std::string_view bytes) {
    Tag(number, kLen);
    Varint(bytes.size());
    buf_.append(bytes);
  }
  void BytesField(uint32_t number, const void* data, size_t n) {
    BytesField(number, std::string_view(static_cast<const char*>(data), n));
  }
  // Bytes that already are encoded fields.
  void Raw(std::string_view encoded) { buf_.append(encoded); }

  // Opens a nested message as field `number`; every Begin needs its End.
  void Begin(uint32_t number) {
    Tag(number, kLen);
    open_.push_back(buf_.size());
    buf_.push_back('\0');
  }
  void End() {
    const size_t at = open_.back();
    open_.pop_back();
    const size_t len = buf_.size() - at - 1;
    const size_t extra = VarintSize(len) - 1;
    if (extra > 0) buf_.insert(at + 1, extra, '\0');
    size_t v = len, i = at;
    while (v >= 0x80) {
      buf_[i++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf_[i] = static_cast<char>(v);
  }

 private:
  std::string buf_;
  std::vector<size_t> open_;  // Where each open message's length goes.
};

}  // namespace loadgen::wire
