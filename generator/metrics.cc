#include "generator/metrics.h"

#include <algorithm>
#include <cmath>

#include "common/otlp_signal.h"
#include "common/strings.h"
#include "generator/instrumentation.h"

namespace loadgen {
namespace {

namespace mp = opentelemetry::proto::metrics::v1;
using opentelemetry::proto::common::v1::KeyValue;

const std::vector<double> kHttpBounds = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                         0.5,   0.75, 1,     2.5,  5,     7.5, 10};
const std::vector<double> kDbBounds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
const std::vector<double> kSdkBounds = {0,   5,   10,   25,   50,   75,   100,  250,
                                        500, 750, 1000, 2500, 5000, 7500, 10000};

std::string AttributeValue(const AttributeDef& a, int64_t index) {
  if (index < static_cast<int64_t>(a.values.size())) return a.values[index];
  return StrCat(a.values.empty() ? a.key : a.values[0], "-", index);
}

// Resources per host for each source: hosts 1, pods and containers 3, deployments 1,
// service instances 2.
int ResourcesPerHost(MetricSource s) {
  switch (s) {
    case MetricSource::kHost: return 1;
    case MetricSource::kPod:
    case MetricSource::kContainer: return 3;
    case MetricSource::kCluster: return 1;
    case MetricSource::kService: return 2;
  }
  return 1;
}

const char* kApps[] = {"frontend", "cart", "checkout", "product-catalog", "payment", "shipping"};

void AddResource(mp::ResourceMetrics* rm, MetricSource source, int index, int host_count,
                 const std::vector<MetricService>& java_services) {
  auto add = [&](std::string_view k, std::string v) {
    KeyValue* kv = rm->mutable_resource()->add_attributes();
    kv->set_key(std::string(k));
    kv->mutable_value()->set_string_value(std::move(v));
  };
  const int host = index % host_count;
  const std::string node = StrCat("node-", host);
  // Past the first of each app, deployments and apps get a number: every resource of a
  // source is its own.
  const auto apps = static_cast<int>(std::size(kApps));
  const std::string app =
      index < apps ? std::string(kApps[index]) : StrCat(kApps[index % apps], "-", index / apps);
  const std::string pod = fmt::format("{}-{:08x}-{:05x}", app, Fmix64(index * 7 + 1) & 0xFFFFFFFF,
                                      Fmix64(index * 7 + 2) & 0xFFFFF);
  switch (source) {
    case MetricSource::kHost:
      add("host.name", StrCat("node-", index));  // A host is a node: one per resource.
      add("host.id", fmt::format("{:016x}{:016x}", Fmix64(index * 7 + 8), Fmix64(index * 7 + 9)));
      add("host.arch", "amd64");
      add("os.type", "linux");
      add("cloud.provider", "aws");
      add("cloud.region", "eu-west-1");
      break;
    case MetricSource::kPod:
    case MetricSource::kContainer:
      add("k8s.node.name", node);
      add("k8s.namespace.name", "shop");
      add("k8s.pod.name", pod);
      add("k8s.pod.uid", fmt::format("{:016x}", Fmix64(index * 7 + 3)));
      if (source == MetricSource::kContainer) {
        add("k8s.container.name", app);
        add("container.id",
            fmt::format("{:016x}{:016x}", Fmix64(index * 7 + 4), Fmix64(index * 7 + 5)));
      }
      break;
    case MetricSource::kCluster:
      add("k8s.cluster.name", "prod-eu-1");
      add("k8s.namespace.name", "shop");
      add("k8s.deployment.name", app);
      add("k8s.deployment.uid", fmt::format("{:016x}", Fmix64(index * 7 + 6)));
      break;
    case MetricSource::kService: {
      // The JVM's runtime metrics come from the Java services (their instances): a
      // service's metrics and traces agree on its language.
      const MetricService* of =
          java_services.empty() ? nullptr : &java_services[index % java_services.size()];
      const std::string service = of == nullptr ? StrCat("java-", app) : of->name;
      add("service.name", service);
      if (of != nullptr && !of->ns.empty()) add("service.namespace", of->ns);
      add("service.instance.id", fmt::format("{:016x}", Fmix64(index * 7 + 7)));
      add("service.version", "1.12.0");
      add("deployment.environment.name", "production");
      add("telemetry.sdk.name", "opentelemetry");
      add("telemetry.sdk.language", "java");
      add("telemetry.sdk.version", std::string(RuntimeAt(0).sdk_version));
      add("process.runtime.name", std::string(RuntimeAt(0).runtime_name));
      add("process.runtime.version", std::string(RuntimeAt(0).runtime_version));
      add("k8s.pod.name",
          fmt::format("{}-{:08x}-{:05x}", service, Fmix64(index * 7 + 1) & 0xFFFFFFFF,
                      Fmix64(index * 7 + 2) & 0xFFFFF));
      break;
    }
  }
}

const char* ScopeName(MetricSource s) {
  switch (s) {
    case MetricSource::kHost:
      return "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/"
             "hostmetricsreceiver";
    case MetricSource::kPod:
    case MetricSource::kContainer:
      return "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/"
             "kubeletstatsreceiver";
    case MetricSource::kCluster:
      return "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/"
             "k8sclusterreceiver";
    case MetricSource::kService: return "io.opentelemetry.runtime-telemetry-java17";
  }
  return "";
}

// Exemplars of a point of `def`, from the spans of the point's service.
class ExemplarDraw {
 public:
  ExemplarDraw(const MetricDef& def, const std::vector<SpanRef>* spans, Rng& rng) : rng_(rng) {
    if (def.exemplar_kind == 0 || spans == nullptr) return;
    for (const SpanRef& s : *spans) {
      if (s.kind == def.exemplar_kind) of_kind_.push_back(&s);
    }
    if (of_kind_.empty()) {
      for (const SpanRef& s : *spans) of_kind_.push_back(&s);
    }
    seconds_ = def.unit == "s";
  }
  // Adds 1 or 2 exemplars; `value` draws a value when the metric is not a duration.
  template <typename Point, typename Value>
  void To(Point* dp, Value&& value) {
    if (of_kind_.empty()) return;
    for (uint64_t n = 1 + rng_.Below(2); n > 0; --n) {
      const SpanRef& s = *of_kind_[rng_.Below(of_kind_.size())];
      mp::Exemplar* ex = dp->add_exemplars();
      // Recorded shortly before the point was collected.
      ex->set_time_unix_nano(kTemplateEpochNs - rng_.Below(1'000'000));
      ex->set_as_double(seconds_ ? static_cast<double>(s.duration_ns) / 1e9 : value());
      ex->set_span_id(s.span_id, 8);
      ex->set_trace_id(s.trace_id, 16);
    }
  }

