#include "generator/metrics.h"

#include <cmath>

#include "common/signal.h"
#include "common/strings.h"

namespace loadgen {
namespace {

namespace mp = opentelemetry::proto::metrics::v1;
using opentelemetry::proto::common::v1::KeyValue;

const std::vector<double> kHttpBounds = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                         0.5,   0.75, 1,     2.5,  5,     7.5, 10};
const std::vector<double> kDbBounds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};

std::string AttributeValue(const AttributeDef& a, int64_t index) {
  if (index < static_cast<int64_t>(a.values.size())) return a.values[index];
  return StrCat(a.values.empty() ? a.key : a.values[0], "-", index);
}

}  // namespace

const std::vector<MetricDef>& MetricCatalog() {
  static const std::vector<MetricDef> catalog = [] {
    const AttributeDef cpu{"cpu", {"cpu0", "cpu1", "cpu2", "cpu3", "cpu4", "cpu5", "cpu6", "cpu7"}};
    const AttributeDef cpu_state{
        "state", {"idle", "interrupt", "nice", "softirq", "steal", "system", "user", "wait"}};
    const AttributeDef mem_state{"state",
                                 {"buffered", "cached", "inactive", "free", "slab_reclaimable",
                                  "slab_unreclaimable", "used"}};
    const AttributeDef device{"device", {"sda", "sdb", "nvme0n1", "nvme1n1"}};
    const AttributeDef rw{"direction", {"read", "write"}};
    const AttributeDef net_device{"device", {"eth0", "eth1", "lo", "docker0"}};
    const AttributeDef rx_tx{"direction", {"receive", "transmit"}};
    const AttributeDef method{"http.request.method", {"GET", "POST", "PUT", "DELETE"}};
    const AttributeDef route{"http.route",
                             {"/api/products/{id}", "/api/cart", "/api/checkout",
                              "/api/recommendations", "/api/ads", "/"}};
    const AttributeDef status{"http.response.status_code", {"200", "201", "404", "500"}};
    const AttributeDef scheme{"url.scheme", {"http"}};
    const AttributeDef server{
        "server.address",
        {"product-catalog", "cart", "checkout", "payment", "shipping", "currency"}};
    const AttributeDef db_system{"db.system.name", {"postgresql", "redis"}};
    const AttributeDef db_op{"db.operation.name", {"SELECT", "INSERT", "UPDATE", "GET"}};
    using T = MetricType;
    return std::vector<MetricDef>{
        {"system.cpu.time",
         "Seconds each logical CPU spent on each mode.",
         "s",
         T::kSumMonotonic,
         false,
         {cpu, cpu_state},
         {}},
        {"system.cpu.utilization",
         "Difference in system.cpu.time since the last measurement, "
         "divided by the elapsed time and number of logical CPUs.",
         "1",
         T::kGauge,
         false,
         {cpu, cpu_state},
         {}},
        {"system.cpu.load_average.1m",
         "Average CPU Load over 1 minute.",
         "{thread}",
         T::kGauge,
         false,
         {},
         {}},
        {"system.memory.usage",
         "Bytes of memory in use.",
         "By",
         T::kSumUpDown,
         true,
         {mem_state},
         {}},
        {"system.disk.io",
         "Disk bytes transferred.",
         "By",
         T::kSumMonotonic,
         true,
         {device, rw},
         {}},
        {"system.disk.operations",
         "Disk operations count.",
         "{operations}",
         T::kSumMonotonic,
         true,
         {device, rw},
         {}},
        {"system.network.io",
         "The number of bytes transmitted and received.",
         "By",
         T::kSumMonotonic,
         true,
         {net_device, rx_tx},
         {}},
        {"system.network.errors",
         "The number of errors encountered.",
         "{errors}",
         T::kSumMonotonic,
         true,
         {net_device, rx_tx},
         {}},
        {"http.server.request.duration",
         "Duration of HTTP server requests.",
         "s",
         T::kHistogram,
         false,
         {route, method, status, scheme},
         kHttpBounds},
        {"http.client.request.duration",
         "Duration of HTTP client requests.",
         "s",
         T::kExpHistogram,
         false,
         {server, method, status},
         {}},
        {"http.server.active_requests",
         "Number of active HTTP server requests.",
         "{request}",
         T::kSumUpDown,
         true,
         {method, scheme},
         {}},
        {"db.client.operation.duration",
         "Duration of database client operations.",
         "s",
         T::kHistogram,
         false,
         {db_system, db_op},
         kDbBounds},
        {"k8s.pod.memory.usage",
         "Memory usage of the pod.",
         "By",
         T::kGauge,
         true,
         {AttributeDef{"k8s.pod.name", {"frontend-7d9c", "cart-5f6b", "checkout-8a1e"}}},
         {}},
        {"container.cpu.time",
         "Total CPU time of the container.",
         "s",
         T::kSumMonotonic,
         false,
         {AttributeDef{"container.id", {"3f9a1c", "7be2d0", "c41e95"}}},
         {}},
    };
  }();
  return catalog;
}

