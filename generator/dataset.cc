#include "generator/dataset.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>

#include "common/atomic_file.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"
#include "fmt/ranges.h"
#include "generator/logs.h"
#include "generator/metrics.h"
#include "generator/ordered_units.h"
#include "generator/otlp_draft.h"
#include "generator/scenario.h"
#include "generator/scenario_runner.h"
#include "generator/topology.h"
#include "generator/traces.h"
#include "google/protobuf/stubs/strutil.h"
#include "google/protobuf/util/json_util.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "yaml-cpp/yaml.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;

// Typical serialized sizes, from datasets made with the default config.
constexpr uint64_t kBytesPerSpan = 420;
constexpr uint64_t kBytesPerPoint = 160;
constexpr uint64_t kBytesPerLog = 360;

// Serializes into `out`, reusing its capacity: a fresh megabyte-sized buffer per chunk
// makes glibc consolidate its free lists every time, which dominated generation.
void SerializeInto(const google::protobuf::Message& m, std::string* out) {
  out->clear();
  google::protobuf::io::StringOutputStream stream(out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
}

// Where finished chunks go: the template file, and with --json also an OTLP/JSON file
// with one request per line (hex IDs, integer enums: the protocol's JSON mapping).
class ChunkOutput {
 public:
  ChunkOutput(TemplateWriter* writer, Signal signal) : writer_(writer), signal_(signal) {}
  absl::Status EnableJson(const std::string& path) {
    ASSIGN_OR_RETURN(json_, AtomicFile::Create(path));
    json_path_ = path;
    return absl::OkStatus();
  }
  absl::Status Append(const google::protobuf::Message& request, uint64_t items) {
    SerializeInto(request, &buffer_);
    return Append(buffer_, items);
  }
  // `payload` is a serialized Export request of the output's signal.
  absl::Status Append(std::string_view payload, uint64_t items) {
    RETURN_IF_ERROR(writer_->Append(payload, items));
    if (json_ == nullptr) return absl::OkStatus();
    // Only for --json: decoding again is fine for a file meant for reading.
    std::unique_ptr<google::protobuf::Message> request;
    switch (signal_) {
      case Signal::kTraces: request = std::make_unique<ct::ExportTraceServiceRequest>(); break;
      case Signal::kMetrics: request = std::make_unique<cm::ExportMetricsServiceRequest>(); break;
      case Signal::kLogs: request = std::make_unique<cl::ExportLogsServiceRequest>(); break;
    }
    if (!request->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return absl::InternalError(StrCat(json_path_, ": a generated request does not decode"));
    }
    return AppendJson(*request);
  }
  absl::Status AppendJson(const google::protobuf::Message& request) {
    std::string line;
    google::protobuf::util::JsonPrintOptions options;
    options.always_print_enums_as_ints = true;
    if (!google::protobuf::util::MessageToJsonString(request, &line, options).ok()) {
      return absl::InternalError(StrCat(json_path_, ": cannot convert a request to JSON"));
    }
    RETURN_IF_ERROR(json_->Write(HexIds(line)));
    return json_->Write("\n");
  }
  absl::Status Commit() { return json_ == nullptr ? absl::OkStatus() : json_->Commit(); }
  TemplateWriter* writer() const { return writer_; }

 private:
  // proto3 JSON writes bytes as base64; OTLP/JSON wants trace and span IDs in hex.
  static std::string HexIds(const std::string& json) {
    static const std::regex ids("\"(traceId|spanId|parentSpanId)\":\"([A-Za-z0-9+/=]*)\"");
    std::string out;
    auto it = std::sregex_iterator(json.begin(), json.end(), ids);
    size_t last = 0;
    for (; it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      out.append(json, last, m.position(0) - last);
      std::string raw;
      google::protobuf::Base64Unescape(m[2].str(), &raw);
      out += '"';  // Appended piecewise: GCC 12 -O3 misreports "a" + s + "b" (-Wrestrict).
      out += m[1].str();
      out += "\":\"";
      for (unsigned char c : raw) out += fmt::format("{:02x}", c);
      out += "\"";
      last = m.position(0) + m.length(0);
    }
    out.append(json, last, std::string::npos);
    return out;
  }
  TemplateWriter* writer_;
  Signal signal_;
  std::string buffer_;
  std::unique_ptr<AtomicFile> json_;
  std::string json_path_;
};

// Splits one host's metrics request into chunks of at most `max_bytes`, by metric.
absl::Status AppendMetrics(ChunkOutput* writer, const cm::ExportMetricsServiceRequest& full,
                           int64_t max_bytes) {
  const auto& rm = full.resource_metrics(0);
  const auto& sm = rm.scope_metrics(0);
  cm::ExportMetricsServiceRequest out;
  uint64_t points = 0;
  size_t bytes = 0;
  auto start = [&] {
    out.Clear();
    auto* r = out.add_resource_metrics();
    *r->mutable_resource() = rm.resource();
    r->set_schema_url(rm.schema_url());
    *r->add_scope_metrics()->mutable_scope() = sm.scope();
    points = 0;
    bytes = out.ByteSizeLong();
  };
  auto flush = [&]() -> absl::Status {
    if (points > 0) RETURN_IF_ERROR(writer->Append(out, points));
    start();
    return absl::OkStatus();
  };
  start();
  for (const auto& metric : sm.metrics()) {
    const size_t size = metric.ByteSizeLong() + 8;
    if (points > 0 && bytes + size > static_cast<size_t>(max_bytes)) RETURN_IF_ERROR(flush());
    *out.mutable_resource_metrics(0)->mutable_scope_metrics(0)->add_metrics() = metric;
    bytes += size;
    points += metric.gauge().data_points_size() + metric.sum().data_points_size() +
              metric.histogram().data_points_size() +
              metric.exponential_histogram().data_points_size() +
              metric.summary().data_points_size();
  }
  return flush();
}

std::string Digest(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a, enough to tell configs apart.
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return fmt::format("fnv1a64:{:016x}", h);
}

// Adds a uniform [per_span_min, per_span_max] of the custom.attr.N keys, with values
// drawn from `cardinality` per key, so a backend's index sees a chosen cardinality.
void AddCustomAttributes(const GeneratorConfig& c, Rng& rng, SpanDraft* span) {
  const int64_t n = rng.Range(c.custom_attr_per_span_min, c.custom_attr_per_span_max);
  const uint64_t first = rng.Below(static_cast<uint64_t>(c.custom_attr_count));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t key =
        (first + static_cast<uint64_t>(i)) % static_cast<uint64_t>(c.custom_attr_count);
    const uint64_t value = rng.Below(static_cast<uint64_t>(c.custom_attr_cardinality));
    std::string text;
    text.reserve(static_cast<size_t>(c.custom_attr_value_bytes) + 16);
    for (uint64_t h = (key << 40) ^ value;
         static_cast<int64_t>(text.size()) < c.custom_attr_value_bytes;) {
      h = Fmix64(h + 0x9E3779B97F4A7C15ull);
      text += fmt::format("{:016x}", h);
    }
    text.resize(static_cast<size_t>(c.custom_attr_value_bytes));
    span->attributes.Str(StrCat("custom.attr.", key), text);
  }
}

}  // namespace

