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
#include "generator/scenario.h"
#include "generator/scenario_runner.h"
#include "generator/topology.h"
#include "generator/traces.h"
#include "google/protobuf/stubs/strutil.h"
#include "google/protobuf/util/json_util.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
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
  explicit ChunkOutput(TemplateWriter* writer) : writer_(writer) {}
  absl::Status EnableJson(const std::string& path) {
    ASSIGN_OR_RETURN(json_, AtomicFile::Create(path));
    json_path_ = path;
    return absl::OkStatus();
  }
  absl::Status Append(const google::protobuf::Message& request, uint64_t items) {
    SerializeInto(request, &buffer_);
    RETURN_IF_ERROR(writer_->Append(buffer_, items));
    if (json_ == nullptr) return absl::OkStatus();
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
  std::string buffer_;
  std::unique_ptr<AtomicFile> json_;
  std::string json_path_;
};

// Packs items of one signal into requests of at most `max_bytes`, one ResourceX per
// service, and appends each full request to the template file as one chunk.
template <typename Request>
class ResourceChunker {
 public:
  ResourceChunker(ChunkOutput* writer, int64_t max_bytes, const Topology& topology,
                  std::string scope_name)
      : writer_(writer),
        max_bytes_(max_bytes),
        topology_(topology),
        scope_name_(std::move(scope_name)) {}

  // Flushes first if `bytes` more would overflow a non-empty chunk; used to keep a
  // trace whole within one chunk whenever it fits.
  absl::Status Reserve(size_t bytes) {
    if (items_ > 0 && bytes_ + bytes > static_cast<size_t>(max_bytes_)) return Flush();
    return absl::OkStatus();
  }

  template <typename Item>
  absl::Status Add(int service, Item&& item) {
    const size_t size = item.ByteSizeLong() + 8;
    RETURN_IF_ERROR(Reserve(size));
    auto it = std::find(slot_service_.begin(), slot_service_.end(), service);
    size_t slot = it - slot_service_.begin();
    if (it == slot_service_.end()) {
      slot_service_.push_back(service);
      bytes_ += topology_.services[service].resource.ByteSizeLong() + scope_name_.size() + 16;
      if constexpr (std::is_same_v<Request, ct::ExportTraceServiceRequest>) {
        auto* rs = request_.add_resource_spans();
        *rs->mutable_resource() = topology_.services[service].resource;
        rs->set_schema_url("https://opentelemetry.io/schemas/1.44.0");
        rs->add_scope_spans()->mutable_scope()->set_name(scope_name_);
      } else {
        auto* rl = request_.add_resource_logs();
        *rl->mutable_resource() = topology_.services[service].resource;
        rl->set_schema_url("https://opentelemetry.io/schemas/1.44.0");
        rl->add_scope_logs()->mutable_scope()->set_name(scope_name_);
      }
    }
    if constexpr (std::is_same_v<Request, ct::ExportTraceServiceRequest>) {
      *request_.mutable_resource_spans(slot)->mutable_scope_spans(0)->add_spans() = std::move(item);
    } else {
      *request_.mutable_resource_logs(slot)->mutable_scope_logs(0)->add_log_records() =
          std::move(item);
    }
    bytes_ += size;
    ++items_;
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (items_ == 0) return absl::OkStatus();
    RETURN_IF_ERROR(writer_->Append(request_, items_));
    request_.Clear();
    slot_service_.clear();
    bytes_ = 0;
    items_ = 0;
    return absl::OkStatus();
  }

