// Builds trace templates from loaded scenarios (generator/scenario.h): evaluates the
// value templates per trace, adds the caller's CLIENT (or PRODUCER) span to each remote
// call, and lays the tree out with the random topology's layout (span_tree.h).
// Not thread-safe; deterministic for a given Rng state.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/random.h"
#include "generator/otlp_draft.h"
#include "generator/scenario.h"
#include "generator/span_tree.h"
#include "generator/topology.h"

namespace loadgen {

// Builds traces from a scenario: spans appended to a TraceDraft, parents first, times
// relative to kTemplateEpochNs, placeholder IDs unique within the trace.
class ScenarioRunner {
 public:
  // `topology` holds every service the scenarios name (see AddService); it must outlive
  // the runner. `roots` draws rootless and late roots (see RootShapes).
  ScenarioRunner(const Topology& topology, Rng& rng, const RootShapes& roots = {});
  void Build(const Scenario& scenario, TraceDraft* out);

 private:
  struct Built;
  struct Value {
    std::string text;
    ValueTemplate::Type type;
  };
  using Values = std::vector<std::pair<std::string, Value>>;
  struct Context;  // A trace's evaluated vars and trace-level attributes.
  // Evaluates `t`; `parent_attrs` may be null (no parent), `own` (the span's attributes
  // evaluated so far) null outside a span.
  Value Eval(const ValueTemplate& t, const Values& vars, const Values* parent_attrs,
             const Values* own = nullptr);
  // Adds `key` = `v` with the type its template asked for (string if it does not parse).
  static void AddValue(std::string_view key, const Value& v, AttributeList* out);
  // Adds `node` (repeated as configured) under (*tree)[parent]; `parent_attrs` are the
  // logical parent's evaluated attributes, for parent.attributes.KEY.
  void Expand(const CallNode& node, int parent, const std::string& parent_service,
              const Values* parent_attrs, const Context& ctx, std::vector<Built>* tree);
  // The caller's side of a remote call to `callee`: a CLIENT (or PRODUCER) span in the
  // parent's service, with the request-level attributes.
  static Built WireClient(const CallNode& node, const Values& attrs, const Built& callee,
                          int parent, const std::vector<Built>& nodes, const Context& ctx);
  static void Emit(const std::vector<Built>& nodes, size_t i, const SpanTreeIds& ids,
                   SpanDraft* span);
  int ServiceIndex(const std::string& name) const;
  // The scope of the library that made span i (from its kind and attributes).
  int ScopeOf(const std::vector<Built>& nodes, size_t i) const;

  const Topology& topology_;
  Rng& rng_;
  RootShapes roots_;
};

}  // namespace loadgen
