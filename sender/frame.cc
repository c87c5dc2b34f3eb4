#include "sender/frame.h"

#include <algorithm>
#include <unordered_map>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/wire.h"

namespace loadgen {
namespace {

using wire::Field;
using wire::FieldReader;

struct TraceIdHash {
  size_t operator()(const TraceId& t) const { return Fmix64(t.lo ^ Fmix64(t.hi)); }
};

class Compiler {
 public:
  Compiler(Signal signal, std::string payload, std::string_view where) : where_(where) {
    frame_.signal = signal;
    frame_.bytes = std::move(payload);
    base_ = reinterpret_cast<const uint8_t*>(frame_.bytes.data());
  }

  absl::StatusOr<CompiledFrame> Run() {
    // Request: field 1 = resource_spans / resource_metrics / resource_logs.
    RETURN_IF_ERROR(ForEach(base_, frame_.bytes.size(), 1, [&](const Field& rs) {
      // ResourceX: field 2 = scope_spans / scope_metrics / scope_logs.
      return ForEach(rs.data, rs.size, 2, [&](const Field& scope) {
        // ScopeX: field 2 = spans / metrics / log_records.
        return ForEach(scope.data, scope.size, 2, [&](const Field& item) {
          switch (frame_.signal) {
            case Signal::kTraces: return Span(item);
            case Signal::kMetrics: return Metric(item);
            case Signal::kLogs: return LogRecord(item);
          }
          return absl::OkStatus();
        });
      });
    }));
    if (frame_.signal == Signal::kMetrics) frame_.time_groups = 3;
    // Patching in offset order touches the copied buffer front to back.
    std::sort(frame_.time_slots.begin(), frame_.time_slots.end(),
              [](const TimeSlot& a, const TimeSlot& b) { return a.offset < b.offset; });
    return std::move(frame_);
  }

 private:
  using Status = absl::Status;

  uint32_t Offset(const uint8_t* p) const { return static_cast<uint32_t>(p - base_); }

  Status Error(const uint8_t* p, std::string_view what) const {
    return absl::InvalidArgumentError(StrCat(where_, ": payload offset ", Offset(p), ": ", what));
  }

  // Calls fn for each LEN field `number` of the message in [data, data+size).
  template <typename Fn>
  Status ForEach(const uint8_t* data, size_t size, uint32_t number, Fn&& fn) {
    FieldReader r(data, size);
    Field f;
    while (r.Next(&f)) {
      if (f.number != number) continue;
      if (f.type != wire::kLen) return Error(f.data ? f.data : data, "expected a message field");
      RETURN_IF_ERROR(fn(f));
    }
    if (r.error()) return Error(r.position(), "malformed protobuf");
    return absl::OkStatus();
  }

  // Checks an ID field and returns its bytes.
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

  uint32_t TraceGroup(const uint8_t* p) {
    TraceId id = TraceId::Load(p);
    auto [it, inserted] =
        groups_.try_emplace(id, static_cast<uint32_t>(frame_.trace_groups.size()));
    if (inserted) frame_.trace_groups.push_back(id);
    return it->second;
  }

  void AddTime(const Field& f, uint32_t group) {
    const uint64_t v = wire::LoadLE64(f.data);
    frame_.time_slots.push_back(
        {Offset(f.data), group, static_cast<int64_t>(v - kTemplateEpochNs)});
  }

  Status Span(const Field& span) {
    const Field* trace_id = nullptr;
    Field tid{}, start{}, end{};
    std::vector<Field> ids;     // span_id and parent_span_id
    std::vector<Field> events;  // event time fields
    bool has_start = false, has_end = false;
    FieldReader r(span.data, span.size);
    Field f;
    while (r.Next(&f)) {
      switch (f.number) {
        case 1:
          RETURN_IF_ERROR(IdField(f, 16, "span trace_id"));
          tid = f;
          trace_id = &tid;
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
        case 13: RETURN_IF_ERROR(Link(f)); break;
        default: break;
      }
    }
    if (r.error()) return Error(r.position(), "malformed span");
    if (trace_id == nullptr) return Error(span.data, "span without trace_id");
    if (!has_start || !has_end) {
      return Error(span.data,
                   "span without a start or end time placeholder; templates carry "
                   "relative times so that every time field can be patched");
    }
    const uint32_t g = TraceGroup(trace_id->data);
    frame_.trace_slots.push_back({Offset(trace_id->data), g});
    for (const Field& id : ids) {
      frame_.span_slots.push_back({Offset(id.data), g, wire::LoadLE64(id.data)});
    }
    AddTime(start, g);
    AddTime(end, g);
    for (const Field& e : events) AddTime(e, g);
    frame_.time_groups = static_cast<uint32_t>(frame_.trace_groups.size());
    ++frame_.events;
    return absl::OkStatus();
  }

