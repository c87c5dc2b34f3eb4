#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "generator/metrics.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;
namespace tr = opentelemetry::proto::trace::v1;
using testing::TempDir;

std::string Attr(
    const google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>& attrs,
    std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) {
      return kv.value().has_string_value() ? kv.value().string_value()
                                           : std::to_string(kv.value().int_value());
    }
  }
  return "";
}

struct SpanInfo {
  tr::Span span;
  std::string service;
};

std::map<std::string, std::vector<SpanInfo>> TracesById(const std::string& path) {
  std::map<std::string, std::vector<SpanInfo>> out;
  for (const auto& req : testing::ReadTemplateRequests<ct::ExportTraceServiceRequest>(path))
    for (const auto& rs : req.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans())
          out[s.trace_id()].push_back({s, Attr(rs.resource().attributes(), "service.name")});
  return out;
}

TEST_CASE("the same config and seed give byte-identical files, another seed does not") {
  TempDir a, b, c;
  auto config = testing::SmallConfig(a);
  REQUIRE(GenerateDataset(config).ok());
  config.output_directory = b.path();
  REQUIRE(GenerateDataset(config).ok());
  config.output_directory = c.path();
  config.seed = 43;
  REQUIRE(GenerateDataset(config).ok());
  for (const char* f : {"small-traces.pb", "small-metrics.pb", "small-logs.pb"}) {
    INFO(f);
    CHECK(testing::ReadText(a.File(f)) == testing::ReadText(b.File(f)));
    CHECK(testing::ReadText(a.File(f)) != testing::ReadText(c.File(f)));
  }
}

TEST_CASE("the files are the same bytes whatever the number of threads") {
  // Every kind of trace (random topology, scenarios, high-span traces, custom
  // attributes), metrics and correlated logs, in many units.
  TempDir scenarios;
  testing::WriteText(scenarios.File("checkout.yaml"), R"(name: checkout
weight: 1
root:
  service: frontend
  operation: POST /checkout
  kind: server
  attributes: {http.request.method: POST, order.id: "{{random.uuid}}"}
  calls:
    - service: payment
      operation: charge
      kind: server
      attributes: {amount: "{{random.float(1,500)}}"}
      error_conditions: [{probability: 0.2, type: Declined, message: card declined}]
)");
  std::vector<std::string> files[3];
  for (int threads : {1, 2, 3}) {
    TempDir dir;
    auto config = testing::SmallConfig(dir);
    config.trace_count = 500;
    config.high_span_trace_count = 3;
    config.high_span_trace_spans = 3000;
    config.custom_attr_count = 5;
    config.custom_attr_per_span_max = 2;
    config.scenario_paths = {scenarios.path()};
    config.random_topology_weight = 2;
    config.log_count = 3000;
    config.threads = threads;
    auto summary = GenerateDataset(config);
    INFO(summary.status().message());
    REQUIRE(summary.ok());
    CHECK(summary->traces.chunks > 10);
    for (const char* f : {"small-traces.pb", "small-metrics.pb", "small-logs.pb"}) {
      files[threads - 1].push_back(testing::ReadText(dir.File(f)));
    }
  }
  for (int i = 0; i < 3; ++i) {
    INFO("file " << i);
    CHECK(files[0][i] == files[1][i]);
    CHECK(files[0][i] == files[2][i]);
  }
}

TEST_CASE("the json option writes OTLP/JSON beside each .pb, one request per line, hex IDs") {
  TempDir dir;
  auto config = testing::SmallConfig(dir);
  config.write_json = true;
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  const std::string json = testing::ReadText(dir.File("small-traces.json"));
  size_t lines = 0;
  for (char c : json) lines += c == '\n';
  CHECK(lines == summary->traces.chunks);
  CHECK(std::regex_search(json, std::regex("\"traceId\":\"[0-9a-f]{32}\"")));
  CHECK(std::regex_search(json, std::regex("\"spanId\":\"[0-9a-f]{16}\"")));
  CHECK(std::regex_search(json, std::regex("\"kind\":[1-5]")));       // Enums as integers.
  CHECK(json.find("\"startTimeUnixNano\":\"") != std::string::npos);  // 64-bit as strings.
  for (const char* f : {"small-metrics.json", "small-logs.json"}) {
    CHECK(!testing::ReadText(dir.File(f)).empty());
  }
  // The .pb files are the same with or without --json.
  TempDir plain;
  auto without = testing::SmallConfig(plain);
  REQUIRE(GenerateDataset(without).ok());
  CHECK(testing::ReadText(plain.File("small-traces.pb")) ==
        testing::ReadText(dir.File("small-traces.pb")));
}

