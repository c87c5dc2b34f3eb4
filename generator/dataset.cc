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

absl::StatusOr<DatasetSummary> GenerateDataset(
    const GeneratorConfig& config, const std::function<void(const std::string&)>& progress,
    const std::atomic<bool>* cancel) {
  // Checked once per record: a relaxed load costs nothing beside building a span.
  auto interrupted = [&](const char* signal, int64_t done, int64_t total, const char* what) {
    if (cancel == nullptr || !cancel->load(std::memory_order_relaxed)) return absl::OkStatus();
    const std::string where =
        done < 0 ? signal : fmt::format("{} ({} of {} {})", signal, done, total, what);
    return absl::CancelledError(
        StrCat("interrupted while generating ", where,
               ": nothing was written, and files already under the final names are untouched"));
  };
  auto report = [&](const char* signal, int64_t done, int64_t total, const char* what) {
    if (progress && total > 0 && done * 10 / total != (done - 1) * 10 / total) {
      progress(fmt::format("{}: {} of {} {} ({}%)", signal, done, total, what, done * 100 / total));
    }
  };
  const uint64_t estimate = EstimateDatasetBytes(config);
  if (estimate > static_cast<uint64_t>(config.max_dataset_bytes)) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: the dataset would take about {:.1f} MiB, above limits.max_dataset_bytes "
        "({:.1f} MiB); lower the counts or raise the limit",
        config.config_file, estimate / 1048576.0, config.max_dataset_bytes / 1048576.0));
  }
  // Scenarios are read and checked before anything is written.
  std::vector<Scenario> scenarios;
  if (!config.scenario_paths.empty() && config.trace_count > 0) {
    ASSIGN_OR_RETURN(scenarios,
                     LoadScenarios(config.scenario_paths,
                                   StrCat(config.config_file, ": traces.scenarios.paths")));
  }
  // The mix: random-topology traces (alone when there are no scenarios), then scenarios.
  std::vector<double> mix = {scenarios.empty() ? 1.0 : config.random_topology_weight};
  for (const Scenario& sc : scenarios) mix.push_back(mix.back() + sc.weight);
  if (mix.back() <= 0) {
    return absl::InvalidArgumentError(StrCat(
        config.config_file, ": traces.scenarios: every weight is 0, so no trace can be drawn"));
  }
  DatasetSummary summary;

  // Independent streams per stage, so changing one signal's settings leaves the
  // others' output byte-identical.
  Rng topo_rng(config.seed ^ 0x746F706F6C6F6779ull);
  Rng trace_rng(config.seed ^ 0x7472616365730000ull);
  Rng metric_rng(config.seed ^ 0x6D65747269637300ull);
  Rng log_rng(config.seed ^ 0x6C6F677300000000ull);
  Topology topology = BuildTopology(config, topo_rng);
  for (const std::string& name : ScenarioServices(scenarios)) AddService(&topology, name, topo_rng);
  for (const auto& s : topology.services) summary.services.push_back(s.name);
  for (const std::string& name : config.ingress_names) {
    if (std::find(summary.services.begin(), summary.services.end(), name) ==
        summary.services.end()) {
      return absl::InvalidArgumentError(StrCat(config.config_file, ": traces.services.ingress: '",
                                               name, "' is not one of the services (",
                                               fmt::format("{}", fmt::join(summary.services, ", ")),
                                               ")"));
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(config.output_directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("cannot create output directory '", config.output_directory, "': ", ec.message()));
  }
  const std::string base = StrCat(config.output_directory, "/", config.output_prefix);

  std::unique_ptr<TemplateWriter> traces, metrics, logs;
  ChunkOutput trace_out(nullptr), metric_out(nullptr), log_out(nullptr);
  constexpr size_t kRefsPerService = 256;
  std::vector<std::vector<SpanRef>> refs(topology.services.size());
  std::vector<uint64_t> refs_seen(topology.services.size());
  if (config.trace_count > 0) {
    summary.traces.path = base + "-traces.pb";
    ASSIGN_OR_RETURN(traces, TemplateWriter::Create(summary.traces.path, Signal::kTraces));
    trace_out = ChunkOutput(traces.get());
    if (progress)
      progress(StrCat("traces: writing ", summary.traces.path, " (under a temporary name)"));
    if (config.write_json) RETURN_IF_ERROR(trace_out.EnableJson(base + "-traces.json"));
    ResourceChunker<ct::ExportTraceServiceRequest> chunker(&trace_out, config.max_chunk_bytes,
                                                           topology, "telemetry-generator");
    TraceBuilder builder(config, topology, trace_rng);
    ScenarioRunner runner(summary.services, trace_rng);
    summary.scenario_traces.assign(scenarios.size(), 0);
    std::vector<std::pair<int, opentelemetry::proto::trace::v1::Span>> spans;
    // Span counts per trace as a histogram: memory stays flat however many traces.
    std::map<int64_t, uint64_t> counts;
    const int64_t total = config.trace_count + config.high_span_trace_count;
    int64_t high_done = 0;
    for (int64_t t = 0; t < total; ++t) {
      spans.clear();
      // High-span traces sit at evenly spaced positions through the dataset.
      const bool high = high_done < config.high_span_trace_count &&
                        t >= (2 * high_done + 1) * total / (2 * config.high_span_trace_count);
      if (high) {
        builder.Build(static_cast<int>(config.high_span_trace_spans), &spans);
        ++high_done;
      } else {
        const double pick = trace_rng.Unit() * mix.back();
        const size_t which = std::upper_bound(mix.begin(), mix.end(), pick) - mix.begin();
        if (which == 0) {
          builder.Build(builder.DrawSpanCount(), &spans);
        } else {
          runner.Build(scenarios[which - 1], &spans);
          ++summary.scenario_traces[which - 1];
        }
      }
      if (config.custom_attr_count > 0) {
        for (auto& [svc, span] : spans) AddCustomAttributes(config, trace_rng, &span);
      }
      ++counts[static_cast<int64_t>(spans.size())];
      size_t trace_bytes = 0;
      for (const auto& [svc, span] : spans) trace_bytes += span.ByteSizeLong() + 8;
      RETURN_IF_ERROR(chunker.Reserve(trace_bytes));
      for (auto& [svc, span] : spans) {
        // Reservoir of spans per service, for trace-correlated logs.
        uint64_t seen = refs_seen[svc]++;
        size_t slot = seen < kRefsPerService ? seen : trace_rng.Below(seen + 1);
        if (slot < kRefsPerService) {
          SpanRef ref;
          std::memcpy(ref.trace_id, span.trace_id().data(), 16);
          std::memcpy(ref.span_id, span.span_id().data(), 8);
          ref.start_offset_ns = span.start_time_unix_nano() - kTemplateEpochNs;
          if (slot < refs[svc].size())
            refs[svc][slot] = ref;
          else
            refs[svc].push_back(ref);
        }
        RETURN_IF_ERROR(chunker.Add(svc, std::move(span)));
      }
      if (traces->bytes_written() > static_cast<uint64_t>(config.max_dataset_bytes)) {
        return absl::FailedPreconditionError(
            StrCat("traces alone exceed limits.max_dataset_bytes (", config.max_dataset_bytes,
                   " bytes) after ", t + 1, " traces; nothing was written"));
      }
      report("traces", t + 1, total, "traces");
      RETURN_IF_ERROR(interrupted("traces", t + 1, total, "traces"));
    }
    RETURN_IF_ERROR(chunker.Flush());
    summary.trace_count = total;
    auto q = [&](double p) {
      const uint64_t rank = std::min<uint64_t>(total - 1, static_cast<uint64_t>(p * total));
      uint64_t seen = 0;
      for (const auto& [n, c] : counts) {
        seen += c;
        if (seen > rank) return static_cast<int>(n);
      }
      return static_cast<int>(counts.rbegin()->first);
    };
    summary.span_count_quantiles = {static_cast<int>(counts.begin()->first), q(0.5), q(0.9),
                                    q(0.99), static_cast<int>(counts.rbegin()->first)};
    summary.span_count_mean = static_cast<double>(traces->item_count()) / total;
  }

  if (config.metric_count > 0) {
    summary.metrics.path = base + "-metrics.pb";
    ASSIGN_OR_RETURN(metrics, TemplateWriter::Create(summary.metrics.path, Signal::kMetrics));
    metric_out = ChunkOutput(metrics.get());
    if (progress)
      progress(StrCat("metrics: writing ", summary.metrics.path, " (under a temporary name)"));
    if (config.write_json) RETURN_IF_ERROR(metric_out.EnableJson(base + "-metrics.json"));
    // Resources are packed together up to max_chunk_bytes; one that is bigger alone is
    // split by metric.
    absl::Status status;
    cm::ExportMetricsServiceRequest pending;
    uint64_t pending_points = 0;
    size_t pending_bytes = 0;
    auto flush = [&]() -> absl::Status {
      if (pending_points > 0) RETURN_IF_ERROR(metric_out.Append(pending, pending_points));
      pending.Clear();
      pending_points = 0;
      pending_bytes = 0;
      return absl::OkStatus();
    };
    MetricsSummary ms = BuildMetrics(
        config, metric_rng,
        [&](const cm::ExportMetricsServiceRequest& r) {
          if (!status.ok()) return;
          const size_t bytes = r.ByteSizeLong();
          if (pending_bytes + bytes > static_cast<size_t>(config.max_chunk_bytes)) status = flush();
          if (!status.ok()) return;
          if (bytes > static_cast<size_t>(config.max_chunk_bytes)) {
            status = AppendMetrics(&metric_out, r, config.max_chunk_bytes);
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
        cancel);
    RETURN_IF_ERROR(interrupted("metrics", -1, 0, ""));
    RETURN_IF_ERROR(status);
    RETURN_IF_ERROR(flush());
    summary.metric_count = ms.metrics;
    summary.series_count = ms.series;
  }

  if (config.log_count > 0) {
    summary.logs.path = base + "-logs.pb";
    ASSIGN_OR_RETURN(logs, TemplateWriter::Create(summary.logs.path, Signal::kLogs));
    log_out = ChunkOutput(logs.get());
    if (progress)
      progress(StrCat("logs: writing ", summary.logs.path, " (under a temporary name)"));
    if (config.write_json) RETURN_IF_ERROR(log_out.EnableJson(base + "-logs.json"));
    ResourceChunker<cl::ExportLogsServiceRequest> chunker(&log_out, config.max_chunk_bytes,
                                                          topology, "telemetry-generator");
    LogBuilder builder(config, topology, refs, log_rng);
    for (int64_t i = 0; i < config.log_count; ++i) {
      opentelemetry::proto::logs::v1::LogRecord record;
      const int svc = builder.Build(&record);
      RETURN_IF_ERROR(chunker.Add(svc, std::move(record)));
      report("logs", i + 1, config.log_count, "log records");
      RETURN_IF_ERROR(interrupted("logs", i + 1, config.log_count, "log records"));
    }
    RETURN_IF_ERROR(chunker.Flush());
  }

  // Commit only once everything has been generated.
  for (auto [writer, file] :
       {std::pair{traces.get(), &summary.traces}, std::pair{metrics.get(), &summary.metrics},
        std::pair{logs.get(), &summary.logs}}) {
    if (writer == nullptr) continue;
    RETURN_IF_ERROR(writer->Commit());
    file->bytes = writer->bytes_written();
    file->chunks = writer->chunk_count();
    file->items = writer->item_count();
  }
  RETURN_IF_ERROR(trace_out.Commit());
  RETURN_IF_ERROR(metric_out.Commit());
  RETURN_IF_ERROR(log_out.Commit());
  // Templates are held once in memory plus ~16 bytes of patch table per patched field.
  summary.estimated_sender_memory_bytes = summary.traces.bytes + summary.metrics.bytes +
                                          summary.logs.bytes + summary.traces.items * 80 +
                                          summary.metrics.items * 32 + summary.logs.items * 64 +
                                          (16u << 20);

  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "generator" << YAML::Value << "telemetry-generator";
  y << YAML::Key << "template_format_version" << YAML::Value << kTemplateFormatVersion;
  y << YAML::Key << "seed" << YAML::Value << config.seed;
  y << YAML::Key << "config" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "file" << YAML::Value << config.config_file;
  y << YAML::Key << "digest" << YAML::Value << Digest(config.config_text);
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
  if (!scenarios.empty()) {
    y << YAML::Key << "scenario_traces" << YAML::Value << YAML::BeginMap;
    for (size_t i = 0; i < scenarios.size(); ++i) {
      y << YAML::Key << scenarios[i].name << YAML::Value << summary.scenario_traces[i];
    }
    y << YAML::EndMap;
  }
  y << YAML::Key << "services" << YAML::Value << YAML::Flow << summary.services;
  y << YAML::Key << "estimated_sender_memory_bytes" << YAML::Value
    << summary.estimated_sender_memory_bytes;
  y << YAML::EndMap;
  summary.metadata_path = base + "-metadata.yaml";
  RETURN_IF_ERROR(WriteFileAtomically(summary.metadata_path, std::string(y.c_str()) + "\n"));
  return summary;
}

}  // namespace loadgen
