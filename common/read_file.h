// Reading a user's file whole: the error names the file and the reason (missing, not
// a regular file, unreadable, changed while read).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace loadgen {

absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace loadgen
