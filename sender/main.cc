// telemetry-sender: .pb templates -> compiled frames -> rate-limited replay over OTLP.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/strings.h"
#include "common/yaml_config.h"
#include "cxxopts.hpp"
#include "fmt/core.h"
#include "sender/admin.h"
#include "sender/capacity.h"
#include "sender/config.h"
#include "sender/exporter.h"
#include "sender/html_report.h"
#include "sender/loader.h"
#include "sender/merge.h"
#include "sender/plan.h"
#include "sender/report.h"
#include "sender/token_bucket.h"
#include "sender/worker_pool.h"

namespace {

using namespace loadgen;

// Prints one clear line; `message` is anything fmt formats (strings, Status messages).
template <typename Message>
int Fail(const Message& message, int code = 1) {
  fmt::print(stderr, "telemetry-sender: {}\n", message);
  return code;
}

// Applies command-line overrides; returns an error message or "".
std::string ApplyFlags(const cxxopts::ParseResult& args, SenderConfig* c) {
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
  if (args.count("multiplier")) {
    if (!ParseInt64(args["multiplier"].as<std::string>(), &c->multiplier) || c->multiplier < 0) {
      return fmt::format("--multiplier: expected a whole number >= 0, got \"{}\"",
                         args["multiplier"].as<std::string>());
    }
  }
  if (args.count("concurrency")) {
    if (!ParseInt64(args["concurrency"].as<std::string>(), &c->concurrency) || c->concurrency < 1) {
      return fmt::format("--concurrency: expected a whole number >= 1, got \"{}\"",
                         args["concurrency"].as<std::string>());
    }
  }
  if (args.count("stats-json")) c->stats_json_file = args["stats-json"].as<std::string>();
  if (args.count("report")) c->report_file = args["report"].as<std::string>();
  if (args.count("instances")) {
    if (!ParseInt64(args["instances"].as<std::string>(), &c->instances) || c->instances < 1 ||
        c->instances > 65536) {
      return fmt::format("--instances: expected a whole number from 1 to 65536, got \"{}\"",
                         args["instances"].as<std::string>());
    }
  }
  // The index comes from --instance, or from a Kubernetes Indexed Job.
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

}  // namespace

int main(int argc, char** argv) {
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
      "Send nothing: print what the run would put on the wire (events, requests, bytes with "
      "and without gzip, MB/s, per day) from the real templates; --stats-json gets it as JSON")(
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
  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    return Fail(e.what(), 2);
  }
  if (args.count("help")) {
    fmt::print("{}\n", options.help());
    return 0;
  }

  if (args.count("merge-reports")) {
    const auto files = args.count("files") ? args["files"].as<std::vector<std::string>>()
                                           : std::vector<std::string>{};
    auto merged = MergeReports(files);
    if (!merged.ok()) return Fail(merged.status().message());
    fmt::print("{}", merged->text);
    if (args.count("stats-json")) {
      if (auto s = WriteFileAtomically(args["stats-json"].as<std::string>(), merged->json);
          !s.ok()) {
        return Fail(StrCat("--stats-json: ", s.message()));
      }
    }
    if (args.count("report")) {
      auto html = HtmlReport(merged->json, "the merged summary");
      if (!html.ok()) return Fail(html.status().message());
      if (auto s = WriteFileAtomically(args["report"].as<std::string>(), *html); !s.ok()) {
        return Fail(StrCat("--report: ", s.message()));
      }
    }
    return 0;
  }
  if (args.count("files")) {
    return Fail(StrCat("unexpected argument '", args["files"].as<std::vector<std::string>>()[0],
                       "' (summaries to merge go with --merge-reports)"),
                2);
  }

  // Signals go to one thread that asks the run to stop; a second one exits at once.
  // Blocked first thing, before gRPC or anything else starts a thread, so every
  // thread inherits the mask and no thread dies of the default action.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // The signal thread is detached and may still be inside Stop() when main returns, so
  // what it touches lives as long as the process (deliberately never freed).
  static auto* const stop = new StopSignal;
  static auto* const interrupted = new std::atomic<bool>(false);