uint64_t EstimateDatasetBytes(const GeneratorConfig& c) {
  const double spans = static_cast<double>(c.trace_count) * c.spans_avg_per_trace +
                       static_cast<double>(c.high_span_trace_count) * c.high_span_trace_spans;
  const double custom_bytes = spans * (c.custom_attr_per_span_min + c.custom_attr_per_span_max) /
                              2.0 * (static_cast<double>(c.custom_attr_value_bytes) + 20);
  const double points =
      static_cast<double>(c.metric_count) * (c.timeseries_min + c.timeseries_max) / 2.0;
  return static_cast<uint64_t>(spans * kBytesPerSpan + custom_bytes + points * kBytesPerPoint +
                               static_cast<double>(c.log_count) * kBytesPerLog);
}

namespace {

// One run of GenerateDataset, in stages: Prepare (scenarios, topology, the output
// directory), one Write* per signal (each under a temporary name), then Commit (the
// renames) and the metadata. What the stages share lives here.
//
// Traces and logs are made in units (a fixed number of traces or records, set by the
// config alone) on config.threads threads and written in unit order; each unit draws
// from its own random stream, seeded by the stage's seed and the unit's number, so the
// files are the same bytes whatever the number of threads.
class DatasetRun {
 public:
  DatasetRun(const GeneratorConfig& config, const std::function<void(const std::string&)>& progress,
             const std::atomic<bool>* cancel)
      : config_(config),
        progress_(progress),
        cancel_(cancel),
        // Independent streams per stage, so changing one signal's settings leaves the
        // others' output byte-identical.
        topo_rng_(config.seed ^ 0x746F706F6C6F6779ull),
        metric_rng_(config.seed ^ 0x6D65747269637300ull),
        trace_seed_(config.seed ^ 0x7472616365730000ull),
        log_seed_(config.seed ^ 0x6C6F677300000000ull) {}

