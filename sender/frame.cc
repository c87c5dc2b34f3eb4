#include "sender/frame.h"

#include <algorithm>
#include <cctype>
#include <numeric>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/wire.h"

namespace loadgen {

using wire::Field;
using wire::FieldReader;

uint64_t CompiledSignal::MemoryBytes() const {
  uint64_t heads = 0;
  for (const Envelope& e : envelopes) heads += sizeof(Envelope) + e.head.size();
  return arena.size() + heads + trace_groups.size() * sizeof(TraceId) +
         trace_slots.size() * sizeof(TraceIdSlot) + span_slots.size() * sizeof(SpanIdSlot) +
         time_slots.size() * sizeof(TimeSlot) + counter_slots.size() * sizeof(CounterSlot) +
         units_.size() * sizeof(Unit) + pieces_.size() * sizeof(Piece);
}

// One span, data point or log record of the chunk being compiled: its bytes (with tag
// and length) and slots in the walker's scratch tables, offsets from the item's start
// and trace groups local to the item.
struct SignalCompiler::Item {
  uint32_t leaf = 0;
  uint32_t bytes_begin = 0, bytes_end = 0;
  uint32_t traces_begin = 0, traces_end = 0;
  uint32_t trace_slots_begin = 0, trace_slots_end = 0;
  uint32_t span_slots_begin = 0, span_slots_end = 0;
  uint32_t time_slots_begin = 0, time_slots_end = 0;
  uint32_t counter_slots_begin = 0, counter_slots_end = 0;
  TraceId trace;       // Spans: the template trace ID.
  uint64_t start = 0;  // Spans: the start time, to cut big traces parents first.
  int64_t latest = 0;  // The latest of its times, from kTemplateEpochNs.
};

// Walks one payload's wire format: interns its envelopes and collects its items with
// the offsets of their patchable fields.
class SignalCompiler::Walker {
 public:
  Walker(SignalCompiler* compiler, std::string_view payload, std::string_view where)
      : c_(compiler),
        signal_(compiler->out_.signal),
        base_(reinterpret_cast<const uint8_t*>(payload.data())),
        size_(payload.size()),
        where_(where) {}

  absl::Status Run() {
    // Request: field 1 = resource_spans / resource_metrics / resource_logs.
    FieldReader r(base_, size_);
    Field f;
    while (r.Next(&f)) {
      if (f.number != 1) continue;
      if (f.type != wire::kLen) return Error(base_, "expected a message field");
      RETURN_IF_ERROR(Resource(f));
    }
    if (r.error()) return Error(r.position(), "malformed protobuf");
    return absl::OkStatus();
  }

  std::vector<Item> items;
  std::string bytes;
  std::vector<TraceId> traces;
  std::vector<TraceIdSlot> trace_slots;
  std::vector<SpanIdSlot> span_slots;
  std::vector<TimeSlot> time_slots;
  std::vector<CounterSlot> counter_slots;

 private:
  using Status = absl::Status;

  uint32_t Offset(const uint8_t* p) const { return static_cast<uint32_t>(p - base_); }

  Status Error(const uint8_t* p, std::string_view what) const {
    return absl::InvalidArgumentError(StrCat(where_, ": payload offset ", Offset(p), ": ", what));
  }

  // The fields of [data, data+size) other than `children`, as they are (the envelope's
  // head), calling fn for each child. Fails on malformed bytes.
  template <typename Fn>
  Status Split(const Field& msg, uint32_t children, std::string* head, Fn&& fn) {
    FieldReader r(msg.data, msg.size);
    Field f;
    const uint8_t* at = msg.data;
    while (r.Next(&f)) {
      if (f.number == children) {
        if (f.type != wire::kLen) return Error(at, "expected a message field");
        RETURN_IF_ERROR(fn(f));
      } else {
        head->append(reinterpret_cast<const char*>(at), static_cast<size_t>(r.position() - at));
      }
      at = r.position();
    }
    if (r.error()) return Error(r.position(), "malformed protobuf");
    return absl::OkStatus();
  }

