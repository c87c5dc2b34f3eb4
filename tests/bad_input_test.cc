// Bad input, end to end: every file in tests/data/ (and missing files, unreadable
// directories, unwritable outputs) run through the real binaries. Each case asserts the
// exact error text (which names the file and the place), a non-zero exit, and that no
// output was left behind.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "catch2/catch.hpp"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

std::string Data(const std::string& name) { return SourceDir() + "/tests/data/" + name; }

// Root ignores file permissions; without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
// (dropped by util-linux's setpriv) it is held to them like anyone else.
std::vector<std::string> AsUnprivileged(std::vector<std::string> argv) {
  if (geteuid() == 0) {
    argv.insert(argv.begin(),
                {"/usr/bin/setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"});
  }
  return argv;
}

// Every entry of a directory (names), to show nothing was left behind.
std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("bad template files: the sender names the file, the offset and what is wrong") {
  TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"empty.pb", "offset 0: empty file; expected a template file header"},
      {"short-header.pb", "offset 0: header is truncated: 10 of 16 bytes"},
      {"wrong-magic.pb",
       "offset 0: not a template file (expected magic \"OTLPTMPL\"; was it written by "
       "telemetry-generator?)"},
      {"wrong-version.pb",
       "offset 0: unsupported template format version 2; this build reads version 1"},
      {"wrong-signal.pb", "offset 0: unknown signal 9 in header; expected 1-3"},
      {"truncated-payload.pb",
       "offset 16: chunk 0 is truncated: expected 4510 payload bytes, found 2255"},
      {"truncated-chunk-header.pb",
       "offset 4542: cut short after 1 chunk: 6 bytes where a chunk header or the trailer "
       "starts (truncated?)"},
      {"no-trailer.pb", "offset 6851: file ends after 2 chunks without its trailer (truncated?)"},
      {"bitflip-payload.pb",
       "offset 16: chunk 0 checksum mismatch (stored 9300b1c7, computed 2db8bfc3): the file is "
       "corrupted"},
      {"oversized-length.pb",
       "offset 16: chunk 0 claims 4294967280 bytes; at most 67108864 are allowed (corrupted "
       "length?)"},
      {"bad-trailer-count.pb",
       "offset 6851: trailer counts 3 chunks and 12 items but the file holds 2 and 12"},
      {"trailing-garbage.pb", "offset 6875: unexpected bytes after the trailer"},
      {"not-protobuf.pb", "chunk 0 at offset 16: payload offset 5: malformed protobuf"},
  };
  for (const auto& [file, message] : cases) {
    const std::string path = Data("templates/") + file;
    WriteText(dir.File("sender.yaml"), "input: {traces: \"\", metrics: \"\", logs: " + path +
                                           "}\notlp: {endpoint: 127.0.0.1:9, insecure: true}\n");
    auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File("sender.yaml")});
    INFO(file);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "telemetry-sender: " + path + ": " + message + "\n");
    CHECK(r.out.empty());  // Refused at load, before anything was sent.
  }
  // The corpus is made from this file, which loads (and fails only to connect).
  WriteText(dir.File("sender.yaml"),
            "input: {traces: \"\", metrics: \"\", logs: " + Data("templates/valid-logs.pb") +
                "}\notlp: {endpoint: 127.0.0.1:9, insecure: true}\n"
                "sending: {retry: {enabled: false}}\n");
  auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File("sender.yaml")});
  CHECK_THAT(r.out, Catch::Contains("loaded logs 12 in 12 units"));
}