  // Links point at other traces; they are remapped like the spans they point to.
  Status Link(const Field& link) {
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
    if (has_tid) {
      const uint32_t g = TraceGroup(tid.data);
      frame_.trace_slots.push_back({Offset(tid.data), g});
      if (has_sid) frame_.span_slots.push_back({Offset(sid.data), g, wire::LoadLE64(sid.data)});
    }
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

  Status Metric(const Field& metric) {
    FieldReader r(metric.data, metric.size);
    Field f;
    while (r.Next(&f)) {
      // Data fields: 5 gauge, 7 sum, 9 histogram, 10 exponential histogram, 11 summary.
      if (f.number != 5 && f.number != 7 && f.number != 9 && f.number != 10 && f.number != 11) {
        continue;
      }
      if (f.type != wire::kLen) return Error(f.data, "metric data is not a message");
      // Temporality (2) and monotonicity (3) may follow the points: read them first.
      uint64_t temporality = 0;
      bool monotonic = false;
      FieldReader head(f.data, f.size);
      Field hf;
      while (head.Next(&hf)) {
        if (hf.type != wire::kVarint) continue;
        if (hf.number == 2) temporality = hf.varint;
        if (hf.number == 3 && f.number == 7) monotonic = hf.varint != 0;
      }
      const bool cumulative = temporality == 2;
      PointRules rules;
      rules.delta = temporality == 1;
      switch (f.number) {
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
      RETURN_IF_ERROR(
          ForEach(f.data, f.size, 1, [&](const Field& dp) { return DataPoint(dp, rules); }));
    }
    if (r.error()) return Error(r.position(), "malformed metric");
    return absl::OkStatus();
  }

  void AddCounter(const uint8_t* p, bool is_double) {
    frame_.counter_slots.push_back({Offset(p), is_double, wire::LoadLE64(p)});
  }

  Status DataPoint(const Field& dp, const PointRules& rules) {
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
        RETURN_IF_ERROR(Exemplar(f));
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
    ++frame_.events;
    return absl::OkStatus();
  }

  Status Exemplar(const Field& ex) {
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
    if (has_tid) {
      const uint32_t g = TraceGroup(tid.data);
      frame_.trace_slots.push_back({Offset(tid.data), g});
      if (has_sid) frame_.span_slots.push_back({Offset(sid.data), g, wire::LoadLE64(sid.data)});
    }
    return absl::OkStatus();
  }

  Status LogRecord(const Field& rec) {
    Field tid{}, sid{};
    bool has_tid = false, has_sid = false;
    const uint32_t group = record_index_++;
    FieldReader r(rec.data, rec.size);
    Field f;
    while (r.Next(&f)) {
      switch (f.number) {
        case 1:
          RETURN_IF_ERROR(FixedField(f, "log time_unix_nano"));
          AddTime(f, group);
          break;
        case 11:
          RETURN_IF_ERROR(FixedField(f, "log observed_time_unix_nano"));
          AddTime(f, group);
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
    if (has_tid) {
      const uint32_t g = TraceGroup(tid.data);
      frame_.trace_slots.push_back({Offset(tid.data), g});
      if (has_sid) frame_.span_slots.push_back({Offset(sid.data), g, wire::LoadLE64(sid.data)});
    }
    frame_.time_groups = record_index_;
    ++frame_.events;
    return absl::OkStatus();
  }

  std::string where_;
  CompiledFrame frame_;
  const uint8_t* base_;
  std::unordered_map<TraceId, uint32_t, TraceIdHash> groups_;
  uint32_t record_index_ = 0;
};

}  // namespace

absl::StatusOr<CompiledFrame> CompileFrame(Signal signal, std::string payload,
                                           std::string_view where) {
  return Compiler(signal, std::move(payload), where).Run();
}

}  // namespace loadgen