  // ResourceX: 2 = scope_*; ScopeX: 2 = spans / metrics / log_records.
  Status Resource(const Field& rs) {
    std::vector<Field> scopes;
    std::string head;
    RETURN_IF_ERROR(Split(rs, 2, &head, [&](const Field& f) {
      scopes.push_back(f);
      return absl::OkStatus();
    }));
    const uint32_t env = c_->Intern(-1, 1, 2, false, std::move(head));
    for (const Field& scope : scopes) {
      std::vector<Field> children;
      std::string scope_head;
      RETURN_IF_ERROR(Split(scope, 2, &scope_head, [&](const Field& f) {
        children.push_back(f);
        return absl::OkStatus();
      }));
      const bool metrics = signal_ == Signal::kMetrics;
      const uint32_t scope_env =
          c_->Intern(static_cast<int32_t>(env), 2, 2, !metrics, std::move(scope_head));
      for (const Field& child : children) {
        switch (signal_) {
          case Signal::kTraces: RETURN_IF_ERROR(Span(scope_env, child)); break;
          case Signal::kMetrics: RETURN_IF_ERROR(Metric(scope_env, child)); break;
          case Signal::kLogs: RETURN_IF_ERROR(LogRecord(scope_env, child)); break;
        }
      }
    }
    return absl::OkStatus();
  }

  // Starts an item: its bytes are the field re-framed under `child_field`.
  Item& Begin(uint32_t leaf, const Field& f, uint32_t child_field) {
    Item& it = items.emplace_back();
    it.leaf = leaf;
    it.bytes_begin = static_cast<uint32_t>(bytes.size());
    wire::AppendLenField(&bytes, child_field, {reinterpret_cast<const char*>(f.data), f.size});
    // Offsets of the item's fields from its start: its own tag and length come first.
    item_base_ = f.data - (bytes.size() - it.bytes_begin - f.size);
    it.traces_begin = static_cast<uint32_t>(traces.size());
    it.trace_slots_begin = static_cast<uint32_t>(trace_slots.size());
    it.span_slots_begin = static_cast<uint32_t>(span_slots.size());
    it.time_slots_begin = static_cast<uint32_t>(time_slots.size());
    it.counter_slots_begin = static_cast<uint32_t>(counter_slots.size());
    return it;
  }
  void End(Item& it) {
    it.bytes_end = static_cast<uint32_t>(bytes.size());
    it.traces_end = static_cast<uint32_t>(traces.size());
    it.trace_slots_end = static_cast<uint32_t>(trace_slots.size());
    it.span_slots_end = static_cast<uint32_t>(span_slots.size());
    it.time_slots_end = static_cast<uint32_t>(time_slots.size());
    it.counter_slots_end = static_cast<uint32_t>(counter_slots.size());
    for (uint32_t s = it.time_slots_begin; s < it.time_slots_end; ++s) {
      it.latest = std::max(it.latest, time_slots[s].offset_ns);
    }
  }
  uint32_t ItemOffset(const uint8_t* p) const { return static_cast<uint32_t>(p - item_base_); }

  Status IdField(const Field& f, size_t want, std::string_view name) const {
    if (f.type != wire::kLen || f.size != want) {
      return Error(f.data, StrCat(name, " has ", f.size, " bytes; expected ", want));
    }
    if (Rng::IsZero(f.data, want)) return Error(f.data, StrCat(name, " is all zero"));
    return absl::OkStatus();
  }

  Status FixedField(const Field& f, std::string_view name) const {
    if (f.type != wire::kI64) return Error(f.data, StrCat(name, " is not a fixed64"));
    return absl::OkStatus();
  }

  // The item-local trace group of the trace ID at p.
  uint32_t TraceGroup(const Item& it, const uint8_t* p) {
    const TraceId id = TraceId::Load(p);
    for (uint32_t g = it.traces_begin; g < traces.size(); ++g) {
      if (traces[g] == id) return g - it.traces_begin;
    }
    traces.push_back(id);
    return static_cast<uint32_t>(traces.size()) - 1 - it.traces_begin;
  }