 private:
  Rng& rng_;
  std::vector<const SpanRef*> of_kind_;
  bool seconds_ = false;
};

// An explicit-bucket histogram point, mass in the low buckets as latencies and sizes.
void FillHistogram(const MetricDef& def, Rng& rng, mp::Metric* metric,
                   const google::protobuf::RepeatedPtrField<KeyValue>& attrs,
                   mp::AggregationTemporality temporality, ExemplarDraw& exemplars) {
  mp::Histogram* h = metric->mutable_histogram();
  h->set_aggregation_temporality(temporality);
  mp::HistogramDataPoint* dp = h->add_data_points();
  *dp->mutable_attributes() = attrs;
  dp->set_start_time_unix_nano(kTemplateEpochNs);
  dp->set_time_unix_nano(kTemplateEpochNs);
  uint64_t count = 0;
  double sum = 0;
  for (size_t b = 0; b <= def.bounds.size(); ++b) {
    // Mass concentrated in the low buckets, as latencies and sizes are.
    const uint64_t c = rng.Below(1000 >> std::min<size_t>(b, 9)) + (b < 4 ? 10 : 0);
    dp->add_bucket_counts(c);
    count += c;
    const double lo = b == 0 ? 0 : def.bounds[b - 1];
    const double hi = b == def.bounds.size() ? def.bounds.back() * 1.5 : def.bounds[b];
    sum += static_cast<double>(c) * (lo + hi) / 2;
  }
  for (double bound : def.bounds) dp->add_explicit_bounds(bound);
  dp->set_count(count);
  dp->set_sum(sum);
  dp->set_min(def.bounds[0] / 4);
  dp->set_max(def.bounds.back() * 1.2);
  exemplars.To(dp, [&] { return dp->min() + rng.Unit() * (dp->max() - dp->min()); });
}

// An exponential histogram point at scale 3.
void FillExponentialHistogram(Rng& rng, mp::Metric* metric,
                              const google::protobuf::RepeatedPtrField<KeyValue>& attrs,
                              mp::AggregationTemporality temporality, ExemplarDraw& exemplars) {
  mp::ExponentialHistogram* h = metric->mutable_exponential_histogram();
  h->set_aggregation_temporality(temporality);
  mp::ExponentialHistogramDataPoint* dp = h->add_data_points();
  *dp->mutable_attributes() = attrs;
  dp->set_start_time_unix_nano(kTemplateEpochNs);
  dp->set_time_unix_nano(kTemplateEpochNs);
  dp->set_scale(3);
  // Scale 3: bucket i covers (2^(i/8), 2^((i+1)/8)]; offset -60 starts near 5 ms.
  dp->mutable_positive()->set_offset(-60);
  uint64_t count = 0;
  double sum = 0;
  int first = -1, last = -1;
  for (int b = 0; b < 40; ++b) {
    const uint64_t c = rng.Below(200);
    dp->mutable_positive()->add_bucket_counts(c);
    count += c;
    sum += static_cast<double>(c) * std::exp2((-60 + b + 0.5) / 8.0);
    if (c > 0 && first < 0) first = b;
    if (c > 0) last = b;
  }
  dp->set_count(count);
  dp->set_sum(sum);
  if (count > 0) {
    dp->set_min(std::exp2((-60 + first) / 8.0));
    dp->set_max(std::exp2((-60 + last + 1) / 8.0));
    exemplars.To(dp, [&] { return dp->min() + rng.Unit() * (dp->max() - dp->min()); });
  }
}

void FillPoint(const MetricDef& def, Rng& rng, mp::Metric* metric,
               const google::protobuf::RepeatedPtrField<KeyValue>& attrs, ExemplarDraw& exemplars) {
  const auto temporality =
      def.delta ? mp::AGGREGATION_TEMPORALITY_DELTA : mp::AGGREGATION_TEMPORALITY_CUMULATIVE;
  switch (def.type) {
    case MetricType::kGauge:
    case MetricType::kSumMonotonic:
    case MetricType::kSumUpDown: {
      mp::NumberDataPoint* dp;
      if (def.type == MetricType::kGauge) {
        dp = metric->mutable_gauge()->add_data_points();
      } else {
        mp::Sum* sum = metric->mutable_sum();
        sum->set_aggregation_temporality(temporality);
        sum->set_is_monotonic(def.type == MetricType::kSumMonotonic);
        dp = sum->add_data_points();
        dp->set_start_time_unix_nano(kTemplateEpochNs);
      }
      *dp->mutable_attributes() = attrs;
      dp->set_time_unix_nano(kTemplateEpochNs);
      if (def.is_int) {
        dp->set_as_int(1 +
                       static_cast<int64_t>(rng.Below(def.unit == "By" ? 1ull << 34 : 1u << 12)));
      } else {
        dp->set_as_double(def.unit == "1" ? rng.Unit() : 1 + rng.Unit() * 1e5);
      }
      break;
    }
    case MetricType::kHistogram:
      FillHistogram(def, rng, metric, attrs, temporality, exemplars);
      break;
    case MetricType::kExpHistogram:
      FillExponentialHistogram(rng, metric, attrs, temporality, exemplars);
      break;
  }
}

}  // namespace

