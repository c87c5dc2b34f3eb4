// --plan: what a run would put on the wire, computed from the real templates without
// sending anything. For a rate and duration (or a schedule): events, requests and bytes
// per signal, with gzip sizes measured by compressing real patched frames, MB/s, the
// volume per day, and the sender's memory. The table a capacity planner needs.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "sender/config.h"
#include "sender/loader.h"

namespace loadgen {

struct PlanSignal {
  uint64_t dataset_events = 0, dataset_requests = 0, dataset_bytes = 0;
  double gzip_ratio = 1;           // Compressed / raw, measured.
  uint64_t gzip_sample_bytes = 0;  // How many raw bytes the ratio was measured on.
  double events = 0;               // Over the run.
  double requests = 0, bytes = 0, gzip_bytes = 0;
};

struct Plan {
  std::array<PlanSignal, 3> signals;  // By SignalIndex.
  double seconds = 0;                 // Length of the run.
  double events = 0;                  // Over the run, all signals.
  double peak_rate = 0;               // Events/s at the schedule's peak (= rate if constant).
  std::string shape;                  // "100000 events/s for 60s", or the schedule.
  bool gzip = false;                  // otlp.compression is gzip.
  uint64_t sender_memory_bytes = 0;   // Estimated peak RSS of the sender.
};

// Fails when the config sets no rate and no schedule (a plan needs a rate), or no
// duration, multiplier or schedule end (a plan needs a length).
absl::StatusOr<Plan> MakePlan(const LoadedDataset& dataset, const SenderConfig& config);
std::string PlanText(const Plan& plan);
std::string PlanJson(const Plan& plan);

}  // namespace loadgen
