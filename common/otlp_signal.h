// The three OTLP signals, and the constants every stage agrees on about them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace loadgen {

enum class Signal : uint8_t { kTraces = 1, kMetrics = 2, kLogs = 3 };

inline constexpr std::array<Signal, 3> kAllSignals = {Signal::kTraces, Signal::kMetrics,
                                                      Signal::kLogs};

// "traces", "metrics", "logs": the names used in file names, config keys and stats.
std::string_view SignalName(Signal s);
// What one event of the signal is called: "spans", "data_points", "log_records".
std::string_view EventName(Signal s);
// The gRPC method path of the signal's Export RPC.
std::string_view ExportMethod(Signal s);
inline int SignalIndex(Signal s) { return static_cast<int>(s) - 1; }

// Template timestamps are stored as kTemplateEpochNs + offset (ns). The epoch is
// non-zero so that proto3 never omits a time field (a zero fixed64 is not written, and
// an absent field has no slot to patch), and so small that any template time that
// escaped patching shows up as 1970 at the receiver.
inline constexpr uint64_t kTemplateEpochNs = 1'000'000'000;

}  // namespace loadgen
