// --report FILE.html: one self-contained page from a JSON summary (one run's or a
// merged one): the run's figures, and charts drawn as inline SVG (target vs achieved
// rate, latency p50/p99, errors and retries, the per-signal mix over time). No
// scripts, fonts or anything else fetched when it is opened.
#pragma once

#include <string>

#include "sender/modes/summary.h"

namespace loadgen {

std::string HtmlReport(const RunSummary& summary);

}  // namespace loadgen