  absl::Status Prepare();
  absl::Status WriteTraces();
  absl::Status WriteMetrics();
  absl::Status WriteLogs();
  absl::Status Commit();
  absl::Status WriteMetadata();
  DatasetSummary& summary() { return summary_; }

 private:
  // A span that logs may refer to, with the hash that decides whether it is kept.
  struct Candidate {
    uint64_t key;
    SpanRef ref;
    bool operator<(const Candidate& o) const { return key < o.key; }
  };
  // What one unit of traces made.
  struct TraceUnit {
    std::vector<ItemChunker::Chunk> chunks;
    std::map<int64_t, uint64_t> span_counts;  // Traces by span count.
    std::vector<uint64_t> scenario_traces;
    std::vector<std::vector<Candidate>> candidates;  // Per service, at most kRefsPerService.
    int64_t traces = 0;                              // Made before a cancel, if any.
  };
  struct TraceScratch {
    std::unique_ptr<ItemChunker> chunker;  // Made at the first unit, kept for its memory.
    TraceDraft trace;
    std::vector<std::pair<int, int>> slots;  // (service, scope) of the trace's spans.
  };
  struct LogUnit {
    std::vector<ItemChunker::Chunk> chunks;
    int64_t records = 0;
  };
  struct LogScratch {
    std::unique_ptr<ItemChunker> chunker;
    LogDraft record;
    wire::Writer bytes;
  };

  static uint64_t UnitSeed(uint64_t stage_seed, int64_t unit) {
    return Fmix64(stage_seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(unit + 1));
  }
  bool Cancelled() const { return cancel_ != nullptr && cancel_->load(std::memory_order_relaxed); }
  absl::Status Interrupted(const char* signal, int64_t done, int64_t total,
                           const char* what) const {
    const std::string where =
        done < 0 ? signal : fmt::format("{} ({} of {} {})", signal, done, total, what);
    return absl::CancelledError(
        StrCat("interrupted while generating ", where,
               ": nothing was written, and files already under the final names are untouched"));
  }
  // A progress line each time `done` passes a tenth of `total`.
  void Report(const char* signal, int64_t before, int64_t done, int64_t total,
              const char* what) const {
    if (progress_ && total > 0 && done * 10 / total != before * 10 / total) {
      progress_(
          fmt::format("{}: {} of {} {} ({}%)", signal, done, total, what, done * 100 / total));
    }
  }
  // Creates a signal's file under a temporary name and says so.
  absl::Status Open(const char* signal, Signal kind, SignalFileSummary* file,
                    std::unique_ptr<TemplateWriter>* writer, ChunkOutput* out) {
    file->path = StrCat(base_, "-", signal, ".pb");
    ASSIGN_OR_RETURN(*writer, TemplateWriter::Create(file->path, kind));
    *out = ChunkOutput(writer->get(), kind);
    if (progress_) progress_(StrCat(signal, ": writing ", file->path, " (under a temporary name)"));
    if (config_.write_json) RETURN_IF_ERROR(out->EnableJson(StrCat(base_, "-", signal, ".json")));
    return absl::OkStatus();
  }
  std::unique_ptr<ItemChunker> NewChunker() const {
    return std::make_unique<ItemChunker>(resources_, scopes_, std::string(kSchemaUrl),
                                         static_cast<size_t>(config_.max_chunk_bytes), nullptr,
                                         &buffers_);
  }
  TraceUnit MakeTraces(int64_t unit, TraceScratch& scratch) const;
  void AddTrace(TraceScratch& scratch, ItemChunker* chunker, TraceUnit* out) const;
  LogUnit MakeLogs(int64_t unit, LogScratch& scratch) const;
  int64_t TracesPerUnit() const;
  // Unit u makes traces [trace_units_[u], trace_units_[u + 1]): about a chunk's worth,
  // and each high-span trace a unit of its own (a unit's output is held in memory).
  void PlanTraceUnits();
  bool HighSpanTrace(int64_t t) const;
  std::vector<int64_t> trace_units_;
  int64_t LogsPerUnit() const;