  void AddTrace(const Item& it, const Field& tid, const Field* sid) {
    const uint32_t g = TraceGroup(it, tid.data);
    trace_slots.push_back({ItemOffset(tid.data), g});
    if (sid != nullptr) {
      span_slots.push_back({ItemOffset(sid->data), g, wire::LoadLE64(sid->data)});
    }
  }

  void AddTime(const Field& f, uint32_t group) {
    const uint64_t v = wire::LoadLE64(f.data);
    time_slots.push_back({ItemOffset(f.data), group, static_cast<int64_t>(v - kTemplateEpochNs)});
  }

  Status Span(uint32_t leaf, const Field& span) {
    Item& it = Begin(leaf, span, 2);
    Field tid{}, start{}, end{};
    bool has_tid = false, has_start = false, has_end = false;
    std::vector<Field>& ids = ids_;        // span_id and parent_span_id
    std::vector<Field>& events = events_;  // event time fields
    ids.clear();
    events.clear();
    FieldReader r(span.data, span.size);
    Field f;
    while (r.Next(&f)) {
      switch (f.number) {
        case 1:
          RETURN_IF_ERROR(IdField(f, 16, "span trace_id"));
          tid = f;
          has_tid = true;
          break;
        case 2:
          RETURN_IF_ERROR(IdField(f, 8, "span span_id"));
          ids.push_back(f);
          break;
        case 4:
          if (f.type == wire::kLen && f.size == 0) break;  // Root span.
          RETURN_IF_ERROR(IdField(f, 8, "span parent_span_id"));
          ids.push_back(f);
          break;
        case 7:
          RETURN_IF_ERROR(FixedField(f, "span start_time_unix_nano"));
          start = f;
          has_start = true;
          break;
        case 8:
          RETURN_IF_ERROR(FixedField(f, "span end_time_unix_nano"));
          end = f;
          has_end = true;
          break;
        case 11: {  // Event: field 1 time_unix_nano.
          if (f.type != wire::kLen) return Error(f.data, "span event is not a message");
          FieldReader er(f.data, f.size);
          Field ef;
          while (er.Next(&ef)) {
            if (ef.number == 1) {
              RETURN_IF_ERROR(FixedField(ef, "span event time_unix_nano"));
              events.push_back(ef);
            }
          }
          if (er.error()) return Error(er.position(), "malformed span event");
          break;
        }
        case 13: RETURN_IF_ERROR(Link(it, f)); break;
        default: break;
      }
    }
    if (r.error()) return Error(r.position(), "malformed span");
    if (!has_tid) return Error(span.data, "span without trace_id");
    if (!has_start || !has_end) {
      return Error(span.data,
                   "span without a start or end time placeholder; templates carry "
                   "relative times so that every time field can be patched");
    }
    const uint32_t g = TraceGroup(it, tid.data);
    trace_slots.push_back({ItemOffset(tid.data), g});
    for (const Field& id : ids) {
      span_slots.push_back({ItemOffset(id.data), g, wire::LoadLE64(id.data)});
    }
    AddTime(start, 0);
    AddTime(end, 0);
    for (const Field& e : events) AddTime(e, 0);
    it.trace = TraceId::Load(tid.data);
    it.start = wire::LoadLE64(start.data);
    End(it);
    return absl::OkStatus();
  }

  // Links point at other traces; they are remapped like the spans they point to.
  Status Link(const Item& it, const Field& link) {
    if (link.type != wire::kLen) return Error(link.data, "span link is not a message");
    Field tid{}, sid{};
    bool has_tid = false, has_sid = false;
    FieldReader r(link.data, link.size);
    Field f;
    while (r.Next(&f)) {
      if (f.number == 1) {
        RETURN_IF_ERROR(IdField(f, 16, "span link trace_id"));
        tid = f;
        has_tid = true;
      } else if (f.number == 2) {
        RETURN_IF_ERROR(IdField(f, 8, "span link span_id"));
        sid = f;
        has_sid = true;
      }
    }
    if (r.error()) return Error(r.position(), "malformed span link");
    if (has_tid) AddTrace(it, tid, has_sid ? &sid : nullptr);
    return absl::OkStatus();
  }