void BuildHostMetrics(
    const GeneratorConfig& config, Rng& rng, int host,
    const std::vector<int64_t>& series_per_metric,
    opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* req,
    int64_t* points) {
  const auto& catalog = MetricCatalog();
  mp::ResourceMetrics* rm = req->add_resource_metrics();
  auto add_res = [&](std::string_view k, std::string v) {
    KeyValue* kv = rm->mutable_resource()->add_attributes();
    kv->set_key(std::string(k));
    kv->mutable_value()->set_string_value(std::move(v));
  };
  add_res("host.name", StrCat("node-", host));
  add_res("host.arch", "amd64");
  add_res("os.type", "linux");
  add_res("k8s.node.name", StrCat("node-", host));
  add_res("k8s.cluster.name", "prod-eu-1");
  rm->set_schema_url("https://opentelemetry.io/schemas/1.44.0");
  mp::ScopeMetrics* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name(
      "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver");
  sm->mutable_scope()->set_version("0.140.0");

  for (size_t m = 0; m < series_per_metric.size(); ++m) {
    const MetricDef& def = catalog[m % catalog.size()];
    // Series i lives on host i % host_count with attribute combination i / host_count,
    // so (resource, attributes) is unique for every series.
    std::vector<int64_t> combos;
    for (int64_t i = host; i < series_per_metric[m]; i += config.host_count) {
      int64_t combo = i / config.host_count;
      if (def.attributes.empty() && combo > 0) break;  // One series per resource only.
      combos.push_back(combo);
    }
    if (combos.empty()) continue;
    mp::Metric* metric = sm->add_metrics();
    const size_t round = m / catalog.size();
    metric->set_name(round == 0 ? def.name : StrCat(def.name, ".v", round));
    metric->set_description(def.description);
    metric->set_unit(def.unit);
    for (int64_t combo : combos) {
      google::protobuf::RepeatedPtrField<KeyValue> attrs;
      int64_t rest = combo;
      for (size_t a = def.attributes.size(); a-- > 0;) {
        const AttributeDef& ad = def.attributes[a];
        int64_t idx;
        if (a == 0) {
          idx = rest;  // The first key absorbs the remainder, so combinations never repeat.
        } else {
          idx = rest % static_cast<int64_t>(ad.values.size());
          rest /= static_cast<int64_t>(ad.values.size());
        }
        KeyValue kv;
        kv.set_key(ad.key);
        kv.mutable_value()->set_string_value(AttributeValue(ad, idx));
        *attrs.Add() = std::move(kv);
      }
      std::reverse(attrs.begin(), attrs.end());
      ++*points;
      switch (def.type) {
        case MetricType::kGauge:
        case MetricType::kSumMonotonic:
        case MetricType::kSumUpDown: {
          mp::NumberDataPoint* dp;
          if (def.type == MetricType::kGauge) {
            dp = metric->mutable_gauge()->add_data_points();
          } else {
            mp::Sum* sum = metric->mutable_sum();
            sum->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
            sum->set_is_monotonic(def.type == MetricType::kSumMonotonic);
            dp = sum->add_data_points();
            dp->set_start_time_unix_nano(kTemplateEpochNs);
          }
          *dp->mutable_attributes() = attrs;
          dp->set_time_unix_nano(kTemplateEpochNs);
          if (def.is_int) {
            dp->set_as_int(1 + static_cast<int64_t>(rng.Below(1u << 30)));
          } else {
            dp->set_as_double(def.unit == "1" ? rng.Unit() : 1 + rng.Unit() * 1e5);
          }
          break;
        }
        case MetricType::kHistogram: {
          mp::Histogram* h = metric->mutable_histogram();
          h->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
          mp::HistogramDataPoint* dp = h->add_data_points();
          *dp->mutable_attributes() = attrs;
          dp->set_start_time_unix_nano(kTemplateEpochNs);
          dp->set_time_unix_nano(kTemplateEpochNs);
          uint64_t count = 0;
          double sum = 0;
          for (size_t b = 0; b <= def.bounds.size(); ++b) {
            // Mass concentrated in the low buckets, as latencies are.
            uint64_t c = rng.Below(1000 >> std::min<size_t>(b, 9)) + (b < 4 ? 10 : 0);
            dp->add_bucket_counts(c);
            count += c;
            double mid = b == 0                   ? def.bounds[0] / 2
                         : b == def.bounds.size() ? def.bounds.back() * 1.5
                                                  : (def.bounds[b - 1] + def.bounds[b]) / 2;
            sum += c * mid;
          }
          for (double bound : def.bounds) dp->add_explicit_bounds(bound);
          dp->set_count(count);
          dp->set_sum(sum);
          dp->set_min(def.bounds[0] / 4);
          dp->set_max(def.bounds.back() * 1.2);
          break;
        }
        case MetricType::kExpHistogram: {
          mp::ExponentialHistogram* h = metric->mutable_exponential_histogram();
          h->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
          mp::ExponentialHistogramDataPoint* dp = h->add_data_points();
          *dp->mutable_attributes() = attrs;
          dp->set_start_time_unix_nano(kTemplateEpochNs);
          dp->set_time_unix_nano(kTemplateEpochNs);
          dp->set_scale(3);
          // Scale 3: bucket i covers (2^(i/8), 2^((i+1)/8)]; offset -60 starts near 5 ms.
          dp->mutable_positive()->set_offset(-60);
          uint64_t count = 0;
          double sum = 0;
          for (int b = 0; b < 40; ++b) {
            uint64_t c = rng.Below(200);
            dp->mutable_positive()->add_bucket_counts(c);
            count += c;
            sum += c * std::exp2((-60 + b + 0.5) / 8.0);
          }
          dp->set_zero_count(0);
          dp->set_count(count);
          dp->set_sum(sum);
          dp->set_min(std::exp2(-60 / 8.0));
          dp->set_max(std::exp2(-20 / 8.0));
          break;
        }
      }
    }
  }
}

}  // namespace loadgen
