#include "generator/import.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common/atomic_file.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"
#include "common/wire.h"
#include "fmt/format.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "proto/otlp_json.h"
#include "yaml-cpp/yaml.h"

namespace loadgen {
namespace {

namespace cm = opentelemetry::proto::common::v1;
namespace tr = opentelemetry::proto::trace::v1;
namespace mp = opentelemetry::proto::metrics::v1;
namespace lg = opentelemetry::proto::logs::v1;
using TraceRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using MetricsRequest = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using LogsRequest = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;

// One captured request, in the protobuf encoding, and where it came from.
struct Captured {
  Signal signal = Signal::kTraces;
  std::string bytes;
  std::string where;  // file:line, or file (a binary request).
};

// The signal of a binary Export request, told by its first item: a span starts with a
// 16-byte trace ID and an 8-byte span ID, a log record has fixed64 times (fields 1,
// 11), a metric a name and its data (fields 5, 7, 9, 10, 11). Empty: no item to tell by.
std::optional<Signal> BinarySignal(std::string_view request) {
  auto first = [](std::string_view msg, uint32_t number) -> std::optional<wire::Field> {
    wire::FieldReader r(msg);
    wire::Field f;
    while (r.Next(&f)) {
      if (f.number == number && f.type == wire::kLen) return f;
    }
    return std::nullopt;
  };
  auto view = [](const wire::Field& f) {
    return std::string_view(reinterpret_cast<const char*>(f.data), f.size);
  };
  const auto resource = first(request, 1);
  const auto scope = resource ? first(view(*resource), 2) : std::nullopt;
  const auto item = scope ? first(view(*scope), 2) : std::nullopt;
  if (!item) return std::nullopt;
  bool trace_id = false, span_id = false, fixed_time = false, name = false, data = false;
  wire::FieldReader r(view(*item));
  wire::Field f;
  while (r.Next(&f)) {
    if (f.number == 1 && f.type == wire::kLen) (f.size == 16 ? trace_id : name) = true;
    if (f.number == 2 && f.type == wire::kLen && f.size == 8) span_id = true;
    if ((f.number == 1 || f.number == 11) && f.type == wire::kI64) fixed_time = true;
    if (f.number >= 5 && f.number <= 11 && f.number != 6 && f.number != 8 && f.type == wire::kLen) {
      data = true;
    }
  }
  if (trace_id && span_id) return Signal::kTraces;
  if (fixed_time) return Signal::kLogs;
  if (name && data) return Signal::kMetrics;
  return std::nullopt;
}

// The signal of an OTLP/JSON request: the first of its top-level lists named in it.
std::optional<Signal> JsonSignal(std::string_view line) {
  std::optional<Signal> signal;
  size_t best = std::string_view::npos;
  for (auto [key, s] :
       {std::pair{"resourceSpans", Signal::kTraces}, std::pair{"resource_spans", Signal::kTraces},
        std::pair{"resourceMetrics", Signal::kMetrics},
        std::pair{"resource_metrics", Signal::kMetrics}, std::pair{"resourceLogs", Signal::kLogs},
        std::pair{"resource_logs", Signal::kLogs}}) {
    const size_t at = line.find(StrCat("\"", key, "\""));
    if (at < best) {
      best = at;
      signal = s;
    }
  }
  return signal;
}

// Reads the inputs one request at a time: a line of OTLP/JSON, or a binary file.
class CapturedReader {
 public:
  // Requests of a signal `only` does not name are skipped unread (pass 1 needs traces).
  explicit CapturedReader(const std::vector<std::string>& files,
                          std::optional<Signal> only = std::nullopt)
      : files_(files), only_(only) {}