  // Logs refer to a sample of each service's spans: the kRefsPerService spans with the
  // smallest hash of their IDs, a uniform sample that does not depend on the order
  // units are made in.
  static constexpr size_t kRefsPerService = 256;
  static void KeepSmallest(std::vector<Candidate>* v);
  const GeneratorConfig& config_;
  const std::function<void(const std::string&)>& progress_;
  const std::atomic<bool>* cancel_;
  Rng topo_rng_, metric_rng_;
  uint64_t trace_seed_, log_seed_;
  DatasetSummary summary_;
  std::vector<Scenario> scenarios_;
  std::vector<double> mix_;  // Cumulative weights: random topology, then each scenario.
  Topology topology_;
  std::vector<std::string> resources_;  // Each service's Resource, serialized.
  std::vector<std::string> scopes_;     // The InstrumentationScopes, serialized.
  mutable BufferPool buffers_;          // Chunk buffers, back from the writer.
  std::string base_;                    // Output directory and prefix.
  std::unique_ptr<TemplateWriter> traces_, metrics_, logs_;
  ChunkOutput trace_out_{nullptr, Signal::kTraces}, metric_out_{nullptr, Signal::kMetrics},
      log_out_{nullptr, Signal::kLogs};
  std::vector<std::vector<SpanRef>> refs_;
};

absl::Status DatasetRun::Prepare() {
  const uint64_t estimate = EstimateDatasetBytes(config_);
  if (estimate > static_cast<uint64_t>(config_.max_dataset_bytes)) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: the dataset would take about {:.1f} MiB, above limits.max_dataset_bytes "
        "({:.1f} MiB); lower the counts or raise the limit",
        config_.config_file, estimate / 1048576.0, config_.max_dataset_bytes / 1048576.0));
  }
  // Scenarios are read and checked before anything is written.
  if (!config_.scenario_paths.empty() && config_.trace_count > 0) {
    ASSIGN_OR_RETURN(scenarios_,
                     LoadScenarios(config_.scenario_paths,
                                   StrCat(config_.config_file, ": traces.scenarios.paths")));
    for (const Scenario& sc : scenarios_) {
      if (progress_) {
        progress_(StrCat("scenario ", sc.name, ": ", sc.file, ", in ", ScenarioFormName(sc.form)));
      }
    }
  }
  // The mix: random-topology traces (alone when there are no scenarios), then scenarios.
  mix_ = {scenarios_.empty() ? 1.0 : config_.random_topology_weight};
  for (const Scenario& sc : scenarios_) mix_.push_back(mix_.back() + sc.weight);
  if (mix_.back() <= 0) {
    return absl::InvalidArgumentError(StrCat(
        config_.config_file, ": traces.scenarios: every weight is 0, so no trace can be drawn"));
  }
  topology_ = BuildTopology(config_, topo_rng_);
  for (const std::string& name : ScenarioServices(scenarios_)) {
    AddService(&topology_, name, topo_rng_);
  }
  for (const auto& s : topology_.services) summary_.services.push_back(s.name);
  for (const std::string& name : config_.ingress_names) {
    if (std::find(summary_.services.begin(), summary_.services.end(), name) ==
        summary_.services.end()) {
      return absl::InvalidArgumentError(
          StrCat(config_.config_file, ": traces.services.ingress: '", name,
                 "' is not one of the services (",
                 fmt::format("{}", fmt::join(summary_.services, ", ")), ")"));
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(config_.output_directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("cannot create output directory '", config_.output_directory, "': ", ec.message()));
  }
  base_ = StrCat(config_.output_directory, "/", config_.output_prefix);
  refs_.resize(topology_.services.size());
  for (const Service& svc : topology_.services)
    resources_.push_back(svc.resource.SerializeAsString());
  for (const auto& [name, version] : ScopeTable(topology_)) {
    opentelemetry::proto::common::v1::InstrumentationScope scope;
    scope.set_name(name);
    scope.set_version(version);
    scopes_.push_back(scope.SerializeAsString());
  }
  return absl::OkStatus();
}

void DatasetRun::KeepSmallest(std::vector<Candidate>* v) {
  if (v->size() <= kRefsPerService) return;
  std::nth_element(v->begin(), v->begin() + kRefsPerService, v->end());
  v->resize(kRefsPerService);
}