  // How a metric's points change from replay to replay.
  struct PointRules {
    uint32_t exemplar_field = 0;  // 0: the point type has no exemplars.
    bool delta = false;           // Start time = the end of the previous window.
    bool grows = false;           // Cumulative monotonic: value fields scale with the replay.
    bool histogram = false;       // count (4), sum (5), bucket_counts (6) grow.
    bool summary = false;         // count (4), sum (5) grow.
  };

  // Metric: 5 gauge, 7 sum, 9 histogram, 10 exponential histogram, 11 summary; each
  // holds its points in field 1, beside temporality (2) and monotonicity (3).
  Status Metric(uint32_t scope_env, const Field& metric) {
    std::vector<Field> data;
    std::string head;
    FieldReader r(metric.data, metric.size);
    Field f;
    const uint8_t* at = metric.data;
    while (r.Next(&f)) {
      if (f.number == 5 || f.number == 7 || f.number == 9 || f.number == 10 || f.number == 11) {
        if (f.type != wire::kLen) return Error(f.data, "metric data is not a message");
        data.push_back(f);
      } else {
        head.append(reinterpret_cast<const char*>(at), static_cast<size_t>(r.position() - at));
      }
      at = r.position();
    }
    if (r.error()) return Error(r.position(), "malformed metric");
    for (const Field& d : data) {
      const uint32_t metric_env =
          c_->Intern(static_cast<int32_t>(scope_env), 2, d.number, false, head);
      std::vector<Field> points;
      std::string data_head;
      RETURN_IF_ERROR(Split(d, 1, &data_head, [&](const Field& p) {
        points.push_back(p);
        return absl::OkStatus();
      }));
      uint64_t temporality = 0;
      bool monotonic = false;
      FieldReader hr(reinterpret_cast<const uint8_t*>(data_head.data()), data_head.size());
      Field hf;
      while (hr.Next(&hf)) {
        if (hf.type != wire::kVarint) continue;
        if (hf.number == 2) temporality = hf.varint;
        if (hf.number == 3 && d.number == 7) monotonic = hf.varint != 0;
      }
      const bool cumulative = temporality == 2;
      PointRules rules;
      rules.delta = temporality == 1;
      switch (d.number) {
        case 5: rules.exemplar_field = 5; break;
        case 7:
          rules.exemplar_field = 5;
          rules.grows = cumulative && monotonic;
          break;
        case 9:
          rules.exemplar_field = 8;
          rules.histogram = rules.grows = cumulative;
          break;
        // Exponential-histogram bucket counts are varints and cannot be scaled in
        // place, so cumulative ones repeat unchanged: flat, never decreasing.
        case 10: rules.exemplar_field = 11; break;
        case 11: rules.summary = rules.grows = true; break;
      }
      const uint32_t leaf =
          c_->Intern(static_cast<int32_t>(metric_env), d.number, 1, true, std::move(data_head));
      for (const Field& p : points) RETURN_IF_ERROR(DataPoint(leaf, p, rules));
    }
    return absl::OkStatus();
  }

  void AddCounter(const uint8_t* p, bool is_double) {
    counter_slots.push_back({ItemOffset(p), is_double, wire::LoadLE64(p)});
  }

