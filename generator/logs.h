// Builds log record templates: HTTP access, application and system logs in the
// configured shares. A share of application logs belongs to spans built earlier and
// carries their template trace_id/span_id, so the sender maps both to the same new
// IDs in the same replay. Times are kTemplateEpochNs-based placeholders.
#pragma once

#include <vector>

#include "common/random.h"
#include "generator/config.h"
#include "generator/otlp_draft.h"
#include "generator/topology.h"
#include "generator/traces.h"

namespace loadgen {

class LogBuilder {
 public:
  // `spans_by_service[s]` holds spans of service s that logs may refer to.
  LogBuilder(const GeneratorConfig& config, const Topology& topology,
             const std::vector<std::vector<SpanRef>>& spans_by_service, Rng& rng)
      : config_(config), topology_(topology), spans_(spans_by_service), rng_(rng) {}

  // Builds one log record into `record` (cleared first); returns the index of the
  // service whose resource it uses, and sets *scope to the index of the instrumentation
  // scope that made it (topology.h's scope table).
  int Build(LogDraft* record, int* scope);

 private:
  const GeneratorConfig& config_;
  const Topology& topology_;
  const std::vector<std::vector<SpanRef>>& spans_;
  Rng& rng_;
};

}  // namespace loadgen
