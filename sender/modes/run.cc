#include "sender/modes/run.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <latch>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/http_server.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "fmt/core.h"
#include "sender/grpc_exporter.h"
#include "sender/loader.h"
#include "sender/modes/admin.h"
#include "sender/modes/capacity.h"
#include "sender/modes/html_report.h"
#include "sender/modes/plan.h"
#include "sender/modes/report.h"
#include "sender/token_bucket.h"
#include "sender/worker_pool.h"

namespace loadgen {

namespace {

// How long the run lasts: its duration, or its schedule's end if that comes first (0:
// until the multiplier is reached or it is stopped).
std::chrono::nanoseconds RunLength(const SenderConfig& config) {
  std::chrono::nanoseconds length = config.duration;
  if (!config.schedule.empty()) {
    const std::chrono::nanoseconds end(RateSchedule::FromStages(config.schedule).end_ns());
    if (length.count() == 0 || end < length) length = end;
  }
  return length;
}

// This instance's share of the load, and a pacing interval that fits in the run: a
// request intended for its middle event must fall inside it.
void ResolveShare(SenderConfig* config) {
  if (const auto length = RunLength(*config); length.count() > 0) {
    config->pacing_interval = std::min(config->pacing_interval, length);
  }
  if (config->instances > 1) {
    config->events_per_second /= static_cast<double>(config->instances);
    for (ScheduleStage& st : config->schedule)
      st.target_rate /= static_cast<double>(config->instances);
  }
}

// Loads and compiles the templates, and says what it loaded.
absl::Status LoadDataset(const SenderConfig& config, const Clock& clock, LoadedDataset* dataset) {
  const int64_t load_start = clock.NowNs();
  AttributeOverrides overrides;
  overrides.resource = config.resource_attributes;
  overrides.scope = config.scope_attributes;
  overrides.span = config.span_attributes;
  // Scale-out: each instance's metric series stay apart.
  if (config.instances > 1) {
    SetAttribute(&overrides.resource, "loadgen.instance", std::to_string(config.instance));
  }
  for (auto [signal, path, batch] :
       {std::tuple{Signal::kTraces, &config.traces_file, config.batch_traces},
        std::tuple{Signal::kMetrics, &config.metrics_file, config.batch_metrics},
        std::tuple{Signal::kLogs, &config.logs_file, config.batch_logs}}) {
    if (path->empty()) continue;
    const UnitLimits limits{static_cast<size_t>(batch),
                            static_cast<size_t>(config.max_request_bytes)};
    RETURN_IF_ERROR(LoadTemplateFile(*path, signal, limits, dataset, overrides,
                                     /*drop_exemplars=*/config.traces_file.empty()));
  }
  uint64_t total_events = 0;
  std::string loaded;
  for (Signal s : kAllSignals) {
    const CompiledSignal& signal = dataset->of(s);
    if (signal.empty()) continue;
    const uint64_t events = dataset->events[SignalIndex(s)];
    total_events += events;
    // An exemplar's span ID is its one span slot.
    std::string detail = s == Signal::kMetrics && !signal.span_slots.empty()
                             ? fmt::format(" with {} exemplars", signal.span_slots.size())
                             : "";
    uint64_t memory = signal.MemoryBytes();
    if (const LateRoots& late = dataset->late_roots; s == Signal::kTraces && !late.empty()) {
      const int64_t longest = *std::max_element(late.delay_ns.begin(), late.delay_ns.end());
      detail = fmt::format(" ({} late roots, sent up to {} ms after their traces)",
                           late.roots.events, longest / 1'000'000);
      memory += late.roots.MemoryBytes();
      if (longest > config.deferred_drain_timeout.count()) {
        fmt::print(stderr,
                   "warning: late roots wait up to {} ms, longer than "
                   "sending.deferred.drain_timeout ({} ms): those still waiting at the end of "
                   "the run will be counted as failed\n",
                   longest / 1'000'000, config.deferred_drain_timeout.count() / 1'000'000);
      }
    }
    StrAppend(&loaded, fmt::format(" {} {}{} in {} units ({:.1f} MiB);", SignalName(s), events,
                                   detail, signal.unit_count(), memory / 1048576.0));
  }
  if (total_events == 0) {
    return absl::InvalidArgumentError("no events to send: every input is empty or unset");
  }
  fmt::print("loaded{} compiled in {:.0f} ms\n", loaded, (clock.NowNs() - load_start) / 1e6);
  return absl::OkStatus();
}

int PrintPlan(const LoadedDataset& dataset, const SenderConfig& config) {
  auto plan = MakePlan(dataset, config);
  if (!plan.ok()) return FailWith(plan.status().message());
  fmt::print("{}", PlanText(*plan));
  if (!config.stats_json_file.empty()) {
    if (auto s = WriteFileAtomically(config.stats_json_file, PlanJson(*plan)); !s.ok()) {
      return FailWith(StrCat("stats.json_file: ", s.message()));
    }
  }
  return 0;
}

// The first refusal, when the run stops on one (the workers are joined before it is
// read).
struct FirstRejection {
  Mutex mu;
  std::string reason ABSL_GUARDED_BY(mu);
};

ExporterOptions ExporterOptionsFor(const SenderConfig& config,
                                   const std::array<std::string, 3>& targets,
                                   std::shared_ptr<grpc::ChannelCredentials> credentials,
                                   StopSignal* stop, FirstRejection* rejection) {
  ExporterOptions exporter;
  exporter.signal_targets = targets;
  exporter.credentials = std::move(credentials);
  exporter.protocol = config.protocol;
  if (config.protocol == "http/protobuf") exporter.http_urls = targets;
  exporter.plaintext = config.insecure;
  exporter.tls_ca_file = config.tls.ca_file;
  exporter.tls_cert_file = config.tls.cert_file;
  exporter.tls_key_file = config.tls.key_file;
  exporter.tls_server_name = config.tls.server_name;
  exporter.headers = config.headers;
  exporter.compression = config.compression;
  exporter.compression_level = static_cast<int>(config.compression_level);
  exporter.timeout = config.timeout;
  exporter.max_in_flight = static_cast<int>(config.max_in_flight);
  exporter.max_request_bytes = static_cast<size_t>(config.max_request_bytes);
  exporter.retry = config.retry;
  if (config.stop_on_rejected) {
    exporter.on_rejected = [stop, rejection](Signal signal, const std::string& reason) {
      {
        MutexLock lock(&rejection->mu);
        if (rejection->reason.empty()) rejection->reason = StrCat(SignalName(signal), " ", reason);
      }
      stop->Stop();
    };
  }
  return exporter;
}

PoolOptions PoolOptionsFor(const SenderConfig& config, std::chrono::nanoseconds run_length) {
  PoolOptions pool;
  pool.workers = static_cast<int>(config.concurrency);
  pool.duration = run_length;
  pool.pacing_interval = config.pacing_interval;
  pool.max_events = {static_cast<uint64_t>(config.batch_traces),
                     static_cast<uint64_t>(config.batch_metrics),
                     static_cast<uint64_t>(config.batch_logs)};
  pool.max_request_bytes = static_cast<size_t>(config.max_request_bytes);
  pool.multiplier = static_cast<uint64_t>(config.multiplier);
  pool.timestamps.jitter_ns = config.jitter.count();
  pool.timestamps.backdate_ns = config.backdate.count();
  pool.instance = static_cast<int>(config.instance);
  pool.instances = static_cast<int>(config.instances);
  pool.run_key = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32) ^ WallNowNs();
  pool.series_start_ns = WallNowNs() - static_cast<uint64_t>(config.backdate.count());
  pool.deferred_max_pending = static_cast<uint64_t>(config.deferred_max_pending);
  pool.deferred_drain_timeout = config.deferred_drain_timeout;
  return pool;
}

// The limiter for the configured rate or schedule (null: unlimited), and how to say it.
// Requests go at their intended time, or up to `burst` events (at the peak rate) early.
std::unique_ptr<RateLimiter> MakeLimiter(const SenderConfig& config, const LoadedDataset& dataset,
                                         const Clock* clock, std::string* rate_text) {
  std::unique_ptr<RateLimiter> limiter;
  *rate_text = "unlimited";
  if (!config.schedule.empty() || config.events_per_second > 0) {
    const RateSchedule schedule = config.schedule.empty()
                                      ? RateSchedule::Constant(config.events_per_second)
                                      : RateSchedule::FromStages(config.schedule);
    const int64_t early =
        config.burst_events > 0 && schedule.peak_rate() > 0
            ? static_cast<int64_t>(config.burst_events * 1e9 / schedule.peak_rate())
            : 0;
    limiter = std::make_unique<RateLimiter>(schedule, early, dataset.events, clock);
    *rate_text = config.schedule.empty()
                     ? fmt::format("{:.0f} events/s", config.events_per_second)
                     : StrCat("schedule (", DescribeSchedule(config.schedule), ")");
  }
  if (config.instances > 1) {
    StrAppend(rate_text,
              fmt::format(" (instance {} of {}: its share)", config.instance, config.instances));
  }
  return limiter;
}

std::string DescribeTargets(const std::array<std::string, 3>& t) {
  if (t[1] == t[0] && t[2] == t[0]) return t[0];
  return fmt::format("traces {}, metrics {}, logs {}", t[0], t[1], t[2]);
}

// The admin endpoint, when asked for (null otherwise).
absl::StatusOr<std::unique_ptr<HttpServer>> StartAdmin(const SenderConfig& config,
                                                       const AdminContext& context) {
  if (config.admin_listen.empty()) return nullptr;
  auto admin = std::make_unique<HttpServer>(
      AdminHandler({config.admin_listen, config.allow_rate_change}, context));
  auto port = admin->Start(config.admin_listen);
  if (!port.ok())
    return absl::InvalidArgumentError(StrCat("admin.listen: ", port.status().message()));
  const std::string host = config.admin_listen.substr(0, config.admin_listen.rfind(':'));
  fmt::print("admin endpoint on http://{}:{} (dashboard /, /metrics, /rate{})\n", host, *port,
             config.allow_rate_change ? ", PUT /rate and POST /stop allowed" : "");
  std::fflush(stdout);
  return admin;
}

// What the summary says about the run besides the counters.
void DescribeRun(const SenderConfig& config, const PoolResult& ran, bool paced, RunInfo* info) {
  info->stats_interval_seconds = config.stats_interval.count() / 1e9;
  info->instance = static_cast<int>(config.instance);
  info->instances = static_cast<int>(config.instances);
  info->target_rate = config.schedule.empty() ? config.events_per_second : 0;
  if (!config.schedule.empty()) info->schedule = DescribeSchedule(config.schedule);
  info->in_flight_limit = ran.workers * config.max_in_flight;
  info->paced = paced;
  info->pacing_interval_ns = config.pacing_interval.count();
  info->final_lag_ns = ran.final_lag_ns;
  info->late_roots = ran.late_roots;
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) info->peak_rss_bytes = usage.ru_maxrss * 1024LL;
}

