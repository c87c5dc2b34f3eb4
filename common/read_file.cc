#include "common/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/status_macros.h"
#include "common/strings.h"

namespace loadgen {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

absl::StatusOr<int> OpenRegularFile(const std::string& path, int flags, std::string_view what,
                                    int mode) {
  const std::string named = what.empty() ? StrCat("'", path, "'") : StrCat(what, " '", path, "'");
  const int fd = open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    // O_NONBLOCK makes a write-only open of a FIFO without a reader fail so.
    if (err == ENXIO) return absl::InvalidArgumentError(StrCat(named, " is not a regular file"));
    return absl::NotFoundError(StrCat("cannot open ", named, ": ", std::strerror(err)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    const char* kind = S_ISDIR(st.st_mode)                          ? "a directory"
                       : S_ISFIFO(st.st_mode)                       ? "a pipe"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                       : S_ISSOCK(st.st_mode)                       ? "a socket"
                                                                    : "not a regular file";
    return absl::InvalidArgumentError(StrCat(named, " is ", kind, "; expected a regular file"));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(const int fd, OpenRegularFile(path, O_RDONLY, ""));
  struct stat st;
  fstat(fd, &st);
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = n < 0 ? ErrnoText() : "file shrank while reading";
      close(fd);
      return absl::DataLossError(StrCat("reading '", path, "': ", why));
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return out;
}

}  // namespace loadgen
