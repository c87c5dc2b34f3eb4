// telemetry-generator: config -> topology -> trace/metric/log templates -> .pb files.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/command_line.h"
#include "common/strings.h"
#include "cxxopts.hpp"
#include "fmt/core.h"
#include "generator/config.h"
#include "generator/dataset.h"
#include "generator/import.h"

namespace {

std::atomic<bool> cancel{false};
std::atomic<int> caught{0};

// SIGINT and SIGTERM ask the run to stop: it removes its temporary files and exits 130
// or 143. A second signal ends the process at once.
void CatchStopSignals() {
  struct sigaction on_signal {};
  on_signal.sa_handler = [](int sig) {
    if (caught.exchange(sig) != 0) _exit(128 + sig);
    cancel.store(true);
  };
  sigemptyset(&on_signal.sa_mask);
  sigaction(SIGINT, &on_signal, nullptr);
  sigaction(SIGTERM, &on_signal, nullptr);
}

cxxopts::Options MakeOptions() {
  cxxopts::Options options(
      "telemetry-generator",
      "Builds timestamp-free OTLP trace, metric and log templates into .pb files.\n\n"
      "Examples:\n"
      "  telemetry-generator --config configs/generator.yaml\n"
      "  telemetry-generator --config configs/generator.yaml --output /data/bench --seed 7\n"
      "  telemetry-generator import --help     # captured OTLP into templates\n");
  options.add_options()("c,config", "Generator config (YAML)",
                        cxxopts::value<std::string>()->default_value("configs/generator.yaml"))(
      "o,output", "Output directory (overrides output.directory)", cxxopts::value<std::string>())(
      "seed", "Random seed (overrides seed)", cxxopts::value<std::string>())(
      "threads",
      "Threads generating traces and logs (default: the machine's cores); the output "
      "is the same whatever the number",
      cxxopts::value<std::string>())(
      "json", "Also write OTLP/JSON (one request per line) beside each .pb, for inspection")(
      "h,help", "Show this help");
  return options;
}

// The flags' values that need checking; an error names the flag.
struct FlagValues {
  uint64_t seed = 0;
  int64_t threads = 1;
};
absl::StatusOr<FlagValues> ParseFlagValues(const cxxopts::ParseResult& args) {
  FlagValues v;
  if (args.count("seed") && !loadgen::ParseUint64(args["seed"].as<std::string>(), &v.seed)) {
    return absl::InvalidArgumentError(fmt::format(
        "--seed: expected a non-negative integer, got \"{}\"", args["seed"].as<std::string>()));
  }
  v.threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  if (args.count("threads") &&
      (!loadgen::ParseInt64(args["threads"].as<std::string>(), &v.threads) || v.threads < 1 ||
       v.threads > 1024)) {
    return absl::InvalidArgumentError(
        fmt::format("--threads: expected a whole number from 1 to 1024, got \"{}\"",
                    args["threads"].as<std::string>()));
  }
  return v;
}

void PrintSummary(const loadgen::DatasetSummary& summary) {
  auto line = [](const char* what, const loadgen::SignalFileSummary& f, const char* items) {
    if (f.path.empty()) return;
    fmt::print("{:<8} {:>12} {:<12} {:>6} chunks {:>10.1f} KiB  {}\n", what, f.items, items,
               f.chunks, f.bytes / 1024.0, f.path);
  };
  line("traces", summary.traces, "spans");
  line("metrics", summary.metrics, "data points");
  line("logs", summary.logs, "log records");
  fmt::print("metadata {}\n", summary.metadata_path);
}

// telemetry-generator import: captured OTLP into templates (generator/import.h).
int ImportMain(int argc, char** argv) {
  cxxopts::Options options(
      "telemetry-generator import",
      "Makes captured OTLP into templates: OTLP/JSON lines (the Collector's file exporter, "
      "--json output) or binary Export*ServiceRequest files.\n\n"
      "Example:\n"
      "  telemetry-generator import --output /data/prod --prefix checkout --scrub user.id \\\n"
      "      --hash client.address traces.json metrics.json logs.json\n");
  options.add_options()("o,output", "Output directory",
                        cxxopts::value<std::string>()->default_value("./generated"))(
      "prefix", "File name prefix (<prefix>-traces.pb, ...)",
      cxxopts::value<std::string>()->default_value("imported"))(
      "scrub", "Remove this attribute everywhere (repeatable)",
      cxxopts::value<std::vector<std::string>>())(
      "hash", "Replace this attribute's values with a hash (repeatable)",
      cxxopts::value<std::vector<std::string>>())(
      "files", "Captured OTLP files", cxxopts::value<std::vector<std::string>>())("h,help",
                                                                                  "Show this help");
  options.parse_positional({"files"});
  options.positional_help("FILE...");
  const loadgen::CommandLine command_line =
      loadgen::ParseCommandLine("telemetry-generator import", options, argc, argv);
  if (!command_line.args) return command_line.exit_code;
  const cxxopts::ParseResult& args = *command_line.args;
  loadgen::ImportOptions o;
  if (args.count("files")) o.inputs = args["files"].as<std::vector<std::string>>();
  if (o.inputs.empty()) {
    fmt::print(stderr, "telemetry-generator import: no input files (see --help)\n");
    return 2;
  }
  o.output_directory = args["output"].as<std::string>();
  o.prefix = args["prefix"].as<std::string>();
  if (args.count("scrub")) o.scrub = args["scrub"].as<std::vector<std::string>>();
  if (args.count("hash")) o.hash = args["hash"].as<std::vector<std::string>>();
  CatchStopSignals();
  auto summary = loadgen::ImportCaptured(o, [](const std::string& line) {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  });
  if (!summary.ok()) {
    fmt::print(stderr, "telemetry-generator import: {}\n", summary.status().message());
    return 1;
  }
  loadgen::DatasetSummary d;
  d.traces = summary->traces;
  d.metrics = summary->metrics;
  d.logs = summary->logs;
  d.metadata_path = summary->metadata_path;
  PrintSummary(d);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "import") == 0) return ImportMain(argc - 1, argv + 1);
  cxxopts::Options options = MakeOptions();
  const loadgen::CommandLine command_line =
      loadgen::ParseCommandLine("telemetry-generator", options, argc, argv);
  if (!command_line.args) return command_line.exit_code;
  const cxxopts::ParseResult& args = *command_line.args;
  const auto flags = ParseFlagValues(args);
  if (!flags.ok()) {
    fmt::print(stderr, "telemetry-generator: {}\n", flags.status().message());
    return 2;
  }
  auto config = loadgen::LoadGeneratorConfig(args["config"].as<std::string>());
  if (!config.ok()) {
    fmt::print(stderr, "telemetry-generator: {}\n", config.status().message());
    return 1;
  }
  if (args.count("output")) config->output_directory = args["output"].as<std::string>();
  if (args.count("seed")) config->seed = flags->seed;
  config->write_json = args.count("json") > 0;
  config->threads = flags->threads;
  CatchStopSignals();
  auto summary = loadgen::GenerateDataset(
      *config,
      [](const std::string& line) {
        fmt::print("{}\n", line);
        std::fflush(stdout);
      },
      &cancel);
  if (!summary.ok() && absl::IsCancelled(summary.status())) {
    fmt::print(stderr, "telemetry-generator: {}: {}\n", strsignal(caught.load()),
               summary.status().message());
    return 128 + caught.load();
  }
  if (!summary.ok()) {
    fmt::print(stderr, "telemetry-generator: {}\n", summary.status().message());
    return 1;
  }
  PrintSummary(*summary);
  return 0;
}
