#include "tests/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
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

#include "curl/curl.h"
#include "nlohmann/json.hpp"

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

int PortAfter(Process& process, std::string_view prefix) {
  std::string line;
  while (process.ReadLine(&line)) {
    if (line.starts_with(prefix)) return std::atoi(line.c_str() + prefix.size());
  }
  return 0;
}

SinkProcess::SinkProcess(std::vector<std::string> extra_args, int port)
    : stats_file_(dir_.File("sink.json")), process_([&] {
        std::vector<std::string> argv = {BinaryPath("otlp-sink"), "--listen",
                                         "127.0.0.1:" + std::to_string(port), "--stats-file",
                                         dir_.File("sink.json")};
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

void SinkProcess::Kill() {
  process_.Signal(SIGKILL);
  process_.Wait();
}

HttpResult HttpCall(int port, const std::string& method, const std::string& path,
                    const std::string& body, const std::string& content_type) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return result;
  std::string url = "http://127.0.0.1:";
  url += std::to_string(port);
  url += path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  // No "Expect: 100-continue" round trip for bodies over 1 KiB.
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  if (!content_type.empty()) {
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  if (curl_easy_perform(curl) == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    result.status = static_cast<int>(status);
  } else {
    result.body.clear();  // No answer: status 0.
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

ClosedPort::ClosedPort() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("ClosedPort: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
}

void ClosedPort::Release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

std::string GenerateSmallDataset(const TempDir& dir, int seed) {
  const std::string yaml = "output:\n  directory: " + dir.path() +
                           "\n  prefix: e2e\n  max_chunk_bytes: 65536\n"
                           "seed: " +
                           std::to_string(seed) +
                           "\ntraces:\n  count: 300\n  spans: {avg_per_trace: 10, std_dev: 3}\n"
                           "metrics:\n  metric_count: 14\n"
                           "  timeseries_per_metric: {min: 5, max: 20}\n"
                           "logs:\n  count: 2000\n";
  WriteText(dir.File("gen.yaml"), yaml);
  auto r = Run({BinaryPath("telemetry-generator"), "--config", dir.File("gen.yaml")});
  if (r.exit_code != 0) throw std::runtime_error("telemetry-generator failed: " + r.err);
  return dir.File("e2e");
}

std::string WriteSenderConfig(const TempDir& dir, const std::string& prefix,
                              const std::string& extra) {
  const std::string path = dir.File("sender.yaml");
  std::string yaml = "input:\n  traces: ";
  for (const char* part : {"-traces.pb\n  metrics: ", "-metrics.pb\n  logs: ", "-logs.pb\n"}) {
    yaml.append(prefix);
    yaml.append(part);
  }
  yaml.append("otlp:\n  insecure: true\n  timeout: 5s\n");
  yaml.append(extra);
  WriteText(path, yaml);
  return path;
}

namespace {

// `file` (under configs/) with each edit applied, written to `to`.
void EditConfig(const std::string& file, const TextEdits& edits, const std::string& to) {
  std::string config = ReadText(SourceDir() + "/configs/" + file);
  for (const auto& [from, replacement] : edits) {
    const size_t at = config.find(from);
    if (at == std::string::npos) throw std::runtime_error("configs/" + file + " has no " + from);
    config.replace(at, from.size(), replacement);
  }
  WriteText(to, config);
}

}  // namespace

std::string DefaultSetup(const TempDir& dir, const TextEdits& edits,
                         const TextEdits& generator_edits) {
  std::string generator_config = SourceDir() + "/configs/generator.yaml";
  if (!generator_edits.empty()) {
    generator_config = dir.File("generator.yaml");
    EditConfig("generator.yaml", generator_edits, generator_config);
  }
  auto r = Run({BinaryPath("telemetry-generator"), "--config", generator_config, "--output",
                dir.File("generated")});
  if (r.exit_code != 0) throw std::runtime_error("telemetry-generator failed: " + r.err);
  const std::string path = dir.File("sender.yaml");
  EditConfig("sender.yaml", edits, path);
  return path;
}

TextEdits LateRootEdits(int percentage, int delay_ms) {
  const std::string shown = std::to_string(percentage);
  return {{"late_root:                  # traces whose root span the sender exports delay_ms "
           "after\n      enabled: false",
           "late_root:\n      enabled: true"},
          {"percentage: 0             # proxy sees it)",
           "percentage: " + shown + std::string(14 - shown.size(), ' ') + "# proxy sees it)"},
          {"delay_ms: 5000", "delay_ms: " + std::to_string(delay_ms)}};
}

int64_t MetaCount(const std::string& metadata, const std::string& key) {
  std::string needle = key;
  needle.append(": ");
  const auto at = metadata.find(needle);
  if (at == std::string::npos) throw std::runtime_error("no '" + key + "' in metadata");
  return std::stoll(metadata.substr(at + needle.size()));
}

int64_t WordInt(std::string_view line, std::string_view word) {
  std::string needle(word);
  needle.push_back(' ');
  const auto at = line.find(needle);
  if (at == std::string_view::npos) return -1;
  return std::strtoll(line.data() + at + needle.size(), nullptr, 10);
}

namespace {

using Json = nlohmann::ordered_json;

// The first member named `name`, depth first in document order (so the first in the
// text), or null.
const Json* FindMember(const Json& j, std::string_view name) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == name) return &it.value();
      if (const Json* found = FindMember(it.value(), name)) return found;
    }
  } else if (j.is_array()) {
    for (const Json& item : j) {
      if (const Json* found = FindMember(item, name)) return found;
    }
  }
  return nullptr;
}

// The number under `key` (inside the first member named `after`, when given), from a
// real parse of the JSON: a summary that is not valid JSON fails the test.
const Json& JsonNumber(std::string_view json, std::string_view key, std::string_view after,
                       Json* doc) {
  *doc = Json::parse(json);
  const Json* scope = doc;
  if (!after.empty()) {
    std::string_view name = after;
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    scope = FindMember(*doc, name);
    if (scope == nullptr) throw std::runtime_error("no '" + std::string(name) + "' in JSON");
  }
  const Json* value = FindMember(*scope, key);
  if (value == nullptr || !value->is_number()) {
    throw std::runtime_error("no number '" + std::string(key) + "' in JSON");
  }
  return *value;
}

}  // namespace

int64_t JsonInt(std::string_view json, std::string_view key, std::string_view after) {
  Json doc;
  const Json& v = JsonNumber(json, key, after, &doc);
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
}

int64_t SinkSum(std::string_view sink_json, std::string_view map_key) {
  std::string after = "\"";
  after.append(map_key);
  after.append("\"");
  return JsonInt(sink_json, "traces", after) + JsonInt(sink_json, "metrics", after) +
         JsonInt(sink_json, "logs", after);
}

int64_t SinkAccepted(std::string_view sink_json) {
  return JsonInt(sink_json, "spans") + JsonInt(sink_json, "data_points") +
         JsonInt(sink_json, "log_records");
}

double JsonDouble(std::string_view json, std::string_view key, std::string_view after) {
  Json doc;
  return JsonNumber(json, key, after, &doc).get<double>();
}

}  // namespace loadgen::testing
