#include "generator/scenario.h"

#include <map>
#include <regex>

#include "catch2/catch.hpp"
#include "generator/config.h"
#include "generator/dataset.h"
#include "generator/scenario_runner.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tests/test_util.h"

namespace loadgen {
namespace {

namespace tr = opentelemetry::proto::trace::v1;
using testing::TempDir;

std::string LoadError(const std::string& yaml) {
  TempDir dir;
  testing::WriteText(dir.File("s.yaml"), yaml);
  auto s = LoadScenarios({dir.File("s.yaml")});
  return s.ok() ? "" : std::string(s.status().message());
}

TEST_CASE("bad scenario files name the file, line and key") {
  CHECK_THAT(LoadError("root:\n  service: a\n  operation: b\n  kidn: server\n"),
             Catch::Contains("s.yaml:4:3: unknown key 'root.kidn'; did you mean 'kind'?"));
  CHECK_THAT(
      LoadError("root:\n  service: a\n  operation: b\n  kind: servr\n"),
      Catch::Contains("s.yaml:4:9: root.kind: expected server, internal, client or consumer"));
  CHECK_THAT(LoadError("root:\n  service: a\n  operation: b\n  attributes:\n    x: "
                       "\"{{random.integer(1,2)}}\"\n"),
             Catch::Contains(
                 "s.yaml:5:8: root.attributes.x: {{random.integer(1,2)}}: unknown expression"));
  CHECK_THAT(
      LoadError("root:\n  service: a\n  operation: b\n  attributes:\n    x: \"{{vars.nope}}\"\n"),
      Catch::Contains("unknown variable vars.nope"));
  CHECK_THAT(LoadError("root:\n  service: a\n  operation: b\n  attributes:\n    x: "
                       "\"{{parent.attributes.y}}\"\n"),
             Catch::Contains("parent.attributes is not available here"));
  CHECK_THAT(LoadError("root:\n  service: a\n  operation: b\n  delay_ms: [5]\n"),
             Catch::Contains("root.delay_ms: expected a list [min, max]"));
  CHECK_THAT(
      LoadError("root:\n  service: a\n  operation: b\n  calls:\n    - service: c\n      operation: "
                "d\n      error_conditions:\n        - {probability: 150, type: X}\n"),
      Catch::Contains("root.calls[0].error_conditions[0].probability: must be between 0 and 100"));
  CHECK_THAT(LoadError("weight: 1\n"), Catch::Contains("a scenario needs a root"));
  CHECK_THAT(LoadError("root:\n  operation: b\n"),
             Catch::Contains("root.service: every call needs a service"));
  CHECK_THAT(
      LoadError(
          "root:\n  service: a\n  operation: b\n  attributes:\n    x: \"{{random.int(9,1)}}\"\n"),
      Catch::Contains("must not exceed"));
}

constexpr const char* kShop = R"(name: shop
vars:
  user: "{{random.int(1000, 1999)}}"
  order: "order-{{random.uuid}}"
trace_attributes:
  synthetic_request: true
root:
  service: frontend
  operation: POST /api/checkout
  delay_ms: [2, 4]
  attributes:
    http.request.method: POST
    http.response.status_code: 200
    user.id: "{{vars.user}}"
    ratio: "{{random.float(0.5, 1.5)}}"
    ip: "{{random.ipv4}}"
    tier: "{{random.choice(gold|silver)}}"
    quoted: "200"
  calls:
    - service: payment
      operation: POST /charge
      delay_ms: [10, 20]
      attributes:
        http.request.method: POST
        http.response.status_code: 200
        user.id: "{{parent.attributes.user.id}}"
        order.id: "{{vars.order}}"
      error_conditions:
        - {probability: 100, type: PaymentDeclined, message: declined}
    - service: frontend
      operation: render
      kind: internal
      repeat: [2, 3]
      calls:
        - service: frontend
          operation: SELECT carts
          kind: client
          attributes: {db.system.name: postgresql}
    - service: accounting
      operation: process orders
      kind: consumer
      attributes:
        messaging.system: kafka
        messaging.destination.name: orders
)";

std::string Str(const tr::Span& s, std::string_view key) {
  for (const auto& kv : s.attributes()) {
    if (kv.key() == key) return kv.value().string_value();
  }
  return "<absent>";
}
const opentelemetry::proto::common::v1::AnyValue* Attr(const tr::Span& s, std::string_view key) {
  for (const auto& kv : s.attributes()) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

// A scenario trace, decoded: (service index, span) pairs.
std::vector<std::pair<int, tr::Span>> BuildDecoded(ScenarioRunner& runner, const Scenario& s) {
  TraceDraft draft;
  runner.Build(s, &draft);
  std::vector<std::pair<int, tr::Span>> out;
  for (size_t i = 0; i < draft.size(); ++i) {
    tr::Span span;
    REQUIRE(span.ParseFromString(std::string(draft.span_bytes(i))));
    out.emplace_back(draft.spans()[i].service, std::move(span));
  }
  return out;
}

TEST_CASE("scenario traces: expressions, remote calls, repeats, errors and markers") {
  TempDir dir;
  testing::WriteText(dir.File("shop.yaml"), kShop);
  auto scenarios = LoadScenarios({dir.path()});
  REQUIRE(scenarios.ok());
  REQUIRE(scenarios->size() == 1);
  const std::vector<std::string> services = ScenarioServices(*scenarios);
  CHECK(services == std::vector<std::string>{"frontend", "payment", "accounting"});
  Rng rng(5);
  Topology topology;
  for (const std::string& name : services) AddService(&topology, name, rng);
  ScenarioRunner runner(topology, rng);
  for (int trace = 0; trace < 50; ++trace) {
    const std::vector<std::pair<int, tr::Span>> spans = BuildDecoded(runner, (*scenarios)[0]);
    std::map<std::string, const tr::Span*> by_id;
    std::map<std::string, int> service_of;
    for (const auto& [svc, s] : spans) {
      by_id[s.span_id()] = &s;
      service_of[s.span_id()] = svc;
    }
    const tr::Span& root = spans[0].second;
    INFO("trace " << trace);
    // Typed values: a lone random.int is an int, a lone random.float a double,
    // unquoted numbers keep their type, quoted ones stay strings.
    const std::string user = std::to_string(Attr(root, "user.id")->int_value());
    CHECK(Attr(root, "user.id")->int_value() >= 1000);
    CHECK(Attr(root, "user.id")->int_value() <= 1999);
    CHECK(Attr(root, "ratio")->double_value() >= 0.5);
    CHECK(Attr(root, "ratio")->double_value() <= 1.5);
    CHECK(Attr(root, "http.response.status_code")->int_value() == 200);
    CHECK(Attr(root, "quoted")->string_value() == "200");
    CHECK(Str(root, "ip").rfind("10.", 0) == 0);
    CHECK((Str(root, "tier") == "gold" || Str(root, "tier") == "silver"));
    int renders = 0;
    for (const auto& [svc, s] : spans) {
      CHECK(Attr(s, "synthetic_request")->bool_value());  // On every span.
      if (s.name() == "render") ++renders;
      if (s.name() == "POST /charge") {
        // The callee's SERVER span sits in a CLIENT span of the caller.
        CHECK(s.kind() == tr::Span::SPAN_KIND_SERVER);
        const tr::Span& client = *by_id.at(s.parent_span_id());
        CHECK(client.kind() == tr::Span::SPAN_KIND_CLIENT);
        CHECK(client.name() == "POST");
        CHECK(services[service_of[client.span_id()]] == "frontend");
        CHECK(services[svc] == "payment");
        CHECK(Str(client, "server.address") == "payment");
        CHECK(client.start_time_unix_nano() < s.start_time_unix_nano());
        CHECK(client.end_time_unix_nano() > s.end_time_unix_nano());
        // vars and parent.attributes carry the same values down the trace.
        CHECK(std::to_string(Attr(s, "user.id")->int_value()) == user);  // Type carried too.
        CHECK(std::regex_match(
            Str(s, "order.id"),
            std::regex(
                "order-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
        // probability 100: the call fails, and the status code agrees on both sides.
        CHECK(s.status().code() == tr::Status::STATUS_CODE_ERROR);
        CHECK(s.status().message() == "declined");
        REQUIRE(s.events_size() == 1);
        CHECK(s.events(0).name() == "exception");
        CHECK(Attr(s, "http.response.status_code")->int_value() == 500);
        CHECK(client.status().code() == tr::Status::STATUS_CODE_ERROR);
        CHECK(Attr(client, "http.response.status_code")->int_value() == 500);
      }
      if (s.name() == "process orders") {
        CHECK(s.kind() == tr::Span::SPAN_KIND_CONSUMER);
        const tr::Span& producer = *by_id.at(s.parent_span_id());
        CHECK(producer.kind() == tr::Span::SPAN_KIND_PRODUCER);
        CHECK(producer.name() == "publish orders");
      }
      if (s.name() == "SELECT carts") {
        CHECK(s.kind() == tr::Span::SPAN_KIND_CLIENT);
        CHECK(by_id.at(s.parent_span_id())->name() == "render");
      }
      if (!s.parent_span_id().empty()) {
        const tr::Span& parent = *by_id.at(s.parent_span_id());
        CHECK(s.start_time_unix_nano() >= parent.start_time_unix_nano());
        CHECK(s.end_time_unix_nano() <= parent.end_time_unix_nano());
      }
    }
    CHECK(renders >= 2);
    CHECK(renders <= 3);
  }
}

TEST_CASE("scenario traces mix by weight with random-topology traces") {
  TempDir dir;
  testing::WriteText(dir.File("a.yaml"), "weight: 3\nroot: {service: a, operation: x}\n");
  testing::WriteText(dir.File("b.yaml"), "weight: 1\nroot: {service: b, operation: y}\n");
  GeneratorConfig c;
  c.output_directory = dir.File("out");
  c.trace_count = 4000;
  c.metric_count = 0;
  c.log_count = 0;
  c.scenario_paths = {dir.File("a.yaml"), dir.File("b.yaml")};
  c.random_topology_weight = 1;
  auto summary = GenerateDataset(c);
  REQUIRE(summary.ok());
  REQUIRE(summary->scenario_traces.size() == 2);
  CHECK(summary->scenario_traces[0] / 4000.0 == Approx(0.6).margin(0.03));
  CHECK(summary->scenario_traces[1] / 4000.0 == Approx(0.2).margin(0.03));
  c.random_topology_weight = 0;
  c.scenario_paths = {dir.File("none.yaml")};
  auto missing = GenerateDataset(c);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("none.yaml"));
}

TEST_CASE("the presets generate") {
  for (const char* preset : {"generator-online-shop.yaml", "generator-order-processing.yaml",
                             "generator-large-topology.yaml"}) {
    INFO(preset);
    TempDir dir;
    auto c = LoadGeneratorConfig(testing::SourceDir() + "/configs/" + preset);
    REQUIRE(c.ok());
    c->output_directory = dir.path();
    c->trace_count = 300;
    c->log_count = 300;
    auto summary = GenerateDataset(*c);
    REQUIRE(summary.ok());
    CHECK(summary->traces.items > 300);
  }
}

}  // namespace
}  // namespace loadgen
