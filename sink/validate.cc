#include "sink/validate.h"

#include <algorithm>
#include <tuple>

#include "common/random.h"
#include "common/strings.h"
#include "common/wire.h"
#include "fmt/format.h"
#include "google/protobuf/stubs/common.h"

namespace loadgen {
namespace {

using wire::Field;
using wire::FieldReader;

// The checks walk the wire format, as the counting path does: decoding into protobuf
// objects cost ~3 CPU-s per million spans (allocation, strings and sets of strings),
// a third of a core at the demo's rate.

// The OTLP messages, as far as decoding can fail inside them.
enum class Msg : uint8_t {
  kNone,
  kTraceRequest,
  kResourceSpans,
  kScopeSpans,
  kSpan,
  kEvent,
  kLink,
  kStatus,
  kMetricsRequest,
  kResourceMetrics,
  kScopeMetrics,
  kMetric,
  kGauge,
  kSum,
  kHistogram,
  kExpHistogram,
  kSummary,
  kNumberPoint,
  kHistogramPoint,
  kExpHistogramPoint,
  kBuckets,
  kSummaryPoint,
  kQuantile,
  kExemplar,
  kLogsRequest,
  kResourceLogs,
  kScopeLogs,
  kLogRecord,
  kResource,
  kEntityRef,
  kScope,
  kKeyValue,
  kAnyValue,
  kArrayValue,
  kKeyValueList,
};

// What a field must hold when it has the wire type its declaration gives it. A field
// with another wire type is an unknown field to protobuf, skipped, as here.
enum class Kind : uint8_t {
  kScalar,         // Nothing to check beyond the wire format.
  kString,         // LEN, valid UTF-8 (proto3 `string`).
  kMessage,        // LEN, a well-formed message of `sub`.
  kPackedFixed64,  // Repeated fixed64 or double: LEN of whole 8-byte values, or I64.
  kPackedVarint,   // Repeated uint64: LEN of whole varints, or VARINT.
};

struct Decl {
  Kind kind = Kind::kScalar;
  Msg sub = Msg::kNone;
};

constexpr Decl S{Kind::kString};
constexpr Decl M(Msg m) { return {Kind::kMessage, m}; }

// The string, message and packed fields of each message (opentelemetry-proto v1).
Decl Declared(Msg msg, uint32_t n) {
  switch (msg) {
    case Msg::kTraceRequest: return n == 1 ? M(Msg::kResourceSpans) : Decl{};
    case Msg::kResourceSpans:
      return n == 1 ? M(Msg::kResource) : n == 2 ? M(Msg::kScopeSpans) : n == 3 ? S : Decl{};
    case Msg::kScopeSpans:
      return n == 1 ? M(Msg::kScope) : n == 2 ? M(Msg::kSpan) : n == 3 ? S : Decl{};
    case Msg::kSpan:
      switch (n) {
        case 3:
        case 5: return S;
        case 9: return M(Msg::kKeyValue);
        case 11: return M(Msg::kEvent);
        case 13: return M(Msg::kLink);
        case 15: return M(Msg::kStatus);
      }
      return {};
    case Msg::kEvent: return n == 2 ? S : n == 3 ? M(Msg::kKeyValue) : Decl{};
    case Msg::kLink: return n == 3 ? S : n == 4 ? M(Msg::kKeyValue) : Decl{};
    case Msg::kStatus: return n == 2 ? S : Decl{};
    case Msg::kMetricsRequest: return n == 1 ? M(Msg::kResourceMetrics) : Decl{};
    case Msg::kResourceMetrics:
      return n == 1 ? M(Msg::kResource) : n == 2 ? M(Msg::kScopeMetrics) : n == 3 ? S : Decl{};
    case Msg::kScopeMetrics:
      return n == 1 ? M(Msg::kScope) : n == 2 ? M(Msg::kMetric) : n == 3 ? S : Decl{};
    case Msg::kMetric:
      switch (n) {
        case 1:
        case 2:
        case 3: return S;
        case 5: return M(Msg::kGauge);
        case 7: return M(Msg::kSum);
        case 9: return M(Msg::kHistogram);
        case 10: return M(Msg::kExpHistogram);
        case 11: return M(Msg::kSummary);
        case 12: return M(Msg::kKeyValue);
      }
      return {};
    case Msg::kGauge:
    case Msg::kSum: return n == 1 ? M(Msg::kNumberPoint) : Decl{};
    case Msg::kHistogram: return n == 1 ? M(Msg::kHistogramPoint) : Decl{};
    case Msg::kExpHistogram: return n == 1 ? M(Msg::kExpHistogramPoint) : Decl{};
    case Msg::kSummary: return n == 1 ? M(Msg::kSummaryPoint) : Decl{};
    case Msg::kNumberPoint: return n == 7 ? M(Msg::kKeyValue) : n == 5 ? M(Msg::kExemplar) : Decl{};
    case Msg::kHistogramPoint:
      switch (n) {
        case 9: return M(Msg::kKeyValue);
        case 6:
        case 7: return {Kind::kPackedFixed64};
        case 8: return M(Msg::kExemplar);
      }
      return {};
    case Msg::kExpHistogramPoint:
      switch (n) {
        case 1: return M(Msg::kKeyValue);
        case 8:
        case 9: return M(Msg::kBuckets);
        case 11: return M(Msg::kExemplar);
      }
      return {};
    case Msg::kBuckets: return n == 2 ? Decl{Kind::kPackedVarint} : Decl{};
    case Msg::kSummaryPoint:
      return n == 7 ? M(Msg::kKeyValue) : n == 6 ? M(Msg::kQuantile) : Decl{};
    case Msg::kQuantile: return {};
    case Msg::kExemplar: return n == 7 ? M(Msg::kKeyValue) : Decl{};
    case Msg::kLogsRequest: return n == 1 ? M(Msg::kResourceLogs) : Decl{};
    case Msg::kResourceLogs:
      return n == 1 ? M(Msg::kResource) : n == 2 ? M(Msg::kScopeLogs) : n == 3 ? S : Decl{};
    case Msg::kScopeLogs:
      return n == 1 ? M(Msg::kScope) : n == 2 ? M(Msg::kLogRecord) : n == 3 ? S : Decl{};
    case Msg::kLogRecord:
      switch (n) {
        case 3:
        case 12: return S;
        case 5: return M(Msg::kAnyValue);
        case 6: return M(Msg::kKeyValue);
      }
      return {};
    case Msg::kResource: return n == 1 ? M(Msg::kKeyValue) : n == 3 ? M(Msg::kEntityRef) : Decl{};
    case Msg::kEntityRef: return n >= 1 && n <= 4 ? S : Decl{};
    case Msg::kScope: return n == 1 || n == 2 ? S : n == 3 ? M(Msg::kKeyValue) : Decl{};
    case Msg::kKeyValue: return n == 1 ? S : n == 2 ? M(Msg::kAnyValue) : Decl{};
    case Msg::kAnyValue:
      return n == 1 ? S : n == 5 ? M(Msg::kArrayValue) : n == 6 ? M(Msg::kKeyValueList) : Decl{};
    case Msg::kArrayValue: return n == 1 ? M(Msg::kAnyValue) : Decl{};
    case Msg::kKeyValueList: return n == 1 ? M(Msg::kKeyValue) : Decl{};
    case Msg::kNone: return {};
  }
  return {};
}

// protobuf's default recursion limit: the request is depth 0, and a message nested
// deeper than this fails to parse.
constexpr int kMaxDepth = 100;

bool Decodes(Msg msg, const uint8_t* data, size_t size, int depth);

// Whether field `f` of a `msg` at `depth` decodes as protobuf would decode it.
bool FieldDecodes(Msg msg, const Field& f, int depth) {
  const Decl d = Declared(msg, f.number);
  switch (d.kind) {
    case Kind::kScalar: return true;
    case Kind::kString:
      // The check protobuf's own parser runs on proto3 strings.
      return f.type != wire::kLen ||
             google::protobuf::internal::IsStructurallyValidUTF8(
                 reinterpret_cast<const char*>(f.data), static_cast<int>(f.size));
    case Kind::kMessage: return f.type != wire::kLen || Decodes(d.sub, f.data, f.size, depth + 1);
    case Kind::kPackedFixed64: return f.type != wire::kLen || f.size % 8 == 0;
    case Kind::kPackedVarint: {
      if (f.type != wire::kLen) return true;
      const uint8_t* p = f.data;
      const uint8_t* end = f.data + f.size;
      int bytes = 0;  // Of the varint being read: at most 10.
      for (; p < end; ++p) {
        bytes = (*p & 0x80) ? bytes + 1 : 0;
        if (bytes >= 10) return false;
      }
      return bytes == 0;
    }
  }
  return true;
}

bool Decodes(Msg msg, const uint8_t* data, size_t size, int depth) {
  if (depth > kMaxDepth) return false;
  FieldReader r(data, size);
  Field f;
  while (r.Next(&f)) {
    if (!FieldDecodes(msg, f, depth)) return false;
  }
  return !r.error();
}

std::string_view Text(const Field& f) { return {reinterpret_cast<const char*>(f.data), f.size}; }

bool ValidId(std::string_view id, size_t n) {
  return id.size() == n && !Rng::IsZero(reinterpret_cast<const uint8_t*>(id.data()), n);
}

uint64_t Hash(std::string_view bytes) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ bytes.size();
  for (unsigned char ch : bytes) h = Fmix64(h ^ ch);
  return h;
}

// A (trace ID, span ID) pair as a sortable key. IDs of the wrong size (already a
// problem of their own) are keyed by a hash, so duplicates among them still show.
struct SortKey {
  uint64_t a, b, c;
  auto operator<=>(const SortKey&) const = default;
};

SortKey KeyOf(std::string_view trace, std::string_view span) {
  const auto* t = reinterpret_cast<const uint8_t*>(trace.data());
  const auto* s = reinterpret_cast<const uint8_t*>(span.data());
  SortKey k{};
  if (trace.size() == 16) {
    k.a = wire::LoadLE64(t);
    k.b = wire::LoadLE64(t + 8);
  } else {
    k.a = Hash(trace);
    k.b = ~uint64_t{trace.size()};
  }
  k.c = span.size() == 8 ? wire::LoadLE64(s) : Hash(span);
  return k;
}

struct NamedSpan {
  SortKey key;
  std::string_view name;  // Into the request, which outlives the check.
  bool operator<(const NamedSpan& o) const { return key < o.key; }
};

class Checker {
 public:
  void Reset(uint64_t now_ns, int64_t skew, std::vector<std::pair<std::string, std::string>>* out,
             SpanLinks* links) {
    now_ = now_ns;
    skew_ = skew;
    out_ = out;
    links_ = links;
  }