TEST_CASE("bad config files: the error names the file, line, column and key") {
  struct Case {
    const char* binary;
    const char* file;
    const char* message;  // After "<path>:".
  };
  const Case cases[] = {
      {"telemetry-sender", "sender-wrong-type.yaml",
       "2:16: sending.concurrency: expected an integer, got \"four\""},
      {"telemetry-sender", "sender-unknown-key.yaml",
       "2:3: unknown key 'sending.concurency'; did you mean 'concurrency'?"},
      {"telemetry-sender", "sender-negative-rate.yaml",
       "3:24: sending.rate_limit.events_per_second: must be between 0 and 1000000000000, got "
       "-5000"},
      {"telemetry-sender", "sender-bad-duration.yaml",
       "2:13: sending.duration: expected a duration such as 500ms, 10s, 5m or 1h30m, got \"10 "
       "parsecs\""},
      {"telemetry-sender", "sender-pacing-interval.yaml",
       "3:20: sending.pacing_interval: must be above 0 and at most 1h, got 0s"},
      {"telemetry-sender", "sender-bad-syntax.yaml",
       "3:1: invalid YAML: end of sequence flow not found"},
      {"telemetry-sender", "sender-bad-enum.yaml",
       "2:16: otlp.compression: expected none, gzip or zstd, got \"brotli\""},
      {"telemetry-sender", "sender-unset-variable.yaml",
       "3:16: otlp.headers.x-api-key: environment variable LOADGEN_TEST_UNSET_VARIABLE is not "
       "set"},
      // Header names are lower-cased (X-Upper is fine); the value is never shown.
      {"telemetry-sender", "sender-header-name.yaml",
       "4:15: otlp.headers.bad name: header 'bad name': a name may hold only letters, digits, "
       "'-', '_' and '.'"},
      {"telemetry-sender", "sender-header-value.yaml",
       "3:20: otlp.headers.authorization: header 'authorization': its value holds a line break "
       "(the value is not shown); values must be printable ASCII"},
      {"telemetry-sender", "sender-header-reserved.yaml",
       "3:19: otlp.headers.grpc-timeout: header 'grpc-timeout' is set by the transport and "
       "cannot be configured"},
      // Shapes no config has: refused before any reader walks the tree.
      {"telemetry-sender", "sender-deep-nesting.yaml", "1:73: nested deeper than 64 levels"},
      {"telemetry-sender", "sender-parser-depth.yaml",
       "1:1210: invalid YAML: nested too deep for the parser (499 levels; the limit is 64)"},
      {"telemetry-sender", "sender-alias-bomb.yaml",
       "2:19: the document expands to more than 1000000 nodes through its aliases"},
      {"telemetry-generator", "generator-wrong-type.yaml",
       "2:10: traces.count: expected an integer, got \"many\""},
      {"telemetry-generator", "generator-bad-ingress.yaml",
       "3:14: traces.services.ingress: expected a list of service names, or 'all'"},
      {"telemetry-generator", "generator-rootless-range.yaml",
       "5:19: traces.root.rootless.percentage: must be between 0 and 100, got 150"},
      {"telemetry-generator", "generator-late-root-share.yaml",
       "8:19: traces.root.late_root.percentage: a trace is rootless or has a late root, not "
       "both: the two percentages add up to at most 100, got 60 + 50"},
      {"telemetry-generator", "generator-late-root-delay.yaml",
       "5:17: traces.root.late_root.delay_ms: must be between 1 and 3600000, got 0"},
      {"telemetry-sender", "sender-deferred-pending.yaml",
       "3:18: sending.deferred.max_pending: must be between 1 and 4294967296, got 0"},
      {"telemetry-generator", "generator-unknown-key.yaml",
       "4:5: unknown key 'traces.spans.stddev'; did you mean 'std_dev'?"},
      {"telemetry-generator", "generator-negative-count.yaml",
       "2:10: traces.count: must be between 0 and 9007199254740992, got -3"},
      {"telemetry-generator", "generator-percentages.yaml",
       "3:5: logs.types: percentages must add up to 100, got 110 = http_access 50 + application "
       "40 + system 20"},
      {"telemetry-generator", "generator-overflow.yaml",
       "2:10: traces.count: out of range: must be between 0 and 9007199254740992, got "
       "99999999999999999999999"},
  };
  TempDir out;
  for (const Case& c : cases) {
    const std::string path = Data("config/") + c.file;
    auto r = Run({BinaryPath(c.binary), "--config", path, "--output", out.File("gen")});
    if (std::string(c.binary) == "telemetry-sender") {
      r = Run({BinaryPath(c.binary), "--config", path});
    }
    INFO(c.file);
    CHECK(r.exit_code == 1);
    CHECK(r.err == std::string(c.binary) + ": " + path + ":" + c.message + "\n");
  }
  CHECK(Listing(out.path()).empty());  // The generator wrote nothing, not even a directory.
}

