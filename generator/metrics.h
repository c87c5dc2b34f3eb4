// Builds metric templates from a catalog of real metric definitions: names, units,
// instrument types and attribute keys as the collector's hostmetrics, kubeletstats and
// k8s_cluster receivers and the semantic conventions (HTTP, DB, JVM) define them.
// Each metric comes from a source, and its series are spread over that source's
// resources (hosts, pods, containers, deployments, service instances) as a real agent
// would send them; within a resource no two series of a metric share an attribute set.
// Times are placeholders (kTemplateEpochNs) that the sender replaces.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/random.h"
#include "generator/config.h"
#include "generator/traces.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace loadgen {

enum class MetricType { kGauge, kSumMonotonic, kSumUpDown, kHistogram, kExpHistogram };

// Where a metric comes from, which decides its resource and scope.
enum class MetricSource { kHost, kPod, kContainer, kCluster, kService };

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
  MetricSource source;
  std::vector<AttributeDef> attributes;
  std::vector<double> bounds;  // Explicit histogram bounds.
  bool delta = false;          // Delta temporality (sums and histograms).
  // The SpanKind of the span a measurement is recorded in (a request's server or client
  // span; 0: none), which its exemplars name, as an SDK's trace-based exemplar filter does.
  int exemplar_kind = 0;
};

const std::vector<MetricDef>& MetricCatalog();

struct MetricsSummary {
  int64_t metrics = 0;
  int64_t series = 0;                      // Data points per replay: one per series.
  std::vector<std::string> names;          // Of the metrics, in the order built.
  std::vector<int64_t> series_per_metric;  // Of each.
};

// Builds `config.metric_count` metrics (cycling the catalog with derived names,
// `name.vN`, when more are asked for than it holds), each with its drawn number of
// series in [timeseries min, max] (a source gets enough resources for its metrics
// without attributes, which have one series per resource), one request per resource, and
// calls `emit` with each. Memory: one resource's request at a time. Stops early, at
// the next metric, once `cancel` (may be null) turns true.
// The service metrics (the JVM's, HTTP and DB) are those of `java_services`, the
// topology's Java services, so that a service's metrics and traces name one language.
// Their request histograms carry exemplars naming spans of the service from
// `spans` (the span's kind as the metric's, its duration as the value; when the
// service has no span of that kind, any of its spans): 1 or 2 per point, drawn from
// their own random stream, so the metrics' values do not depend on the traces.
struct MetricService {
  std::string name;
  const std::vector<SpanRef>* spans = nullptr;  // Null or empty: no exemplars.
  std::string ns;                               // Its service.namespace; "" for none.
};
MetricsSummary BuildMetrics(
    const GeneratorConfig& config, const std::vector<MetricService>& java_services, Rng& rng,
    const std::function<void(
        const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest&)>& emit,
    const std::atomic<bool>* cancel = nullptr);

}  // namespace loadgen
