#include "generator/otlp_draft.h"

#include <algorithm>
#include <cstring>

namespace loadgen {

// KeyValue {1 key, 2 value: AnyValue {1 string, 2 bool, 3 int, 4 double}}, written with
// their lengths worked out first: attributes are most of a span's bytes.
void AttributeList::Open(std::string_view key, size_t value_size) {
  const size_t kv =
      1 + wire::VarintSize(key.size()) + key.size() + 1 + wire::VarintSize(value_size) + value_size;
  w_.Tag(number_, wire::kLen);
  w_.Varint(kv);
  w_.BytesField(1, key);
  w_.Tag(2, wire::kLen);
  w_.Varint(value_size);
}

void AttributeList::Str(std::string_view key, std::string_view value) {
  Open(key, 1 + wire::VarintSize(value.size()) + value.size());
  w_.BytesField(1, value);
}

void AttributeList::Int(std::string_view key, int64_t value) {
  Open(key, 1 + wire::VarintSize(static_cast<uint64_t>(value)));
  w_.VarintField(3, static_cast<uint64_t>(value));
}

void AttributeList::Double(std::string_view key, double value) {
  Open(key, 1 + 8);
  w_.DoubleField(4, value);
}

void AttributeList::Bool(std::string_view key, bool value) {
  Open(key, 2);
  w_.VarintField(2, value ? 1 : 0);
}

void SpanDraft::Clear() {
  span_id = parent_span_id = 0;
  name.clear();
  kind = 0;
  start_ns = end_ns = 0;
  attributes.Clear();
  events.clear();
  status_code = kStatusUnset;
  status_message.clear();
  flags = 0;
}

void SpanDraft::AddEvent(std::string_view event_name, uint64_t time_ns,
                         std::initializer_list<std::string_view> attrs) {
  // Span.Event {1 time_unix_nano fixed64, 2 name, 3 attributes}.
  wire::Writer w;
  w.Begin(11);
  w.Fixed64Field(1, time_ns);
  w.BytesField(2, event_name);
  AttributeList a(3);
  for (auto it = attrs.begin(); it != attrs.end() && it + 1 != attrs.end(); it += 2) {
    a.Str(*it, *(it + 1));
  }
  w.Raw(a.encoded());
  w.End();
  events.append(w.view());
}

// Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 7 start, 8 end,
// 9 attributes, 11 events, 15 status {2 message, 3 code}, 16 flags (fixed32).
void SpanDraft::EncodeTo(wire::Writer* w) const {
  w->BytesField(1, trace_id, 16);
  w->BytesField(2, &span_id, 8);
  if (parent_span_id != 0) w->BytesField(4, &parent_span_id, 8);
  if (!name.empty()) w->BytesField(5, name);
  if (kind != 0) w->VarintField(6, static_cast<uint64_t>(kind));
  if (start_ns != 0) w->Fixed64Field(7, start_ns);
  if (end_ns != 0) w->Fixed64Field(8, end_ns);
  w->Raw(attributes.encoded());
  w->Raw(events);
  if (status_code != kStatusUnset || !status_message.empty()) {
    w->Begin(15);
    if (!status_message.empty()) w->BytesField(2, status_message);
    if (status_code != kStatusUnset) w->VarintField(3, static_cast<uint64_t>(status_code));
    w->End();
  }
  if (flags != 0) w->Fixed32Field(16, flags);
}

void LogDraft::Clear() {
  time_ns = observed_ns = 0;
  severity_number = 0;
  severity_text.clear();
  body.clear();
  attributes.Clear();
  flags = 0;
  has_ids = false;
  event_name.clear();
}

// LogRecord: 1 time (fixed64), 2 severity_number, 3 severity_text, 5 body, 6 attributes,
// 8 flags (fixed32), 9 trace_id, 10 span_id, 11 observed_time (fixed64), 12 event_name.
void LogDraft::EncodeTo(wire::Writer* w) const {
  if (time_ns != 0) w->Fixed64Field(1, time_ns);
  if (severity_number != 0) w->VarintField(2, static_cast<uint64_t>(severity_number));
  if (!severity_text.empty()) w->BytesField(3, severity_text);
  w->Begin(5);
  w->BytesField(1, body);
  w->End();
  w->Raw(attributes.encoded());
  if (flags != 0) w->Fixed32Field(8, flags);
  if (has_ids) {
    w->BytesField(9, trace_id, 16);
    w->BytesField(10, span_id, 8);
  }
  if (observed_ns != 0) w->Fixed64Field(11, observed_ns);
  if (!event_name.empty()) w->BytesField(12, event_name);
}

std::string BufferPool::Take() {
  MutexLock lock(&mu_);
  if (free_.empty()) return {};
  std::string b = std::move(free_.back());
  free_.pop_back();
  b.clear();
  return b;
}

void BufferPool::Give(std::string buffer) {
  MutexLock lock(&mu_);
  if (free_.size() < 64) free_.push_back(std::move(buffer));
}

ItemChunker::ItemChunker(const std::vector<std::string>& resources,
                         const std::vector<std::string>& scopes, std::string schema_url,
                         size_t max_bytes, std::vector<Chunk>* out, BufferPool* pool)
    : resources_(resources),
      scopes_(scopes),
      schema_url_(std::move(schema_url)),
      max_bytes_(max_bytes),
      out_(out),
      pool_(pool) {}

size_t ItemChunker::SlotCost(int resource, int scope) const {
  return resources_[resource].size() + scopes_[scope].size() + schema_url_.size() + 16;
}

bool ItemChunker::HasSlot(int resource, int scope) const {
  for (size_t i = 0; i < used_; ++i) {
    if (slots_[i].resource == resource && slots_[i].scope == scope) return true;
  }
  return false;
}

void ItemChunker::Reserve(size_t bytes, const std::vector<std::pair<int, int>>& slots) {
  if (items_ == 0) return;
  size_t need = bytes + 8 * slots.size();
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto [r, scope] = slots[i];
    bool seen = HasSlot(r, scope);
    for (size_t j = 0; j < i && !seen; ++j) seen = slots[j] == slots[i];
    if (!seen) need += SlotCost(r, scope);
  }
  if (bytes_ + need > max_bytes_) Flush();
}

