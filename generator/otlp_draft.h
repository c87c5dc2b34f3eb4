// The generator's spans and log records before they are written: plain structs the
// builders fill, encoded straight to protobuf wire bytes (common/wire.h), so a span
// costs no protobuf object, no allocation once the drafts have grown, and one pass
// to encode. Fields are encoded by field number, as protobuf's serializer orders them:
// a draft encodes to the bytes protobuf would write for the same message.
//
// Not thread-safe: each builder thread keeps its own drafts (Clear() keeps capacity).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/wire.h"

namespace loadgen {

// KeyValue attributes, encoded as field `number` of the message that holds them
// (9 in a Span, 6 in a LogRecord, 3 in an Event).
class AttributeList {
 public:
  explicit AttributeList(uint32_t number) : number_(number) {}
  void Clear() { w_.Clear(); }
  void Str(std::string_view key, std::string_view value);
  void Int(std::string_view key, int64_t value);
  void Double(std::string_view key, double value);
  void Bool(std::string_view key, bool value);
  std::string_view encoded() const { return w_.view(); }
  bool empty() const { return w_.empty(); }

 private:
  // The KeyValue's tag, length and key, and the value's tag and length.
  void Open(std::string_view key, size_t value_size);
  uint32_t number_;
  wire::Writer w_;
};

// OTLP SpanKind and StatusCode values.
enum SpanKind : int {
  kKindInternal = 1,
  kKindServer = 2,
  kKindClient = 3,
  kKindProducer = 4,
  kKindConsumer = 5
};
enum StatusCode : int { kStatusUnset = 0, kStatusOk = 1, kStatusError = 2 };

struct SpanDraft {
  uint8_t trace_id[16] = {};
  uint64_t span_id = 0;         // Its 8 bytes, little-endian, are the span ID.
  uint64_t parent_span_id = 0;  // 0 for a root.
  std::string name;
  int kind = 0;
  uint64_t start_ns = 0, end_ns = 0;
  AttributeList attributes{9};
  std::string events;  // Encoded Span.Event messages, each as field 11.
  int status_code = kStatusUnset;
  std::string status_message;
  uint32_t flags = 0;

  void Clear();
  // An event at `time_ns` with string attributes (key, value, key, value, ...).
  void AddEvent(std::string_view name, uint64_t time_ns,
                std::initializer_list<std::string_view> attributes);
  // The Span message's fields (without a tag or length of its own).
  void EncodeTo(wire::Writer* out) const;
};

// One trace as its builder describes it: each span in one reused draft, encoded as soon
// as it is finished, so a trace of any size takes its encoded bytes and a few numbers
// per span, never a draft per span.
class TraceDraft {
 public:
  // What the dataset keeps of each span besides its bytes.
  struct SpanInfo {
    int service;
    int scope;
    uint64_t span_id;
    uint64_t start_ns, end_ns;
    int kind;
    size_t end;  // Where its bytes end in bytes().
  };
  void Clear() {
    bytes_.Clear();
    spans_.clear();
  }
  // Called on each span just before it is encoded (the dataset's custom attributes);
  // may be empty.
  std::function<void(SpanDraft&)> decorate;

  // The next span, cleared, in `service` (a resource) made by `scope` (an
  // instrumentation scope); Finish() encodes it.
  SpanDraft& Start(int service, int scope) {
    draft_.Clear();
    service_ = service;
    scope_ = scope;
    return draft_;
  }
  void Finish() {
    if (decorate) decorate(draft_);
    draft_.EncodeTo(&bytes_);
    spans_.push_back({service_, scope_, draft_.span_id, draft_.start_ns, draft_.end_ns, draft_.kind,
                      bytes_.size()});
    std::memcpy(trace_id_, draft_.trace_id, 16);
  }