  // Each returns false when the request does not decode.
  bool Traces(std::string_view request);
  bool Metrics(std::string_view request);
  bool Logs(std::string_view request);

 private:
  void Problem(std::string kind, std::string detail) {
    out_->emplace_back(std::move(kind), std::move(detail));
  }
  // `what` is "<prefix> <name>" (or just name): built only for a problem.
  void Time(uint64_t t, std::string_view prefix, std::string_view name) {
    const int64_t d = static_cast<int64_t>(t - now_);
    if (t == 0 || d > skew_ || d < -skew_) {
      Problem("time_out_of_window", fmt::format("{}{}{} {} is {:.1f}s from now", prefix,
                                                prefix.empty() ? "" : " ", name, t, d / 1e9));
    }
  }

  // Walks resource → scope → item of a request (the Msg triple of its signal),
  // checking every field on the way; calls item(field, depth) for each item.
  template <typename Item>
  bool Walk(std::string_view request, Msg top, Msg resource, Msg scope, Item&& item);

  // An instrumentation scope names its library's version (a real SDK always does);
  // `scope` is a Scope{Spans,Metrics,Logs} message.
  void ScopeVersion(const Field& scope);
  bool Span(const Field& span, int depth);
  bool Metric(const Field& metric, int depth);
  bool Point(Msg type, const Field& point, std::string_view metric, bool check, int depth);
  // A well-formed exemplar: its IDs, when it has them, are a span's.
  void Exemplar(const Field& exemplar, std::string_view metric);
  bool LogRecord(const Field& record, int depth);