  // The next request into *out; false after the last.
  absl::StatusOr<bool> Next(Captured* out) {
    while (true) {
      if (!in_.is_open()) {
        if (next_file_ == files_.size()) return false;
        RETURN_IF_ERROR(Open(files_[next_file_++]));
        if (!json_) {
          in_.close();
          *out = std::move(binary_);
          return true;
        }
      }
      std::string line;
      if (!std::getline(in_, line)) {
        if (in_.bad()) return absl::DataLossError(StrCat(file_, ": read failed"));
        in_.close();
        continue;
      }
      ++line_;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = StrCat(file_, ":", line_);
      const std::optional<Signal> signal = JsonSignal(line);
      if (!signal) {
        return absl::InvalidArgumentError(
            StrCat(where,
                   ": not an OTLP/JSON request (expected an object with resourceSpans, "
                   "resourceMetrics or resourceLogs)"));
      }
      out->signal = *signal;
      out->where = where;
      if (only_ && *only_ != *signal) {
        out->bytes.clear();
        return true;
      }
      if (absl::Status s = OtlpJsonToBinary(*signal, line, &out->bytes); !s.ok()) {
        return absl::InvalidArgumentError(StrCat(where, ": ", s.message()));
      }
      return true;
    }
  }

 private:
  absl::Status Open(const std::string& file) {
    file_ = file;
    line_ = 0;
    in_.open(file, std::ios::binary);
    if (!in_) return absl::NotFoundError(StrCat(file, ": cannot open"));
    int c;
    while ((c = in_.peek()) == ' ' || c == '\n' || c == '\r' || c == '\t') in_.get();
    json_ = c == '{';
    if (json_ || c == EOF) return absl::OkStatus();
    // Binary: one serialized Export request, the whole file.
    in_.seekg(0);
    binary_.bytes.assign(std::istreambuf_iterator<char>(in_), {});
    binary_.where = file;
    return CheckBinary();
  }

  absl::Status CheckBinary() {
    const std::string& b = binary_.bytes;
    wire::FieldReader r(b);
    wire::Field f;
    const auto* start = reinterpret_cast<const uint8_t*>(b.data());
    size_t good = 0;
    while (r.Next(&f)) good = static_cast<size_t>(r.position() - start);
    if (r.error()) {
      return absl::InvalidArgumentError(
          StrCat(file_, ": byte offset ", good, ": truncated or malformed Export request (",
                 b.size(), " bytes; the last whole field ends at ", good, ")"));
    }
    const std::optional<Signal> signal = BinarySignal(b);
    if (!signal) {
      return absl::InvalidArgumentError(
          StrCat(file_, ": not an Export request with spans, data points or log records"));
    }
    binary_.signal = *signal;
    bool parsed = false;
    switch (*signal) {
      case Signal::kTraces: parsed = TraceRequest().ParseFromString(b); break;
      case Signal::kMetrics: parsed = MetricsRequest().ParseFromString(b); break;
      case Signal::kLogs: parsed = LogsRequest().ParseFromString(b); break;
    }
    if (!parsed) {
      return absl::InvalidArgumentError(StrCat(file_, ": byte offset 0: not a well-formed Export",
                                               SignalName(*signal), "ServiceRequest"));
    }
    return absl::OkStatus();
  }

  const std::vector<std::string>& files_;
  const std::optional<Signal> only_;
  size_t next_file_ = 0;
  std::string file_;
  std::ifstream in_;
  bool json_ = false;
  int64_t line_ = 0;
  Captured binary_;
};

// Template IDs: a fixed hash of the captured ones, never zero.
TraceId TemplateTrace(std::string_view id) {
  if (id.size() != 16) return {};
  const TraceId t = TraceId::Load(reinterpret_cast<const uint8_t*>(id.data()));
  return {Fmix64(t.lo ^ 0x696D706F72742D74ull) | 1, Fmix64(t.hi ^ Fmix64(t.lo)) | 1};
}
std::string TraceBytes(const TraceId& t) {
  std::string out(16, '\0');
  t.Store(reinterpret_cast<uint8_t*>(out.data()));
  return out;
}
// A span ID is keyed by its trace too (IDs need only be unique within a trace).
std::string TemplateSpan(std::string_view trace, std::string_view span) {
  if (span.size() != 8) return std::string(span.empty() ? "" : span);
  uint64_t s;
  std::memcpy(&s, span.data(), 8);
  const TraceId t = TemplateTrace(trace);
  uint64_t v = Fmix64(s ^ t.lo ^ Fmix64(t.hi)) | 1;
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}
void RenumberContext(std::string* trace, std::string* span) {
  const std::string original = *trace;
  if (original.size() == 16) *trace = TraceBytes(TemplateTrace(original));
  if (!span->empty()) *span = TemplateSpan(original, *span);
}

// --scrub and --hash.
class Scrubber {
 public:
  Scrubber(const std::vector<std::string>& remove, const std::vector<std::string>& hash)
      : remove_(remove.begin(), remove.end()), hash_(hash.begin(), hash.end()) {}
  bool empty() const { return remove_.empty() && hash_.empty(); }
  void Apply(google::protobuf::RepeatedPtrField<cm::KeyValue>* attrs) const {
    if (empty()) return;
    for (int i = attrs->size() - 1; i >= 0; --i) {
      cm::KeyValue& kv = attrs->at(i);
      if (remove_.count(kv.key())) {
        attrs->DeleteSubrange(i, 1);
      } else if (hash_.count(kv.key())) {
        // FNV-1a of the value's bytes: the same value gets the same hash everywhere.
        uint64_t h = 0xcbf29ce484222325ull;
        for (char ch : kv.value().SerializeAsString()) {
          h = (h ^ static_cast<uint8_t>(ch)) * 0x100000001b3ull;
        }
        kv.mutable_value()->set_string_value(fmt::format("hash:{:016x}", Fmix64(h)));
      }
    }
  }