  Status DataPoint(uint32_t leaf, const Field& dp, const PointRules& rules) {
    Item& it = Begin(leaf, dp, 1);
    bool has_time = false;
    FieldReader r(dp.data, dp.size);
    Field f;
    while (r.Next(&f)) {
      if (f.number == 2) {
        RETURN_IF_ERROR(FixedField(f, "data point start_time_unix_nano"));
        AddTime(f, rules.delta ? kMetricWindowStartGroup : kMetricStartTimeGroup);
      } else if (f.number == 3) {
        RETURN_IF_ERROR(FixedField(f, "data point time_unix_nano"));
        AddTime(f, kMetricTimeGroup);
        has_time = true;
      } else if (rules.exemplar_field != 0 && f.number == rules.exemplar_field) {
        RETURN_IF_ERROR(Exemplar(it, f));
      } else if (rules.grows && (rules.histogram || rules.summary)) {
        if (f.number == 4 && f.type == wire::kI64) AddCounter(f.data, false);  // count
        if (f.number == 5 && f.type == wire::kI64) AddCounter(f.data, true);   // sum
        if (rules.histogram && f.number == 6 && f.type == wire::kLen) {        // bucket_counts
          if (f.size % 8 != 0) return Error(f.data, "bucket_counts is not packed fixed64");
          for (size_t i = 0; i < f.size; i += 8) AddCounter(f.data + i, false);
        }
      } else if (rules.grows && f.type == wire::kI64 && (f.number == 4 || f.number == 6)) {
        AddCounter(f.data, f.number == 4);  // as_double / as_int (sfixed64)
      }
    }
    if (r.error()) return Error(r.position(), "malformed data point");
    if (!has_time) return Error(dp.data, "data point without a time_unix_nano placeholder");
    End(it);
    return absl::OkStatus();
  }

  Status Exemplar(const Item& it, const Field& ex) {
    if (ex.type != wire::kLen) return Error(ex.data, "exemplar is not a message");
    Field tid{}, sid{};
    bool has_tid = false, has_sid = false;
    FieldReader r(ex.data, ex.size);
    Field f;
    while (r.Next(&f)) {
      if (f.number == 2) {
        RETURN_IF_ERROR(FixedField(f, "exemplar time_unix_nano"));
        AddTime(f, kMetricTimeGroup);
      } else if (f.number == 5) {
        RETURN_IF_ERROR(IdField(f, 16, "exemplar trace_id"));
        tid = f;
        has_tid = true;
      } else if (f.number == 4) {
        RETURN_IF_ERROR(IdField(f, 8, "exemplar span_id"));
        sid = f;
        has_sid = true;
      }
    }
    if (r.error()) return Error(r.position(), "malformed exemplar");
    if (has_tid) AddTrace(it, tid, has_sid ? &sid : nullptr);
    return absl::OkStatus();
  }

  Status LogRecord(uint32_t leaf, const Field& rec) {
    Item& it = Begin(leaf, rec, 2);
    Field tid{}, sid{};
    bool has_tid = false, has_sid = false;
    FieldReader r(rec.data, rec.size);
    Field f;
    while (r.Next(&f)) {
      switch (f.number) {
        case 1:
          RETURN_IF_ERROR(FixedField(f, "log time_unix_nano"));
          AddTime(f, 0);
          break;
        case 11:
          RETURN_IF_ERROR(FixedField(f, "log observed_time_unix_nano"));
          AddTime(f, 0);
          break;
        case 9:
          if (f.type == wire::kLen && f.size == 0) break;
          RETURN_IF_ERROR(IdField(f, 16, "log trace_id"));
          tid = f;
          has_tid = true;
          break;
        case 10:
          if (f.type == wire::kLen && f.size == 0) break;
          RETURN_IF_ERROR(IdField(f, 8, "log span_id"));
          sid = f;
          has_sid = true;
          break;
        default: break;
      }
    }
    if (r.error()) return Error(r.position(), "malformed log record");
    if (has_sid && !has_tid) return Error(rec.data, "log record has a span_id but no trace_id");
    if (has_tid) AddTrace(it, tid, has_sid ? &sid : nullptr);
    End(it);
    return absl::OkStatus();
  }