// About one chunk's worth of traces, from the config only (never the thread count).
int64_t DatasetRun::TracesPerUnit() const {
  const double trace_bytes = std::max(1.0, config_.spans_avg_per_trace) * kBytesPerSpan;
  return std::clamp<int64_t>(static_cast<int64_t>(config_.max_chunk_bytes / trace_bytes), 1, 4096);
}

int64_t DatasetRun::LogsPerUnit() const {
  return std::clamp<int64_t>(config_.max_chunk_bytes / static_cast<int64_t>(kBytesPerLog), 1,
                             16384);
}

void DatasetRun::AddTrace(TraceScratch& scratch, ItemChunker* chunker, TraceUnit* out) const {
  const TraceDraft& trace = scratch.trace;
  ++out->span_counts[static_cast<int64_t>(trace.size())];
  scratch.slots.clear();
  for (const auto& s : trace.spans()) scratch.slots.emplace_back(s.service, s.scope);
  chunker->Reserve(trace.bytes().size(), scratch.slots);
  const uint64_t trace_key = wire::LoadLE64(trace.trace_id()) ^ config_.seed;
  for (size_t i = 0; i < trace.size(); ++i) {
    const TraceDraft::SpanInfo& span = trace.spans()[i];
    chunker->Add(span.service, span.scope, trace.span_bytes(i));
    Candidate c;
    c.key = Fmix64(trace_key ^ Fmix64(span.span_id));
    std::memcpy(c.ref.trace_id, trace.trace_id(), 16);
    std::memcpy(c.ref.span_id, &span.span_id, 8);
    c.ref.start_offset_ns = span.start_ns - kTemplateEpochNs;
    c.ref.duration_ns = span.end_ns - span.start_ns;
    c.ref.kind = span.kind;
    auto& kept = out->candidates[span.service];
    kept.push_back(c);
    if (kept.size() >= 2 * kRefsPerService) KeepSmallest(&kept);
  }
}

// High-span traces sit at evenly spaced positions through the dataset: the k-th at
// (2k + 1) * total / 2H.
bool DatasetRun::HighSpanTrace(int64_t t) const {
  const int64_t high = config_.high_span_trace_count;
  const int64_t total = config_.trace_count + high;
  if (high == 0) return false;
  const int64_t k = t * high / total;
  for (int64_t c = std::max<int64_t>(0, k - 1); c <= k + 1 && c < high; ++c) {
    if ((2 * c + 1) * total / (2 * high) == t) return true;
  }
  return false;
}

void DatasetRun::PlanTraceUnits() {
  const int64_t high = config_.high_span_trace_count;
  const int64_t total = config_.trace_count + high;
  trace_units_.clear();
  int64_t k = 0;  // The next high-span trace.
  for (int64_t t = 0; t < total;) {
    trace_units_.push_back(t);
    const int64_t next_high = k < high ? (2 * k + 1) * total / (2 * high) : total;
    if (t == next_high) {
      ++t;
      ++k;
    } else {
      t = std::min({total, t + TracesPerUnit(), next_high});
    }
  }
  trace_units_.push_back(total);
}

DatasetRun::TraceUnit DatasetRun::MakeTraces(int64_t unit, TraceScratch& scratch) const {
  TraceUnit out;
  out.scenario_traces.assign(scenarios_.size(), 0);
  out.candidates.resize(topology_.services.size());
  Rng rng(UnitSeed(trace_seed_, unit));
  TraceBuilder builder(config_, topology_, rng);
  ScenarioRunner runner(topology_, rng, config_.roots);
  if (scratch.chunker == nullptr) scratch.chunker = NewChunker();
  ItemChunker& chunker = *scratch.chunker;
  chunker.SetOutput(&out.chunks);
  const int64_t first = trace_units_[unit], last = trace_units_[unit + 1];
  for (int64_t t = first; t < last; ++t) {
    if (Cancelled()) return out;
    scratch.trace.Clear();
    if (config_.custom_attr_count > 0) {
      scratch.trace.decorate = [&](SpanDraft& span) { AddCustomAttributes(config_, rng, &span); };
    }
    const bool high = HighSpanTrace(t);
    if (high) {
      builder.Build(static_cast<int>(config_.high_span_trace_spans), &scratch.trace);
    } else {
      const double pick = rng.Unit() * mix_.back();
      const size_t which = std::upper_bound(mix_.begin(), mix_.end(), pick) - mix_.begin();
      if (which == 0) {
        builder.Build(builder.DrawSpanCount(), &scratch.trace);
      } else {
        runner.Build(scenarios_[which - 1], &scratch.trace);
        ++out.scenario_traces[which - 1];
      }
    }
    AddTrace(scratch, &chunker, &out);
    ++out.traces;
  }
  chunker.Flush();
  return out;
}