 private:
  std::unordered_set<std::string> remove_, hash_;
};

// Requests under construction for one signal, written as chunks of about max_bytes;
// items are grouped under their resource and scope, in the order first seen.
template <typename Request>
class ChunkWriter {
 public:
  ChunkWriter(TemplateWriter* out, int64_t max_bytes) : out_(out), max_bytes_(max_bytes) {}
  // The envelope in the current request for the resource and scope heads (interned:
  // ids and serialized Resource*/Scope* messages without their items).
  template <typename ResourceItems, typename ScopeItems>
  ScopeItems* Scope(size_t resource, size_t scope, const std::vector<std::string>& heads,
                    google::protobuf::RepeatedPtrField<ResourceItems>* (Request::*resources)(),
                    google::protobuf::RepeatedPtrField<ScopeItems>* (ResourceItems::*scopes)()) {
    auto [rit, rnew] = resources_.try_emplace(resource, 0);
    if (rnew) {
      (request_.*resources)()->Add()->ParseFromString(heads[resource]);
      rit->second = (request_.*resources)()->size() - 1;
    }
    ResourceItems* r = (request_.*resources)()->Mutable(rit->second);
    auto [sit, snew] = scopes_.try_emplace({resource, scope}, 0);
    if (snew) {
      (r->*scopes)()->Add()->ParseFromString(heads[scope]);
      sit->second = (r->*scopes)()->size() - 1;
    }
    return (r->*scopes)()->Mutable(sit->second);
  }
  // Counts `items` of `bytes` just added; a chunk past max_bytes is written.
  absl::Status Added(uint64_t items, size_t bytes) {
    items_ += items;
    bytes_ += bytes;
    return bytes_ >= static_cast<size_t>(max_bytes_) ? Flush() : absl::OkStatus();
  }
  absl::Status Flush() {
    if (items_ == 0) return absl::OkStatus();
    const std::string payload = request_.SerializeAsString();
    if (payload.size() > kMaxChunkBytes) {
      return absl::InvalidArgumentError(
          fmt::format("a trace of {} bytes is larger than a chunk may be ({})", payload.size(),
                      kMaxChunkBytes));
    }
    RETURN_IF_ERROR(out_->Append(payload, items_));
    request_.Clear();
    resources_.clear();
    scopes_.clear();
    items_ = 0;
    bytes_ = 0;
    return absl::OkStatus();
  }
  size_t pending_bytes() const { return bytes_; }

