// The tools' shared command-line front: parse the flags, refuse what cxxopts refuses
// (and stray arguments) naming the tool, and answer --help, the same way in each.
#pragma once

#include <optional>
#include <string_view>

#include "cxxopts.hpp"
#include "fmt/core.h"

namespace loadgen {

struct CommandLine {
  std::optional<cxxopts::ParseResult> args;  // Empty: main returns exit_code now.
  int exit_code = 0;
};

// Parses argv with `options` (which must define "help"). A bad flag, or an argument no
// flag takes (unless `positional_ok`), prints "<tool>: <why>" to stderr: exit code 2;
// --help prints the help to stdout: exit code 0.
inline CommandLine ParseCommandLine(std::string_view tool, cxxopts::Options& options, int argc,
                                    char** argv, bool positional_ok = false) {
  CommandLine out;
  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "{}: {}\n", tool, e.what());
    out.exit_code = 2;
    return out;
  }
  if (!positional_ok && !args.unmatched().empty()) {
    fmt::print(stderr, "{}: unexpected argument '{}' (see --help)\n", tool, args.unmatched()[0]);
    out.exit_code = 2;
    return out;
  }
  if (args.count("help")) {
    fmt::print("{}\n", options.help());
    return out;
  }
  out.args = std::move(args);
  return out;
}

}  // namespace loadgen
