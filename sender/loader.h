// Loads template files and compiles every chunk into a CompiledFrame, once, before
// sending starts. Loading streams chunk by chunk, so peak memory is the compiled
// dataset plus one chunk.
#pragma once

#include <array>
#include <string>
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
absl::Status LoadTemplateFile(const std::string& path, Signal signal, const ChunkLimits& limits,
                              LoadedDataset* out);

}  // namespace loadgen
