// --report FILE.html: one self-contained page from a JSON summary (one run's or a
// merged one): the run's figures, and charts drawn as inline SVG (target vs achieved
// rate, latency p50/p99, errors and retries, the per-signal mix, requests in flight
// over time). No scripts, fonts or anything else fetched when it is opened.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sender/modes/summary.h"

namespace loadgen {

std::string HtmlReport(const RunSummary& summary);

// The report's charts of `intervals`: also the live dashboard's (admin.h), so both look
// alike from one piece of drawing code.
std::string ChartsHtml(const std::vector<IntervalSummary>& intervals);
// The report's stylesheet, as a <style> element.
std::string_view ReportStyle();
std::string HtmlEscape(std::string_view s);

}  // namespace loadgen