  size_t size() const { return spans_.size(); }
  const std::vector<SpanInfo>& spans() const { return spans_; }
  // Span i's encoded Span message.
  std::string_view span_bytes(size_t i) const {
    const size_t begin = i == 0 ? 0 : spans_[i - 1].end;
    return bytes_.view().substr(begin, spans_[i].end - begin);
  }
  std::string_view bytes() const { return bytes_.view(); }
  const uint8_t* trace_id() const { return trace_id_; }

 private:
  SpanDraft draft_;
  int service_ = 0, scope_ = 0;
  wire::Writer bytes_;  // The spans' messages, one after the other.
  std::vector<SpanInfo> spans_;
  uint8_t trace_id_[16] = {};
};

// SeverityNumber values the generator uses.
enum Severity : int {
  kSeverityDebug = 5,
  kSeverityInfo = 9,
  kSeverityWarn = 13,
  kSeverityError = 17
};

struct LogDraft {
  uint64_t time_ns = 0, observed_ns = 0;
  int severity_number = 0;
  std::string severity_text;
  std::string body;  // A string body.
  AttributeList attributes{6};
  uint32_t flags = 0;
  bool has_ids = false;  // trace_id and span_id are set.
  uint8_t trace_id[16] = {};
  uint8_t span_id[8] = {};
  std::string event_name;

  void Clear();
  void EncodeTo(wire::Writer* out) const;
};

// Buffers for finished chunks, handed back by the writer once written so that the
// threads filling chunks reuse their memory instead of freeing it and faulting fresh
// pages in again (a chunk is a megabyte). Thread-safe.
class BufferPool {
 public:
  // An empty buffer, with the capacity of one given back if there is one.
  std::string Take();
  void Give(std::string buffer);

 private:
  Mutex mu_;
  std::vector<std::string> free_ ABSL_GUARDED_BY(mu_);
};

// Packs encoded items of one signal (spans, log records) into Export requests of at
// most `max_bytes`: a Resource{Spans,Logs} per resource, in the order first seen, with
// a Scope{Spans,Logs} per scope inside, items in the order added. Finished requests
// (with their item counts) go to `out`.
class ItemChunker {
 public:
  struct Chunk {
    std::string payload;  // A serialized Export{Trace,Logs}ServiceRequest.
    uint64_t items = 0;
  };
  // `resources` and `scopes` are serialized Resource and InstrumentationScope messages,
  // indexed by the numbers Add takes; they, `out` and `pool` (may be null) must outlive
  // the chunker.
  ItemChunker(const std::vector<std::string>& resources, const std::vector<std::string>& scopes,
              std::string schema_url, size_t max_bytes, std::vector<Chunk>* out,
              BufferPool* pool = nullptr);
  // Sends the next chunks to `out`; the chunk being filled must have been flushed.
  void SetOutput(std::vector<Chunk>* out) { out_ = out; }
  // Starts a new chunk first if a group of items (`bytes` of encoded items, in the
  // given (resource, scope) pairs) would overflow a non-empty one: keeps a trace whole
  // within one chunk whenever it fits.
  void Reserve(size_t bytes, const std::vector<std::pair<int, int>>& slots);
  // Adds one item, starting a new chunk first if it would overflow a non-empty one.
  void Add(int resource, int scope, std::string_view item);
  void Flush();

 private:
  // What a new (resource, scope) pair adds to a chunk, beside its items.
  size_t SlotCost(int resource, int scope) const;
  bool HasSlot(int resource, int scope) const;
  struct Slot {
    int resource = 0, scope = 0;
    std::string items;  // Each item framed as field 2 of the scope message.
  };
  const std::vector<std::string>& resources_;
  const std::vector<std::string>& scopes_;
  std::string schema_url_;
  size_t max_bytes_;
  std::vector<Chunk>* out_;
  BufferPool* pool_;
  std::vector<Slot> slots_;  // The first `used_` are this chunk's; the rest keep capacity.
  size_t used_ = 0;
  size_t bytes_ = 0;  // Estimated size of the chunk so far.
  uint64_t items_ = 0;
};

}  // namespace loadgen
