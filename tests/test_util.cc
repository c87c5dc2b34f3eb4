#include "tests/test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace loadgen::testing {

TempDir::TempDir() {
  char tmpl[] = "/tmp/loadgen-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteText(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BinaryPath(std::string_view name) {
  return std::string(LOADGEN_BIN_DIR "/") + std::string(name);
}
std::string SourceDir() { return LOADGEN_SOURCE_DIR; }

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                 const std::string& cwd) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  // The child must not inherit a blocked signal mask from test threads.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  const int rc = posix_spawn(&pid_, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
}

Process::~Process() {
  if (!waited_) {
    kill(pid_, SIGKILL);
    Wait();
  }
  close(out_fd_);
  close(err_fd_);
}

bool Process::ReadLine(std::string* line) {
  while (true) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      *line = pending_.substr(0, nl);
      out_ += pending_.substr(0, nl + 1);
      pending_.erase(0, nl + 1);
      return true;
    }
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

void Process::Signal(int sig) { kill(pid_, sig); }

int Process::Wait() {
  if (!waited_) {
    // Drain both pipes until EOF so a chatty child never blocks on a full pipe.
    out_ += pending_;
    pending_.clear();
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[65536];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          fds[i].fd = -1;
          --open_fds;
        }
      }
    }
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    waited_ = true;
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

RunResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
              const std::string& cwd) {
  Process p(argv, extra_env, cwd);
  int code = p.Wait();
  return {code, p.out(), p.err()};
}

SinkProcess::SinkProcess(std::vector<std::string> extra_args)
    : stats_file_(dir_.File("sink.json")), process_([&] {
        std::vector<std::string> argv = {BinaryPath("otlp-sink"), "--listen", "127.0.0.1:0",
                                         "--stats-file", dir_.File("sink.json")};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        return argv;
      }()) {
  std::string line;
  if (!process_.ReadLine(&line)) {
    process_.Wait();
    throw std::runtime_error("otlp-sink did not start: " + process_.err());
  }
  auto colon = line.rfind(':');
  port_ = std::atoi(line.c_str() + colon + 1);
  if (port_ <= 0) throw std::runtime_error("cannot read the port from: " + line);
}

std::string SinkProcess::Stop() {
  process_.Signal(SIGTERM);
  const int code = process_.Wait();
  if (code != 0) throw std::runtime_error("otlp-sink exited with " + std::to_string(code));
  return ReadText(stats_file_);
}

int64_t JsonInt(std::string_view json, std::string_view key, std::string_view after) {
  size_t from = 0;
  if (!after.empty()) {
    from = json.find(after);
    if (from == std::string_view::npos)
      throw std::runtime_error("no '" + std::string(after) + "' in JSON");
  }
  std::string quoted = "\"";  // Built stepwise: GCC 12 -O3 misreports "a" + s + "b".
  quoted.append(key);
  quoted.append("\":");
  size_t at = json.find(quoted, from);
  if (at == std::string_view::npos)
    throw std::runtime_error("no key '" + std::string(key) + "' in JSON");
  return std::strtoll(json.data() + at + quoted.size(), nullptr, 10);
}

}  // namespace loadgen::testing