  uint64_t now_ = 0;
  int64_t skew_ = 0;
  std::vector<std::pair<std::string, std::string>>* out_ = nullptr;
  SpanLinks* links_ = nullptr;
  // Per request, for the span-tree checks (kept per thread for their capacity).
  std::vector<NamedSpan> spans_;
  std::vector<SortKey> parents_;
  std::vector<std::pair<uint64_t, uint64_t>> roots_;
  std::vector<Field> events_, data_;
};

template <typename Item>
bool Checker::Walk(std::string_view request, Msg top, Msg resource, Msg scope, Item&& item) {
  auto each = [](const uint8_t* data, size_t size, Msg msg, uint32_t number, int depth, auto&& fn) {
    FieldReader r(data, size);
    Field f;
    while (r.Next(&f)) {
      const bool ok =
          f.number == number && f.type == wire::kLen ? fn(f) : FieldDecodes(msg, f, depth);
      if (!ok) return false;
    }
    return !r.error();
  };
  return each(reinterpret_cast<const uint8_t*>(request.data()), request.size(), top, 1, 0,
              [&](const Field& rf) {
                return each(rf.data, rf.size, resource, 2, 1, [&](const Field& sf) {
                  ScopeVersion(sf);
                  return each(sf.data, sf.size, scope, 2, 2,
                              [&](const Field& it) { return item(it, 3); });
                });
              });
}

bool Checker::Traces(std::string_view request) {
  spans_.clear();
  parents_.clear();
  roots_.clear();
  if (!Walk(request, Msg::kTraceRequest, Msg::kResourceSpans, Msg::kScopeSpans,
            [&](const Field& f, int depth) { return Span(f, depth); })) {
    return false;
  }
  // A trace split across requests (bigger than one request) has parents elsewhere;
  // the check applies to traces whose root is in this request, where parents,
  // generated before their children, must be too.
  std::stable_sort(spans_.begin(), spans_.end());
  for (size_t i = 1; i < spans_.size(); ++i) {
    if (spans_[i].key == spans_[i - 1].key) {
      Problem("duplicate_span_id", StrCat("span '", spans_[i].name, "'"));
    }
  }
  std::sort(roots_.begin(), roots_.end());
  for (const SortKey& p : parents_) {
    if (std::binary_search(roots_.begin(), roots_.end(), std::pair{p.a, p.b}) &&
        !std::binary_search(spans_.begin(), spans_.end(), NamedSpan{p, {}})) {
      Problem("parent_not_in_request", "a span's parent is not in its request");
    }
  }
  return true;
}

void Checker::ScopeVersion(const Field& scope) {
  FieldReader r(scope.data, scope.size);
  Field f;
  std::string_view name, version;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != wire::kLen) continue;
    FieldReader ir(f.data, f.size);
    Field g;
    while (ir.Next(&g)) {
      if (g.type != wire::kLen) continue;
      if (g.number == 1) name = Text(g);
      if (g.number == 2) version = Text(g);
    }
  }
  if (version.empty()) {
    Problem("scope_without_version",
            name.empty() ? std::string("a scope with no name") : StrCat("scope '", name, "'"));
  }
}

