// Helpers for tests that use real files and real processes: temporary directories,
// spawning the project's binaries with captured output, and reading JSON numbers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catch2/catch.hpp"
#include "common/template_file.h"

namespace loadgen::testing {

// A fresh directory under /tmp, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

void WriteText(const std::string& path, std::string_view text);
std::string ReadText(const std::string& path);

// The path of one of the project's binaries (telemetry-generator, ...).
std::string BinaryPath(std::string_view name);
// The project's source directory (for configs/).
std::string SourceDir();

// A child process with stdout and stderr captured through pipes.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
          const std::string& cwd = "");
  ~Process();
  // Blocks until one line of stdout is available (or EOF: returns false).
  bool ReadLine(std::string* line);
  void Signal(int sig);
  // Waits for exit; returns the exit code (128 + signal if killed). Collects the rest
  // of stdout/stderr into out()/err().
  int Wait();
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_, pending_;
  bool waited_ = false;
  int status_ = 0;
};

// Reads `process`'s stdout up to the line starting with `prefix` and returns the port
// number that follows it ("... on http://127.0.0.1:" + port); 0 when it never comes.
int PortAfter(Process& process, std::string_view prefix);

// Runs a command to completion.
struct RunResult {
  int exit_code;
  std::string out, err;
};
RunResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
              const std::string& cwd = "");

// Starts otlp-sink on 127.0.0.1 with a free port (or `port`); the port is read from its
// first line.
class SinkProcess {
 public:
  explicit SinkProcess(std::vector<std::string> extra_args = {}, int port = 0);
  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  // SIGTERM, wait, and return the JSON summary it wrote.
  std::string Stop();
  // SIGKILL: no summary, as when a backend crashes.
  void Kill();
  Process& process() { return process_; }

 private:
  TempDir dir_;
  std::string stats_file_;
  Process process_;
  int port_ = 0;
};

// One HTTP request to 127.0.0.1:port through libcurl (with a Content-Type, when given);
// the status code (0 if no answer) and the body.
struct HttpResult {
  int status = 0;
  std::string body;
};
HttpResult HttpCall(int port, const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& content_type = "");

// A TCP port on 127.0.0.1 held bound but not listening: a connection to it is refused,
// and no other test can take it while this lives. Release() frees it for the one
// server meant to start there (a receiver that starts late).
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort() { Release(); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  void Release();

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A small dataset written by the real generator: returns the file prefix
// (<prefix>-traces.pb, ...). `seed` varies the content.
std::string GenerateSmallDataset(const TempDir& dir, int seed = 3);
// A sender config for that dataset, plaintext, 5 s request timeout, then `extra` YAML
// (indented lines add otlp keys; unindented ones add other sections). Returns its path.
std::string WriteSenderConfig(const TempDir& dir, const std::string& prefix,
                              const std::string& extra = "");
// The shipped defaults, as a user runs them: the default dataset (configs/generator.yaml)
// generated into dir/generated, and configs/sender.yaml copied to dir/sender.yaml with
// each `edits` pair (exact text, replacement) applied; its inputs (./generated/...)
// resolve when the sender runs in dir. `generator_edits` change the generator's config
// the same way (written to dir/generator.yaml). Returns the sender config's path.
using TextEdits = std::vector<std::pair<std::string, std::string>>;
std::string DefaultSetup(const TempDir& dir, const TextEdits& edits = {},
                         const TextEdits& generator_edits = {});
// The generator edits that turn traces.root.late_root on at `percentage` and `delay_ms`.
TextEdits LateRootEdits(int percentage, int delay_ms);

// The number after "key: " in the generator's metadata YAML.
int64_t MetaCount(const std::string& metadata, const std::string& key);

// The number after "word " in a text line (the sender's progress lines), or -1.
int64_t WordInt(std::string_view line, std::string_view word);

// The number under "key" in a JSON text (the first such member, depth first), inside
// the first member named `after` when given ("\"total\"", so nested keys can be told
// apart). The text is parsed for real: invalid JSON or a missing key fails the test.
int64_t JsonInt(std::string_view json, std::string_view key, std::string_view after = "");
double JsonDouble(std::string_view json, std::string_view key, std::string_view after = "");
// The sum over traces, metrics and logs of a per-signal map in otlp-sink's summary,
// e.g. "refused_items": {"traces": 1, "metrics": 2, "logs": 3} -> 6.
int64_t SinkSum(std::string_view sink_json, std::string_view map_key);
// Spans + data points + log records accepted, from otlp-sink's summary.
int64_t SinkAccepted(std::string_view sink_json);

// Every chunk of a template file, parsed as `Request` (an Export*ServiceRequest).
template <typename Request>
std::vector<Request> ReadTemplateRequests(const std::string& path) {
  auto reader = TemplateReader::Open(path);
  REQUIRE(reader.ok());
  std::vector<Request> out;
  TemplateChunk chunk;
  while (true) {
    auto more = (*reader)->Next(&chunk);
    REQUIRE(more.ok());
    if (!*more) return out;
    REQUIRE(out.emplace_back().ParseFromString(chunk.payload));
  }
}

}  // namespace loadgen::testing