void ItemChunker::Add(int resource, int scope, std::string_view item) {
  const size_t size = item.size() + 8;
  if (items_ > 0 &&
      bytes_ + size + (HasSlot(resource, scope) ? 0 : SlotCost(resource, scope)) > max_bytes_) {
    Flush();
  }
  Slot* slot = nullptr;
  for (size_t i = 0; i < used_; ++i) {
    if (slots_[i].resource == resource && slots_[i].scope == scope) {
      slot = &slots_[i];
      break;
    }
  }
  if (slot == nullptr) {
    if (used_ == slots_.size()) slots_.emplace_back();
    slot = &slots_[used_++];
    slot->resource = resource;
    slot->scope = scope;
    slot->items.clear();
    bytes_ += SlotCost(resource, scope);
  }
  char frame[1 + 10];
  size_t n = 0;
  frame[n++] = 0x12;  // Field 2, LEN: the scope message's repeated items.
  for (uint64_t v = item.size();; v >>= 7) {
    frame[n++] = static_cast<char>(v < 0x80 ? v : (v | 0x80));
    if (v < 0x80) break;
  }
  slot->items.append(frame, n);
  slot->items.append(item);
  bytes_ += size;
  ++items_;
}

namespace {

// A LEN field's tag and length (field numbers below 16: one tag byte).
void PutLen(std::string* out, uint32_t number, size_t len) {
  out->push_back(static_cast<char>(number << 3 | wire::kLen));
  wire::AppendVarint(out, len);
}

size_t Framed(size_t len) { return 1 + wire::VarintSize(len) + len; }

}  // namespace

// Export*ServiceRequest {1 Resource*: {1 resource, 2 Scope*: {1 scope, 2 items}, 3
// schema_url}}, the same numbers for traces and logs. The sizes are worked out first,
// so the items are copied once, into a buffer of the request's size.
void ItemChunker::Flush() {
  if (items_ == 0) return;
  // The slots of each resource, resources in the order first seen.
  std::vector<std::vector<size_t>> groups;
  std::vector<int> group_resource;
  for (size_t i = 0; i < used_; ++i) {
    const auto it = std::find(group_resource.begin(), group_resource.end(), slots_[i].resource);
    if (it == group_resource.end()) {
      group_resource.push_back(slots_[i].resource);
      groups.push_back({i});
    } else {
      groups[static_cast<size_t>(it - group_resource.begin())].push_back(i);
    }
  }
  auto scope_size = [&](size_t i) {
    return Framed(scopes_[slots_[i].scope].size()) + slots_[i].items.size();
  };
  std::vector<size_t> resource_sizes;
  size_t total = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    size_t n = Framed(resources_[group_resource[g]].size());
    for (size_t i : groups[g]) n += Framed(scope_size(i));
    if (!schema_url_.empty()) n += Framed(schema_url_.size());
    resource_sizes.push_back(n);
    total += Framed(n);
  }
  std::string out = pool_ != nullptr ? pool_->Take() : std::string();
  out.reserve(total);
  for (size_t g = 0; g < groups.size(); ++g) {
    PutLen(&out, 1, resource_sizes[g]);
    const std::string& resource = resources_[group_resource[g]];
    PutLen(&out, 1, resource.size());
    out.append(resource);
    for (size_t i : groups[g]) {
      PutLen(&out, 2, scope_size(i));
      const std::string& scope = scopes_[slots_[i].scope];
      PutLen(&out, 1, scope.size());
      out.append(scope);
      out.append(slots_[i].items);
    }
    if (!schema_url_.empty()) {
      PutLen(&out, 3, schema_url_.size());
      out.append(schema_url_);
    }
  }
  out_->push_back({std::move(out), items_});
  used_ = 0;
  bytes_ = 0;
  items_ = 0;
}

}  // namespace loadgen
