// telemetry-generator import: captured OTLP made into ordinary templates, so a replay
// carries production-shaped data. Reads OTLP/JSON lines (one Export*ServiceRequest per
// line: the Collector's file exporter, the generator's own --json) and binary files of
// one serialized Export*ServiceRequest each; tells the signal from the content.
//
// What a template needs, from what was captured:
// - IDs: trace and span IDs become template IDs, a fixed hash of the captured ones, so
//   every parent link, span link, log record's and exemplar's trace context still
//   points where it did (the sender gives them new IDs per send, as for any dataset).
// - Time: each trace starts at the template epoch, its spans and events keeping their
//   offsets from its first span; each log record is at the epoch, its observed time
//   keeping its distance; metric points are at the epoch (the sender sets series
//   starts and delta windows, as for generated metrics).
// - Series: a metric series captured several times (scrapes) is kept once, its last
//   point, so a replay sends one point per series; cumulative sums keep their flags, so
//   replays keep them growing.
// - Scrubbing: attributes a replay must not carry are removed or their values hashed.
//
// Memory: two passes over the input. The first keeps, per trace, its first start and
// where it ends; the second keeps only traces not yet complete, and the last point of
// each series. Output is byte-identical for the same input and options. Files are
// written under temporary names and renamed when all is done; on any error nothing is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "generator/dataset.h"

namespace loadgen {

struct ImportOptions {
  std::vector<std::string> inputs;
  std::string output_directory = "./generated";
  std::string prefix = "imported";
  std::vector<std::string> scrub;  // Attribute keys to remove.
  std::vector<std::string> hash;   // Attribute keys whose values are replaced by a hash.
  int64_t max_chunk_bytes = 1 << 20;
};

struct ImportSummary {
  SignalFileSummary traces, metrics, logs;
  uint64_t trace_count = 0, series_dropped = 0;  // Repeated points of a series, not kept.
  std::string metadata_path;
};

// Errors name the input file and its line (OTLP/JSON) or byte offset (binary).
absl::StatusOr<ImportSummary> ImportCaptured(
    const ImportOptions& options, const std::function<void(const std::string&)>& progress = {});

}  // namespace loadgen
