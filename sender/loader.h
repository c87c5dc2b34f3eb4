// Loads template files and compiles every chunk into a CompiledFrame, once, before
// sending starts. Loading streams chunk by chunk, so peak memory is the compiled
// dataset plus one chunk.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/signal.h"
#include "sender/frame.h"
#include "sender/rechunk.h"

namespace loadgen {

struct LoadedDataset {
  std::array<std::vector<CompiledFrame>, 3> frames;  // Indexed by SignalIndex.
  std::array<uint64_t, 3> events{};
  std::array<uint64_t, 3> bytes{};
  const std::vector<CompiledFrame>& of(Signal s) const { return frames[SignalIndex(s)]; }
};

// Loads `path` as a template file of `signal`: every chunk is split to `limits` (see
// rechunk.h) and compiled. Errors name the file and byte offset.
// With `resource_attribute` set (key, value), every resource in the templates gets that
// string attribute added before compiling (scale-out: each instance's metric series
// stay distinct, so N instances' cumulative counters never collide).
absl::Status LoadTemplateFile(const std::string& path, Signal signal, const ChunkLimits& limits,
                              LoadedDataset* out,
                              const std::pair<std::string, std::string>& resource_attribute = {});

// Adds a string attribute to every Resource of a serialized Export*ServiceRequest (the
// three share field numbers: 1 resource_*, in it 1 resource, in that 1 attributes).
absl::StatusOr<std::string> AddResourceAttribute(std::string_view request, std::string_view key,
                                                 std::string_view value);

}  // namespace loadgen