TEST_CASE("bad scenario files and paths: named by the config that refers to them") {
  TempDir dir;
  auto generate = [&](const std::string& scenario_path, bool unprivileged = false) {
    WriteText(dir.File("gen.yaml"), "output: {directory: " + dir.File("out") +
                                        "}\ntraces: {scenarios: {paths: [" + scenario_path +
                                        "]}}\n");
    std::vector<std::string> argv = {BinaryPath("telemetry-generator"), "--config",
                                     dir.File("gen.yaml")};
    return Run(unprivileged ? AsUnprivileged(argv) : argv);
  };
  const std::string where =
      "telemetry-generator: " + dir.File("gen.yaml") + ": traces.scenarios.paths: ";
  SECTION("an unknown expression names the scenario file, line and attribute") {
    const std::string path = Data("config/scenario-bad-expression.yaml");
    auto r = generate(path);
    CHECK(r.exit_code == 1);
    CHECK(
        r.err ==
        "telemetry-generator: " + path +
            ":6:11: root.attributes.user: {{random.nope(3)}}: unknown expression; "
            "expected one of random.int(a,b), random.float(a,b), random.uuid, "
            "random.ipv4, random.choice(a|b|c), vars.NAME, parent.attributes.KEY or a bare NAME (a "
            "var or an attribute)\n");
  }
  SECTION("an alias cycle names the file and line (it would recurse for ever)") {
    const std::string path = Data("config/scenario-alias-cycle.yaml");
    auto r = generate(path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "telemetry-generator: " + path +
                       ":3:45: an alias refers back to its own anchor (at line 3): the document "
                       "would be infinite\n");
  }
  SECTION("a delay range backwards") {
    const std::string path = Data("config/scenario-bad-delay.yaml");
    auto r = generate(path);
    CHECK(r.exit_code == 1);
    CHECK(r.err == "telemetry-generator: " + path +
                       ":5:13: root.delay_ms: expected a list [min, max] of whole numbers in "
                       "0..3600000 with min <= max, got [5, 1]\n");
  }
  SECTION("a missing path") {
    auto r = generate(dir.File("nope"));
    CHECK(r.exit_code == 1);
    CHECK(r.err == where + "scenario path '" + dir.File("nope") + "': No such file or directory\n");
  }
  SECTION("an unreadable directory") {
    std::filesystem::create_directory(dir.File("locked"));
    WriteText(dir.File("locked/a.yaml"), "name: a\n");
    std::filesystem::permissions(dir.File("locked"), std::filesystem::perms::none);
    auto r = generate(dir.File("locked"), /*unprivileged=*/true);
    std::filesystem::permissions(dir.File("locked"), std::filesystem::perms::owner_all);
    CHECK(r.exit_code == 1);
    CHECK(r.err == where + "scenario directory '" + dir.File("locked") + "': Permission denied\n");
  }
  SECTION("a directory without scenarios") {
    std::filesystem::create_directory(dir.File("empty"));
    auto r = generate(dir.File("empty"));
    CHECK(r.exit_code == 1);
    CHECK(r.err == where + "scenario directory '" + dir.File("empty") + "' holds no .yaml files\n");
  }
  CHECK_FALSE(std::filesystem::exists(dir.File("out")));
}