 private:
  TemplateWriter* out_;
  int64_t max_bytes_;
  Request request_;
  std::unordered_map<size_t, int> resources_;
  std::map<std::pair<size_t, size_t>, int> scopes_;
  uint64_t items_ = 0;
  size_t bytes_ = 0;
};

// Pass 1, per trace: its first start, and the last request that holds one of its spans.
struct TraceExtent {
  uint64_t first_start = UINT64_MAX;
  uint64_t last_request = 0;
};
using TraceExtents = std::unordered_map<TraceId, TraceExtent, TraceIdHash>;

absl::StatusOr<TraceExtents> MeasureTraces(const std::vector<std::string>& inputs) {
  TraceExtents extents;
  CapturedReader reader(inputs, Signal::kTraces);
  Captured c;
  for (uint64_t n = 0;; ++n) {
    ASSIGN_OR_RETURN(bool more, reader.Next(&c));
    if (!more) break;
    if (c.signal != Signal::kTraces) continue;
    TraceRequest req;
    if (!req.ParseFromString(c.bytes)) {
      return absl::InvalidArgumentError(StrCat(c.where, ": not a well-formed trace request"));
    }
    for (const auto& rs : req.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          if (span.trace_id().size() != 16) {
            return absl::InvalidArgumentError(StrCat(c.where, ": a span with a trace ID of ",
                                                     span.trace_id().size(),
                                                     " bytes (16 expected)"));
          }
          TraceExtent& e =
              extents[TraceId::Load(reinterpret_cast<const uint8_t*>(span.trace_id().data()))];
          e.first_start = std::min<uint64_t>(e.first_start, span.start_time_unix_nano());
          e.last_request = n;
        }
      }
    }
  }
  return extents;
}

// A trace's spans as they arrive, with their envelopes, until its last request.
struct OpenTrace {
  std::vector<std::tuple<size_t, size_t, tr::Span>> spans;  // Resource and scope heads.
};

// A Resource* or Scope* message without its items, serialized: what groups them.
template <typename Envelope, typename Items>
std::string Head(Envelope& e, Items* items) {
  Items held;
  held.Swap(items);
  std::string head = e.SerializeAsString();
  held.Swap(items);
  return head;
}

// Pass 2 and the output.
class Importer {
 public:
  Importer(const ImportOptions& o, TraceExtents extents)
      : options_(o), extents_(std::move(extents)), scrub_(o.scrub, o.hash) {}

  absl::Status Run(ImportSummary* summary) {
    const std::string base =
        (std::filesystem::path(options_.output_directory) / options_.prefix).string();
    CapturedReader reader(options_.inputs);
    Captured c;
    for (uint64_t n = 0;; ++n) {
      ASSIGN_OR_RETURN(bool more, reader.Next(&c));
      if (!more) break;
      switch (c.signal) {
        case Signal::kTraces: RETURN_IF_ERROR(Traces(base, c, n)); break;
        case Signal::kMetrics: RETURN_IF_ERROR(Metrics(c)); break;
        case Signal::kLogs: RETURN_IF_ERROR(Logs(base, c)); break;
      }
    }
    RETURN_IF_ERROR(WriteMetrics(base));
    if (trace_chunks_ != nullptr) RETURN_IF_ERROR(trace_chunks_->Flush());
    if (log_chunks_ != nullptr) RETURN_IF_ERROR(log_chunks_->Flush());
    if (traces_done_ == 0 && series_.empty() && log_chunks_ == nullptr) {
      return absl::InvalidArgumentError(
          "import: the inputs hold no spans, data points or log records");
    }
    // Every file is complete before any is renamed into place.
    summary->trace_count = traces_done_;
    summary->series_dropped = series_dropped_;
    for (auto [w, file, name] : {std::tuple{trace_writer_.get(), &summary->traces, "-traces.pb"},
                                 std::tuple{metric_writer_.get(), &summary->metrics, "-metrics.pb"},
                                 std::tuple{log_writer_.get(), &summary->logs, "-logs.pb"}}) {
      if (w == nullptr) continue;
      RETURN_IF_ERROR(w->Commit());
      file->path = base + name;
      file->bytes = w->bytes_written();
      file->chunks = w->chunk_count();
      file->items = w->item_count();
    }
    services_.erase(std::remove(services_.begin(), services_.end(), ""), services_.end());
    summary->metadata_path = base + "-metadata.yaml";
    return WriteMetadata(*summary);
  }

 private:
  void NoteService(const opentelemetry::proto::resource::v1::Resource& r) {
    for (const auto& kv : r.attributes()) {
      if (kv.key() == "service.name" && std::find(services_.begin(), services_.end(),
                                                  kv.value().string_value()) == services_.end()) {
        services_.push_back(kv.value().string_value());
      }
    }
  }

