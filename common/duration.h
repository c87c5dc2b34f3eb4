// Durations as users write them in configs and flags ("500ms", "10s", "1m30s").
#pragma once

#include <chrono>
#include <string>

namespace loadgen {

// The shortest exact form: 0s, 250us, 50ms, 10s, 1m30s, 2h, 1.5s, ...
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace loadgen
