// Generator settings: a plain struct with the documented defaults, and the loader
// that fills it from YAML (configs/generator.yaml documents every key).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace loadgen {

// traces.root: how roots are drawn. `rootless_share` of the traces are rootless: their
// root names a parent that no span of the trace has, as a tail-sampling proxy sees when
// a parent was dropped. `late_share` of them, of those with more than one span, have a
// late root, marked with kLateRootDelayAttribute = `late_delay_ms` for the sender to
// export it after the rest of its trace. One draw decides both, so each share is of
// all traces.
struct RootShapes {
  double rootless_share = 0;
  double late_share = 0;
  int64_t late_delay_ms = 5000;
};

struct GeneratorConfig {
  std::string output_directory = "./generated";
  std::string output_prefix = "telemetry";
  // Upper bound for one template chunk (one future request); 1 MiB stays well under
  // the 4 MiB that many receivers still accept.
  int64_t max_chunk_bytes = 1 << 20;
  uint64_t seed = 42;

  int64_t trace_count = 1000;
  double spans_avg_per_trace = 15;
  double spans_std_dev = 5;
  int64_t service_count = 8;
  std::vector<std::string> service_names;  // Defaults to a built-in list.
  std::vector<std::string> ingress_names;  // Services receiving user traffic; default the
                                           // first quarter of the services.
  bool ingress_all = false;                // `ingress: all`: every service is an entry point.
  // service.namespace of service i: namespaces[i % size] (none when empty), the same
  // on its traces', metrics' and logs' resources.
  std::vector<std::string> namespaces;
  RootShapes roots;  // traces.root: rootless and late roots.
  // Very large traces, built like the others, spread evenly through the dataset.
  int64_t high_span_trace_count = 0;
  int64_t high_span_trace_spans = 100000;
  // Extra attributes for cardinality tests: `count` keys custom.attr.N, each span gets
  // a uniform [per_span_min, per_span_max] of them, values of value_bytes characters
  // drawn from `cardinality` distinct values per key.
  int64_t custom_attr_count = 0;
  int64_t custom_attr_per_span_min = 0;
  int64_t custom_attr_per_span_max = 0;
  int64_t custom_attr_value_bytes = 16;
  int64_t custom_attr_cardinality = 100;
  double error_rate = 0.01;  // Share of server spans that fail.
  // Scenario files or directories (resolved against the config file's directory), and
  // the weight of random-topology traces in the mix with them.
  std::vector<std::string> scenario_paths;
  double random_topology_weight = 0;

  int64_t metric_count = 10;
  int64_t timeseries_min = 10;
  int64_t timeseries_max = 50;
  int64_t timeseries_default = 0;  // When set (and min/max are not), every metric's count.
  int64_t host_count = 4;

  int64_t log_count = 10000;
  double http_access_pct = 40;
  double application_pct = 40;
  double system_pct = 20;
  double trace_correlated_share = 0.5;  // Share of application logs tied to a span.

  int64_t max_dataset_bytes = 10LL << 30;

  bool write_json = false;  // --json: OTLP/JSON beside each .pb, for inspection.
  // Threads making traces and logs (--threads; the machine's cores by default in the
  // tool). The output is the same bytes whatever the number.
  int64_t threads = 1;

  std::string config_text;  // The YAML as read, for the metadata digest.
  std::string config_file;
};

// Loads `file`; errors name the file, line and key. Unknown keys are errors.
absl::StatusOr<GeneratorConfig> LoadGeneratorConfig(const std::string& file);

}  // namespace loadgen
