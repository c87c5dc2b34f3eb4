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
  CHECK_THAT(LoadError("root:\n  service: a\n  operation: b\n  kind: servr\n"),
             Catch::Contains(
                 "s.yaml:4:9: root.kind: expected server, internal, client, consumer or producer"));
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

// The seed trace generator's nested form, as its README writes it, with every construct:
// scenario_name, description, weight, vars, root_span with nested calls, upper-case
// kinds, bare {{names}} (vars, the span's own attributes, also in operation),
// parent.attributes, probability in percent; and a _base.yaml listing the services.
constexpr const char* kSeedBase = R"(# scenarios/_base.yaml
schema_version: 1
services:
  - api-gateway
  - auth-service
  - order-worker
  - unused-service
)";
constexpr const char* kSeedNested = R"(scenario_name: "E-commerce Order Processing"
description: "Simulates a complete order flow"
weight: 15
vars:
  user_id: "{{random.int(1000, 9999)}}"
  order_id: "order-{{random.uuid}}"
root_span:
  service: "api-gateway"
  operation: "POST /api/v1/orders/{{order_id}}"
  kind: "SERVER"
  delay_ms: [5, 15]
  attributes:
    http.method: "POST"
    user.id: "{{user_id}}"
    order.id: "{{order_id}}"
  error_conditions:
    - probability: 0
      type: "RateLimitExceeded"
      message: "API rate limit exceeded for user."
  calls:
    - service: "auth-service"
      operation: "validate_user_session"
      kind: "CLIENT"
      delay_ms: [10, 30]
      attributes:
        user.id: "{{parent.attributes.user.id}}"
        session: "sess-{{user.id}}"
      error_conditions:
        - probability: 100
          type: "InvalidSession"
          message: "User session is invalid or expired."
      calls:
        - service: "auth-service"
          operation: "check token"
          kind: "INTERNAL"
        - service: "auth-service"
          operation: "publish audit"
          kind: "PRODUCER"
          attributes:
            user.id: "{{user.id}}"
          calls:
            - service: "order-worker"
              operation: "process audit for {{user.id}}"
              kind: "CONSUMER"
              attributes:
                user.id: "{{user.id}}"
)";
// The flat form, exactly as the seed's README shows it.
constexpr const char* kSeedSteps = R"(# scenarios/service_foo.yaml

scenario_name: "Service Foo Scenario"
description: "Generates traces for the service-foo calling the already existing user-service."
steps:
  - service: "service-foo"
    operation: "GET /api/v1/foo/{{user_id}}"
    kind: "CLIENT"
    delay_ms: [10, 50]  # Simulate network delay
    attributes:
      user_id: "{{random.int(1000, 9999)}}"
      session_id: "sess-{{random.uuid}}"

  - service: "user-service"
    operation: "POST /api/v1/users/{{user_id}}/foo"
    kind: "SERVER"
    delay_ms: [20, 100]
    attributes:
      user_id: "{{user_id}}"
      client_ip: "{{random.ipv4}}"
)";

