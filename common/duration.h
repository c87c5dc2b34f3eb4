// Durations as users write them in configs and flags ("500ms", "10s", "1m30s").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loadgen {

// Parses "500ms", "10s", "1m30s", "1.5h", "0" (units ns, us, ms, s, m, h); negative
// durations are refused. `what` names the source (file:line: key, or the flag) in errors.
absl::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text,
                                                       std::string_view what);

// The shortest exact form: 0s, 250us, 50ms, 10s, 1m30s, 2h, 1.5s, ...
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace loadgen
