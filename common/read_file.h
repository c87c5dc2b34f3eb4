// Reading a user's file whole: the error names the file and the reason (missing, not
// a regular file, unreadable, changed while read).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loadgen {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Opens a user's file with open(2) `flags`, refusing anything but a regular file (a
// pipe, a device, a directory) without blocking on it: a FIFO's open would otherwise
// wait for a writer. `what` starts the error ("template file", "ledger"; may be empty). The
// descriptor is blocking and close-on-exec.
absl::StatusOr<int> OpenRegularFile(const std::string& path, int flags, std::string_view what,
                                    int mode = 0644);

}  // namespace loadgen