bool Checker::Span(const Field& span, int depth) {
  std::string_view trace, id, parent, name;
  uint64_t start = 0, end = 0;
  std::vector<Field>& events = events_;
  events.clear();
  FieldReader r(span.data, span.size);
  Field f;
  while (r.Next(&f)) {
    if (f.type == wire::kLen) {
      switch (f.number) {
        case 1: trace = Text(f); break;
        case 2: id = Text(f); break;
        case 4: parent = Text(f); break;
        case 5: name = Text(f); break;
        case 11: events.push_back(f); continue;  // Checked below, with the span's times.
      }
    } else if (f.type == wire::kI64) {
      if (f.number == 7) start = wire::LoadLE64(f.data);
      if (f.number == 8) end = wire::LoadLE64(f.data);
    }
    if (!FieldDecodes(Msg::kSpan, f, depth)) return false;
  }
  if (r.error()) return false;
  auto named = [&] { return StrCat("span '", name, "'"); };
  if (!ValidId(trace, 16)) Problem("bad_trace_id", named());
  if (!ValidId(id, 8)) Problem("bad_span_id", named());
  if (parent.empty()) {
    const SortKey t = KeyOf(trace, id);
    roots_.emplace_back(t.a, t.b);
  } else if (!ValidId(parent, 8)) {
    Problem("bad_parent_span_id", named());
  } else {
    parents_.push_back(KeyOf(trace, parent));
  }
  spans_.push_back({KeyOf(trace, id), name});
  if (links_ != nullptr) links_->spans.push_back(SpanKey(trace, id));
  Time(start, "", "span start");
  if (end < start) Problem("end_before_start", named());
  // A real SDK exports a span once it has ended.
  if (end > now_) {
    Problem("span_ends_after_receipt",
            fmt::format("{} ends {:.3f}s after it was received", named(), (end - now_) / 1e9));
  }
  for (const Field& e : events) {
    uint64_t time = 0;
    std::string_view event_name;
    FieldReader er(e.data, e.size);
    while (er.Next(&f)) {
      if (f.number == 1 && f.type == wire::kI64) time = wire::LoadLE64(f.data);
      if (f.number == 2 && f.type == wire::kLen) event_name = Text(f);
      if (!FieldDecodes(Msg::kEvent, f, depth + 1)) return false;
    }
    if (er.error() || depth + 1 > kMaxDepth) return false;
    if (time < start || time > end) {
      Problem("event_outside_span", StrCat("event '", event_name, "' of ", named()));
    }
  }
  return true;
}