TEST_CASE("missing and unusable files are named") {
  TempDir dir;
  SECTION("a missing config file") {
    auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File("nope.yaml")});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::StartsWith("telemetry-sender: config file: cannot open '" +
                                        dir.File("nope.yaml") + "'"));
    auto g = Run({BinaryPath("telemetry-generator"), "--config", dir.File("nope.yaml")});
    CHECK(g.exit_code == 1);
    CHECK_THAT(g.err, Catch::StartsWith("telemetry-generator: config file: cannot open '" +
                                        dir.File("nope.yaml") + "'"));
  }
  SECTION("a config that is a directory") {
    auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.path()});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err,
               Catch::Contains("'" + dir.path() + "' is a directory; expected a regular file"));
  }
  SECTION("a non-writable output directory: named, and nothing written") {
    std::filesystem::create_directory(dir.File("ro"));
    std::filesystem::permissions(
        dir.File("ro"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    auto g =
        Run(AsUnprivileged({BinaryPath("telemetry-generator"), "--config",
                            Data("../../configs/generator.yaml"), "--output", dir.File("ro")}));
    std::filesystem::permissions(dir.File("ro"), std::filesystem::perms::owner_all);
    CHECK(g.exit_code == 1);
    CHECK(g.err == "telemetry-generator: cannot create a file in directory '" + dir.File("ro") +
                       "' for '" + dir.File("ro") + "/telemetry-traces.pb': Permission denied\n");
    CHECK(Listing(dir.File("ro")).empty());
  }
}

TEST_CASE("a write that fails mid-run (a full disk) names the file and leaves nothing") {
  TempDir dir;
  WriteText(dir.File("gen.yaml"),
            "output: {directory: " + dir.File("out") + ", prefix: big}\ntraces: {count: 40000}\n");
  // A file size limit makes a write fail part way, as a full disk does (EFBIG rather than
  // ENOSPC: the same path), with both generating threads busy.
  auto r = Run({"/bin/bash", "-c",
                "trap '' XFSZ; ulimit -f 4096; exec " + BinaryPath("telemetry-generator") +
                    " --threads 2 --config " + dir.File("gen.yaml")});
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "telemetry-generator: writing '" + dir.File("out") + "/big-traces.pb': File too large\n");
  CHECK(Listing(dir.File("out")).empty());  // Neither the file nor a temporary one.
}

TEST_CASE("a generator killed mid-run leaves no file under a final name") {
  TempDir dir;
  WriteText(dir.File("gen.yaml"),
            "output: {directory: " + dir.File("out") + ", prefix: big}\ntraces: {count: 200000}\n");
  Process generator({BinaryPath("telemetry-generator"), "--config", dir.File("gen.yaml")});
  std::string line;
  // A tenth of the traces are written (to the temporary file) when this line comes.
  while (generator.ReadLine(&line) && !line.ends_with(" of 200000 traces (10%)")) {
  }
  REQUIRE(line.ends_with(" of 200000 traces (10%)"));
  generator.Signal(SIGKILL);
  CHECK(generator.Wait() == 128 + SIGKILL);
  const std::vector<std::string> left = Listing(dir.File("out"));
  INFO(left.size() << " files left");
  for (const std::string& name : left) {
    // Only the temporary file, never big-traces.pb or the metadata.
    CHECK_THAT(name, Catch::StartsWith("big-traces.pb.tmp-"));
  }
  CHECK(left.size() == 1);
}