TEST_CASE("the seed trace generator's scenario files load unchanged, in both forms") {
  TempDir dir;
  testing::WriteText(dir.File("_base.yaml"), kSeedBase);
  testing::WriteText(dir.File("ecommerce_order.yaml"), kSeedNested);
  auto nested = LoadScenarios({dir.path()});
  REQUIRE(nested.ok());
  REQUIRE(nested->size() == 1);  // _base.yaml is no scenario.
  const Scenario& order = (*nested)[0];
  CHECK(order.form == ScenarioForm::kSeedNested);
  CHECK(order.name == "E-commerce Order Processing");
  CHECK(order.weight == 15);
  // _base.yaml's services come first, in its order, used or not.
  const std::vector<std::string> services = ScenarioServices(*nested);
  CHECK(services ==
        std::vector<std::string>{"api-gateway", "auth-service", "order-worker", "unused-service"});
  TempDir flat_dir;
  testing::WriteText(flat_dir.File("service_foo.yaml"), kSeedSteps);
  auto flat = LoadScenarios({flat_dir.File("service_foo.yaml")});
  REQUIRE(flat.ok());
  CHECK((*flat)[0].form == ScenarioForm::kSeedSteps);
  CHECK(ScenarioServices(*flat) == std::vector<std::string>{"service-foo", "user-service"});

  Rng rng(9);
  Topology topology;
  for (const std::string& name : services) AddService(&topology, name, rng);
  for (const std::string& name : ScenarioServices(*flat)) AddService(&topology, name, rng);
  ScenarioRunner runner(topology, rng);
  for (int trace = 0; trace < 20; ++trace) {
    INFO("trace " << trace);
    // Nested: one span per node as written (no client side added), kinds as written.
    auto spans = BuildDecoded(runner, order);
    REQUIRE(spans.size() == 5);
    std::map<std::string, const tr::Span*> by_name;
    for (const auto& [svc, sp] : spans) by_name[sp.name()] = &sp;
    const tr::Span& root = spans[0].second;
    const std::string user = std::to_string(Attr(root, "user.id")->int_value());
    const std::string order_id = Str(root, "order.id");
    CHECK(root.kind() == tr::Span::SPAN_KIND_SERVER);
    CHECK(root.name() == "POST /api/v1/orders/" + order_id);       // A var, in operation.
    CHECK(root.status().code() != tr::Status::STATUS_CODE_ERROR);  // probability: 0.
    const tr::Span& auth = *by_name.at("validate_user_session");
    CHECK(auth.kind() == tr::Span::SPAN_KIND_CLIENT);
    CHECK(auth.parent_span_id() == root.span_id());
    CHECK((auth.flags() & 0x200) != 0);  // Its parent is in another service.
    CHECK(std::to_string(Attr(auth, "user.id")->int_value()) == user);  // parent.attributes.
    CHECK(Str(auth, "session") == "sess-" + user);                      // Its own attribute.
    CHECK(auth.status().code() == tr::Status::STATUS_CODE_ERROR);       // probability: 100.
    CHECK(auth.status().message() == "User session is invalid or expired.");
    CHECK(by_name.at("check token")->kind() == tr::Span::SPAN_KIND_INTERNAL);
    CHECK((by_name.at("check token")->flags() & 0x200) == 0);  // Same service.
    const tr::Span& publish = *by_name.at("publish audit");
    CHECK(publish.kind() == tr::Span::SPAN_KIND_PRODUCER);
    const tr::Span& consume = *by_name.at("process audit for " + user);  // Parent's, in operation.
    CHECK(consume.kind() == tr::Span::SPAN_KIND_CONSUMER);
    CHECK(consume.parent_span_id() == publish.span_id());
    CHECK(std::to_string(Attr(consume, "user.id")->int_value()) == user);

    // Steps: each step called by the one before; {{user_id}} is the step's own
    // attribute in its operation, and the caller's in the next step.
    auto steps = BuildDecoded(runner, (*flat)[0]);
    REQUIRE(steps.size() == 2);
    const tr::Span& foo = steps[0].second;
    const tr::Span& users = steps[1].second;
    CHECK(foo.kind() == tr::Span::SPAN_KIND_CLIENT);
    CHECK(users.kind() == tr::Span::SPAN_KIND_SERVER);
    CHECK(users.parent_span_id() == foo.span_id());
    const std::string id = std::to_string(Attr(foo, "user_id")->int_value());
    CHECK(foo.name() == "GET /api/v1/foo/" + id);
    CHECK(users.name() == "POST /api/v1/users/" + id + "/foo");
    CHECK(std::to_string(Attr(users, "user_id")->int_value()) == id);
    CHECK(Str(users, "client_ip").rfind("10.", 0) == 0);
    CHECK(users.start_time_unix_nano() >= foo.start_time_unix_nano());
    CHECK(users.end_time_unix_nano() <= foo.end_time_unix_nano());
  }
}

TEST_CASE("bad seed scenario files name the file, line, key and the nearest valid key") {
  auto error_in = [](const std::string& yaml, const std::string& base = "") {
    TempDir dir;
    if (!base.empty()) testing::WriteText(dir.File("_base.yaml"), base);
    testing::WriteText(dir.File("s.yaml"), yaml);
    auto s = LoadScenarios({dir.path()});
    return s.ok() ? std::string("(loaded)") : std::string(s.status().message());
  };
  // Nested form: a misspelt key, at its line, with the key meant.
  CHECK_THAT(error_in("scenario_name: x\nroot_span:\n  service: a\n  operation: b\n"
                      "  calls:\n    - service: c\n      operation: d\n      delay: [1, 2]\n"),
             Catch::Contains("s.yaml:8:7: unknown key 'root_span.calls[0].delay'; did you mean "
                             "'delay_ms'?"));
  // Our key in the seed's form is named as the seed's.
  CHECK_THAT(error_in("name: x\nroot_span:\n  service: a\n  operation: b\n"),
             Catch::Contains("s.yaml:1:1: unknown key 'name'; did you mean 'scenario_name'?"));
  // Flat form.
  CHECK_THAT(error_in("scenario_name: x\nsteps:\n  - service: a\n    operation: b\n"
                      "    atributes: {k: v}\n"),
             Catch::Contains("s.yaml:5:5: unknown key 'steps[0].atributes'; did you mean "
                             "'attributes'?"));
  CHECK_THAT(error_in("scenario_name: x\nsteps: []\n"),
             Catch::Contains("a scenario needs at least one step"));
  // A bare name that names nothing; a kind in neither case.
  CHECK_THAT(error_in("scenario_name: x\nsteps:\n  - service: a\n    operation: \"GET "
                      "/{{nope}}\"\n"),
             Catch::Contains("s.yaml:4:16: steps[0].operation: {{nope}} names no var, no "
                             "attribute set before it in this span"));
  CHECK_THAT(
      error_in("scenario_name: x\nroot_span:\n  service: a\n  operation: b\n  kind: Servr\n"),
      Catch::Contains("root_span.kind: expected server, internal, client, consumer or "
                      "producer (or the same in upper case), got \"Servr\""));
  // A service _base.yaml does not list.
  CHECK_THAT(
      error_in("scenario_name: x\nroot_span:\n  service: gateway\n  operation: b\n", kSeedBase),
      Catch::Contains("s.yaml:3:12: root_span.service: 'gateway' is not in _base.yaml's services "
                      "(api-gateway, auth-service, order-worker, unused-service)"));
  CHECK_THAT(
      error_in("scenario_name: x\nroot_span: {service: a, operation: b}\n", "servces: [a]\n"),
      Catch::Contains("_base.yaml:1:1: unknown key 'servces'; did you mean 'services'?"));
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
