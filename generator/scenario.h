// Scenarios: traces described as YAML trees of calls (configs/scenarios/), with
// templated attributes, variables, error conditions and a weight in the dataset mix.
//
//   name: checkout                  # defaults to the file name
//   weight: 1                       # share in the mix, relative to other scenarios
//   vars: {order_id: "order-{{random.uuid}}"}   # evaluated once per trace, in order
//   trace_attributes: {synthetic_request: true} # on every span of the trace
//   root:
//     service: frontend
//     operation: POST /api/checkout
//     kind: server                  # server | internal | client | consumer (see below)
//     delay_ms: [5, 20]             # the span's own time, uniform
//     attributes: {http.request.method: POST, user.id: "{{random.int(1, 9999)}}"}
//     error_conditions: [{probability: 2, type: PaymentDeclined, message: "..."}]
//     parallel: false               # children run one after another (or at once)
//     repeat: [1, 1]                # this call happens a uniform number of times
//     calls: [ ...nodes... ]
//
// A node in another service than its parent is a remote call: the generator adds a
// CLIENT span in the caller (PRODUCER when the node's kind is consumer) with the
// node's SERVER (or CONSUMER) span inside it, a network gap on each side. `client` is
// for leaf calls to things that are not modelled as services (databases, caches).
// Expressions: random.int(a,b), random.float(a,b), random.uuid, random.ipv4,
// random.choice(a|b|c), vars.NAME, parent.attributes.KEY. A value that is a single
// random.int/random.float expression, or an unquoted number or boolean, keeps its type;
// a lone vars.NAME or parent.attributes.KEY has the type of what it names.
// Immutable after loading; safe to share.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/random.h"
#include "generator/span_tree.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace loadgen {

// A compiled "{{...}}" template: literal text and expressions.
class ValueTemplate {
 public:
  struct Part {
    enum Kind { kText, kInt, kFloat, kUuid, kIpv4, kChoice, kVar, kParentAttr } kind;
    std::string text;  // Literal, variable or attribute name.
    double a = 0, b = 0;
    std::vector<std::string> choices;
  };
  // `where` prefixes errors (file:line:col: key).
  static absl::StatusOr<ValueTemplate> Compile(const std::string& text, bool quoted,
                                               const std::string& where);
  const std::vector<Part>& parts() const { return parts_; }

  // What the template refers to, for load-time checks.
  std::vector<std::string> VarNames() const;

 private:
  std::vector<Part> parts_;
  // kRef: a lone vars.X / parent.attributes.K, typed like what it refers to.
  enum class Type { kString, kInt, kDouble, kBool, kRef } type_ = Type::kString;
  friend class ScenarioRunner;
};

struct ErrorCondition {
  double probability;  // 0..1 (the file says percent)
  std::string type;
  std::string message;
};

struct CallNode {
  std::string service;
  std::string operation;
  enum class Kind { kServer, kInternal, kClient, kConsumer } kind = Kind::kServer;
  int64_t delay_min_ms = 1, delay_max_ms = 1;
  int64_t repeat_min = 1, repeat_max = 1;
  bool parallel = false;
  std::vector<std::pair<std::string, ValueTemplate>> attributes;
  std::vector<ErrorCondition> errors;
  std::vector<CallNode> calls;
};

struct Scenario {
  std::string name;
  std::string file;
  double weight = 1;
  std::vector<std::pair<std::string, ValueTemplate>> vars;
  std::vector<std::pair<std::string, ValueTemplate>> trace_attributes;
  CallNode root;
};

// Loads every .yaml file at the given paths (files, or directories read in name
// order). Errors name the file, line and key.
// Errors about a path itself (missing, unreadable, an empty directory) start with
// `where` (the config file and key that named it); errors inside a scenario file name
// that file, line and key.
absl::StatusOr<std::vector<Scenario>> LoadScenarios(const std::vector<std::string>& paths,
                                                    std::string_view where = "scenarios");

// The services a scenario list mentions, in first-seen order.
std::vector<std::string> ScenarioServices(const std::vector<Scenario>& scenarios);

// Builds traces from a scenario: spans as (service index, span) pairs, parents first,
// times relative to kTemplateEpochNs, placeholder IDs unique within the trace.
class ScenarioRunner {
 public:
  // `service_index` maps a service name to its index in the dataset's service list.
  ScenarioRunner(const std::vector<std::string>& services, Rng& rng);
  void Build(const Scenario& scenario,
             std::vector<std::pair<int, opentelemetry::proto::trace::v1::Span>>* out);

 private:
  struct Built;
  struct Value {
    std::string text;
    ValueTemplate::Type type;
  };
  using Values = std::vector<std::pair<std::string, Value>>;
  struct Context;  // A trace's evaluated vars and trace-level attributes.
  // Evaluates `t`; `parent_attrs` may be null (no parent).
  Value Eval(const ValueTemplate& t, const Values& vars, const Values* parent_attrs);
  static void SetValue(const Value& v, opentelemetry::proto::common::v1::AnyValue* out);
  // Adds `node` (repeated as configured) under (*tree)[parent]; `parent_attrs` are the
  // logical parent's evaluated attributes, for parent.attributes.KEY.
  void Expand(const CallNode& node, int parent, const std::string& parent_service,
              const Values* parent_attrs, const Context& ctx, std::vector<Built>* tree);
  // The caller's side of a remote call to `callee`: a CLIENT (or PRODUCER) span in the
  // parent's service, with the request-level attributes.
  static Built WireClient(const CallNode& node, const Values& attrs, const Built& callee,
                          int parent, const std::vector<Built>& nodes, const Context& ctx);
  static opentelemetry::proto::trace::v1::Span Emit(const std::vector<Built>& nodes, size_t i,
                                                    const SpanTreeIds& ids);
  int ServiceIndex(const std::string& name) const;

  std::vector<std::string> services_;
  Rng& rng_;
};

}  // namespace loadgen
