// Builds metric templates from a catalog of real metric definitions (names, units,
// instrument types and attribute keys as the collector's receivers and the semantic
// conventions define them). Series are spread over host resources; within a resource
// no two series of a metric share an attribute set. Times are placeholders
// (kTemplateEpochNs) that the sender replaces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/random.h"
#include "generator/config.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace loadgen {

enum class MetricType { kGauge, kSumMonotonic, kSumUpDown, kHistogram, kExpHistogram };

struct AttributeDef {
  std::string key;
  std::vector<std::string> values;  // The first key's pool grows past its list if needed.
};

struct MetricDef {
  std::string name;
  std::string description;
  std::string unit;
  MetricType type;
  bool is_int;
  std::vector<AttributeDef> attributes;
  std::vector<double> bounds;  // Explicit histogram bounds.
};

const std::vector<MetricDef>& MetricCatalog();

struct MetricsSummary {
  int64_t metrics = 0;
  int64_t series = 0;
};

// Builds `config.metric_count` metrics (cycling the catalog with derived names when
// more are asked for than it holds) as one request per host resource, calling
// `emit(request, data_points)` for each; returns what was built.
template <typename Emit>
MetricsSummary BuildMetrics(const GeneratorConfig& config, Rng& rng, Emit&& emit);

// Non-template worker behind BuildMetrics: fills one host's request.
void BuildHostMetrics(
    const GeneratorConfig& config, Rng& rng, int host,
    const std::vector<int64_t>& series_per_metric,
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* req,
    int64_t* points);

template <typename Emit>
MetricsSummary BuildMetrics(const GeneratorConfig& config, Rng& rng, Emit&& emit) {
  MetricsSummary summary;
  std::vector<int64_t> series(config.metric_count);
  for (auto& s : series) {
    s = rng.Range(config.timeseries_min, config.timeseries_max);
    summary.series += s;
  }
  summary.metrics = config.metric_count;
  for (int host = 0; host < config.host_count; ++host) {
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest req;
    int64_t points = 0;
    BuildHostMetrics(config, rng, host, series, &req, &points);
    if (points > 0) emit(req, points);
  }
  return summary;
}

}  // namespace loadgen
