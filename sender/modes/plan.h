// --plan: what a run would put on the wire, computed from the real templates without
// sending anything. For a rate and duration (or a schedule): events, requests and bytes
// per signal, MB/s raw and as sent, the volume per day, and the sender's memory; and
// for each codec (gzip, zstd) its wire ratio and the sender's CPU cost, measured by
// compressing real patched frames, so a user can choose one before a run. The table a
// capacity planner needs.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "sender/config.h"
#include "sender/loader.h"
#include "sender/transform.h"

namespace loadgen {

// One codec on one signal's requests, measured.
struct CodecCost {
  Compression codec = Compression::kNone;
  int level = kDefaultCompressionLevel;
  double ratio = 1;              // Raw bytes / compressed bytes.
  double cpu_seconds_per_m = 0;  // Compressing one million events, one core.
  uint64_t sample_bytes = 0;     // Raw bytes it was measured on.
};

struct PlanSignal {
  uint64_t dataset_events = 0, dataset_requests = 0, dataset_bytes = 0;
  std::array<CodecCost, 2> codecs;  // gzip, zstd.
  double events = 0;                // Over the run.
  double requests = 0, bytes = 0;
  double wire_bytes = 0;  // As sent with the config's compression.
};

struct Plan {
  std::array<PlanSignal, 3> signals;  // By SignalIndex.
  double seconds = 0;                 // Length of the run.
  double events = 0;                  // Over the run, all signals.
  double peak_rate = 0;               // Events/s at the schedule's peak (= rate if constant).
  std::string shape;                  // "100000 events/s for 60s", or the schedule.
  Compression compression = Compression::kNone;  // The config's.
  uint64_t metric_series = 0;                    // Series in the dataset (points per replay).
  uint64_t replicas = 1;  // Identities each series is sent as, at most (metrics fan-out).
  uint64_t active_series = 0;
  std::string fanout_text;
  int compression_level = kDefaultCompressionLevel;
  uint64_t sender_memory_bytes = 0;  // Estimated peak RSS of the sender.
};

// The metric series fan-out of metrics.collection_interval and metrics.churn: replicas
// so that each series identity gets at most one point per collection interval at the
// configured rate (the schedule's peak): points/s x interval / series of them, the last
// one partial. `text` says what it comes to ("" when neither is set). Fails when an
// interval is set without a rate.
absl::StatusOr<SeriesFanout> MetricFanout(const SenderConfig& config, const LoadedDataset& dataset,
                                          std::string* text);
// The series identities a run with `fanout` sends: points/s x interval, to a unit.
uint64_t ActiveSeries(const LoadedDataset& dataset, const SenderConfig& config,
                      const SeriesFanout& fanout);

// Fails when the config sets no rate and no schedule (a plan needs a rate), or no
// duration, multiplier or schedule end (a plan needs a length).
absl::StatusOr<Plan> MakePlan(const LoadedDataset& dataset, const SenderConfig& config);
std::string PlanText(const Plan& plan);
std::string PlanJson(const Plan& plan);

}  // namespace loadgen
