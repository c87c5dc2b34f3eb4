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
// The seed's trace generator's files (../shared/seeds/002) load unchanged, translated
// once at load: the nested form (scenario_name, description, weight, vars, root_span
// with nested calls) and the flat form (scenario_name, description, steps: a list, each
// step called by the one before). In them kinds are upper-case (SERVER, CLIENT,
// INTERNAL, PRODUCER, CONSUMER; any form takes either case), each node is one span as
// written, and an optional _base.yaml beside them lists the services (services: [...]),
// which every node must then name. In every form a bare {{name}} names a var, an
// attribute of the same span set before it, or one of the parent's, also in operation.
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
#include <string_view>
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
  ValueTemplate operation_template;  // The operation, when it holds {{...}}.
  enum class Kind { kServer, kInternal, kClient, kConsumer, kProducer } kind = Kind::kServer;
  // One span per node, as the seed's trace generator writes them (its files name both
  // sides of a call); else a node in another service is a remote call whose caller's
  // side the generator adds.
  bool as_written = false;
  int64_t delay_min_ms = 1, delay_max_ms = 1;
  int64_t repeat_min = 1, repeat_max = 1;
  bool parallel = false;
  std::vector<std::pair<std::string, ValueTemplate>> attributes;
  std::vector<ErrorCondition> errors;
  std::vector<CallNode> calls;
};

// The forms a scenario file can take (see the file comment).
enum class ScenarioForm { kOurs, kSeedNested, kSeedSteps };
std::string_view ScenarioFormName(ScenarioForm form);

struct Scenario {
  std::string name;
  std::string file;
  ScenarioForm form = ScenarioForm::kOurs;
  // The services its directory's _base.yaml lists, in order (empty without one).
  std::vector<std::string> base_services;
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