  absl::Status Traces(const std::string& base, const Captured& c, uint64_t n) {
    TraceRequest req;
    if (!req.ParseFromString(c.bytes)) {
      return absl::InvalidArgumentError(StrCat(c.where, ": not a well-formed trace request"));
    }
    if (trace_writer_ == nullptr) {
      ASSIGN_OR_RETURN(trace_writer_, TemplateWriter::Create(base + "-traces.pb", Signal::kTraces));
      trace_chunks_ = std::make_unique<ChunkWriter<TraceRequest>>(trace_writer_.get(),
                                                                  options_.max_chunk_bytes);
    }
    std::vector<TraceId> order;  // Traces in the order this request shows them.
    for (auto& rs : *req.mutable_resource_spans()) {
      scrub_.Apply(rs.mutable_resource()->mutable_attributes());
      NoteService(rs.resource());
      const size_t r = Intern(&heads_, Head(rs, rs.mutable_scope_spans()));
      for (auto& ss : *rs.mutable_scope_spans()) {
        const size_t sc = Intern(&heads_, Head(ss, ss.mutable_spans()));
        for (auto& span : *ss.mutable_spans()) {
          const TraceId id =
              TraceId::Load(reinterpret_cast<const uint8_t*>(span.trace_id().data()));
          auto [it, fresh] = open_.try_emplace(id);
          if (fresh) order.push_back(id);
          Rewrite(extents_.at(id).first_start, &span);
          it->second.spans.emplace_back(r, sc, std::move(span));
        }
      }
    }
    for (const TraceId& id : order) {
      if (extents_.at(id).last_request != n) continue;  // More of it comes later.
      RETURN_IF_ERROR(EmitTrace(open_.at(id)));
      open_.erase(id);
      ++traces_done_;
    }
    // Traces opened in an earlier request and finished in this one.
    std::vector<TraceId> done;
    for (const auto& [id, t] : open_) {
      if (extents_.at(id).last_request == n) done.push_back(id);
    }
    std::sort(done.begin(), done.end(), [](const TraceId& a, const TraceId& b) {
      return std::tie(a.hi, a.lo) < std::tie(b.hi, b.lo);
    });
    for (const TraceId& id : done) {
      RETURN_IF_ERROR(EmitTrace(open_.at(id)));
      open_.erase(id);
      ++traces_done_;
    }
    return absl::OkStatus();
  }

  // A whole trace goes into one chunk, so the sender keeps its spans' relative timing.
  absl::Status EmitTrace(const OpenTrace& t) {
    size_t bytes = 0;
    for (const auto& [r, s, span] : t.spans) bytes += span.ByteSizeLong();
    if (trace_chunks_->pending_bytes() > 0 &&
        trace_chunks_->pending_bytes() + bytes > static_cast<size_t>(options_.max_chunk_bytes)) {
      RETURN_IF_ERROR(trace_chunks_->Flush());
    }
    for (const auto& [r, s, span] : t.spans) {
      *trace_chunks_
           ->Scope(r, s, heads_.first, &TraceRequest::mutable_resource_spans,
                   &tr::ResourceSpans::mutable_scope_spans)
           ->add_spans() = span;
    }
    return trace_chunks_->Added(t.spans.size(), bytes);
  }

  void Rewrite(uint64_t first_start, tr::Span* span) const {
    auto at = [&](uint64_t t) {
      return t >= first_start ? kTemplateEpochNs + (t - first_start) : kTemplateEpochNs;
    };
    const std::string trace = span->trace_id();
    span->set_trace_id(TraceBytes(TemplateTrace(trace)));
    span->set_span_id(TemplateSpan(trace, span->span_id()));
    if (!span->parent_span_id().empty()) {
      span->set_parent_span_id(TemplateSpan(trace, span->parent_span_id()));
    }
    span->set_start_time_unix_nano(at(span->start_time_unix_nano()));
    span->set_end_time_unix_nano(
        std::max(span->start_time_unix_nano(), at(span->end_time_unix_nano())));
    scrub_.Apply(span->mutable_attributes());
    for (auto& e : *span->mutable_events()) {
      e.set_time_unix_nano(at(e.time_unix_nano()));
      scrub_.Apply(e.mutable_attributes());
    }
    for (auto& l : *span->mutable_links()) {
      RenumberContext(l.mutable_trace_id(), l.mutable_span_id());
      scrub_.Apply(l.mutable_attributes());
    }
  }