bool Checker::Metrics(std::string_view request) {
  return Walk(request, Msg::kMetricsRequest, Msg::kResourceMetrics, Msg::kScopeMetrics,
              [&](const Field& f, int depth) { return Metric(f, depth); });
}

bool Checker::Metric(const Field& metric, int depth) {
  std::string_view name;
  std::vector<Field>& data = data_;
  data.clear();
  FieldReader r(metric.data, metric.size);
  Field f;
  while (r.Next(&f)) {
    if (f.type == wire::kLen) {
      if (f.number == 1) name = Text(f);
      if (f.number == 5 || f.number == 7 || f.number == 9 || f.number == 10 || f.number == 11) {
        data.push_back(f);
        continue;
      }
    }
    if (!FieldDecodes(Msg::kMetric, f, depth)) return false;
  }
  if (r.error()) return false;
  // `data` is a oneof: the last case seen is the metric's (occurrences of it merge).
  const uint32_t kind = data.empty() ? 0 : data.back().number;
  for (const Field& d : data) {
    const Msg msg = d.number == 5    ? Msg::kGauge
                    : d.number == 7  ? Msg::kSum
                    : d.number == 9  ? Msg::kHistogram
                    : d.number == 10 ? Msg::kExpHistogram
                                     : Msg::kSummary;
    const Msg point = d.number == 9    ? Msg::kHistogramPoint
                      : d.number == 10 ? Msg::kExpHistogramPoint
                      : d.number == 11 ? Msg::kSummaryPoint
                                       : Msg::kNumberPoint;
    if (depth + 1 > kMaxDepth) return false;
    FieldReader dr(d.data, d.size);
    while (dr.Next(&f)) {
      const bool ok = f.number == 1 && f.type == wire::kLen
                          ? Point(point, f, name, d.number == kind, depth + 2)
                          : FieldDecodes(msg, f, depth + 1);
      if (!ok) return false;
    }
    if (dr.error()) return false;
  }
  return true;
}

// One data point: its structure, and with `check` (a point of the metric's data
// case) what a backend checks in it.
bool Checker::Point(Msg type, const Field& point, std::string_view metric, bool check, int depth) {
  if (depth > kMaxDepth) return false;
  uint64_t start = 0, time = 0, count = 0, bucket_total = 0;
  size_t buckets = 0, bounds = 0;
  const bool histogram = type == Msg::kHistogramPoint;
  const uint32_t exemplar = histogram                         ? 8
                            : type == Msg::kExpHistogramPoint ? 11
                            : type == Msg::kNumberPoint       ? 5
                                                              : 0;
  FieldReader r(point.data, point.size);
  Field f;
  while (r.Next(&f)) {
    if (f.type == wire::kLen && f.number == exemplar && exemplar != 0 && check) {
      if (!FieldDecodes(type, f, depth)) return false;
      Exemplar(f, metric);
      continue;
    }
    if (f.type == wire::kI64) {
      if (f.number == 2) start = wire::LoadLE64(f.data);
      if (f.number == 3) time = wire::LoadLE64(f.data);
      if (histogram && f.number == 4) count = wire::LoadLE64(f.data);
      if (histogram && f.number == 6) {
        ++buckets;
        bucket_total += wire::LoadLE64(f.data);
      }
      if (histogram && f.number == 7) ++bounds;
    } else if (histogram && f.type == wire::kLen && (f.number == 6 || f.number == 7)) {
      if (f.size % 8 != 0) return false;
      if (f.number == 7) {
        bounds += f.size / 8;
      } else {
        buckets += f.size / 8;
        for (size_t i = 0; i < f.size; i += 8) bucket_total += wire::LoadLE64(f.data + i);
      }
    }
    if (!FieldDecodes(type, f, depth)) return false;
  }
  if (r.error()) return false;
  if (!check) return true;
  Time(time, metric, "time");
  if (start != 0 && start > time) Problem("start_after_time", std::string(metric));
  if (histogram && (buckets != bounds + 1 || bucket_total != count)) {
    Problem("histogram_inconsistent", std::string(metric));
  }
  return true;
}