// Why sending ended, when the capacity search did not decide it.
std::string StopReason(const SenderConfig& config, const PoolResult& ran, FirstRejection& rejection,
                       bool interrupted) {
  {
    MutexLock lock(&rejection.mu);
    if (!rejection.reason.empty()) return StrCat("stopped on rejection: ", rejection.reason);
  }
  return interrupted               ? "interrupted"
         : ran.replays_done        ? "multiplier reached"
         : config.schedule.empty() ? "duration reached"
                                   : "schedule completed";
}

// Prints the summary, writes the JSON and the report, and gives the exit code.
int Report(const SenderConfig& config, const RunStats& stats, const RunInfo& info,
           const std::vector<IntervalRecord>& intervals, bool find_capacity) {
  fmt::print("{}", SummaryText(stats, info));
  fmt::print("{}", info.capacity_text);
  const RunSummary summary = MakeRunSummary(stats, info, intervals);
  if (!config.stats_json_file.empty()) {
    if (auto s = WriteFileAtomically(config.stats_json_file, ToJson(summary)); !s.ok()) {
      return FailWith(StrCat("stats.json_file: ", s.message()));
    }
  }
  if (!config.report_file.empty()) {
    if (auto s = WriteFileAtomically(config.report_file, HtmlReport(summary)); !s.ok()) {
      return FailWith(StrCat("stats.report_file: ", s.message()));
    }
    fmt::print("report: {}\n", config.report_file);
  }
  const SignalSummary total = summary.Total();
  // Exit codes: 3 stopped on a rejection (sending.on_rejected: stop); 1 nothing
  // delivered at all; partial failures are in the summary, with exit 0.
  if (info.stop_reason.starts_with("stopped on rejection")) return 3;
  if (find_capacity && !info.capacity_found) return 1;
  if (total.events_accepted == 0 && total.events_failed + total.events_rejected > 0) return 1;
  if (total.events_sent == 0 && !info.stop_reason.starts_with("interrupted")) {
    // A run that ends before its first request is a setting that cannot work.
    return FailWith(
        "nothing was sent: the run ended before its first request was due (raise the rate "
        "or the duration; --plan shows what a run will send)");
  }
  return 0;
}