  absl::Status Logs(const std::string& base, const Captured& c) {
    LogsRequest req;
    if (!req.ParseFromString(c.bytes)) {
      return absl::InvalidArgumentError(StrCat(c.where, ": not a well-formed logs request"));
    }
    if (log_writer_ == nullptr) {
      ASSIGN_OR_RETURN(log_writer_, TemplateWriter::Create(base + "-logs.pb", Signal::kLogs));
      log_chunks_ =
          std::make_unique<ChunkWriter<LogsRequest>>(log_writer_.get(), options_.max_chunk_bytes);
    }
    for (auto& rl : *req.mutable_resource_logs()) {
      scrub_.Apply(rl.mutable_resource()->mutable_attributes());
      NoteService(rl.resource());
      const size_t r = Intern(&heads_, Head(rl, rl.mutable_scope_logs()));
      for (auto& sl : *rl.mutable_scope_logs()) {
        const size_t sc = Intern(&heads_, Head(sl, sl.mutable_log_records()));
        for (auto& record : *sl.mutable_log_records()) {
          const uint64_t time = record.time_unix_nano();
          const uint64_t observed = record.observed_time_unix_nano();
          record.set_time_unix_nano(kTemplateEpochNs);
          const uint64_t from = time != 0 ? time : observed;
          record.set_observed_time_unix_nano(observed >= from ? kTemplateEpochNs + (observed - from)
                                                              : kTemplateEpochNs);
          RenumberContext(record.mutable_trace_id(), record.mutable_span_id());
          scrub_.Apply(record.mutable_attributes());
          const size_t bytes = record.ByteSizeLong();
          *log_chunks_
               ->Scope(r, sc, heads_.first, &LogsRequest::mutable_resource_logs,
                       &lg::ResourceLogs::mutable_scope_logs)
               ->add_log_records() = std::move(record);
          RETURN_IF_ERROR(log_chunks_->Added(1, bytes));
        }
      }
    }
    return absl::OkStatus();
  }

  // A metric series' identity, for keeping its last point only.
  struct Series {
    size_t resource, scope, metric;  // Indexes into the tables below.
    std::string point;               // The point, serialized, at the epoch.
  };

  absl::Status Metrics(const Captured& c) {
    MetricsRequest req;
    if (!req.ParseFromString(c.bytes)) {
      return absl::InvalidArgumentError(StrCat(c.where, ": not a well-formed metrics request"));
    }
    for (auto& rm : *req.mutable_resource_metrics()) {
      scrub_.Apply(rm.mutable_resource()->mutable_attributes());
      NoteService(rm.resource());
      mp::ResourceMetrics rhead;
      *rhead.mutable_resource() = rm.resource();
      rhead.set_schema_url(rm.schema_url());
      const size_t r = Intern(&resources_, rhead.SerializeAsString());
      for (auto& sm : *rm.mutable_scope_metrics()) {
        mp::ScopeMetrics shead;
        *shead.mutable_scope() = sm.scope();
        shead.set_schema_url(sm.schema_url());
        const size_t s = Intern(&scopes_, shead.SerializeAsString());
        for (auto& m : *sm.mutable_metrics()) RETURN_IF_ERROR(MetricPoints(r, s, &m));
      }
    }
    return absl::OkStatus();
  }

