#include "generator/config.h"

#include <filesystem>

#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"

namespace loadgen {

namespace {

// Counts are exact in a double up to 2^53, and JSON readers see them so.
constexpr int64_t kMax = int64_t{1} << 53;

// output: where the files go, and their chunk size.
absl::Status ReadOutput(ConfigMap& root, GeneratorConfig& c) {
  auto output = root.Map("output");
  if (!output.ok()) return output.status();
  RETURN_IF_ERROR(output->GetString("directory", &c.output_directory));
  RETURN_IF_ERROR(output->GetString("prefix", &c.output_prefix));
  RETURN_IF_ERROR(output->GetInt("max_chunk_bytes", &c.max_chunk_bytes, 4096, 64LL << 20));
  RETURN_IF_ERROR(output->Finish());
  if (c.output_prefix.empty() || c.output_prefix.find('/') != std::string::npos) {
    return output->ErrorAt("prefix", "must be a non-empty file name prefix without '/'");
  }
  return absl::OkStatus();
}

// seed.
absl::Status ReadSeed(ConfigMap& root, GeneratorConfig& c) {
  int64_t seed = static_cast<int64_t>(c.seed);
  RETURN_IF_ERROR(root.GetInt("seed", &seed, 0, INT64_MAX));
  c.seed = static_cast<uint64_t>(seed);
  return absl::OkStatus();
}

// traces: counts, topology, big traces, custom attributes, errors and scenarios.
absl::Status ReadTraces(ConfigMap& root, GeneratorConfig& c) {
  auto traces = root.Map("traces");
  if (!traces.ok()) return traces.status();
  RETURN_IF_ERROR(traces->GetInt("count", &c.trace_count, 0, kMax));
  auto spans = traces->Map("spans");
  if (!spans.ok()) return spans.status();
  RETURN_IF_ERROR(spans->GetDouble("avg_per_trace", &c.spans_avg_per_trace, 1, 1e6));
  RETURN_IF_ERROR(spans->GetDouble("std_dev", &c.spans_std_dev, 0, 1e6));
  RETURN_IF_ERROR(spans->Finish());
  auto services = traces->Map("services");
  if (!services.ok()) return services.status();
  RETURN_IF_ERROR(services->GetInt("count", &c.service_count, 1, 10000));
  RETURN_IF_ERROR(services->GetStringList("names", &c.service_names));
  if (std::string all; services->Has("ingress") && services->GetString("ingress", &all).ok()) {
    if (all != "all") {
      return services->ErrorAt("ingress", "expected a list of service names, or 'all'");
    }
    c.ingress_all = true;
  } else {
    RETURN_IF_ERROR(services->GetStringList("ingress", &c.ingress_names));
  }
  RETURN_IF_ERROR(services->GetStringList("namespaces", &c.namespaces));
  for (const std::string& ns : c.namespaces) {
    if (ns.empty()) return services->ErrorAt("namespaces", "a namespace is a non-empty name");
  }
  RETURN_IF_ERROR(services->Finish());
  auto root_map = traces->Map("root");
  if (!root_map.ok()) return root_map.status();
  auto rootless = root_map->Map("rootless");
  if (!rootless.ok()) return rootless.status();
  bool rootless_enabled = false;
  double rootless_pct = 0;
  RETURN_IF_ERROR(rootless->GetBool("enabled", &rootless_enabled));
  RETURN_IF_ERROR(rootless->GetDouble("percentage", &rootless_pct, 0, 100));
  RETURN_IF_ERROR(rootless->Finish());
  auto late = root_map->Map("late_root");
  if (!late.ok()) return late.status();
  bool late_enabled = false;
  double late_pct = 0;
  RETURN_IF_ERROR(late->GetBool("enabled", &late_enabled));
  RETURN_IF_ERROR(late->GetDouble("percentage", &late_pct, 0, 100));
  RETURN_IF_ERROR(late->GetInt("delay_ms", &c.roots.late_delay_ms, 1, 3'600'000));
  c.roots.rootless_share = rootless_enabled ? rootless_pct / 100 : 0;
  c.roots.late_share = late_enabled ? late_pct / 100 : 0;
  // One draw decides both, so each share is of all traces.
  if (c.roots.rootless_share + c.roots.late_share > 1) {
    return late->ErrorAt("percentage",
                         StrCat("a trace is rootless or has a late root, not both: the two "
                                "percentages add up to at most 100, got ",
                                rootless_pct, " + ", late_pct));
  }
  RETURN_IF_ERROR(late->Finish());
  RETURN_IF_ERROR(root_map->Finish());
  auto high = traces->Map("high_span_traces");
  if (!high.ok()) return high.status();
  RETURN_IF_ERROR(high->GetInt("count", &c.high_span_trace_count, 0, 1000000));
  RETURN_IF_ERROR(high->GetInt("span_count", &c.high_span_trace_spans, 1, 100000000));
  RETURN_IF_ERROR(high->Finish());
  auto custom = traces->Map("custom_attributes");
  if (!custom.ok()) return custom.status();
  RETURN_IF_ERROR(custom->GetInt("count", &c.custom_attr_count, 0, 100000));
  RETURN_IF_ERROR(custom->GetInt("per_span_min", &c.custom_attr_per_span_min, 0, 100000));
  RETURN_IF_ERROR(custom->GetInt("per_span_max", &c.custom_attr_per_span_max, 0, 100000));
  RETURN_IF_ERROR(custom->GetInt("value_bytes", &c.custom_attr_value_bytes, 1, 1 << 20));
  RETURN_IF_ERROR(custom->GetInt("cardinality", &c.custom_attr_cardinality, 1, INT64_C(1) << 40));
  RETURN_IF_ERROR(custom->Finish());
  if (c.custom_attr_per_span_min > c.custom_attr_per_span_max ||
      c.custom_attr_per_span_max > c.custom_attr_count) {
    return custom->ErrorAt(
        "per_span_max",
        StrCat("need per_span_min <= per_span_max <= count, got ", c.custom_attr_per_span_min,
               " <= ", c.custom_attr_per_span_max, " <= ", c.custom_attr_count));
  }
  RETURN_IF_ERROR(traces->GetDouble("error_rate", &c.error_rate, 0, 1));
  auto scenarios = traces->Map("scenarios");
  if (!scenarios.ok()) return scenarios.status();
  RETURN_IF_ERROR(scenarios->GetStringList("paths", &c.scenario_paths));
  RETURN_IF_ERROR(scenarios->GetDouble("random_weight", &c.random_topology_weight, 0, 1e9));
  RETURN_IF_ERROR(scenarios->Finish());
  // Scenario paths are relative to the config file, so a config works from any directory.
  const std::filesystem::path base = std::filesystem::path(c.config_file).parent_path();
  for (std::string& p : c.scenario_paths) {
    if (!p.empty() && p[0] != '/') p = (base / p).lexically_normal().string();
  }
  RETURN_IF_ERROR(traces->Finish());
  return absl::OkStatus();
}

// metrics: the catalog share, hosts and series per metric.
absl::Status ReadMetrics(ConfigMap& root, GeneratorConfig& c) {
  auto metrics = root.Map("metrics");
  if (!metrics.ok()) return metrics.status();
  RETURN_IF_ERROR(metrics->GetInt("metric_count", &c.metric_count, 0, 1000000));
  RETURN_IF_ERROR(metrics->GetInt("host_count", &c.host_count, 1, 100000));
  auto ts = metrics->Map("timeseries_per_metric");
  if (!ts.ok()) return ts.status();
  RETURN_IF_ERROR(ts->GetInt("min", &c.timeseries_min, 1, 10000000));
  RETURN_IF_ERROR(ts->GetInt("max", &c.timeseries_max, 1, 10000000));
  RETURN_IF_ERROR(ts->GetInt("default", &c.timeseries_default, 1, 10000000));
  RETURN_IF_ERROR(ts->Finish());
  if (c.timeseries_default > 0 && !ts->Has("min") && !ts->Has("max")) {
    c.timeseries_min = c.timeseries_max = c.timeseries_default;
  }
  if (c.timeseries_min > c.timeseries_max) {
    return ts->ErrorAt("min",
                       StrCat("min (", c.timeseries_min, ") exceeds max (", c.timeseries_max, ")"));
  }
  RETURN_IF_ERROR(metrics->Finish());
  return absl::OkStatus();
}

// logs: count, trace correlation and the mix of log types.
absl::Status ReadLogs(ConfigMap& root, GeneratorConfig& c) {
  auto logs = root.Map("logs");
  if (!logs.ok()) return logs.status();
  RETURN_IF_ERROR(logs->GetInt("count", &c.log_count, 0, kMax));
  RETURN_IF_ERROR(logs->GetDouble("trace_correlated_share", &c.trace_correlated_share, 0, 1));
  auto types = logs->Map("types");
  if (!types.ok()) return types.status();
  for (auto [key, out] :
       {std::pair{"http_access", &c.http_access_pct}, std::pair{"application", &c.application_pct},
        std::pair{"system", &c.system_pct}}) {
    auto t = types->Map(key);
    if (!t.ok()) return t.status();
    RETURN_IF_ERROR(t->GetDouble("percentage", out, 0, 100));
    RETURN_IF_ERROR(t->Finish());
  }
  RETURN_IF_ERROR(types->Finish());
  double sum = c.http_access_pct + c.application_pct + c.system_pct;
  if (sum < 99.999 || sum > 100.001) {
    std::string terms;
    for (auto [key, pct] :
         {std::pair{"http_access", c.http_access_pct}, std::pair{"application", c.application_pct},
          std::pair{"system", c.system_pct}}) {
      StrAppend(&terms, terms.empty() ? "" : " + ", key, " ", pct,
                types->Has(key) ? "" : " (not set: the default)");
    }
    return types->ErrorAt("", StrCat("percentages must add up to 100, got ", sum, " = ", terms));
  }
  RETURN_IF_ERROR(logs->Finish());
  return absl::OkStatus();
}

// limits: the largest dataset the generator will write.
absl::Status ReadLimits(ConfigMap& root, GeneratorConfig& c) {
  auto limits = root.Map("limits");
  if (!limits.ok()) return limits.status();
  RETURN_IF_ERROR(limits->GetInt("max_dataset_bytes", &c.max_dataset_bytes, 1, INT64_MAX));
  RETURN_IF_ERROR(limits->Finish());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GeneratorConfig> LoadGeneratorConfig(const std::string& file) {
  auto doc = ConfigDoc::Load(file);
  if (!doc.ok()) return doc.status();
  GeneratorConfig c;
  c.config_text = doc->text();
  c.config_file = file;
  ConfigMap& root = doc->root();
  for (auto* read : {ReadOutput, ReadSeed, ReadTraces, ReadMetrics, ReadLogs, ReadLimits}) {
    RETURN_IF_ERROR(read(root, c));
  }
  RETURN_IF_ERROR(root.Finish());
  return c;
}

}  // namespace loadgen