// Settings that cannot go together on this protocol, named.
absl::Status CheckTransport(const SenderConfig& config, bool http) {
  if (http && !config.tls.server_name.empty()) {
    return absl::InvalidArgumentError(
        "otlp.tls.server_name applies to gRPC only; for http/protobuf use the name in "
        "the URL");
  }
  if (!http && config.compression == Compression::kZstd && !config.tls.server_name.empty()) {
    return absl::InvalidArgumentError(
        "otlp.tls.server_name does not apply to zstd over gRPC (sent through libcurl, which "
        "verifies the endpoint's own name); use the name in otlp.endpoint");
  }
  return absl::OkStatus();
}

// The run's first line: where, how, how fast, how long.
void PrintStartLine(const SenderConfig& config, bool http, const std::string& endpoint,
                    const std::string& rate_text, std::chrono::nanoseconds run_length,
                    const std::string& fanout_text) {
  fmt::print("sending to {} ({}{}{}), rate {}, {} workers, duration {}, multiplier {}\n", endpoint,
             http ? "OTLP/HTTP, " : "", config.insecure ? "plaintext" : "TLS",
             config.compression == Compression::kNone
                 ? ""
                 : fmt::format(", {} level {}", CompressionName(config.compression),
                               config.compression_level),
             rate_text, config.concurrency,
             run_length.count() ? fmt::format("{:.1f}s", run_length.count() / 1e9) : "none",
             config.multiplier ? std::to_string(config.multiplier) : "unlimited");
  if (!fanout_text.empty()) fmt::print("{}\n", fanout_text);
  std::fflush(stdout);
}

