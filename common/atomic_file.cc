#include "common/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"

namespace loadgen {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Removes the temporaries for `path` that a process killed outright (SIGKILL, a
// crash, a power cut) left behind: their names carry the writer's pid, and a pid that
// no longer runs will never commit them.
void RemoveStaleTemporaries(const std::string& path) {
  const std::string dir = DirOf(path);
  const std::string prefix = path.substr(path.rfind('/') + 1) + ".tmp-";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (const dirent* e = readdir(d)) {
    const std::string_view name(e->d_name);
    if (!name.starts_with(prefix)) continue;
    const std::string rest(name.substr(prefix.size()));
    char* end = nullptr;
    const long pid = std::strtol(rest.c_str(), &end, 10);
    if (end == rest.c_str() || *end != '-' || pid <= 0) continue;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      unlink(StrCat(dir, "/", name).c_str());
    }
  }
  closedir(d);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path) {
  RemoveStaleTemporaries(path);
  std::string tmpl = StrCat(path, ".tmp-", getpid(), "-XXXXXX");
  int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    return absl::FailedPreconditionError(StrCat("cannot create a file in directory '", DirOf(path),
                                                "' for '", path, "': ", ErrnoText()));
  }
  // mkstemp creates 0600; templates and reports are meant to be shared like any output.
  fchmod(fd, 0644);
  std::FILE* f = fdopen(fd, "wb");
  if (f == nullptr) {
    close(fd);
    unlink(tmpl.c_str());
    return absl::InternalError(StrCat("fdopen '", tmpl, "': ", ErrnoText()));
  }
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return std::unique_ptr<AtomicFile>(new AtomicFile(path, tmpl, f));
}

AtomicFile::~AtomicFile() {
  if (!committed_) Abort();
}

void AtomicFile::Abort() {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  unlink(tmp_path_.c_str());
}

absl::Status AtomicFile::Write(std::string_view data) {
  if (file_ == nullptr) return absl::FailedPreconditionError("write after commit or failure");
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    std::string why = ErrnoText();
    Abort();
    return absl::DataLossError(StrCat("writing '", path_, "': ", why));
  }
  bytes_written_ += data.size();
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError("commit after failure");
  bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  std::string why = ok ? "" : ErrnoText();
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) {
    unlink(tmp_path_.c_str());
    return absl::DataLossError(StrCat("writing '", path_, "': ", why));
  }
  if (rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    why = ErrnoText();
    unlink(tmp_path_.c_str());
    return absl::DataLossError(StrCat("renaming to '", path_, "': ", why));
  }
  committed_ = true;
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  auto file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  if (auto s = (*file)->Write(contents); !s.ok()) return s;
  return (*file)->Commit();
}
}  // namespace loadgen
