// A file that appears under its final name only when complete. Data goes to a
// temporary file in the same directory; Commit() flushes, fsyncs and renames it over
// the final name. Destroying an uncommitted AtomicFile removes the temporary, so a
// crash or an error never leaves a half-written file under the final name; the
// temporary's name carries the writer's pid, and temporaries of writers no longer
// running (killed outright) are removed by the next Create for the same path.
// Not thread-safe; one writer per instance.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loadgen {

class AtomicFile {
 public:
  // Creates the temporary file next to `path`. Fails (naming the directory) when the
  // directory does not exist or is not writable.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  absl::Status Write(std::string_view data);
  // Makes the file visible under its final name. After a failed Commit the
  // temporary is removed and the final name is untouched.
  absl::Status Commit();
  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicFile(std::string path, std::string tmp_path, std::FILE* f)
      : path_(std::move(path)), tmp_path_(std::move(tmp_path)), file_(f) {}
  void Abort();

  std::string path_;
  std::string tmp_path_;
  std::FILE* file_;
  uint64_t bytes_written_ = 0;
  bool committed_ = false;
};

// Writes `contents` to `path` atomically.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace loadgen