  // Flag values are checked before anything else, so a typo is a usage error (2).
  SenderConfig scratch;
  if (std::string err = ApplyFlags(args, &scratch); !err.empty()) return Fail(err, 2);

  SenderConfig config;
  if (auto s = ApplyOtelEnvironment(&config); !s.ok()) return Fail(s.message());
  if (auto s = ApplySenderConfigFile(args["config"].as<std::string>(), &config); !s.ok()) {
    return Fail(s.message());
  }
  ApplyFlags(args, &config);
  const bool http = config.protocol == "http/protobuf";
  auto targets = http ? ResolveHttpUrls(&config) : ResolveGrpcTargets(&config);
  if (!targets.ok()) return Fail(targets.status().message());
  if (http && !config.tls.server_name.empty()) {
    return Fail(
        "otlp.tls.server_name applies to gRPC only; for http/protobuf use the name in "
        "the URL");
  }
  // gRPC credentials (for http/protobuf this still checks that the TLS files can be read).
  auto credentials = MakeCredentials(config);
  if (!credentials.ok()) return Fail(credentials.status().message());

  std::thread([sigs] {
    int sig;
    sigwait(&sigs, &sig);
    interrupted->store(true);
    stop->Stop();
    sigwait(&sigs, &sig);
    _exit(130);
  }).detach();

  // Scale-out: this instance's share of the load.
  if (config.instances > 1) {
    config.events_per_second /= static_cast<double>(config.instances);
    for (ScheduleStage& st : config.schedule)
      st.target_rate /= static_cast<double>(config.instances);
  }
  const std::pair<std::string, std::string> instance_attribute =
      config.instances > 1
          ? std::pair<std::string, std::string>{"loadgen.instance", std::to_string(config.instance)}
          : std::pair<std::string, std::string>{};