TEST_CASE("SIGINT or SIGTERM stops the generator in every phase, leaving nothing behind") {
  struct Phase {
    const char* name;
    const char* config;  // Makes this phase long; the others are skipped.
    const char* line;    // Printed once the phase is under way: how the line ends.
  };
  const Phase phases[] = {
      {"traces", "traces: {count: 200000}\nmetrics: {metric_count: 0}\nlogs: {count: 0}\n",
       " of 200000 traces (10%)"},
      {"metrics",
       "traces: {count: 0}\nmetrics: {metric_count: 20000, timeseries_per_metric: {default: "
       "300}}\nlogs: {count: 0}\n",
       "(under a temporary name)"},
      {"logs", "traces: {count: 0}\nmetrics: {metric_count: 0}\nlogs: {count: 2000000}\n",
       " of 2000000 log records (10%)"},
  };
  for (const Phase& phase : phases) {
    for (int sig : {SIGINT, SIGTERM}) {
      TempDir dir;
      WriteText(dir.File("gen.yaml"), "output: {directory: " + dir.File("out") +
                                          "}\nlimits: {max_dataset_bytes: 1099511627776}\n" +
                                          phase.config);
      Process generator({BinaryPath("telemetry-generator"), "--config", dir.File("gen.yaml")});
      std::string line;
      while (generator.ReadLine(&line) &&
             !(line.starts_with(phase.name) && line.ends_with(phase.line))) {
      }
      INFO(phase.name << ", signal " << sig);
      REQUIRE(line.starts_with(phase.name));
      REQUIRE(line.ends_with(phase.line));
      const auto signalled = std::chrono::steady_clock::now();
      generator.Signal(sig);
      const int code = generator.Wait();
      CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(1));
      CHECK(code == 128 + sig);
      CHECK_THAT(generator.err(),
                 Catch::StartsWith(std::string("telemetry-generator: ") + strsignal(sig) +
                                   ": interrupted while generating " + phase.name));
      CHECK_THAT(generator.err(), Catch::EndsWith(": nothing was written, and files already "
                                                  "under the final names are untouched\n"));
      CHECK(Listing(dir.File("out")).empty());  // Not even a temporary file.
    }
  }
}

TEST_CASE("a later run removes the temporary files of a generator killed outright") {
  TempDir dir;
  WriteText(dir.File("gen.yaml"),
            "output: {directory: " + dir.File("out") + "}\ntraces: {count: 200}\n");
  std::filesystem::create_directories(dir.File("out"));
  // A dead writer's leftover (pid 2^22 + 1 is above Linux's pid_max), and a live one's.
  WriteText(dir.File("out/telemetry-traces.pb.tmp-4194305-abcdef"), "partial");
  const std::string live = "out/telemetry-traces.pb.tmp-" + std::to_string(getpid()) + "-abcdef";
  WriteText(dir.File(live), "partial");
  auto r = Run({BinaryPath("telemetry-generator"), "--config", dir.File("gen.yaml")});
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> left = Listing(dir.File("out"));
  CHECK(std::find(left.begin(), left.end(), "telemetry-traces.pb.tmp-4194305-abcdef") ==
        left.end());
  CHECK(std::find(left.begin(), left.end(), live.substr(4)) != left.end());
}

