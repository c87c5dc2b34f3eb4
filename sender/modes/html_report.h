// --report FILE.html: one self-contained page from a JSON summary (one run's or a
// merged one): the run's figures, and charts drawn as inline SVG (target vs achieved
// rate, latency p50/p99, errors and retries, the per-signal mix over time). No
// scripts, fonts or anything else fetched when it is opened.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace loadgen {

// `summary_json` is what --stats-json writes; `source` names it in errors.
absl::StatusOr<std::string> HtmlReport(const std::string& summary_json, const std::string& source);

}  // namespace loadgen
