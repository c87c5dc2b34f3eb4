// --merge-reports: the instances of a scaled-out run (see --instances) each write their
// JSON summary; this reads them back and writes the combined summary in the same
// format, so one view (and one report) covers the whole fleet.
//
// Counts add up exactly. Latency percentiles cannot be merged from percentiles, so the
// combined p50/p99/max are the worst instance's (labelled so). Time series are aligned
// by wall-clock time: interval k of the result covers the same seconds on every
// instance.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sender/modes/summary.h"

namespace loadgen {

struct MergedReport {
  RunSummary summary;  // The combined summary (same schema as one instance's).
  std::string text;    // A table for the terminal.
};

// Errors name the file and what in it was not a sender summary.
absl::StatusOr<MergedReport> MergeReports(const std::vector<std::string>& paths);

}  // namespace loadgen
