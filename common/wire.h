// Minimal protobuf wire-format reading, for code that needs byte offsets of fields
// (the frame compiler) or must count items without decoding (the sink). Every read is
// bounds-checked: malformed input makes Next() return false and sets error(), never
// reads past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

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

// Writing, for the few small messages built by hand (status details, responses).
inline void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
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

}  // namespace loadgen::wire