TEST_CASE("span counts per trace follow Normal(avg, std_dev)") {
  TempDir dir;
  auto config = testing::SmallConfig(dir);
  config.trace_count = 3000;
  config.spans_avg_per_trace = 20;
  config.spans_std_dev = 5;
  config.max_chunk_bytes = 1 << 20;
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  const auto traces = TracesById(summary->traces.path);
  REQUIRE(traces.size() == 3000);
  double sum = 0, sq = 0;
  for (const auto& [id, spans] : traces) {
    sum += spans.size();
    sq += double(spans.size()) * spans.size();
  }
  const double mean = sum / traces.size();
  const double sd = std::sqrt(sq / traces.size() - mean * mean);
  CHECK(mean == Approx(20).margin(0.4));
  CHECK(sd == Approx(5).margin(0.4));
  CHECK(summary->traces.items == static_cast<uint64_t>(sum));
}

TEST_CASE("trace structure: calls across services, timing, consistent errors") {
  TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  size_t pairs = 0, messages = 0, grpc = 0, errors = 0, downstream = 0, local = 0;
  for (const auto& [id, spans] : TracesById(summary.traces.path)) {
    std::map<std::string, const SpanInfo*> by_id;
    for (const auto& s : spans) by_id[s.span.span_id()] = &s;
    int roots = 0;
    for (const auto& s : spans) {
      if (s.span.parent_span_id().empty()) {
        ++roots;
        CHECK(s.span.kind() == tr::Span::SPAN_KIND_SERVER);
        CHECK(s.span.start_time_unix_nano() == kTemplateEpochNs);  // Offsets start at 0.
        continue;
      }
      REQUIRE(by_id.count(s.span.parent_span_id()) == 1);
      const SpanInfo& parent = *by_id[s.span.parent_span_id()];
      CHECK(s.span.start_time_unix_nano() >= parent.span.start_time_unix_nano());
      const auto kind = s.span.kind();
      if (kind == tr::Span::SPAN_KIND_CONSUMER) {
        // Messaging is asynchronous: the consumer starts after the publish has ended.
        CHECK(parent.span.kind() == tr::Span::SPAN_KIND_PRODUCER);
        CHECK(parent.service != s.service);
        CHECK(s.span.start_time_unix_nano() > parent.span.end_time_unix_nano());
        CHECK(Attr(s.span.attributes(), "messaging.destination.name") ==
              Attr(parent.span.attributes(), "messaging.destination.name"));
        CHECK(parent.span.name() ==
              "publish " + Attr(parent.span.attributes(), "messaging.destination.name"));
        ++messages;
      } else {
        CHECK(s.span.end_time_unix_nano() <= parent.span.end_time_unix_nano());
      }
      if (kind == tr::Span::SPAN_KIND_SERVER) {
        // A server span's parent is the client span of the call, in another service,
        // with a network gap on both sides.
        CHECK(parent.span.kind() == tr::Span::SPAN_KIND_CLIENT);
        CHECK(parent.service != s.service);
        CHECK(s.span.start_time_unix_nano() > parent.span.start_time_unix_nano());
        CHECK(s.span.end_time_unix_nano() < parent.span.end_time_unix_nano());
        CHECK(Attr(parent.span.attributes(), "server.address") == s.service);
        if (!Attr(s.span.attributes(), "rpc.method").empty()) {
          ++grpc;
          CHECK(parent.span.name() == s.span.name());  // Both named by the RPC method.
          CHECK(Attr(s.span.attributes(), "rpc.system.name") == "grpc");
        }
        ++pairs;
      } else if (kind != tr::Span::SPAN_KIND_CONSUMER) {
        CHECK(parent.service == s.service);
      }
      if (parent.span.kind() == tr::Span::SPAN_KIND_SERVER ||
          parent.span.kind() == tr::Span::SPAN_KIND_INTERNAL ||
          parent.span.kind() == tr::Span::SPAN_KIND_CONSUMER) {
        const bool remote = kind == tr::Span::SPAN_KIND_PRODUCER ||
                            (kind == tr::Span::SPAN_KIND_CLIENT &&
                             Attr(s.span.attributes(), "db.system.name").empty());
        (remote ? downstream : local)++;
      }
      const bool failed = s.span.status().code() == tr::Status::STATUS_CODE_ERROR;
      if (kind == tr::Span::SPAN_KIND_SERVER && failed) {
        ++errors;
        REQUIRE(s.span.events_size() == 1);
        CHECK(s.span.events(0).name() == "exception");
        CHECK(parent.span.status().code() == tr::Status::STATUS_CODE_ERROR);
        if (Attr(s.span.attributes(), "rpc.method").empty()) {
          // HTTP: the status code agrees on both sides of the call.
          CHECK(Attr(s.span.attributes(), "http.response.status_code") == "500");
          CHECK(Attr(parent.span.attributes(), "http.response.status_code") == "500");
        } else {
          CHECK(Attr(s.span.attributes(), "rpc.response.status_code") == "UNAVAILABLE");
          CHECK(Attr(parent.span.attributes(), "rpc.response.status_code") == "UNAVAILABLE");
        }
      }
    }
    CHECK(roots == 1);
  }
  CHECK(pairs > 100);
  CHECK(grpc > 0);
  CHECK(messages > 0);
  CHECK(errors > 0);
  // About 70% of children go downstream where a downstream service exists; leaf
  // services pull the overall share below that.
  const double share = double(downstream) / (downstream + local);
  CHECK(share > 0.35);
  CHECK(share < 0.8);
}

