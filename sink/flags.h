// otlp-sink's command line: the flags, and the SinkOptions they make. Every bad value
// is refused with the flag's name and what it takes.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "cxxopts.hpp"
#include "sink/otlp_sink.h"

namespace loadgen {

cxxopts::Options SinkFlags();

// --ui and --keep-traces (the page of sink/ui.h).
struct SinkUiOptions {
  std::string listen;  // Empty: no page.
  size_t keep_traces = 1000;
};
absl::StatusOr<SinkUiOptions> SinkUiFromFlags(const cxxopts::ParseResult& args);
absl::StatusOr<SinkOptions> SinkOptionsFromFlags(const cxxopts::ParseResult& args);

}  // namespace loadgen