const std::vector<MetricDef>& MetricCatalog() {
  static const std::vector<MetricDef> catalog = [] {
    using T = MetricType;
    using S = MetricSource;
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
    const AttributeDef fs_device{"device", {"/dev/nvme0n1p1", "/dev/nvme1n1", "overlay", "tmpfs"}};
    const AttributeDef fs_mode{"mode", {"rw", "ro"}};
    const AttributeDef fs_mount{"mountpoint", {"/", "/var/lib/kubelet", "/data"}};
    const AttributeDef fs_type{"type", {"ext4", "xfs"}};
    const AttributeDef fs_state{"state", {"free", "reserved", "used"}};
    const AttributeDef tcp_state{
        "state", {"ESTABLISHED", "TIME_WAIT", "CLOSE_WAIT", "LISTEN", "SYN_SENT", "FIN_WAIT_1"}};
    const AttributeDef protocol{"protocol", {"tcp"}};
    const AttributeDef page_state{"state", {"cached", "free", "used"}};
    const AttributeDef page_dir{"direction", {"page_in", "page_out"}};
    const AttributeDef page_type{"type", {"major", "minor"}};
    const AttributeDef proc_status{"status",
                                   {"running", "sleeping", "stopped", "zombies", "blocked"}};
    const AttributeDef iface{"interface", {"eth0", "eth1"}};
    const AttributeDef method{"http.request.method", {"GET", "POST", "PUT", "DELETE"}};
    const AttributeDef route{"http.route",
                             {"/api/products/{id}", "/api/cart", "/api/checkout",
                              "/api/recommendations", "/api/data", "/"}};
    const AttributeDef status{"http.response.status_code", {"200", "201", "404", "500"}};
    const AttributeDef scheme{"url.scheme", {"http"}};
    const AttributeDef server{
        "server.address",
        {"product-catalog", "cart", "checkout", "payment", "shipping", "currency"}};
    const AttributeDef port{"server.port", {"8080"}};
    const AttributeDef db_system{"db.system.name", {"postgresql", "redis"}};
    const AttributeDef db_collection{"db.collection.name",
                                     {"orders", "carts", "products", "users"}};
    const AttributeDef db_op{"db.operation.name", {"SELECT", "INSERT", "UPDATE", "GET"}};
    const AttributeDef mem_type{"jvm.memory.type", {"heap", "non_heap"}};
    const AttributeDef mem_pool{"jvm.memory.pool.name",
                                {"G1 Eden Space", "G1 Old Gen", "G1 Survivor Space", "Metaspace",
                                 "CodeCache", "Compressed Class Space"}};
    const AttributeDef gc_name{"jvm.gc.name", {"G1 Young Generation", "G1 Old Generation"}};
    const AttributeDef gc_action{"jvm.gc.action", {"end of minor GC", "end of major GC"}};
    const AttributeDef thread_daemon{"jvm.thread.daemon", {"true", "false"}};
    const AttributeDef thread_state{
        "jvm.thread.state",
        {"runnable", "blocked", "waiting", "timed_waiting", "new", "terminated"}};
    const AttributeDef condition{"condition",
                                 {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}};
    std::vector<MetricDef> c;
    auto add = [&](std::string name, std::string unit, T type, bool is_int, S source,
                   std::vector<AttributeDef> attrs = {}, std::string desc = "") {
      c.push_back({std::move(name),
                   std::move(desc),
                   std::move(unit),
                   type,
                   is_int,
                   source,
                   std::move(attrs),
                   {}});
    };
    // hostmetrics receiver (legacy attribute keys, as it emits them).
    add("system.cpu.time", "s", T::kSumMonotonic, false, S::kHost, {cpu, cpu_state},
        "Total seconds each logical CPU spent on each mode.");
    add("system.cpu.utilization", "1", T::kGauge, false, S::kHost, {cpu, cpu_state});
    add("system.cpu.frequency", "Hz", T::kGauge, false, S::kHost, {cpu});
    add("system.cpu.logical.count", "{cpu}", T::kSumUpDown, true, S::kHost);
    add("system.cpu.physical.count", "{cpu}", T::kSumUpDown, true, S::kHost);
    add("system.cpu.load_average.1m", "{thread}", T::kGauge, false, S::kHost);
    add("system.cpu.load_average.5m", "{thread}", T::kGauge, false, S::kHost);
    add("system.cpu.load_average.15m", "{thread}", T::kGauge, false, S::kHost);
    add("system.memory.usage", "By", T::kSumUpDown, true, S::kHost, {mem_state},
        "Bytes of memory in use.");
    add("system.memory.utilization", "1", T::kGauge, false, S::kHost, {mem_state});
    add("system.memory.limit", "By", T::kSumUpDown, true, S::kHost);
    add("system.disk.io", "By", T::kSumMonotonic, true, S::kHost, {device, rw});
    add("system.disk.operations", "{operations}", T::kSumMonotonic, true, S::kHost, {device, rw});
    add("system.disk.merged", "{operations}", T::kSumMonotonic, true, S::kHost, {device, rw});
    add("system.disk.io_time", "s", T::kSumMonotonic, false, S::kHost, {device});
    add("system.disk.weighted_io_time", "s", T::kSumMonotonic, false, S::kHost, {device});
    add("system.disk.operation_time", "s", T::kSumMonotonic, false, S::kHost, {device, rw});
    add("system.disk.pending_operations", "{operations}", T::kSumUpDown, true, S::kHost, {device});
    add("system.filesystem.usage", "By", T::kSumUpDown, true, S::kHost,
        {fs_device, fs_mode, fs_mount, fs_type, fs_state});
    add("system.filesystem.inodes.usage", "{inodes}", T::kSumUpDown, true, S::kHost,
        {fs_device, fs_mode, fs_mount, fs_type, fs_state});
    add("system.filesystem.utilization", "1", T::kGauge, false, S::kHost,
        {fs_device, fs_mode, fs_mount, fs_type});
    add("system.network.io", "By", T::kSumMonotonic, true, S::kHost, {net_device, rx_tx},
        "The number of bytes transmitted and received.");
    add("system.network.packets", "{packets}", T::kSumMonotonic, true, S::kHost,
        {net_device, rx_tx});
    add("system.network.dropped", "{packets}", T::kSumMonotonic, true, S::kHost,
        {net_device, rx_tx});
    add("system.network.errors", "{errors}", T::kSumMonotonic, true, S::kHost, {net_device, rx_tx});
    add("system.network.connections", "{connections}", T::kSumUpDown, true, S::kHost,
        {tcp_state, protocol});
    add("system.network.conntrack.count", "{entries}", T::kSumUpDown, true, S::kHost);
    add("system.network.conntrack.max", "{entries}", T::kSumUpDown, true, S::kHost);
    add("system.paging.usage", "By", T::kSumUpDown, true, S::kHost, {device, page_state});
    add("system.paging.operations", "{operations}", T::kSumMonotonic, true, S::kHost,
        {page_dir, page_type});
    add("system.paging.faults", "{faults}", T::kSumMonotonic, true, S::kHost, {page_type});
    add("system.paging.utilization", "1", T::kGauge, false, S::kHost, {device, page_state});
    add("system.processes.count", "{processes}", T::kSumUpDown, true, S::kHost, {proc_status});
    add("system.processes.created", "{processes}", T::kSumMonotonic, true, S::kHost);
    add("system.uptime", "s", T::kGauge, false, S::kHost);
    // kubeletstats receiver: nodes' pods and containers.
    add("k8s.pod.cpu.time", "s", T::kSumMonotonic, false, S::kPod);
    add("k8s.pod.cpu.usage", "{cpu}", T::kGauge, false, S::kPod);
    for (const char* m : {"usage", "available", "rss", "working_set"}) {
      add(StrCat("k8s.pod.memory.", m), "By", T::kGauge, true, S::kPod);
    }
    add("k8s.pod.memory.page_faults", "1", T::kGauge, true, S::kPod);
    add("k8s.pod.memory.major_page_faults", "1", T::kGauge, true, S::kPod);
    for (const char* m : {"usage", "available", "capacity"}) {
      add(StrCat("k8s.pod.filesystem.", m), "By", T::kGauge, true, S::kPod);
    }
    add("k8s.pod.network.io", "By", T::kSumMonotonic, true, S::kPod, {iface, rx_tx});
    add("k8s.pod.network.errors", "1", T::kSumMonotonic, true, S::kPod, {iface, rx_tx});
    add("k8s.pod.uptime", "s", T::kSumMonotonic, true, S::kPod);
    add("container.cpu.time", "s", T::kSumMonotonic, false, S::kContainer);
    add("container.cpu.usage", "{cpu}", T::kGauge, false, S::kContainer);
    for (const char* m : {"usage", "working_set", "rss", "available"}) {
      add(StrCat("container.memory.", m), "By", T::kGauge, true, S::kContainer);
    }
    add("container.filesystem.usage", "By", T::kGauge, true, S::kContainer);
    // k8s_cluster receiver.
    add("k8s.container.cpu_limit", "{cpu}", T::kGauge, false, S::kContainer);
    add("k8s.container.cpu_request", "{cpu}", T::kGauge, false, S::kContainer);
    add("k8s.container.memory_limit", "By", T::kGauge, true, S::kContainer);
    add("k8s.container.memory_request", "By", T::kGauge, true, S::kContainer);
    add("k8s.container.restarts", "{restart}", T::kGauge, true, S::kContainer);
    add("k8s.container.ready", "", T::kGauge, true, S::kContainer);
    add("k8s.pod.phase", "", T::kGauge, true, S::kPod);
    add("k8s.node.condition", "{condition}", T::kGauge, true, S::kHost, {condition});
    add("k8s.deployment.available", "{pod}", T::kGauge, true, S::kCluster);
    add("k8s.deployment.desired", "{pod}", T::kGauge, true, S::kCluster);
    add("k8s.hpa.current_replicas", "{pod}", T::kGauge, true, S::kCluster);
    add("k8s.hpa.desired_replicas", "{pod}", T::kGauge, true, S::kCluster);
    add("k8s.hpa.min_replicas", "{pod}", T::kGauge, true, S::kCluster);
    add("k8s.hpa.max_replicas", "{pod}", T::kGauge, true, S::kCluster);
    // Application SDKs: HTTP, database and JVM runtime semantic conventions.
    c.push_back({"http.server.request.duration",
                 "Duration of HTTP server requests.",
                 "s",
                 T::kHistogram,
                 false,
                 S::kService,
                 {route, method, status, scheme},
                 kHttpBounds});
    c.push_back({"http.client.request.duration",
                 "Duration of HTTP client requests.",
                 "s",
                 T::kExpHistogram,
                 false,
                 S::kService,
                 {server, port, method, status},
                 {}});
    add("http.server.active_requests", "{request}", T::kSumUpDown, true, S::kService,
        {method, scheme});
    c.push_back({"http.server.request.body.size",
                 "Size of HTTP server request bodies.",
                 "By",
                 T::kHistogram,
                 false,
                 S::kService,
                 {route, method},
                 kSdkBounds});
    c.push_back({"http.server.response.body.size",
                 "Size of HTTP server response bodies.",
                 "By",
                 T::kHistogram,
                 false,
                 S::kService,
                 {route, method, status},
                 kSdkBounds});
    c.push_back({"db.client.operation.duration",
                 "Duration of database client operations.",
                 "s",
                 T::kHistogram,
                 false,
                 S::kService,
                 {db_system, db_collection, db_op},
                 kDbBounds});
    add("jvm.memory.used", "By", T::kSumUpDown, true, S::kService, {mem_type, mem_pool});
    add("jvm.memory.committed", "By", T::kSumUpDown, true, S::kService, {mem_type, mem_pool});
    add("jvm.memory.limit", "By", T::kSumUpDown, true, S::kService, {mem_type, mem_pool});
    c.push_back({"jvm.gc.duration",
                 "Duration of JVM garbage collection actions.",
                 "s",
                 T::kHistogram,
                 false,
                 S::kService,
                 {gc_name, gc_action},
                 {0.01, 0.1, 1, 10}});
    add("jvm.thread.count", "{thread}", T::kSumUpDown, true, S::kService,
        {thread_daemon, thread_state});
    add("jvm.cpu.recent_utilization", "1", T::kGauge, false, S::kService);
    add("jvm.cpu.count", "{cpu}", T::kSumUpDown, true, S::kService);
    // SDKs set to the delta temporality preference export counters as deltas.
    add("jvm.class.loaded", "{class}", T::kSumMonotonic, true, S::kService);
    c.back().delta = true;
    add("jvm.cpu.time", "s", T::kSumMonotonic, false, S::kService);
    c.back().delta = true;
    for (MetricDef& d : c) {
      if (d.name.starts_with("http.server.request.") ||
          d.name.starts_with("http.server.response.")) {
        d.exemplar_kind = 2;  // SPAN_KIND_SERVER
      } else if (d.name == "http.client.request.duration" ||
                 d.name == "db.client.operation.duration") {
        d.exemplar_kind = 3;  // SPAN_KIND_CLIENT
      }
    }
    return c;
  }();
  return catalog;
}