  const SteadyClock clock;
  const int64_t load_start = clock.NowNs();
  LoadedDataset dataset;
  for (auto [signal, path, batch] :
       {std::tuple{Signal::kTraces, &config.traces_file, config.batch_traces},
        std::tuple{Signal::kMetrics, &config.metrics_file, config.batch_metrics},
        std::tuple{Signal::kLogs, &config.logs_file, config.batch_logs}}) {
    if (path->empty()) continue;
    const ChunkLimits limits{static_cast<size_t>(batch),
                             static_cast<size_t>(config.max_request_bytes)};
    if (auto s = LoadTemplateFile(*path, signal, limits, &dataset, instance_attribute); !s.ok()) {
      return Fail(s.message());
    }
  }
  uint64_t total_events = 0;
  std::string loaded;
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    if (dataset.frames[i].empty()) continue;
    total_events += dataset.events[i];
    StrAppend(&loaded,
              fmt::format(" {} {} in {} frames ({:.1f} MiB);", SignalName(s), dataset.events[i],
                          dataset.frames[i].size(), dataset.bytes[i] / 1048576.0));
  }
  if (total_events == 0) return Fail("no events to send: every input is empty or unset");
  fmt::print("loaded{} compiled in {:.0f} ms\n", loaded, (clock.NowNs() - load_start) / 1e6);
  if (args.count("plan")) {
    auto plan = MakePlan(dataset, config);
    if (!plan.ok()) return Fail(plan.status().message());
    fmt::print("{}", PlanText(*plan));
    if (!config.stats_json_file.empty()) {
      if (auto s = WriteFileAtomically(config.stats_json_file, PlanJson(*plan)); !s.ok()) {
        return Fail(StrCat("stats.json_file: ", s.message()));
      }
    }
    return 0;
  }

  ExporterOptions exporter;
  exporter.signal_targets = *targets;
  std::string where = (*targets)[0];
  if ((*targets)[1] != where || (*targets)[2] != where) {
    where =
        fmt::format("traces {}, metrics {}, logs {}", (*targets)[0], (*targets)[1], (*targets)[2]);
  }
  exporter.credentials = *credentials;
  exporter.protocol = config.protocol;
  if (http) exporter.http_urls = *targets;
  exporter.insecure = config.insecure;
  exporter.tls_ca_file = config.tls.ca_file;
  exporter.tls_cert_file = config.tls.cert_file;
  exporter.tls_key_file = config.tls.key_file;
  exporter.tls_server_name = config.tls.server_name;
  exporter.headers = config.headers;
  exporter.gzip = config.compression == "gzip";
  exporter.timeout = config.timeout;
  exporter.max_in_flight = static_cast<int>(config.max_in_flight);
  exporter.max_request_bytes = static_cast<size_t>(config.max_request_bytes);
  exporter.retry = config.retry;
  static std::mutex rejected_mu;
  static std::string* const rejected_reason = new std::string;
  if (config.stop_on_rejected) {
    exporter.on_rejected = [](Signal signal, const std::string& reason) {
      {
        std::lock_guard<std::mutex> lock(rejected_mu);
        if (rejected_reason->empty()) *rejected_reason = StrCat(SignalName(signal), " ", reason);
      }
      stop->Stop();
    };
  }

  PoolOptions pool;
  pool.workers = static_cast<int>(config.concurrency);
  // A schedule ends the run when it ends (or at `duration`, if that comes first).
  std::chrono::nanoseconds run_length = config.duration;
  if (!config.schedule.empty()) {
    const std::chrono::nanoseconds end(RateSchedule::FromStages(config.schedule).end_ns());
    if (run_length.count() == 0 || end < run_length) run_length = end;
  }
  const bool find_capacity = args.count("find-capacity") > 0;
  if (find_capacity) {
    // The search decides the rates and when to stop; the pool just keeps sending.
    config.schedule.clear();
    config.events_per_second = config.capacity.start_rate;
    config.multiplier = 0;
    run_length = std::chrono::nanoseconds(0);
  }
  pool.duration = run_length;
  pool.multiplier = static_cast<uint64_t>(config.multiplier);
  pool.timestamps.jitter_ns = config.jitter.count();
  pool.timestamps.backdate_ns = config.backdate.count();
  pool.instance = static_cast<int>(config.instance);
  pool.instances = static_cast<int>(config.instances);
  pool.run_key = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32) ^ WallNowNs();
  pool.series_start_ns = WallNowNs() - static_cast<uint64_t>(config.backdate.count());

  // The limiter may run ahead of the schedule by 0.1 s (or by `burst` events at the
  // peak rate): enough for scheduling jitter, never a catch-up burst after a stall.
  std::unique_ptr<RateLimiter> limiter;
  std::string rate_text = "unlimited";
  if (!config.schedule.empty() || config.events_per_second > 0) {
    const RateSchedule schedule = config.schedule.empty()
                                      ? RateSchedule::Constant(config.events_per_second)
                                      : RateSchedule::FromStages(config.schedule);
    const int64_t tolerance =
        config.burst_events > 0 && schedule.peak_rate() > 0
            ? static_cast<int64_t>(config.burst_events * 1e9 / schedule.peak_rate())
            : 100'000'000;
    limiter = std::make_unique<RateLimiter>(schedule, tolerance, dataset.events, &clock);
    rate_text = config.schedule.empty()
                    ? fmt::format("{:.0f} events/s", config.events_per_second)
                    : StrCat("schedule (", DescribeSchedule(config.schedule), ")");
  }
  if (config.instances > 1) {
    StrAppend(&rate_text,
              fmt::format(" (instance {} of {}: its share)", config.instance, config.instances));
  }
  fmt::print("sending to {} ({}{}), rate {}, {} workers, duration {}, multiplier {}\n", where,
             http ? "OTLP/HTTP, " : "", config.insecure ? "plaintext" : "TLS", rate_text,
             config.concurrency,
             run_length.count() ? fmt::format("{:.1f}s", run_length.count() / 1e9) : "none",
             config.multiplier ? std::to_string(config.multiplier) : "unlimited");
  std::fflush(stdout);

  RunStats stats;
  std::unique_ptr<HttpServer> admin;
  if (!config.admin_listen.empty()) {
    admin = std::make_unique<HttpServer>(AdminHandler(
        {config.admin_listen, config.allow_rate_change}, &stats, limiter.get(), stdout));
    auto port = admin->Start(config.admin_listen);
    if (!port.ok()) return Fail(StrCat("admin.listen: ", port.status().message()));
    const std::string host = config.admin_listen.substr(0, config.admin_listen.rfind(':'));
    fmt::print("admin endpoint on http://{}:{} (/metrics, /rate{})\n", host, *port,
               config.allow_rate_change ? ", PUT /rate allowed" : "");
    std::fflush(stdout);
  }
  StatsReporter reporter(stats, config.stats_interval, stdout, limiter.get());
  reporter.Start();
  const int64_t run_start = clock.NowNs();
  const int64_t run_start_unix = static_cast<int64_t>(WallNowNs());
  PoolResult ran;
  RunInfo info;
  if (find_capacity) {
    std::thread senders(
        [&] { ran = RunWorkerPool(dataset, pool, exporter, limiter.get(), &stats, stop); });
    const CapacityResult result = FindCapacity(config.capacity, limiter.get(), stats, stop, stdout);
    stop->Stop();
    senders.join();
    info.capacity_text = CapacityText(config.capacity, result);
    info.capacity_json = CapacityJson(config.capacity, result);
    info.stop_reason = result.stopped ? "interrupted" : "capacity search done";
    info.capacity_found = result.capacity > 0;
  } else {
    ran = RunWorkerPool(dataset, pool, exporter, limiter.get(), &stats, stop);
  }
  info.elapsed_ns = clock.NowNs() - run_start;
  reporter.Stop();
  if (admin) admin->Stop();

  info.endpoint = where;
  info.start_unix_ns = run_start_unix;
  info.stats_interval_seconds = config.stats_interval.count() / 1e9;
  info.instance = static_cast<int>(config.instance);
  info.instances = static_cast<int>(config.instances);
  info.target_rate = config.schedule.empty() ? config.events_per_second : 0;
  if (!config.schedule.empty()) info.schedule = DescribeSchedule(config.schedule);
  {
    std::lock_guard<std::mutex> lock(rejected_mu);
    if (!rejected_reason->empty()) {
      info.stop_reason = StrCat("stopped on rejection: ", *rejected_reason);
    }
  }
  info.in_flight_limit = ran.workers * config.max_in_flight;
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) info.peak_rss_bytes = usage.ru_maxrss * 1024LL;
  if (info.stop_reason.empty()) {
    info.stop_reason = interrupted->load()       ? "interrupted"
                       : ran.replays_done        ? "multiplier reached"
                       : config.schedule.empty() ? "duration reached"
                                                 : "schedule completed";
  }
  fmt::print("{}", SummaryText(stats, info));
  fmt::print("{}", info.capacity_text);
  const std::string summary_json = SummaryJson(stats, info, reporter.intervals());
  if (!config.stats_json_file.empty()) {
    if (auto s = WriteFileAtomically(config.stats_json_file, summary_json); !s.ok()) {
      return Fail(StrCat("stats.json_file: ", s.message()));
    }
  }
  if (!config.report_file.empty()) {
    auto html = HtmlReport(summary_json, "the run's summary");
    if (!html.ok()) return Fail(html.status().message());
    if (auto s = WriteFileAtomically(config.report_file, *html); !s.ok()) {
      return Fail(StrCat("stats.report_file: ", s.message()));
    }
    fmt::print("report: {}\n", config.report_file);
  }
  uint64_t accepted = 0, failed = 0;  // Failed or rejected.
  for (Signal s : kAllSignals) {
    accepted += stats.Snapshot(s).events_accepted;
    failed += stats.Snapshot(s).events_failed + stats.Snapshot(s).events_rejected;
  }
  // Exit codes: 3 stopped on a rejection (sending.on_rejected: stop); 1 nothing
  // delivered at all; partial failures are in the summary, with exit 0.
  if (info.stop_reason.starts_with("stopped on rejection")) return 3;
  if (find_capacity && !info.capacity_found) return 1;
  if (accepted == 0 && failed > 0) return 1;
  return 0;
}