TEST_CASE("bad input: clear message naming the place, non-zero exit") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);

  SECTION("a corrupted template file names the file and byte offset") {
    {
      std::fstream f(prefix + "-logs.pb", std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(200);
      f.put('\x7f');
    }
    auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                  "--endpoint", "127.0.0.1:9"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(prefix + "-logs.pb: offset 16: chunk 0 checksum mismatch"));
  }
  SECTION("a missing template file is named") {
    std::filesystem::remove(prefix + "-traces.pb");
    auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix)});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("cannot open template file '" + prefix + "-traces.pb'"));
  }
  SECTION("a signal's file given as another signal's input is refused") {
    WriteText(dir.File("swap.yaml"),
              "input:\n  traces: " + prefix + "-logs.pb\n  metrics: \"\"\n  logs: \"\"\n");
    auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File("swap.yaml")});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("holds logs templates, but is configured as input.traces"));
  }
  SECTION("config errors name file and line") {
    WriteText(dir.File("bad.yaml"), "sending:\n  multiplier: many\n");
    auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File("bad.yaml")});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("bad.yaml:2:15: sending.multiplier: expected an integer"));
    auto g = Run({BinaryPath("telemetry-generator"), "--config", dir.File("nope.yaml")});
    CHECK(g.exit_code == 1);
    CHECK_THAT(g.err, Catch::Contains("nope.yaml"));
  }
  SECTION("bad flags are usage errors") {
    auto r = Run({BinaryPath("telemetry-sender"), "--rate", "lots"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--rate"));
    auto g = Run({BinaryPath("telemetry-generator"), "--seed", "-4"});
    CHECK(g.exit_code == 2);
    for (const char* threads : {"0", "-2", "many", "1.5"}) {
      auto t = Run({BinaryPath("telemetry-generator"), "--threads", threads});
      INFO(threads);
      CHECK(t.exit_code == 2);
      CHECK(t.err == std::string("telemetry-generator: --threads: expected a whole number from 1 "
                                 "to 1024, got \"") +
                         threads + "\"\n");
    }
    auto c = Run({BinaryPath("telemetry-sender"), "--compression", "brotli"});
    CHECK(c.exit_code == 2);
    CHECK_THAT(c.err,
               Catch::EndsWith("--compression: expected none, gzip or zstd, got \"brotli\"\n"));
    WriteText(dir.File("level.yaml"), "otlp:\n  compression: zstd\n  compression_level: 19\n");
    auto l = Run({BinaryPath("telemetry-sender"), "--config", dir.File("level.yaml"),
                  "--compression", "gzip"});
    CHECK(l.exit_code == 2);
    CHECK_THAT(l.err, Catch::EndsWith("--compression gzip: otlp.compression_level is 19; gzip "
                                      "takes 1 to 12\n"));
  }
  SECTION("stray arguments and contradictory modes are usage errors in every tool") {
    for (const char* tool : {"telemetry-generator", "otlp-sink"}) {
      auto r = Run({BinaryPath(tool), "configs/generator.yaml"});
      INFO(tool);
      CHECK(r.exit_code == 2);
      CHECK(r.err ==
            std::string(tool) + ": unexpected argument 'configs/generator.yaml' (see --help)\n");
    }
    const std::string config = WriteSenderConfig(dir, prefix);
    for (const auto& [flags, error] :
         {std::pair<std::vector<std::string>, std::string>{{"--plan", "--find-capacity"},
                                                           "--plan and --find-capacity"},
          {{"--merge-reports", "--plan"}, "--merge-reports and --plan"}}) {
      std::vector<std::string> argv = {BinaryPath("telemetry-sender"), "--config", config};
      argv.insert(argv.end(), flags.begin(), flags.end());
      auto r = Run(argv);
      CHECK(r.exit_code == 2);
      CHECK(r.err == "telemetry-sender: " + error + " cannot be combined: pick one\n");
    }
  }
  SECTION("a pipe, a device or a directory where a file belongs is refused, not waited on") {
    const std::string fifo = dir.File("fifo");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    // Nothing ever writes to the pipe: a reader that opened it would wait for good.
    auto config = Run({BinaryPath("telemetry-sender"), "--config", fifo});
    CHECK(config.exit_code == 1);
    CHECK(config.err ==
          "telemetry-sender: config file: '" + fifo + "' is a pipe; expected a regular file\n");
    auto gen = Run({BinaryPath("telemetry-generator"), "--config", fifo});
    CHECK(gen.exit_code == 1);
    CHECK_THAT(gen.err, Catch::Contains("'" + fifo + "' is a pipe; expected a regular file"));
    for (const std::string& input : {fifo, std::string("/dev/zero"), dir.path()}) {
      WriteText(dir.File("odd.yaml"), "input:\n  traces: " + input + "\n");
      auto r = Run({BinaryPath("telemetry-sender"), "--config", dir.File("odd.yaml")});
      INFO(input);
      CHECK(r.exit_code == 1);
      CHECK_THAT(r.err, Catch::Contains("template file '" + input + "' is a"));
    }
    auto sink = Run({BinaryPath("otlp-sink"), "--listen", "127.0.0.1:0", "--ledger", fifo});
    CHECK(sink.exit_code == 1);
    CHECK_THAT(sink.err, Catch::Contains("ledger '" + fifo + "' is a pipe"));
  }
  SECTION("a run that ends before its first request is an error, not a silent success") {
    auto r = Run({BinaryPath("telemetry-sender"), "--config", WriteSenderConfig(dir, prefix),
                  "--endpoint", "127.0.0.1:9", "--rate", "1", "--duration", "1s"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::EndsWith("telemetry-sender: nothing was sent: the run ended before "
                                      "its first request was due (raise the rate or the "
                                      "duration; --plan shows what a run will send)\n"));
  }
  SECTION("an omitted input key skips that signal; none at all is an error") {
    WriteText(dir.File("logs-only.yaml"), "input:\n  logs: " + prefix + "-logs.pb\n");
    auto plan = Run({BinaryPath("telemetry-sender"), "--config", dir.File("logs-only.yaml"),
                     "--plan", "--rate", "1000"});
    CHECK(plan.exit_code == 0);
    CHECK_THAT(plan.out, Catch::Contains("loaded logs"));
    CHECK_THAT(plan.out, !Catch::Contains("traces") && !Catch::Contains("metrics"));
    WriteText(dir.File("none.yaml"), "otlp:\n  insecure: true\n");
    auto none = Run({BinaryPath("telemetry-sender"), "--config", dir.File("none.yaml")});
    CHECK(none.exit_code == 1);
    CHECK(none.err == "telemetry-sender: no events to send: every input is empty or unset\n");
  }
  SECTION("an unwritable output directory is named and nothing is written") {
    WriteText(dir.File("file-not-dir"), "");
    auto g = Run({BinaryPath("telemetry-generator"), "--config", dir.File("gen.yaml"), "--output",
                  dir.File("file-not-dir/sub")});
    CHECK(g.exit_code == 1);
    CHECK_THAT(g.err, Catch::Contains("cannot create output directory"));
  }
}

TEST_CASE("bad input: otlp-sink refuses a bad flag value, naming the flag and what it takes") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--max-recv-bytes", "12x"}, "--max-recv-bytes: expected bytes from 1024"},
      {{"--max-recv-bytes", "0"}, "--max-recv-bytes: expected bytes from 1024"},
      {{"--fail-code", "FOO"}, "--fail-code: unknown gRPC status \"FOO\""},
      {{"--fail-code", "0"}, "--fail-code: unknown gRPC status \"0\""},
      {{"--fail-share", "1.5"}, "--fail-share takes a share from 0 to 1"},
      {{"--over-rate", "drop"}, "--over-rate: expected refuse or delay"},
      {{"--delay", "-5ms"}, "--delay: a duration cannot be negative"},
      {{"--max-skew", "soon"}, "--max-skew: expected a duration"},
      {{"--require-header", "=x"}, "--require-header: expected name=value"},
      {{"--accept-encodings", "gzip,br"},
       "--accept-encodings: unsupported content coding \"br\" (identity, gzip, zstd or "
       "deflate) in \"gzip,br\""},
      {{"--accept-encodings", "gzip"}, "--accept-encodings: identity is always accepted"},
      {{"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"},
       "--tls-cert: cannot open '/nonexistent/cert.pem'"},
  };
  for (const auto& [flags, error] : cases) {
    std::vector<std::string> argv = {BinaryPath("otlp-sink"), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    const auto r = Run(argv);
    INFO(flags[0] << " " << flags[1] << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("otlp-sink: " + error));
    CHECK(r.out.empty());  // Refused before it listens.
  }
}

}  // namespace
}  // namespace loadgen::testing