namespace {

// The attributes of series combination `combo` of a metric: a mixed-radix number over
// its attribute values, so combinations never repeat.
google::protobuf::RepeatedPtrField<KeyValue> SeriesAttributes(const MetricDef& def, int64_t combo) {
  int64_t rest = combo;
  std::vector<std::pair<std::string, std::string>> kvs(def.attributes.size());
  for (size_t a = def.attributes.size(); a-- > 0;) {
    const AttributeDef& ad = def.attributes[a];
    int64_t idx;
    if (a == 0) {
      idx = rest;  // The first key absorbs the remainder: combinations never repeat.
    } else {
      idx = rest % static_cast<int64_t>(ad.values.size());
      rest /= static_cast<int64_t>(ad.values.size());
    }
    kvs[a] = {ad.key, AttributeValue(ad, idx)};
  }
  google::protobuf::RepeatedPtrField<KeyValue> attrs;
  for (auto& [k, v] : kvs) {
    KeyValue* kv = attrs.Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
  return attrs;
}

// How many resources of `source` there are. A metric without attributes has one series
// per resource (an uptime per host): a source has as many resources as such a metric
// asks series, so it gets them all.
int ResourceCount(MetricSource source, const GeneratorConfig& config,
                  const std::vector<int64_t>& series) {
  const auto& catalog = MetricCatalog();
  int resources = static_cast<int>(config.host_count) * ResourcesPerHost(source);
  for (size_t m = 0; m < series.size(); ++m) {
    const MetricDef& def = catalog[m % catalog.size()];
    if (def.source == source && def.attributes.empty()) {
      resources = std::max(resources, static_cast<int>(series[m]));
    }
  }
  return resources;
}

}  // namespace

MetricsSummary BuildMetrics(
    const GeneratorConfig& config, const std::vector<MetricService>& java_services, Rng& rng,
    const std::function<void(
        const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest&)>& emit,
    const std::atomic<bool>* cancel) {
  const auto& catalog = MetricCatalog();
  Rng exemplar_rng(Fmix64(config.seed ^ 0x4578656D706C6172ull));
  MetricsSummary summary;
  summary.metrics = config.metric_count;
  std::vector<int64_t> series(config.metric_count);
  for (auto& s : series) s = rng.Range(config.timeseries_min, config.timeseries_max);
  summary.series_per_metric.assign(series.size(), 0);
  for (size_t m = 0; m < series.size(); ++m) {
    const std::string& name = catalog[m % catalog.size()].name;
    const size_t round = m / catalog.size();
    summary.names.push_back(round == 0 ? name : StrCat(name, ".v", round));
  }

  for (MetricSource source : {MetricSource::kHost, MetricSource::kPod, MetricSource::kContainer,
                              MetricSource::kCluster, MetricSource::kService}) {
    const int resources = ResourceCount(source, config, series);
    for (int r = 0; r < resources; ++r) {
      opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest req;
      mp::ResourceMetrics* rm = req.add_resource_metrics();
      AddResource(rm, source, r, static_cast<int>(config.host_count), java_services);
      rm->set_schema_url(std::string(kSchemaUrl));
      mp::ScopeMetrics* sm = rm->add_scope_metrics();
      sm->mutable_scope()->set_name(ScopeName(source));
      // The Collector release of the receivers, or the Java agent's runtime metrics.
      sm->mutable_scope()->set_version(source == MetricSource::kService
                                           ? std::string(RuntimeAt(0).scopes[0].version)
                                           : "0.140.0");
      for (size_t m = 0; m < series.size(); ++m) {
        if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return summary;
        const MetricDef& def = catalog[m % catalog.size()];
        if (def.source != source) continue;
        // Series i lives on resource i % resources with attribute combination
        // i / resources, so (resource, attributes) is unique for every series. A metric
        // without attributes has one series per resource at most.
        std::vector<int64_t> combos;
        for (int64_t i = r; i < series[m]; i += resources) {
          const int64_t combo = i / resources;
          if (def.attributes.empty() && combo > 0) break;
          combos.push_back(combo);
        }
        if (combos.empty()) continue;
        ExemplarDraw exemplars(
            def,
            source == MetricSource::kService && !java_services.empty()
                ? java_services[static_cast<size_t>(r) % java_services.size()].spans
                : nullptr,
            exemplar_rng);
        mp::Metric* metric = sm->add_metrics();
        metric->set_name(summary.names[m]);
        metric->set_description(def.description);
        metric->set_unit(def.unit);
        for (int64_t combo : combos) {
          FillPoint(def, rng, metric, SeriesAttributes(def, combo), exemplars);
          ++summary.series;
          ++summary.series_per_metric[m];
        }
      }
      if (sm->metrics_size() > 0) emit(req);
    }
  }
  return summary;
}

}  // namespace loadgen
