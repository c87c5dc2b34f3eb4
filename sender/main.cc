// telemetry-sender: flags, config and signals; the run itself is RunSender (run.h).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/strings/str_join.h"
#include "common/atomic_file.h"
#include "common/command_line.h"
#include "common/duration.h"
#include "common/strings.h"
#include "common/yaml_config.h"
#include "cxxopts.hpp"
#include "fmt/core.h"
#include "sender/config.h"
#include "sender/modes/html_report.h"
#include "sender/modes/merge.h"
#include "sender/modes/run.h"
#include "sender/token_bucket.h"

namespace {

using namespace loadgen;

// Reads whole-number flag `name` into *out when given; an error message when it is not
// a whole number in [lo, hi], else "".
std::string IntFlag(const cxxopts::ParseResult& args, const char* name, int64_t lo, int64_t hi,
                    int64_t* out) {
  if (!args.count(name)) return "";
  const std::string text = args[name].as<std::string>();
  if (ParseInt64(text, out) && *out >= lo && *out <= hi) return "";
  return hi == INT64_MAX
             ? fmt::format("--{}: expected a whole number >= {}, got \"{}\"", name, lo, text)
             : fmt::format("--{}: expected a whole number from {} to {}, got \"{}\"", name, lo, hi,
                           text);
}

// Where and how requests go: endpoint, protocol, compression, attributes.
std::string ApplyTransportFlags(const cxxopts::ParseResult& args, SenderConfig* c) {
  if (args.count("endpoint")) {
    // The flag is the highest precedence: it sends every signal there.
    c->endpoint = args["endpoint"].as<std::string>();
    c->signal_endpoints = {};
  }
  if (args.count("insecure")) c->insecure = args["insecure"].as<bool>();
  if (args.count("protocol")) {
    c->protocol = args["protocol"].as<std::string>();
    if (c->protocol != "grpc" && c->protocol != "http/protobuf") {
      return fmt::format("--protocol: expected grpc or http/protobuf, got \"{}\"", c->protocol);
    }
  }
  if (args.count("compression")) {
    auto codec = ParseSendCompression(args["compression"].as<std::string>());
    if (!codec.ok()) return fmt::format("--compression: {}", codec.status().message());
    c->compression = *codec;
    const LevelRange levels = CompressionLevels(c->compression);
    if (c->compression != Compression::kNone &&
        (c->compression_level < levels.min || c->compression_level > levels.max)) {
      return fmt::format("--compression {}: otlp.compression_level is {}; {} takes {} to {}",
                         CompressionName(c->compression), c->compression_level,
                         CompressionName(c->compression), levels.min, levels.max);
    }
  }
  for (auto [flag, list] : {std::pair{"resource-attribute", &c->resource_attributes},
                            std::pair{"scope-attribute", &c->scope_attributes},
                            std::pair{"span-attribute", &c->span_attributes}}) {
    if (!args.count(flag)) continue;
    for (const std::string& kv : args[flag].as<std::vector<std::string>>()) {
      if (auto s = ParseAttributeFlag(kv, StrCat("--", flag), list); !s.ok()) {
        return std::string(s.message());
      }
    }
  }
  return "";
}

// How much, how fast and for how long; what the run writes and serves.
std::string ApplyRunFlags(const cxxopts::ParseResult& args, SenderConfig* c) {
  if (args.count("rate")) {
    c->schedule.clear();  // The flag is the highest precedence: a constant rate.
    if (!ParseDouble(args["rate"].as<std::string>(), &c->events_per_second) ||
        !(c->events_per_second >= 0)) {
      return fmt::format("--rate: expected events per second (0 = unlimited), got \"{}\"",
                         args["rate"].as<std::string>());
    }
  }
  if (args.count("duration")) {
    auto d = ParseDuration(args["duration"].as<std::string>(), "--duration");
    if (!d.ok()) return std::string(d.status().message());
    c->duration = *d;
  }
  for (const std::string& e : {IntFlag(args, "multiplier", 0, INT64_MAX, &c->multiplier),
                               IntFlag(args, "concurrency", 1, INT64_MAX, &c->concurrency)}) {
    if (!e.empty()) return e;
  }
  if (args.count("stats-json")) c->stats_json_file = args["stats-json"].as<std::string>();
  if (args.count("report")) c->report_file = args["report"].as<std::string>();
  if (args.count("admin")) c->admin_listen = args["admin"].as<std::string>();
  if (args.count("allow-rate-change")) c->allow_rate_change = true;
  if (args.count("on-rejected")) {
    const std::string v = args["on-rejected"].as<std::string>();
    if (v != "continue" && v != "stop") {
      return fmt::format("--on-rejected: expected continue or stop, got \"{}\"", v);
    }
    c->stop_on_rejected = v == "stop";
  }
  return "";
}

// Scale-out: how many instances, and which one this is (--instance, or the index of a
// Kubernetes Indexed Job).
std::string ApplyScaleOutFlags(const cxxopts::ParseResult& args, SenderConfig* c) {
  if (auto e = IntFlag(args, "instances", 1, 65536, &c->instances); !e.empty()) return e;
  std::string index;
  if (args.count("instance")) {
    index = args["instance"].as<std::string>();
  } else if (const char* job = std::getenv("JOB_COMPLETION_INDEX"); job && c->instances > 1) {
    index = job;
  }
  if (!index.empty() &&
      (!ParseInt64(index, &c->instance) || c->instance < 0 || c->instance >= c->instances)) {
    return fmt::format(
        "--instance (or JOB_COMPLETION_INDEX): expected a whole number from 0 to {}, got \"{}\"",
        c->instances - 1, index);
  }
  return "";
}

// Applies command-line overrides; returns an error message or "".
std::string ApplyFlags(const cxxopts::ParseResult& args, SenderConfig* c) {
  for (auto apply : {ApplyTransportFlags, ApplyRunFlags, ApplyScaleOutFlags}) {
    if (std::string e = apply(args, c); !e.empty()) return e;
  }
  return "";
}

// The flags, with their help.
cxxopts::Options MakeOptions() {
  cxxopts::Options options(
      "telemetry-sender",
      "Replays telemetry templates over OTLP/gRPC with fresh IDs and current timestamps.\n\n"
      "Examples:\n"
      "  telemetry-sender --config configs/sender.yaml\n"
      "  telemetry-sender --config configs/sender.yaml --endpoint 127.0.0.1:4317 --insecure \\\n"
      "      --rate 0 --duration 30s          # as fast as the receiver takes it\n"
      "  telemetry-sender --config configs/sender.yaml --rate 100000 --multiplier 0\n\n"
      "Settings: flags > config file > OTEL_EXPORTER_OTLP_* environment > defaults.\n");
  options.add_options()("c,config", "Sender config (YAML)",
                        cxxopts::value<std::string>()->default_value("configs/sender.yaml"))(
      "endpoint", "OTLP/gRPC endpoint host:port (or http:// / https:// URL)",
      cxxopts::value<std::string>())("insecure", "Plaintext gRPC instead of TLS",
                                     cxxopts::value<bool>()->implicit_value("true"))(
      "protocol", "OTLP transport: grpc (default) or http/protobuf", cxxopts::value<std::string>())(
      "compression", "Request compression: none, gzip or zstd", cxxopts::value<std::string>())(
      "resource-attribute",
      "key=value on every resource sent (repeatable; replaces the templates' value), e.g. "
      "deployment.environment.name=loadtest",
      cxxopts::value<std::vector<std::string>>())(
      "scope-attribute", "key=value on every instrumentation scope sent (repeatable)",
      cxxopts::value<std::vector<std::string>>())("span-attribute",
                                                  "key=value on every span sent (repeatable)",
                                                  cxxopts::value<std::vector<std::string>>())(
      "rate", "Events per second across all signals; 0 for unlimited",
      cxxopts::value<std::string>())("duration",
                                     "Stop after this long (e.g. 30s, 5m); 0 for no limit",
                                     cxxopts::value<std::string>())(
      "multiplier", "Replays of the whole dataset; 0 for unlimited", cxxopts::value<std::string>())(
      "concurrency", "Worker threads across all signals", cxxopts::value<std::string>())(
      "stats-json", "Write the final summary as JSON to this file", cxxopts::value<std::string>())(
      "on-rejected",
      "When the receiver refuses data for good: continue (count it as rejected) or stop "
      "(exit 3)",
      cxxopts::value<std::string>())("instances",
                                     "Scale-out: the number of sender instances sharing this load",
                                     cxxopts::value<std::string>())(
      "instance",
      "Scale-out: this instance's number, 0 to instances-1 (default: "
      "JOB_COMPLETION_INDEX when set)",
      cxxopts::value<std::string>())(
      "admin",
      "Serve GET /metrics (Prometheus) and GET /rate on this host:port (e.g. 127.0.0.1:9464)",
      cxxopts::value<std::string>())(
      "allow-rate-change", "With --admin: PUT /rate changes the target rate while running")(
      "find-capacity",
      "Raise the rate step by step until a threshold breaks, then report the highest "
      "sustained rate (settings: the capacity section of the config)")(
      "plan",
      "Send nothing: print what the run would put on the wire (events, requests, bytes raw "
      "and as sent, MB/s, per day) and what gzip and zstd would cost and save, from the real "
      "templates; --stats-json gets it as JSON")(
      "report",
      "Write a self-contained HTML report with charts (rate target vs achieved, latency, "
      "errors and retries, signal mix) to this file",
      cxxopts::value<std::string>())(
      "merge-reports",
      "Combine the JSON summaries of a scaled-out run's instances (given after the flags) "
      "into one: printed, and written to --stats-json")(
      "files", "", cxxopts::value<std::vector<std::string>>())("h,help", "Show this help");
  options.parse_positional({"files"});
  options.positional_help("[summary.json ...]");
  return options;
}

// Each mode is a different job: two at once is a mistake, not a choice to guess. ""
// when at most one is asked for.
std::string ConflictingModes(const cxxopts::ParseResult& args) {
  std::vector<std::string> modes_asked;
  for (const char* mode : {"merge-reports", "plan", "find-capacity"}) {
    if (args.count(mode)) modes_asked.push_back(StrCat("--", mode));
  }
  if (modes_asked.size() <= 1) return "";
  return StrCat(absl::StrJoin(modes_asked, " and "), " cannot be combined: pick one");
}

// --merge-reports: one summary (and report) from the instances' JSON summaries.
int MergeMode(const cxxopts::ParseResult& args) {
  const auto files = args.count("files") ? args["files"].as<std::vector<std::string>>()
                                         : std::vector<std::string>{};
  auto merged = MergeReports(files);
  if (!merged.ok()) return FailWith(merged.status().message());
  fmt::print("{}", merged->text);
  if (args.count("stats-json")) {
    if (auto s = WriteFileAtomically(args["stats-json"].as<std::string>(), ToJson(merged->summary));
        !s.ok()) {
      return FailWith(StrCat("--stats-json: ", s.message()));
    }
  }
  if (args.count("report")) {
    if (auto s = WriteFileAtomically(args["report"].as<std::string>(), HtmlReport(merged->summary));
        !s.ok()) {
      return FailWith(StrCat("--report: ", s.message()));
    }
  }
  return 0;
}

// Signals go to one thread that asks the run to stop; a second one exits at once.
// Blocked first thing, before gRPC or anything else starts a thread, so every thread
// inherits the mask and no thread dies of the default action.
sigset_t BlockStopSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  return sigs;
}