  SignalCompiler* c_;
  Signal signal_;
  const uint8_t* base_;
  size_t size_;
  std::string_view where_;
  const uint8_t* item_base_ = nullptr;
  std::vector<Field> ids_, events_;
};

SignalCompiler::SignalCompiler(Signal signal, const UnitLimits& limits) : limits_(limits) {
  out_.signal = signal;
}

SignalCompiler::~SignalCompiler() = default;

namespace {

// The keys that identify a resource's instance, as hex strings: a series' identity.
bool IsIdentityKey(std::string_view key) {
  return key == "service.instance.id" || key == "k8s.pod.uid" || key == "container.id" ||
         key == "k8s.deployment.uid" || key == "host.id";
}

// In a Resource* envelope's head: the offset of the last 8 characters of the first
// identity attribute whose value ends in 8 hex digits, or -1.
int32_t FindIdentity(const std::string& head) {
  const auto* base = reinterpret_cast<const uint8_t*>(head.data());
  FieldReader r(base, head.size());
  Field resource;
  while (r.Next(&resource)) {
    if (resource.number != 1 || resource.type != wire::kLen) continue;
    FieldReader attrs(resource.data, resource.size);
    Field kv;
    while (attrs.Next(&kv)) {
      if (kv.number != 1 || kv.type != wire::kLen) continue;
      std::string_view key;
      Field value{}, text{};
      FieldReader kr(kv.data, kv.size);
      Field f;
      while (kr.Next(&f)) {
        if (f.number == 1 && f.type == wire::kLen)
          key = {reinterpret_cast<const char*>(f.data), f.size};
        if (f.number == 2 && f.type == wire::kLen) value = f;
      }
      if (!IsIdentityKey(key) || value.data == nullptr) continue;
      FieldReader vr(value.data, value.size);
      while (vr.Next(&f)) {
        if (f.number == 1 && f.type == wire::kLen) text = f;
      }
      if (text.size < 8) continue;
      const uint8_t* last = text.data + text.size - 8;
      if (std::all_of(last, last + 8, [](uint8_t c) { return std::isxdigit(c) != 0; })) {
        return static_cast<int32_t>(last - base);
      }
    }
  }
  return -1;
}

}  // namespace

uint32_t SignalCompiler::Intern(int32_t parent, uint32_t field, uint32_t child_field, bool leaf,
                                std::string head) {
  std::string key = StrCat(parent, ":", field, ":", child_field, ":", leaf ? 1 : 0, ":");
  key += head;
  auto [it, fresh] =
      envelope_index_.try_emplace(std::move(key), static_cast<uint32_t>(out_.envelopes.size()));
  if (fresh) {
    Envelope env{parent, field, child_field, leaf, std::move(head)};
    env.root = parent < 0 ? it->second : out_.envelopes[parent].root;
    if (parent < 0 && out_.signal == Signal::kMetrics) env.identity_offset = FindIdentity(env.head);
    out_.envelopes.push_back(std::move(env));
    costed_.push_back(0);
  }
  return it->second;
}

namespace {

const char* ItemName(Signal s) {
  switch (s) {
    case Signal::kTraces: return "span";
    case Signal::kMetrics: return "data point";
    case Signal::kLogs: return "log record";
  }
  return "item";
}

// Adds an item's slots to the compiled tables, offsets from the piece's start.
template <typename Slot>
void CopySlots(const std::vector<Slot>& from, uint32_t begin, uint32_t end, uint32_t shift,
               std::vector<Slot>* to) {
  for (uint32_t s = begin; s < end; ++s) {
    Slot slot = from[s];
    slot.offset += shift;
    to->push_back(slot);
  }
}

// The same, with the item-local trace groups made absolute.
template <typename Slot>
void CopyIdSlots(const std::vector<Slot>& from, uint32_t begin, uint32_t end, uint32_t shift,
                 const std::vector<uint32_t>& groups, std::vector<Slot>* to) {
  for (uint32_t s = begin; s < end; ++s) {
    Slot slot = from[s];
    slot.offset += shift;
    slot.group = groups[slot.group];
    to->push_back(slot);
  }
}

}  // namespace

uint64_t SignalCompiler::Cost(const Item& it, uint32_t stamp) {
  uint64_t cost = it.bytes_end - it.bytes_begin;
  for (int32_t e = static_cast<int32_t>(it.leaf); e >= 0 && costed_[e] != stamp;
       e = out_.envelopes[e].parent) {
    costed_[e] = stamp;
    cost += out_.EnvelopeCost(static_cast<uint32_t>(e));
  }
  return cost;
}

absl::Status SignalCompiler::AddUnit(const std::vector<const Item*>& items) {
  CompiledSignal& o = out_;
  const Walker& w = *walker_;
  const uint32_t index = o.unit_count();
  Unit unit = o.units_.back();  // The sentinel holds where the next unit starts.
  unit.events = static_cast<uint32_t>(items.size());
  for (const Item* it : items) unit.latest_ns = std::max(unit.latest_ns, it->latest);
  // One piece per leaf, in order of the leaf's first item; items keep their order.
  leaves_.clear();
  for (const Item* it : items) {
    if (std::find(leaves_.begin(), leaves_.end(), it->leaf) == leaves_.end()) {
      leaves_.push_back(it->leaf);
    }
  }
  unit_groups_.clear();
  const uint32_t stamp = ++stamp_;
  uint64_t alone = 0;
  for (uint32_t leaf : leaves_) {
    Piece& piece = o.pieces_.back();  // The sentinel becomes this piece.
    piece.offset = o.arena.size();
    piece.envelope = leaf;
    piece.unit = index;
    piece.trace_slots = static_cast<uint32_t>(o.trace_slots.size());
    piece.span_slots = static_cast<uint32_t>(o.span_slots.size());
    piece.time_slots = static_cast<uint32_t>(o.time_slots.size());
    piece.counter_slots = static_cast<uint32_t>(o.counter_slots.size());
    for (const Item* it : items) {
      if (it->leaf != leaf) continue;
      alone += Cost(*it, stamp);
      groups_.clear();
      for (uint32_t t = it->traces_begin; t < it->traces_end; ++t) {
        auto [g, fresh] =
            unit_groups_.try_emplace(w.traces[t], static_cast<uint32_t>(o.trace_groups.size()));
        if (fresh) o.trace_groups.push_back(w.traces[t]);
        groups_.push_back(g->second);
      }
      const auto shift = static_cast<uint32_t>(o.arena.size() - piece.offset);
      o.arena.append(w.bytes, it->bytes_begin, it->bytes_end - it->bytes_begin);
      CopyIdSlots(w.trace_slots, it->trace_slots_begin, it->trace_slots_end, shift, groups_,
                  &o.trace_slots);
      CopyIdSlots(w.span_slots, it->span_slots_begin, it->span_slots_end, shift, groups_,
                  &o.span_slots);
      CopySlots(w.time_slots, it->time_slots_begin, it->time_slots_end, shift, &o.time_slots);
      CopySlots(w.counter_slots, it->counter_slots_begin, it->counter_slots_end, shift,
                &o.counter_slots);
    }
    piece.size = static_cast<uint32_t>(o.arena.size() - piece.offset);
    Piece next;
    next.offset = o.arena.size();
    next.trace_slots = static_cast<uint32_t>(o.trace_slots.size());
    next.span_slots = static_cast<uint32_t>(o.span_slots.size());
    next.time_slots = static_cast<uint32_t>(o.time_slots.size());
    next.counter_slots = static_cast<uint32_t>(o.counter_slots.size());
    o.pieces_.push_back(next);
  }
  if (alone > limits_.max_bytes) {
    // Traces are cut to fit before they get here, so this is a single item.
    return absl::InvalidArgumentError(StrCat("one ", ItemName(o.signal), " takes ", alone,
                                             " bytes, more than sending.max_request_bytes (",
                                             limits_.max_bytes, ")"));
  }
  unit.alone_bytes = static_cast<uint32_t>(alone);
  o.units_.back() = unit;
  Unit sentinel;
  sentinel.first_piece = static_cast<uint32_t>(o.pieces_.size() - 1);
  sentinel.first_group = static_cast<uint32_t>(o.trace_groups.size());
  o.units_.push_back(sentinel);
  o.events += unit.events;
  return absl::OkStatus();
}

absl::Status SignalCompiler::AddTrace(std::vector<const Item*>& spans) {
  // A trace that fits in one request is one unit; a bigger one is cut into pieces in
  // start order, so every span's parent is in the same or an earlier piece.
  uint64_t bytes = 0;
  const uint32_t stamp = ++stamp_;
  for (const Item* it : spans) bytes += Cost(*it, stamp);
  if (spans.size() <= limits_.max_items && bytes <= limits_.max_bytes) return AddUnit(spans);
  std::stable_sort(spans.begin(), spans.end(),
                   [](const Item* a, const Item* b) { return a->start < b->start; });
  std::vector<const Item*> piece;
  uint32_t piece_stamp = ++stamp_;
  bytes = 0;
  for (const Item* it : spans) {
    // What this span adds to the piece, its envelopes included when they are new.
    const uint64_t cost = Cost(*it, piece_stamp);
    if (!piece.empty() &&
        (piece.size() + 1 > limits_.max_items || bytes + cost > limits_.max_bytes)) {
      RETURN_IF_ERROR(AddUnit(piece));
      piece.clear();
      piece_stamp = ++stamp_;
      bytes = Cost(*it, piece_stamp);
    } else {
      bytes += cost;
    }
    piece.push_back(it);
  }
  return AddUnit(piece);
}

absl::StatusOr<uint64_t> SignalCompiler::Add(std::string_view payload, std::string_view where) {
  Walker walker(this, payload, where);
  RETURN_IF_ERROR(walker.Run());
  walker_ = &walker;
  absl::Status status = AddUnits(walker);
  walker_ = nullptr;
  if (!status.ok()) return absl::InvalidArgumentError(StrCat(where, ": ", status.message()));
  return walker.items.size();
}

absl::Status SignalCompiler::AddUnits(const Walker& walker) {
  if (out_.signal != Signal::kTraces) {
    std::vector<const Item*> unit;
    for (const Item& it : walker.items) {
      unit.assign(1, &it);
      RETURN_IF_ERROR(AddUnit(unit));
    }
    return absl::OkStatus();
  }
  // Spans by trace, traces in order of first appearance.
  std::unordered_map<TraceId, uint32_t, TraceIdHash> index;
  std::vector<std::vector<const Item*>> traces;
  for (const Item& it : walker.items) {
    auto [at, fresh] = index.try_emplace(it.trace, static_cast<uint32_t>(traces.size()));
    if (fresh) traces.emplace_back();
    traces[at->second].push_back(&it);
  }
  for (auto& spans : traces) RETURN_IF_ERROR(AddTrace(spans));
  return absl::OkStatus();
}

void ShareTraceTimelines(std::initializer_list<CompiledSignal*> signals) {
  std::unordered_map<TraceId, int64_t, TraceIdHash> latest;
  for (const CompiledSignal* c : signals) {
    for (uint32_t u = 0; u < c->unit_count(); ++u) {
      for (uint32_t g = c->units_[u].first_group; g < c->units_[u + 1].first_group; ++g) {
        int64_t& l = latest[c->trace_groups[g]];
        l = std::max(l, c->units_[u].latest_ns);
      }
    }
  }
  for (CompiledSignal* c : signals) {
    for (uint32_t u = 0; u < c->unit_count(); ++u) {
      for (uint32_t g = c->units_[u].first_group; g < c->units_[u + 1].first_group; ++g) {
        c->units_[u].latest_ns = std::max(c->units_[u].latest_ns, latest[c->trace_groups[g]]);
      }
    }
  }
}

CompiledSignal SignalCompiler::Finish() {
  // A trace cut into several units (or spread over chunks) keeps one timeline: every
  // unit of it gets the trace's latest time.
  if (out_.signal == Signal::kTraces) ShareTraceTimelines({&out_});
  return std::move(out_);
}

}  // namespace loadgen