absl::Status DatasetRun::WriteTraces() {
  if (config_.trace_count <= 0) return absl::OkStatus();
  RETURN_IF_ERROR(Open("traces", Signal::kTraces, &summary_.traces, &traces_, &trace_out_));
  summary_.scenario_traces.assign(scenarios_.size(), 0);
  // Span counts per trace as a histogram: memory stays flat however many traces.
  std::map<int64_t, uint64_t> counts;
  std::vector<std::vector<Candidate>> candidates(topology_.services.size());
  const int64_t total = config_.trace_count + config_.high_span_trace_count;
  PlanTraceUnits();
  const auto units = static_cast<int64_t>(trace_units_.size()) - 1;
  int64_t done = 0;
  const auto use = [&](int64_t unit, TraceUnit& u) -> absl::Status {
    if (u.traces < trace_units_[unit + 1] - trace_units_[unit] || Cancelled()) {
      return Interrupted("traces", done + u.traces, total, "traces");
    }
    for (auto& chunk : u.chunks) {
      RETURN_IF_ERROR(trace_out_.Append(chunk.payload, chunk.items));
      buffers_.Give(std::move(chunk.payload));
    }
    for (const auto& [n, c] : u.span_counts) counts[n] += c;
    for (size_t i = 0; i < u.scenario_traces.size(); ++i) {
      summary_.scenario_traces[i] += u.scenario_traces[i];
    }
    for (size_t s = 0; s < candidates.size(); ++s) {
      candidates[s].insert(candidates[s].end(), u.candidates[s].begin(), u.candidates[s].end());
      KeepSmallest(&candidates[s]);
    }
    Report("traces", done, done + u.traces, total, "traces");
    done += u.traces;
    if (traces_->bytes_written() > static_cast<uint64_t>(config_.max_dataset_bytes)) {
      return absl::FailedPreconditionError(StrCat("traces alone exceed limits.max_dataset_bytes (",
                                                  config_.max_dataset_bytes, " bytes) after ", done,
                                                  " traces; nothing was written"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR((RunOrderedUnits<TraceUnit, TraceScratch>(
      units, static_cast<int>(config_.threads),
      [this](int64_t unit, TraceScratch& scratch) { return MakeTraces(unit, scratch); }, use)));
  // The sample in a fixed order (by hash), whatever order the units came in.
  for (size_t s = 0; s < candidates.size(); ++s) {
    std::sort(candidates[s].begin(), candidates[s].end());
    for (const Candidate& c : candidates[s]) refs_[s].push_back(c.ref);
  }
  summary_.trace_count = total;
  auto q = [&](double p) {
    const uint64_t rank = std::min<uint64_t>(total - 1, static_cast<uint64_t>(p * total));
    uint64_t seen = 0;
    for (const auto& [n, c] : counts) {
      seen += c;
      if (seen > rank) return static_cast<int>(n);
    }
    return static_cast<int>(counts.rbegin()->first);
  };
  summary_.span_count_quantiles = {static_cast<int>(counts.begin()->first), q(0.5), q(0.9), q(0.99),
                                   static_cast<int>(counts.rbegin()->first)};
  summary_.span_count_mean = static_cast<double>(traces_->item_count()) / total;
  return absl::OkStatus();
}

absl::Status DatasetRun::WriteMetrics() {
  if (config_.metric_count <= 0) return absl::OkStatus();
  RETURN_IF_ERROR(Open("metrics", Signal::kMetrics, &summary_.metrics, &metrics_, &metric_out_));
  // Resources are packed together up to max_chunk_bytes; one that is bigger alone is
  // split by metric.
  absl::Status status;
  cm::ExportMetricsServiceRequest pending;
  uint64_t pending_points = 0;
  size_t pending_bytes = 0;
  auto flush = [&]() -> absl::Status {
    if (pending_points > 0) RETURN_IF_ERROR(metric_out_.Append(pending, pending_points));
    pending.Clear();
    pending_points = 0;
    pending_bytes = 0;
    return absl::OkStatus();
  };
  const size_t max_chunk = static_cast<size_t>(config_.max_chunk_bytes);
  std::vector<MetricService> java_services;
  for (size_t i = 0; i < topology_.services.size(); ++i) {
    const Service& s = topology_.services[i];
    if (RuntimeAt(s.runtime).language == "java")
      java_services.push_back({s.name, &refs_[i], NamespaceOf(topology_, i)});
  }
  MetricsSummary ms = BuildMetrics(
      config_, java_services, metric_rng_,
      [&](const cm::ExportMetricsServiceRequest& r) {
        if (!status.ok()) return;
        const size_t bytes = r.ByteSizeLong();
        if (pending_bytes + bytes > max_chunk) status = flush();
        if (!status.ok()) return;
        if (bytes > max_chunk) {
          status = AppendMetrics(&metric_out_, r, config_.max_chunk_bytes);
          return;
        }
        uint64_t points = 0;
        for (const auto& m : r.resource_metrics(0).scope_metrics(0).metrics()) {
          points += m.gauge().data_points_size() + m.sum().data_points_size() +
                    m.histogram().data_points_size() +
                    m.exponential_histogram().data_points_size() + m.summary().data_points_size();
        }
        pending.MergeFrom(r);
        pending_points += points;
        pending_bytes += bytes;
      },
      cancel_);
  if (Cancelled()) return Interrupted("metrics", -1, 0, "");
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(flush());
  summary_.metric_count = ms.metrics;
  summary_.series_count = ms.series;
  for (size_t m = 0; m < ms.names.size(); ++m) {
    summary_.series_per_metric.emplace_back(ms.names[m], ms.series_per_metric[m]);
  }
  return absl::OkStatus();
}

DatasetRun::LogUnit DatasetRun::MakeLogs(int64_t unit, LogScratch& scratch) const {
  LogUnit out;
  Rng rng(UnitSeed(log_seed_, unit));
  LogBuilder builder(config_, topology_, refs_, rng);
  if (scratch.chunker == nullptr) scratch.chunker = NewChunker();
  ItemChunker& chunker = *scratch.chunker;
  chunker.SetOutput(&out.chunks);
  const int64_t first = unit * LogsPerUnit();
  const int64_t last = std::min(config_.log_count, first + LogsPerUnit());
  for (int64_t i = first; i < last; ++i) {
    if (Cancelled()) return out;
    int scope = 0;
    const int svc = builder.Build(&scratch.record, &scope);
    scratch.bytes.Clear();
    scratch.record.EncodeTo(&scratch.bytes);
    chunker.Add(svc, scope, scratch.bytes.view());
    ++out.records;
  }
  chunker.Flush();
  return out;
}

absl::Status DatasetRun::WriteLogs() {
  if (config_.log_count <= 0) return absl::OkStatus();
  RETURN_IF_ERROR(Open("logs", Signal::kLogs, &summary_.logs, &logs_, &log_out_));
  const int64_t total = config_.log_count;
  const int64_t per_unit = LogsPerUnit();
  int64_t done = 0;
  return RunOrderedUnits<LogUnit, LogScratch>(
      (total + per_unit - 1) / per_unit, static_cast<int>(config_.threads),
      [this](int64_t unit, LogScratch& scratch) { return MakeLogs(unit, scratch); },
      [&](int64_t, LogUnit& u) -> absl::Status {
        if (u.records < std::min(per_unit, total - done) || Cancelled()) {
          return Interrupted("logs", done + u.records, total, "log records");
        }
        for (auto& chunk : u.chunks) {
          RETURN_IF_ERROR(log_out_.Append(chunk.payload, chunk.items));
          buffers_.Give(std::move(chunk.payload));
        }
        Report("logs", done, done + u.records, total, "log records");
        done += u.records;
        return absl::OkStatus();
      });
}

absl::Status DatasetRun::Commit() {
  for (auto [writer, file] :
       {std::pair{traces_.get(), &summary_.traces}, std::pair{metrics_.get(), &summary_.metrics},
        std::pair{logs_.get(), &summary_.logs}}) {
    if (writer == nullptr) continue;
    RETURN_IF_ERROR(writer->Commit());
    file->bytes = writer->bytes_written();
    file->chunks = writer->chunk_count();
    file->items = writer->item_count();
  }
  RETURN_IF_ERROR(trace_out_.Commit());
  RETURN_IF_ERROR(metric_out_.Commit());
  RETURN_IF_ERROR(log_out_.Commit());
  summary_.estimated_sender_memory_bytes = SenderMemoryBytes(
      EstimatedTemplateBytes(summary_.traces.bytes + summary_.metrics.bytes + summary_.logs.bytes,
                             summary_.traces.items, summary_.metrics.items, summary_.logs.items),
      0, 0);
  return absl::OkStatus();
}

absl::Status DatasetRun::WriteMetadata() {
  const DatasetSummary& summary = summary_;
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "generator" << YAML::Value << "telemetry-generator";
  y << YAML::Key << "template_format_version" << YAML::Value << kTemplateFormatVersion;
  y << YAML::Key << "seed" << YAML::Value << config_.seed;
  y << YAML::Key << "config" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "file" << YAML::Value << config_.config_file;
  y << YAML::Key << "digest" << YAML::Value << Digest(config_.config_text);
  y << YAML::EndMap;
  auto file_entry = [&](const char* name, const SignalFileSummary& f, const char* items) {
    if (f.path.empty()) return;
    y << YAML::Key << name << YAML::Value << YAML::BeginMap;
    y << YAML::Key << "file" << YAML::Value << f.path;
    y << YAML::Key << "bytes" << YAML::Value << f.bytes;
    y << YAML::Key << "chunks" << YAML::Value << f.chunks;
    y << YAML::Key << items << YAML::Value << f.items;
  };
  file_entry("traces", summary.traces, "spans");
  if (!summary.traces.path.empty()) {
    y << YAML::Key << "traces" << YAML::Value << summary.trace_count;
    y << YAML::Key << "spans_per_trace" << YAML::Value << YAML::BeginMap;
    const char* names[] = {"min", "p50", "p90", "p99", "max"};
    for (int i = 0; i < 5; ++i)
      y << YAML::Key << names[i] << YAML::Value << summary.span_count_quantiles[i];
    y << YAML::Key << "mean" << YAML::Value << summary.span_count_mean;
    y << YAML::EndMap << YAML::EndMap;
  }
  file_entry("metrics", summary.metrics, "data_points");
  if (!summary.metrics.path.empty()) {
    y << YAML::Key << "metrics" << YAML::Value << summary.metric_count;
    y << YAML::Key << "series" << YAML::Value << summary.series_count;
    y << YAML::Key << "series_per_metric" << YAML::Value << YAML::BeginMap;
    for (const auto& [name, n] : summary.series_per_metric)
      y << YAML::Key << name << YAML::Value << n;
    y << YAML::EndMap << YAML::EndMap;
  }
  file_entry("logs", summary.logs, "log_records");
  if (!summary.logs.path.empty()) y << YAML::EndMap;
  if (!scenarios_.empty()) {
    y << YAML::Key << "scenario_traces" << YAML::Value << YAML::BeginMap;
    for (size_t i = 0; i < scenarios_.size(); ++i) {
      y << YAML::Key << scenarios_[i].name << YAML::Value << summary.scenario_traces[i];
    }
    y << YAML::EndMap;
  }
  y << YAML::Key << "services" << YAML::Value << YAML::Flow << summary.services;
  y << YAML::Key << "estimated_sender_memory_bytes" << YAML::Value
    << summary.estimated_sender_memory_bytes;
  y << YAML::EndMap;
  summary_.metadata_path = base_ + "-metadata.yaml";
  return WriteFileAtomically(summary_.metadata_path, std::string(y.c_str()) + "\n");
}

}  // namespace

absl::StatusOr<DatasetSummary> GenerateDataset(
    const GeneratorConfig& config, const std::function<void(const std::string&)>& progress,
    const std::atomic<bool>* cancel) {
  DatasetRun run(config, progress, cancel);
  RETURN_IF_ERROR(run.Prepare());
  RETURN_IF_ERROR(run.WriteTraces());
  RETURN_IF_ERROR(run.WriteMetrics());
  RETURN_IF_ERROR(run.WriteLogs());
  // Renamed into place only once everything has been generated.
  RETURN_IF_ERROR(run.Commit());
  RETURN_IF_ERROR(run.WriteMetadata());
  return std::move(run.summary());
}

}  // namespace loadgen