void StopOnSignals(sigset_t sigs, StopSignal* stop, std::atomic<bool>* interrupted) {
  std::thread([sigs, stop, interrupted] {
    int sig;
    sigwait(&sigs, &sig);
    interrupted->store(true);
    stop->Stop();
    sigwait(&sigs, &sig);
    _exit(130);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options = MakeOptions();
  // Arguments no flag takes are the summaries of --merge-reports (checked below).
  const CommandLine command_line =
      ParseCommandLine("telemetry-sender", options, argc, argv, /*positional_ok=*/true);
  if (!command_line.args) return command_line.exit_code;
  const cxxopts::ParseResult& args = *command_line.args;
  if (std::string conflict = ConflictingModes(args); !conflict.empty()) {
    return FailWith(conflict, 2);
  }
  if (args.count("merge-reports")) return MergeMode(args);
  if (args.count("files")) {
    return FailWith(StrCat("unexpected argument '", args["files"].as<std::vector<std::string>>()[0],
                           "' (summaries to merge go with --merge-reports)"),
                    2);
  }

  const sigset_t sigs = BlockStopSignals();
  // The signal thread is detached and may still be inside Stop() when main returns, so
  // what it touches lives as long as the process (deliberately never freed).
  static auto* const stop = new StopSignal;
  static auto* const interrupted = new std::atomic<bool>(false);

  // Flag values are checked before anything else, so a typo is a usage error (2).
  SenderConfig scratch;
  if (std::string err = ApplyFlags(args, &scratch); !err.empty()) return FailWith(err, 2);
  // Then the settings, lowest precedence first.
  SenderConfig config;
  if (auto s = ApplyOtelEnvironment(&config); !s.ok()) return FailWith(s.message());
  if (auto s = ApplySenderConfigFile(args["config"].as<std::string>(), &config); !s.ok()) {
    return FailWith(s.message());
  }
  // A flag can also contradict the file (a --compression the file's level does not fit).
  if (std::string err = ApplyFlags(args, &config); !err.empty()) return FailWith(err, 2);
  StopOnSignals(sigs, stop, interrupted);

  RunModes modes;
  modes.plan = args.count("plan") > 0;
  modes.find_capacity = args.count("find-capacity") > 0;
  return RunSender(std::move(config), modes, stop, interrupted);
}
