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
#include "generator/scenario_expression.h"

namespace loadgen {

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

}  // namespace loadgen