void Checker::Exemplar(const Field& exemplar, std::string_view metric) {
  std::string_view trace, span;
  FieldReader r(exemplar.data, exemplar.size);
  Field f;
  while (r.Next(&f)) {
    if (f.type != wire::kLen) continue;
    if (f.number == 5) trace = Text(f);
    if (f.number == 4) span = Text(f);
  }
  if (trace.empty() && span.empty()) return;  // An exemplar outside any trace.
  auto what = [&] { return StrCat("exemplar of ", metric); };
  const bool trace_ok = ValidId(trace, 16), span_ok = ValidId(span, 8);
  if (!trace_ok) Problem("bad_trace_id", what());
  if (!span_ok) Problem("bad_span_id", what());
  if (trace_ok && span_ok && links_ != nullptr) links_->exemplars.push_back(SpanKey(trace, span));
}

bool Checker::Logs(std::string_view request) {
  return Walk(request, Msg::kLogsRequest, Msg::kResourceLogs, Msg::kScopeLogs,
              [&](const Field& f, int depth) { return LogRecord(f, depth); });
}

bool Checker::LogRecord(const Field& record, int depth) {
  uint64_t time = 0, observed = 0;
  std::string_view trace, span;
  FieldReader r(record.data, record.size);
  Field f;
  while (r.Next(&f)) {
    if (f.type == wire::kI64) {
      if (f.number == 1) time = wire::LoadLE64(f.data);
      if (f.number == 11) observed = wire::LoadLE64(f.data);
    } else if (f.type == wire::kLen) {
      if (f.number == 9) trace = Text(f);
      if (f.number == 10) span = Text(f);
    }
    if (!FieldDecodes(Msg::kLogRecord, f, depth)) return false;
  }
  if (r.error()) return false;
  if (time != 0) Time(time, "", "log time");
  if (observed != 0) Time(observed, "", "log observed time");
  if (!trace.empty() && !ValidId(trace, 16)) Problem("bad_trace_id", "log record");
  if (!span.empty() && !ValidId(span, 8)) Problem("bad_span_id", "log record");
  if (!span.empty() && trace.empty()) Problem("span_without_trace", "log record");
  if (links_ != nullptr && ValidId(trace, 16) && ValidId(span, 8)) {
    links_->logs.push_back(SpanKey(trace, span));
  }
  return true;
}

}  // namespace

uint64_t SpanKey(std::string_view trace_id, std::string_view span_id) {
  const SortKey k = KeyOf(trace_id, span_id);
  return Fmix64(k.a ^ Fmix64(k.b ^ Fmix64(k.c)));
}

void ValidateRequest(Signal signal, std::string_view request, uint64_t now_ns, int64_t max_skew_ns,
                     std::vector<std::pair<std::string, std::string>>* problems, SpanLinks* links) {
  // Problems found before the walk fails are not the request's: it is refused whole.
  const size_t before = problems->size();
  if (links != nullptr) links->clear();
  thread_local Checker check;
  check.Reset(now_ns, max_skew_ns, problems, links);
  bool decoded = false;
  switch (signal) {
    case Signal::kTraces: decoded = check.Traces(request); break;
    case Signal::kMetrics: decoded = check.Metrics(request); break;
    case Signal::kLogs: decoded = check.Logs(request); break;
  }
  if (!decoded) {
    if (links != nullptr) links->clear();
    problems->resize(before);
    problems->emplace_back("undecodable_request", "protobuf parse failed");
  }
}

}  // namespace loadgen