  // Each point of `m` as its series' latest, under a copy of the metric with no points.
  absl::Status MetricPoints(size_t r, size_t s, mp::Metric* m) {
    mp::Metric head = *m;
    std::vector<std::string> points;
    auto take = [&](auto* list) {
      for (auto& p : *list) {
        scrub_.Apply(p.mutable_attributes());
        if (p.start_time_unix_nano() != 0) p.set_start_time_unix_nano(kTemplateEpochNs);
        p.set_time_unix_nano(kTemplateEpochNs);
        if constexpr (requires { p.mutable_exemplars(); }) {  // Summaries have none.
          for (auto& e : *p.mutable_exemplars()) {
            e.set_time_unix_nano(kTemplateEpochNs);
            RenumberContext(e.mutable_trace_id(), e.mutable_span_id());
          }
        }
        points.push_back(p.SerializeAsString());
      }
      list->Clear();
    };
    switch (head.data_case()) {
      case mp::Metric::kGauge: take(head.mutable_gauge()->mutable_data_points()); break;
      case mp::Metric::kSum: take(head.mutable_sum()->mutable_data_points()); break;
      case mp::Metric::kHistogram: take(head.mutable_histogram()->mutable_data_points()); break;
      case mp::Metric::kExponentialHistogram:
        take(head.mutable_exponential_histogram()->mutable_data_points());
        break;
      case mp::Metric::kSummary: take(head.mutable_summary()->mutable_data_points()); break;
      default: return absl::OkStatus();  // No data: nothing to replay.
    }
    const size_t metric = Intern(&metrics_, head.SerializeAsString());
    for (std::string& p : points) {
      // The series: its resource, scope and metric, and the point's attributes.
      wire::FieldReader pr(p);
      wire::Field f;
      std::string attrs;
      const uint32_t attr_field = head.data_case() == mp::Metric::kHistogram              ? 9
                                  : head.data_case() == mp::Metric::kExponentialHistogram ? 1
                                                                                          : 7;
      while (pr.Next(&f)) {
        if (f.number == attr_field && f.type == wire::kLen) {
          attrs.append(reinterpret_cast<const char*>(f.data), f.size).push_back('\x1f');
        }
      }
      const std::string key = StrCat(r, "/", s, "/", metric, "/", attrs);
      auto [it, fresh] = series_index_.try_emplace(key, series_.size());
      if (fresh) {
        series_.push_back({r, s, metric, std::move(p)});
      } else {
        series_[it->second].point = std::move(p);  // A later capture of the same series.
        ++series_dropped_;
      }
    }
    return absl::OkStatus();
  }

  static size_t Intern(
      std::pair<std::vector<std::string>, std::unordered_map<std::string, size_t>>* t,
      std::string bytes) {
    auto [it, fresh] = t->second.try_emplace(bytes, t->first.size());
    if (fresh) t->first.push_back(std::move(bytes));
    return it->second;
  }

