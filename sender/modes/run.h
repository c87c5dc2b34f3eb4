// One run of the sender, from a resolved config to its exit code: resolve the
// endpoints, load and compile the templates, then print a plan, search for capacity,
// or send; then print and write the summary (and the report). main.cc parses flags and
// handles signals; everything else happens here.
//
// Exit codes: 0 the run ended as configured, 1 bad input or nothing accepted (or no
// capacity found), 3 stopped on a rejection (sending.on_rejected: stop).
#pragma once

#include <atomic>

#include "common/strings.h"
#include "fmt/core.h"
#include "sender/config.h"
#include "sender/token_bucket.h"

namespace loadgen {

struct RunModes {
  bool plan = false;           // --plan: no network, print the projection.
  bool find_capacity = false;  // --find-capacity.
};

// `stop` ends the run early (SIGINT); `interrupted` says whether a signal fired it.
int RunSender(SenderConfig config, const RunModes& modes, StopSignal* stop,
              const std::atomic<bool>* interrupted);

// Prints "telemetry-sender: <message>" to stderr and returns `code`. `message` is
// anything fmt formats (strings, Status messages).
template <typename Message>
int FailWith(const Message& message, int code = 1) {
  fmt::print(stderr, "telemetry-sender: {}\n", message);
  return code;
}

}  // namespace loadgen