 private:
  ChunkOutput* writer_;
  int64_t max_bytes_;
  const Topology& topology_;
  std::string scope_name_;
  Request request_;
  std::vector<int> slot_service_;
  size_t bytes_ = 0;
  uint64_t items_ = 0;
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
void AddCustomAttributes(const GeneratorConfig& c, Rng& rng,
                         opentelemetry::proto::trace::v1::Span* span) {
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
    auto* kv = span->add_attributes();
    kv->set_key(StrCat("custom.attr.", key));
    kv->mutable_value()->set_string_value(std::move(text));
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
        trace_rng_(config.seed ^ 0x7472616365730000ull),
        metric_rng_(config.seed ^ 0x6D65747269637300ull),
        log_rng_(config.seed ^ 0x6C6F677300000000ull) {}

  absl::Status Prepare();
  absl::Status WriteTraces();
  absl::Status WriteMetrics();
  absl::Status WriteLogs();
  absl::Status Commit();
  absl::Status WriteMetadata();
  DatasetSummary& summary() { return summary_; }

 private:
  // Checked once per record: a relaxed load costs nothing beside building a span.
  absl::Status Interrupted(const char* signal, int64_t done, int64_t total,
                           const char* what) const {
    if (cancel_ == nullptr || !cancel_->load(std::memory_order_relaxed)) return absl::OkStatus();
    const std::string where =
        done < 0 ? signal : fmt::format("{} ({} of {} {})", signal, done, total, what);
    return absl::CancelledError(
        StrCat("interrupted while generating ", where,
               ": nothing was written, and files already under the final names are untouched"));
  }
  void Report(const char* signal, int64_t done, int64_t total, const char* what) const {
    if (progress_ && total > 0 && done * 10 / total != (done - 1) * 10 / total) {
      progress_(
          fmt::format("{}: {} of {} {} ({}%)", signal, done, total, what, done * 100 / total));
    }
  }
  // Creates a signal's file under a temporary name and says so.
  absl::Status Open(const char* signal, Signal kind, SignalFileSummary* file,
                    std::unique_ptr<TemplateWriter>* writer, ChunkOutput* out) {
    file->path = StrCat(base_, "-", signal, ".pb");
    ASSIGN_OR_RETURN(*writer, TemplateWriter::Create(file->path, kind));
    *out = ChunkOutput(writer->get());
    if (progress_) progress_(StrCat(signal, ": writing ", file->path, " (under a temporary name)"));
    if (config_.write_json) RETURN_IF_ERROR(out->EnableJson(StrCat(base_, "-", signal, ".json")));
    return absl::OkStatus();
  }
  // Keeps a reservoir of spans per service, for trace-correlated logs.
  void SampleSpan(int svc, const opentelemetry::proto::trace::v1::Span& span);

  static constexpr size_t kRefsPerService = 256;
  const GeneratorConfig& config_;
  const std::function<void(const std::string&)>& progress_;
  const std::atomic<bool>* cancel_;
  Rng topo_rng_, trace_rng_, metric_rng_, log_rng_;
  DatasetSummary summary_;
  std::vector<Scenario> scenarios_;
  std::vector<double> mix_;  // Cumulative weights: random topology, then each scenario.
  Topology topology_;
  std::string base_;  // Output directory and prefix.
  std::unique_ptr<TemplateWriter> traces_, metrics_, logs_;
  ChunkOutput trace_out_{nullptr}, metric_out_{nullptr}, log_out_{nullptr};
  std::vector<std::vector<SpanRef>> refs_;
  std::vector<uint64_t> refs_seen_;
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
  refs_seen_.resize(topology_.services.size());
  return absl::OkStatus();
}

void DatasetRun::SampleSpan(int svc, const opentelemetry::proto::trace::v1::Span& span) {
  uint64_t seen = refs_seen_[svc]++;
  size_t slot = seen < kRefsPerService ? seen : trace_rng_.Below(seen + 1);
  if (slot >= kRefsPerService) return;
  SpanRef ref;
  std::memcpy(ref.trace_id, span.trace_id().data(), 16);
  std::memcpy(ref.span_id, span.span_id().data(), 8);
  ref.start_offset_ns = span.start_time_unix_nano() - kTemplateEpochNs;
  if (slot < refs_[svc].size()) {
    refs_[svc][slot] = ref;
  } else {
    refs_[svc].push_back(ref);
  }
}

absl::Status DatasetRun::WriteTraces() {
  if (config_.trace_count <= 0) return absl::OkStatus();
  RETURN_IF_ERROR(Open("traces", Signal::kTraces, &summary_.traces, &traces_, &trace_out_));
  ResourceChunker<ct::ExportTraceServiceRequest> chunker(&trace_out_, config_.max_chunk_bytes,
                                                         topology_, "telemetry-generator");
  TraceBuilder builder(config_, topology_, trace_rng_);
  ScenarioRunner runner(summary_.services, trace_rng_);
  summary_.scenario_traces.assign(scenarios_.size(), 0);
  std::vector<std::pair<int, opentelemetry::proto::trace::v1::Span>> spans;
  // Span counts per trace as a histogram: memory stays flat however many traces.
  std::map<int64_t, uint64_t> counts;
  const int64_t total = config_.trace_count + config_.high_span_trace_count;
  int64_t high_done = 0;
  for (int64_t t = 0; t < total; ++t) {
    spans.clear();
    // High-span traces sit at evenly spaced positions through the dataset.
    const bool high = high_done < config_.high_span_trace_count &&
                      t >= (2 * high_done + 1) * total / (2 * config_.high_span_trace_count);
    if (high) {
      builder.Build(static_cast<int>(config_.high_span_trace_spans), &spans);
      ++high_done;
    } else {
      const double pick = trace_rng_.Unit() * mix_.back();
      const size_t which = std::upper_bound(mix_.begin(), mix_.end(), pick) - mix_.begin();
      if (which == 0) {
        builder.Build(builder.DrawSpanCount(), &spans);
      } else {
        runner.Build(scenarios_[which - 1], &spans);
        ++summary_.scenario_traces[which - 1];
      }
    }
    if (config_.custom_attr_count > 0) {
      for (auto& [svc, span] : spans) AddCustomAttributes(config_, trace_rng_, &span);
    }
    ++counts[static_cast<int64_t>(spans.size())];
    size_t trace_bytes = 0;
    for (const auto& [svc, span] : spans) trace_bytes += span.ByteSizeLong() + 8;
    RETURN_IF_ERROR(chunker.Reserve(trace_bytes));
    for (auto& [svc, span] : spans) {
      SampleSpan(svc, span);
      RETURN_IF_ERROR(chunker.Add(svc, std::move(span)));
    }
    if (traces_->bytes_written() > static_cast<uint64_t>(config_.max_dataset_bytes)) {
      return absl::FailedPreconditionError(StrCat("traces alone exceed limits.max_dataset_bytes (",
                                                  config_.max_dataset_bytes, " bytes) after ",
                                                  t + 1, " traces; nothing was written"));
    }
    Report("traces", t + 1, total, "traces");
    RETURN_IF_ERROR(Interrupted("traces", t + 1, total, "traces"));
  }
  RETURN_IF_ERROR(chunker.Flush());
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
  MetricsSummary ms = BuildMetrics(
      config_, metric_rng_,
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
  RETURN_IF_ERROR(Interrupted("metrics", -1, 0, ""));
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(flush());
  summary_.metric_count = ms.metrics;
  summary_.series_count = ms.series;
  return absl::OkStatus();
}

absl::Status DatasetRun::WriteLogs() {
  if (config_.log_count <= 0) return absl::OkStatus();
  RETURN_IF_ERROR(Open("logs", Signal::kLogs, &summary_.logs, &logs_, &log_out_));
  ResourceChunker<cl::ExportLogsServiceRequest> chunker(&log_out_, config_.max_chunk_bytes,
                                                        topology_, "telemetry-generator");
  LogBuilder builder(config_, topology_, refs_, log_rng_);
  for (int64_t i = 0; i < config_.log_count; ++i) {
    opentelemetry::proto::logs::v1::LogRecord record;
    const int svc = builder.Build(&record);
    RETURN_IF_ERROR(chunker.Add(svc, std::move(record)));
    Report("logs", i + 1, config_.log_count, "log records");
    RETURN_IF_ERROR(Interrupted("logs", i + 1, config_.log_count, "log records"));
  }
  return chunker.Flush();
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
  // Templates are held once in memory plus ~16 bytes of patch table per patched field.
  summary_.estimated_sender_memory_bytes = summary_.traces.bytes + summary_.metrics.bytes +
                                           summary_.logs.bytes + summary_.traces.items * 80 +
                                           summary_.metrics.items * 32 + summary_.logs.items * 64 +
                                           kSenderBaseMemoryBytes;
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
    y << YAML::Key << "series" << YAML::Value << summary.series_count << YAML::EndMap;
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