  absl::Status WriteMetrics(const std::string& base) {
    if (series_.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(metric_writer_,
                     TemplateWriter::Create(base + "-metrics.pb", Signal::kMetrics));
    // Series in the order first seen, under their metric, scope and resource.
    MetricsRequest req;
    std::map<std::tuple<size_t, size_t>, mp::ScopeMetrics*> scopes;
    std::map<std::tuple<size_t, size_t, size_t>, mp::Metric*> metrics;
    std::map<size_t, mp::ResourceMetrics*> resources;
    uint64_t items = 0;
    size_t bytes = 0;
    auto flush = [&]() -> absl::Status {
      if (items == 0) return absl::OkStatus();
      RETURN_IF_ERROR(metric_writer_->Append(req.SerializeAsString(), items));
      req.Clear();
      scopes.clear();
      metrics.clear();
      resources.clear();
      items = 0;
      bytes = 0;
      return absl::OkStatus();
    };
    for (const Series& s : series_) {
      mp::ResourceMetrics*& rm = resources[s.resource];
      if (rm == nullptr) {
        rm = req.add_resource_metrics();
        rm->ParseFromString(resources_.first[s.resource]);
      }
      mp::ScopeMetrics*& sm = scopes[{s.resource, s.scope}];
      if (sm == nullptr) {
        sm = rm->add_scope_metrics();
        sm->ParseFromString(scopes_.first[s.scope]);
      }
      mp::Metric*& m = metrics[{s.resource, s.scope, s.metric}];
      if (m == nullptr) {
        m = sm->add_metrics();
        m->ParseFromString(metrics_.first[s.metric]);
      }
      switch (m->data_case()) {
        case mp::Metric::kGauge:
          m->mutable_gauge()->add_data_points()->ParseFromString(s.point);
          break;
        case mp::Metric::kSum: m->mutable_sum()->add_data_points()->ParseFromString(s.point); break;
        case mp::Metric::kHistogram:
          m->mutable_histogram()->add_data_points()->ParseFromString(s.point);
          break;
        case mp::Metric::kExponentialHistogram:
          m->mutable_exponential_histogram()->add_data_points()->ParseFromString(s.point);
          break;
        case mp::Metric::kSummary:
          m->mutable_summary()->add_data_points()->ParseFromString(s.point);
          break;
        default: break;
      }
      ++items;
      bytes += s.point.size();
      if (bytes >= static_cast<size_t>(options_.max_chunk_bytes)) RETURN_IF_ERROR(flush());
    }
    return flush();
  }

  absl::Status WriteMetadata(const ImportSummary& summary) const {
    YAML::Emitter y;
    y << YAML::BeginMap;
    y << YAML::Key << "generator" << YAML::Value << "telemetry-generator import";
    y << YAML::Key << "template_format_version" << YAML::Value << kTemplateFormatVersion;
    y << YAML::Key << "imported_from" << YAML::Value << YAML::Flow << options_.inputs;
    if (!options_.scrub.empty()) {
      y << YAML::Key << "scrubbed" << YAML::Value << YAML::Flow << options_.scrub;
    }
    if (!options_.hash.empty()) {
      y << YAML::Key << "hashed" << YAML::Value << YAML::Flow << options_.hash;
    }
    auto file_entry = [&](const char* name, const SignalFileSummary& f, const char* items) {
      if (f.path.empty()) return false;
      y << YAML::Key << name << YAML::Value << YAML::BeginMap;
      y << YAML::Key << "file" << YAML::Value << f.path;
      y << YAML::Key << "bytes" << YAML::Value << f.bytes;
      y << YAML::Key << "chunks" << YAML::Value << f.chunks;
      y << YAML::Key << items << YAML::Value << f.items;
      return true;
    };
    if (file_entry("traces", summary.traces, "spans")) {
      y << YAML::Key << "traces" << YAML::Value << summary.trace_count << YAML::EndMap;
    }
    if (file_entry("metrics", summary.metrics, "data_points")) {
      y << YAML::Key << "series" << YAML::Value << summary.metrics.items;
      y << YAML::Key << "repeated_points_dropped" << YAML::Value << summary.series_dropped
        << YAML::EndMap;
    }
    if (file_entry("logs", summary.logs, "log_records")) y << YAML::EndMap;
    y << YAML::Key << "services" << YAML::Value << YAML::Flow << services_;
    y << YAML::Key << "estimated_sender_memory_bytes" << YAML::Value
      << SenderMemoryBytes(EstimatedTemplateBytes(
                               summary.traces.bytes + summary.metrics.bytes + summary.logs.bytes,
                               summary.traces.items, summary.metrics.items, summary.logs.items),
                           0, 0);
    y << YAML::EndMap;
    return WriteFileAtomically(summary.metadata_path, std::string(y.c_str()) + "\n");
  }

  const ImportOptions& options_;
  const TraceExtents extents_;
  const Scrubber scrub_;
  std::unique_ptr<TemplateWriter> trace_writer_, metric_writer_, log_writer_;
  std::unique_ptr<ChunkWriter<TraceRequest>> trace_chunks_;
  std::unique_ptr<ChunkWriter<LogsRequest>> log_chunks_;
  std::unordered_map<TraceId, OpenTrace, TraceIdHash> open_;
  uint64_t traces_done_ = 0, series_dropped_ = 0;
  // Interned serialized messages: trace and log envelope heads; metrics' resources,
  // scopes and metrics (without points).
  std::pair<std::vector<std::string>, std::unordered_map<std::string, size_t>> heads_, resources_,
      scopes_, metrics_;
  std::vector<Series> series_;
  std::unordered_map<std::string, size_t> series_index_;
  std::vector<std::string> services_;
};

}  // namespace

absl::StatusOr<ImportSummary> ImportCaptured(
    const ImportOptions& options, const std::function<void(const std::string&)>& progress) {
  if (options.inputs.empty()) return absl::InvalidArgumentError("import: no input files");
  std::error_code ec;
  std::filesystem::create_directories(options.output_directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("cannot create output directory '", options.output_directory, "': ", ec.message()));
  }
  if (progress) progress("import: pass 1 of 2: the traces' extents");
  ASSIGN_OR_RETURN(TraceExtents extents, MeasureTraces(options.inputs));
  if (progress) progress(fmt::format("import: pass 2 of 2: {} traces", extents.size()));
  ImportSummary summary;
  Importer importer(options, std::move(extents));
  RETURN_IF_ERROR(importer.Run(&summary));
  return summary;
}

}  // namespace loadgen