// Everything a run sends with, built before the first request.
struct RunSetup {
  PoolOptions pool;
  ExporterOptions exporter;
  std::unique_ptr<RateLimiter> limiter;
};

// What the dashboard watches, when the admin endpoint is on (all null otherwise).
struct LiveView {
  StatsReporter* reporter = nullptr;  // One-second intervals for its charts.
  DashboardRun* run = nullptr;
  CapacityProgress* capacity = nullptr;
};

// Sends until the run ends: the worker pool alone, or beside the capacity search, which
// sets the rates and ends the run. Fills the run's timing and the search's result.
PoolResult SendAll(const SenderConfig& config, const RunModes& modes, const LoadedDataset& dataset,
                   const RunSetup& setup, const Clock& clock, RunStats* stats,
                   StatsReporter* reporter, const LiveView& live, StopSignal* stop, RunInfo* info) {
  // Intervals, elapsed time and the capacity search's steps all count from the moment
  // the workers are ready and the schedule starts.
  int64_t run_start = 0;
  std::latch started(1);
  auto on_start = [&] {
    reporter->Start();
    if (live.reporter != nullptr) live.reporter->Start();
    run_start = clock.NowNs();
    if (live.run != nullptr) live.run->start_ns.store(run_start);
    info->start_unix_ns = static_cast<int64_t>(WallNowNs());
    started.count_down();
  };
  RateLimiter* limiter = setup.limiter.get();
  PoolResult ran;
  if (modes.find_capacity) {
    std::thread senders([&] {
      ran = RunWorkerPool(dataset, setup.pool, setup.exporter, limiter, stats, stop, on_start);
    });
    started.wait();
    const CapacityTime time{&clock,
                            [stop](int64_t deadline) { return stop->SleepUntil(deadline); }};
    const CapacityResult result =
        FindCapacity(config.capacity, limiter, *stats, time, stdout, live.capacity);
    stop->Stop();
    senders.join();
    info->capacity_text = CapacityText(config.capacity, result);
    info->capacity = CapacitySummaryOf(config.capacity, result);
    info->stop_reason = result.stopped ? "interrupted" : "capacity search done";
    info->capacity_found = result.capacity > 0;
  } else {
    ran = RunWorkerPool(dataset, setup.pool, setup.exporter, limiter, stats, stop, on_start);
  }
  // Late roots sent after the run's end (the drain) are not part of its time.
  info->elapsed_ns = clock.NowNs() - run_start - ran.late_roots.drain_ns;
  return ran;
}

}  // namespace