TEST_CASE("metric series are unique per resource and the counts match the metadata") {
  TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  std::set<std::string> series;
  uint64_t points = 0;
  std::set<std::string> names;
  for (const auto& req :
       testing::ReadTemplateRequests<cm::ExportMetricsServiceRequest>(summary.metrics.path))
    for (const auto& rm : req.resource_metrics()) {
      const std::string host = Attr(rm.resource().attributes(), "host.name");
      for (const auto& m : rm.scope_metrics(0).metrics()) {
        names.insert(m.name());
        auto add = [&](const auto& attrs) {
          std::string key = host + "|" + m.name();
          for (const auto& kv : attrs) key += "|" + kv.key() + "=" + kv.value().string_value();
          CHECK(series.insert(key).second);
          ++points;
        };
        for (const auto& p : m.gauge().data_points()) add(p.attributes());
        for (const auto& p : m.sum().data_points()) add(p.attributes());
        for (const auto& p : m.histogram().data_points()) {
          add(p.attributes());
          CHECK(p.bucket_counts_size() == p.explicit_bounds_size() + 1);
        }
        for (const auto& p : m.exponential_histogram().data_points()) add(p.attributes());
      }
    }
  CHECK(points == summary.metrics.items);
  CHECK(names.size() == 14);
  const std::string meta = testing::ReadText(summary.metadata_path);
  CHECK_THAT(meta, Catch::Contains("data_points: " + std::to_string(points)));
  CHECK_THAT(meta, Catch::Contains("spans: " + std::to_string(summary.traces.items)));
}

