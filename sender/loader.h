// Loads template files and compiles each signal's chunks into a CompiledSignal, once,
// before sending starts. Loading streams chunk by chunk, so peak memory is the compiled
// dataset plus one chunk.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "common/otlp_signal.h"
#include "sender/frame.h"

namespace loadgen {

struct LoadedDataset {
  std::array<CompiledSignal, 3> signals;  // Indexed by SignalIndex; empty when not loaded.
  std::array<uint64_t, 3> events{};       // Spans, data points and log records per replay.
  const CompiledSignal& of(Signal s) const { return signals[SignalIndex(s)]; }
  uint64_t total_events() const { return events[0] + events[1] + events[2]; }
};

// Loads `path` as the template file of `signal` into `out`, in units within `limits`
// (see frame.h). Errors name the file and byte offset.
// With `resource_attribute` set (key, value), every resource in the templates gets that
// string attribute added before compiling (scale-out: each instance's metric series
// stay distinct, so N instances' cumulative counters never collide).
absl::Status LoadTemplateFile(const std::string& path, Signal signal, const UnitLimits& limits,
                              LoadedDataset* out,
                              const std::pair<std::string, std::string>& resource_attribute = {});

// Adds a string attribute to every Resource of a serialized Export*ServiceRequest (the
// three share field numbers: 1 resource_*, in it 1 resource, in that 1 attributes).
absl::StatusOr<std::string> AddResourceAttribute(std::string_view request, std::string_view key,
                                                 std::string_view value);

}  // namespace loadgen
