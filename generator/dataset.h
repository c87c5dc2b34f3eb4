// Generates a whole dataset: `<prefix>-traces.pb`, `-metrics.pb`, `-logs.pb` and
// `-metadata.yaml` in the output directory. Files appear only when every one of them
// has been written completely (each is written under a temporary name and renamed at
// the end), so a failed or interrupted run leaves earlier datasets intact.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "generator/config.h"

namespace loadgen {

struct SignalFileSummary {
  std::string path;
  uint64_t bytes = 0;
  uint64_t chunks = 0;
  uint64_t items = 0;  // Spans, data points or log records.
};

struct DatasetSummary {
  SignalFileSummary traces, metrics, logs;
  uint64_t trace_count = 0;
  uint64_t metric_count = 0;
  uint64_t series_count = 0;
  std::vector<std::pair<std::string, int64_t>> series_per_metric;
  std::vector<int> span_count_quantiles;  // min, p50, p90, p99, max
  double span_count_mean = 0;
  std::vector<std::string> services;
  std::vector<uint64_t> scenario_traces;  // Traces drawn from each scenario, in load order.
  uint64_t estimated_sender_memory_bytes = 0;
  std::string metadata_path;
};

// A rough size of the dataset a config will produce, computed before generating.
uint64_t EstimateDatasetBytes(const GeneratorConfig& config);

// Writes the dataset. Files are written under temporary names and renamed into place
// only when everything has been generated, so an interrupted run leaves no file with a
// final name half-written. `progress` (may be empty) gets a line as each file starts
// and at every tenth of its records. When `cancel` (may be null) turns true, the run
// stops within a record, removes its temporary files and returns CancelledError.
absl::StatusOr<DatasetSummary> GenerateDataset(
    const GeneratorConfig& config, const std::function<void(const std::string&)>& progress = {},
    const std::atomic<bool>* cancel = nullptr);

}  // namespace loadgen