TEST_CASE("the metric catalog: real definitions of every kind, resources per source") {
  const auto& catalog = MetricCatalog();
  CHECK(catalog.size() >= 60);
  std::set<MetricType> types;
  std::set<std::string> names;
  bool delta = false;
  for (const MetricDef& m : catalog) {
    types.insert(m.type);
    CHECK(names.insert(m.name).second);  // No duplicates.
    delta |= m.delta;
    if (m.type == MetricType::kHistogram) CHECK(!m.bounds.empty());
  }
  CHECK(types.size() == 5);
  CHECK(delta);

  TempDir dir;
  auto config = testing::SmallConfig(dir);
  config.metric_count = static_cast<int64_t>(catalog.size()) + 10;  // Past the catalog.
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  std::map<std::string, std::string> resource_key_of;  // metric name -> identifying key
  for (const auto& req :
       testing::ReadTemplateRequests<cm::ExportMetricsServiceRequest>(summary->metrics.path)) {
    for (const auto& rm : req.resource_metrics()) {
      // The most specific identifying attribute of the resource.
      std::string key;
      for (const char* k :
           {"service.name", "container.id", "k8s.pod.name", "k8s.deployment.name", "host.name"}) {
        if (key.empty() && !Attr(rm.resource().attributes(), k).empty()) key = k;
      }
      for (const auto& m : rm.scope_metrics(0).metrics()) resource_key_of[m.name()] = key;
    }
  }
  CHECK(resource_key_of["system.cpu.time"] == "host.name");
  CHECK(resource_key_of["k8s.pod.memory.usage"] == "k8s.pod.name");
  CHECK(resource_key_of["container.cpu.time"] == "container.id");
  CHECK(resource_key_of["k8s.deployment.available"] == "k8s.deployment.name");
  CHECK(resource_key_of["http.server.request.duration"] == "service.name");
  CHECK(resource_key_of.count("system.cpu.time.v1") == 1);  // A derived variant, not an error.
}

TEST_CASE("log types follow the configured percentages") {
  TempDir dir;
  auto config = testing::SmallConfig(dir);
  config.log_count = 5000;
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  size_t access = 0, total = 0;
  for (const auto& req :
       testing::ReadTemplateRequests<cl::ExportLogsServiceRequest>(summary->logs.path))
    for (const auto& rl : req.resource_logs())
      for (const auto& sl : rl.scope_logs())
        for (const auto& r : sl.log_records()) {
          ++total;
          access += r.event_name() == "http.access";
        }
  CHECK(total == 5000);
  CHECK(double(access) / total == Approx(0.40).margin(0.03));
}

TEST_CASE("a refused dataset leaves no files, and an earlier dataset stays intact") {
  TempDir dir;
  auto config = testing::SmallConfig(dir);
  REQUIRE(GenerateDataset(config).ok());
  const std::string before = testing::ReadText(dir.File("small-traces.pb"));
  config.seed = 5;
  config.max_dataset_bytes = 1000;
  auto result = GenerateDataset(config);
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(std::string(result.status().message()), Catch::Contains("limits.max_dataset_bytes"));
  CHECK(testing::ReadText(dir.File("small-traces.pb")) == before);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    CHECK(e.path().string().find(".tmp-") == std::string::npos);
    ++files;
  }
  CHECK(files == 4);
}

TEST_CASE("high-span traces, custom attributes and ingress choice") {
  TempDir dir;
  auto config = testing::SmallConfig(dir);
  config.trace_count = 100;
  config.high_span_trace_count = 2;
  config.high_span_trace_spans = 20000;
  config.custom_attr_count = 50;
  config.custom_attr_per_span_min = 2;
  config.custom_attr_per_span_max = 4;
  config.custom_attr_value_bytes = 24;
  config.custom_attr_cardinality = 3;
  config.ingress_names = {"cart"};
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  CHECK(summary->trace_count == 102);
  const auto traces = TracesById(summary->traces.path);
  REQUIRE(traces.size() == 102);
  int big = 0;
  std::map<std::string, std::set<std::string>> values;
  for (const auto& [id, spans] : traces) {
    if (spans.size() == 20000) ++big;
    for (const auto& s : spans) {
      if (s.span.parent_span_id().empty()) CHECK(s.service == "cart");  // The only ingress.
      int custom = 0;
      for (const auto& kv : s.span.attributes()) {
        if (kv.key().rfind("custom.attr.", 0) != 0) continue;
        ++custom;
        CHECK(kv.value().string_value().size() == 24);
        values[kv.key()].insert(kv.value().string_value());
      }
      CHECK(custom >= 2);
      CHECK(custom <= 4);
    }
  }
  CHECK(big == 2);
  CHECK(summary->span_count_quantiles.back() == 20000);
  CHECK(values.size() == 50);
  for (const auto& [key, seen] : values) CHECK(seen.size() <= 3);  // The cardinality holds.

  config.ingress_names = {"no-such-service"};
  auto bad = GenerateDataset(config);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Catch::Contains("traces.services.ingress: 'no-such-service'"));
}

}  // namespace
}  // namespace loadgen