int RunSender(SenderConfig config, const RunModes& modes, StopSignal* stop,
              const std::atomic<bool>* interrupted) {
  ResolveShare(&config);
  const bool http = config.protocol == "http/protobuf";
  auto targets = http ? ResolveHttpUrls(&config) : ResolveGrpcTargets(&config);
  if (!targets.ok()) return FailWith(targets.status().message());
  if (auto s = CheckTransport(config, http); !s.ok()) return FailWith(s.message());
  // gRPC credentials (for http/protobuf this still checks that the TLS files can be read).
  auto credentials = MakeCredentials(config);
  if (!credentials.ok()) return FailWith(credentials.status().message());

  const SteadyClock clock;
  LoadedDataset dataset;
  if (auto s = LoadDataset(config, clock, &dataset); !s.ok()) return FailWith(s.message());
  if (modes.plan) return PrintPlan(dataset, config);

  FirstRejection rejection;
  RunSetup setup;
  setup.exporter = ExporterOptionsFor(config, *targets, *credentials, stop, &rejection);
  // A schedule ends the run when it ends (or at `duration`, if that comes first).
  std::chrono::nanoseconds run_length = RunLength(config);
  if (modes.find_capacity) {
    // The search decides the rates and when to stop; the pool just keeps sending.
    config.schedule.clear();
    config.events_per_second = config.capacity.start_rate;
    config.multiplier = 0;
    run_length = std::chrono::nanoseconds(0);
  }
  setup.pool = PoolOptionsFor(config, run_length);
  std::string fanout_text;
  auto fanout = MetricFanout(config, dataset, &fanout_text);
  if (!fanout.ok()) return FailWith(fanout.status().message());
  setup.pool.fanout = *fanout;
  std::string rate_text;
  setup.limiter = MakeLimiter(config, dataset, &clock, &rate_text);
  RunInfo info;
  info.endpoint = DescribeTargets(*targets);
  PrintStartLine(config, http, info.endpoint, rate_text, run_length, fanout_text);

  RunStats stats;
  // The dashboard: what it says of the run, its one-second intervals, the search's steps.
  DashboardRun dashboard;
  dashboard.endpoint = info.endpoint;
  dashboard.protocol = config.protocol;
  dashboard.rate_text = rate_text;
  dashboard.duration_ns = run_length.count();
  dashboard.multiplier = static_cast<uint64_t>(config.multiplier);
  CapacityProgress capacity_progress;
  std::unique_ptr<StatsReporter> live;
  if (!config.admin_listen.empty()) {
    live = std::make_unique<StatsReporter>(stats, std::chrono::seconds(1), nullptr,
                                           setup.limiter.get());
    live->KeepLast(900);  // The charts show the last 15 minutes.
  }
  AdminContext context{&stats,
                       setup.limiter.get(),
                       stdout,
                       stop,
                       live.get(),
                       &dashboard,
                       modes.find_capacity ? &capacity_progress : nullptr};
  auto admin = StartAdmin(config, context);
  if (!admin.ok()) return FailWith(admin.status().message());
  StatsReporter reporter(stats, config.stats_interval, stdout, setup.limiter.get());
  const PoolResult ran = SendAll(
      config, modes, dataset, setup, clock, &stats, &reporter,
      {live.get(), &dashboard, modes.find_capacity ? &capacity_progress : nullptr}, stop, &info);
  reporter.Stop();
  if (live) live->Stop();
  if (*admin) (*admin)->Stop();

  DescribeRun(config, ran, setup.limiter != nullptr, &info);
  // A refusal that stopped the run says so, even over the capacity search's verdict.
  const std::string reason = dashboard.stopped_by_user.load()
                                 ? "stopped from the dashboard (POST /stop)"
                                 : StopReason(config, ran, rejection, *interrupted);
  if (info.stop_reason.empty() || reason.starts_with("stopped on rejection")) {
    info.stop_reason = reason;
  }
  return Report(config, stats, info, reporter.intervals(), modes.find_capacity);
}

}  // namespace loadgen
