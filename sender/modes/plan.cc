#include "sender/modes/plan.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/compression.h"
#include "common/duration.h"
#include "common/random.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/template_file.h"
#include "nlohmann/json.hpp"
#include "sender/schedule.h"
#include "sender/transform.h"
#include "sender/worker_pool.h"

namespace loadgen {
namespace {

// Requests and bytes per event at a request budget, from cutting (up to) kSampleEvents
// of the signal's units the way the run cuts them.
constexpr uint64_t kSampleEvents = 1 << 20;
// Compression is measured on up to kSampleBytes of requests (see MeasureCodecs).
constexpr uint64_t kSampleBytes = 32u << 20;

struct CutStats {
  double requests_per_event = 0, bytes_per_event = 0;
  uint64_t largest_request = 0;
};

CutStats MeasureCuts(const CompiledSignal& signal, uint64_t budget, size_t max_bytes) {
  const IdMapper ids(1);
  RequestBuilder builder(signal, ids, TimestampOptions{}, 1, 0);
  CutStats out;
  uint64_t events = 0, requests = 0, bytes = 0;
  for (uint32_t u = 0; u < signal.unit_count() && events < kSampleEvents;) {
    const RequestCut& cut = builder.Cut(u, signal.unit_count(), budget, max_bytes);
    events += cut.events;
    bytes += cut.bytes;
    ++requests;
    out.largest_request = std::max<uint64_t>(out.largest_request, cut.bytes);
    u = cut.end;
  }
  out.requests_per_event = static_cast<double>(requests) / static_cast<double>(events);
  out.bytes_per_event = static_cast<double>(bytes) / static_cast<double>(events);
  return out;
}

// CPU time of the calling thread: the measurement is the codec's, whatever else the
// machine is doing.
double ThreadCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Compresses up to kSampleBytes of requests, spread evenly through the dataset and
// patched as a send would patch them (fresh random IDs compress worse than the
// templates' own), with each codec: gzip and zstd, at the config's level for its own
// codec and the default for the other.
void MeasureCodecs(const CompiledSignal& signal, uint64_t budget, size_t max_bytes,
                   const CutStats& cuts, const SenderConfig& config, PlanSignal* out) {
  const IdMapper ids(WallNowNs());
  RequestBuilder builder(signal, ids, TimestampOptions{}, 1, WallNowNs());
  const std::vector<uint64_t> last_sent(signal.unit_count(), WallNowNs());
  const double request_bytes = cuts.bytes_per_event / cuts.requests_per_event;
  const double dataset_bytes = cuts.bytes_per_event * static_cast<double>(signal.events);
  // All requests of a small dataset; requests cut at evenly spaced units of a big one.
  const uint64_t requests =
      dataset_bytes <= kSampleBytes
          ? std::numeric_limits<uint64_t>::max()
          : std::max<uint64_t>(1, static_cast<uint64_t>(kSampleBytes / request_bytes));
  std::vector<std::string> sample;
  uint64_t events = 0, raw = 0;
  uint64_t u = 0;
  for (uint64_t j = 0; j < requests && u < signal.unit_count(); ++j) {
    if (requests != std::numeric_limits<uint64_t>::max()) u = signal.unit_count() * j / requests;
    const RequestCut& cut =
        builder.Cut(static_cast<uint32_t>(u), signal.unit_count(), budget, max_bytes);
    std::string& buffer = sample.emplace_back(cut.bytes, '\0');
    builder.Write(0, WallNowNs(), last_sent.data(), reinterpret_cast<uint8_t*>(buffer.data()));
    raw += cut.bytes;
    events += cut.events;
    u = cut.end;
  }
  const Compression codecs[] = {Compression::kGzip, Compression::kZstd};
  for (size_t k = 0; k < 2; ++k) {
    CodecCost& cost = out->codecs[k];
    cost.codec = codecs[k];
    cost.level = config.compression == codecs[k] ? static_cast<int>(config.compression_level)
                                                 : kDefaultCompressionLevel;
    Compressor compressor(cost.codec, cost.level);
    std::string packed;
    uint64_t compressed = 0;
    // A small dataset is compressed several times over, so that the time is long
    // enough to measure.
    int passes = 0;
    const double start = ThreadCpuSeconds();
    do {
      compressed = 0;
      for (const std::string& request : sample) {
        packed.resize(compressor.MaxCompressedSize(request.size()));
        compressed += compressor.Compress(request.data(), request.size(), packed.data());
      }
      ++passes;
    } while (raw * passes < kSampleBytes && passes < 16);
    const double cpu = (ThreadCpuSeconds() - start) / passes;
    cost.sample_bytes = raw;
    cost.ratio = compressed > 0 ? static_cast<double>(raw) / static_cast<double>(compressed) : 1;
    cost.cpu_seconds_per_m = events > 0 ? cpu / (static_cast<double>(events) / 1e6) : 0;
  }
}

std::string Si(double v, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T", "P"};
  int p = 0;
  while (v >= 1000 && p < 5) {
    v /= 1000;
    ++p;
  }
  return fmt::format("{:.{}f} {}{}", v,
                     v < 10 && p > 0    ? 2
                     : v < 100 && p > 0 ? 1
                                        : 0,
                     prefixes[p], unit);
}

}  // namespace

uint64_t ActiveSeries(const LoadedDataset& dataset, const SenderConfig& config,
                      const SeriesFanout& fanout) {
  const CompiledSignal& metrics = dataset.of(Signal::kMetrics);
  uint64_t active = 0;
  for (const WorkerShare& share :
       ShareWork(dataset, static_cast<int>(config.concurrency), fanout)) {
    if (share.signal != Signal::kMetrics) continue;
    for (uint32_t u = share.begin; u < share.end; ++u) {
      active += metrics.unit(u).events *
                (u < share.last_pass_end ? fanout.replicas : fanout.replicas - 1);
    }
  }
  return active;
}

absl::StatusOr<SeriesFanout> MetricFanout(const SenderConfig& config, const LoadedDataset& dataset,
                                          std::string* text) {
  SeriesFanout fanout;
  const uint64_t series = dataset.events[SignalIndex(Signal::kMetrics)];
  if (series == 0) return fanout;
  fanout.churn_interval_ns = config.churn_interval.count();
  fanout.churn_share = config.churn_share;
  if (config.collection_interval.count() > 0) {
    const double rate = config.schedule.empty()
                            ? config.events_per_second
                            : RateSchedule::FromStages(config.schedule).peak_rate();
    if (!(rate > 0)) {
      return absl::InvalidArgumentError(
          "metrics.collection_interval needs a rate (sending.rate_limit.events_per_second, "
          "a schedule or --rate): unlimited runs have no points per second to spread");
    }
    const double points_per_second =
        rate * static_cast<double>(series) / static_cast<double>(dataset.total_events());
    const double interval_s = static_cast<double>(config.collection_interval.count()) / 1e9;
    // Replicas enough for points/s x interval identities: whole ones, and the last one
    // covers what is left, so that a series never gets two points within an interval
    // and the active series are what the rate and interval make.
    const double replicas = points_per_second * interval_s / static_cast<double>(series);
    fanout.replicas = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(replicas - 1e-9)));
    if (fanout.replicas > 1) {
      fanout.last_pass = std::min(1.0, replicas - static_cast<double>(fanout.replicas - 1));
    }
    fanout.interval_ns = config.collection_interval.count();
    *text = fmt::format(
        "metrics: {} series x {:.2f} replicas = {} active series, one point each per {} "
        "({:.0f} points/s)",
        series, std::max(1.0, replicas), ActiveSeries(dataset, config, fanout),
        FormatDuration(config.collection_interval), points_per_second);
  }
  if (fanout.churn_interval_ns > 0) {
    StrAppend(text, text->empty() ? "metrics: " : "; ",
              fmt::format("{:.0f}% of the series identities replaced every {}",
                          fanout.churn_share * 100, FormatDuration(config.churn_interval)));
  }
  return fanout;
}

namespace {

// The run's rate over time: the schedule, or the constant rate.
absl::StatusOr<RateSchedule> PlannedSchedule(const SenderConfig& config) {
  if (!config.schedule.empty()) return RateSchedule::FromStages(config.schedule);
  if (config.events_per_second <= 0) {
    return absl::InvalidArgumentError(
        "--plan needs a rate: --rate N, sending.rate_limit.events_per_second or "
        "sending.schedule (unlimited runs go as fast as the receiver takes them, which a "
        "plan cannot know)");
  }
  return RateSchedule::Constant(config.events_per_second);
}

// When the run ends: at its duration, the schedule's end or its last replay, whichever
// comes first. Instance i of N sends replays i, i+N, ...
absl::StatusOr<int64_t> PlannedEnd(const SenderConfig& config, const RateSchedule& schedule,
                                   uint64_t total_events) {
  int64_t end = schedule.end_ns();
  if (config.duration.count() > 0) end = std::min<int64_t>(end, config.duration.count());
  if (config.multiplier > 0) {
    const int64_t replays =
        config.multiplier > config.instance
            ? (config.multiplier - config.instance + config.instances - 1) / config.instances
            : 0;
    end = std::min(end, schedule.TimeOfEvent(static_cast<double>(total_events) *
                                             static_cast<double>(replays)));
  }
  if (end == RateSchedule::kForever) {
    return absl::InvalidArgumentError(
        "--plan needs a length: --duration, --multiplier or a sending.schedule");
  }
  return end;
}

// One signal's requests and bytes over the run, sampled in slices of the schedule.
// Returns the largest request it will send.
uint64_t PlanOneSignal(const CompiledSignal& signal, int i, const Plan& plan,
                       const RateSchedule& schedule, int64_t end, uint64_t total_events,
                       const SenderConfig& config, PlanSignal* s) {
  const std::array<int64_t, 3> batch = {config.batch_traces, config.batch_metrics,
                                        config.batch_logs};
  const auto max_bytes = static_cast<size_t>(config.max_request_bytes);
  const double pacing_s = config.pacing_interval.count() / 1e9;
  const double share = static_cast<double>(s->dataset_events) / total_events;
  // Each signal is paced at its share of the events (see RateLimiter), in requests of
  // one pacing interval of its rate (see RequestEventBudget).
  auto budget_at = [&](double rate) {
    const double n = rate * share * pacing_s;
    return n >= 1 ? std::min<uint64_t>(batch[i], static_cast<uint64_t>(n)) : uint64_t{1};
  };
  std::map<uint64_t, CutStats> by_budget;
  auto stats_at = [&](uint64_t budget) -> const CutStats& {
    auto it = by_budget.find(budget);
    if (it == by_budget.end())
      it = by_budget.emplace(budget, MeasureCuts(signal, budget, max_bytes)).first;
    return it->second;
  };
  uint64_t largest_request = 0;
  constexpr int kSlices = 100;  // The run's rate, sampled, sets the request sizes.
  for (int k = 0; k < kSlices; ++k) {
    const int64_t t0 = end * k / kSlices, t1 = end * (k + 1) / kSlices;
    const double events = (schedule.EventsBy(t1) - schedule.EventsBy(t0)) * share;
    const CutStats& c = stats_at(budget_at(schedule.RateAt((t0 + t1) / 2)));
    s->events += events;
    s->requests += events * c.requests_per_event;
    s->bytes += events * c.bytes_per_event;
    largest_request = std::max(largest_request, c.largest_request);
  }
  const uint64_t typical = budget_at(plan.seconds > 0 ? plan.events / plan.seconds : 0);
  const CutStats& c = stats_at(typical);
  s->dataset_requests = static_cast<uint64_t>(std::ceil(c.requests_per_event * s->dataset_events));
  s->dataset_bytes = static_cast<uint64_t>(c.bytes_per_event * s->dataset_events);
  MeasureCodecs(signal, typical, max_bytes, c, config, s);
  s->wire_bytes = s->bytes;
  for (const CodecCost& cost : s->codecs) {
    if (cost.codec == config.compression) s->wire_bytes = s->bytes / cost.ratio;
  }
  return largest_request;
}

}  // namespace

absl::StatusOr<Plan> MakePlan(const LoadedDataset& dataset, const SenderConfig& config) {
  Plan plan;
  plan.compression = config.compression;
  std::string fanout_text;
  ASSIGN_OR_RETURN(const SeriesFanout fanout, MetricFanout(config, dataset, &fanout_text));
  plan.metric_series = dataset.events[SignalIndex(Signal::kMetrics)];
  plan.replicas = fanout.replicas;
  plan.active_series = ActiveSeries(dataset, config, fanout);
  plan.fanout_text = fanout_text;
  plan.compression_level = static_cast<int>(config.compression_level);
  ASSIGN_OR_RETURN(const RateSchedule schedule, PlannedSchedule(config));
  const uint64_t total_events = dataset.total_events();
  ASSIGN_OR_RETURN(const int64_t end, PlannedEnd(config, schedule, total_events));
  plan.seconds = end / 1e9;
  plan.events = schedule.EventsBy(end);
  plan.peak_rate = schedule.peak_rate();
  plan.shape = config.schedule.empty() ? fmt::format("{:.0f} events/s for {:g}s",
                                                     config.events_per_second, plan.seconds)
                                       : DescribeSchedule(config.schedule);
  uint64_t largest_request = 0, templates = 0;
  for (int i = 0; i < 3; ++i) {
    PlanSignal& s = plan.signals[i];
    const CompiledSignal& signal = dataset.signals[i];
    s.dataset_events = dataset.events[i];  // Late roots counted with their traces.
    if (s.dataset_events == 0) continue;
    templates += signal.MemoryBytes();
    if (i == SignalIndex(Signal::kTraces)) templates += dataset.late_roots.roots.MemoryBytes();
    largest_request = std::max(
        largest_request, PlanOneSignal(signal, i, plan, schedule, end, total_events, config, &s));
  }
  plan.sender_memory_bytes = SenderMemoryBytes(
      templates, static_cast<uint64_t>(config.concurrency * config.max_in_flight), largest_request);
  return plan;
}

std::string PlanText(const Plan& plan) {
  std::string out = fmt::format(
      "plan: {} -> {:.0f} events in {:g} s ({:.0f}/s average, {:.0f}/s peak); nothing is sent\n",
      plan.shape, plan.events, plan.seconds, plan.seconds > 0 ? plan.events / plan.seconds : 0,
      plan.peak_rate);
  const std::string wire = plan.compression == Compression::kNone
                               ? std::string("none")
                               : std::string(CompressionName(plan.compression));
  constexpr const char* kRow = "{:<8} {:>10} {:>11} {:>10} {:>11} {:>11} {:>12} {:>11} {:>11}\n";
  StrAppend(&out, fmt::format(kRow, "signal", "events/s", "requests/s", "avg req", "MB/s raw",
                              fmt::format("MB/s {}", wire), "run events", "run bytes",
                              fmt::format("run {}", wire)));
  double events = 0, requests = 0, bytes = 0, wire_bytes = 0;
  for (Signal sig : kAllSignals) {
    const PlanSignal& s = plan.signals[SignalIndex(sig)];
    if (s.dataset_events == 0) continue;
    events += s.events;
    requests += s.requests;
    bytes += s.bytes;
    wire_bytes += s.wire_bytes;
    StrAppend(&out,
              fmt::format(kRow, SignalName(sig), fmt::format("{:.0f}", s.events / plan.seconds),
                          fmt::format("{:.1f}", s.requests / plan.seconds),
                          Si(s.bytes / std::max(1.0, s.requests), "B"),
                          fmt::format("{:.2f}", s.bytes / plan.seconds / 1e6),
                          fmt::format("{:.2f}", s.wire_bytes / plan.seconds / 1e6),
                          Si(s.events, ""), Si(s.bytes, "B"), Si(s.wire_bytes, "B")));
  }
  StrAppend(&out, fmt::format(kRow, "total", fmt::format("{:.0f}", events / plan.seconds),
                              fmt::format("{:.1f}", requests / plan.seconds),
                              Si(bytes / std::max(1.0, requests), "B"),
                              fmt::format("{:.2f}", bytes / plan.seconds / 1e6),
                              fmt::format("{:.2f}", wire_bytes / plan.seconds / 1e6),
                              Si(events, ""), Si(bytes, "B"), Si(wire_bytes, "B")));
  const double per_day = 86400 / plan.seconds;
  StrAppend(&out, fmt::format("per day at this average: {} events, {} raw, {} as sent ({})\n",
                              Si(events * per_day, ""), Si(bytes * per_day, "B"),
                              Si(wire_bytes * per_day, "B"), wire));
  StrAppend(&out, fmt::format("compression measured on patched frames (this config: {}{}):\n", wire,
                              plan.compression == Compression::kNone
                                  ? ""
                                  : fmt::format(" level {}", plan.compression_level)));
  constexpr const char* kCodecRow = "  {:<10} {:<8} {:>8} {:>10} {:>23} {:>13}\n";
  StrAppend(&out, fmt::format(kCodecRow, "codec", "signal", "ratio", "sample",
                              "sender CPU-s/M events", "cores at run"));
  for (size_t k = 0; k < 2; ++k) {
    for (Signal sig : kAllSignals) {
      const PlanSignal& s = plan.signals[SignalIndex(sig)];
      if (s.dataset_events == 0) continue;
      const CodecCost& c = s.codecs[k];
      // The cores compressing this signal would take at the run's average rate.
      const double cores = c.cpu_seconds_per_m * s.events / 1e6 / plan.seconds;
      StrAppend(
          &out,
          fmt::format(kCodecRow, fmt::format("{} {}", CompressionName(c.codec), c.level),
                      SignalName(sig), fmt::format("{:.2f}x", c.ratio),
                      Si(static_cast<double>(c.sample_bytes), "B"),
                      fmt::format("{:.3f}", c.cpu_seconds_per_m), fmt::format("{:.2f}", cores)));
    }
  }
  StrAppend(&out, "bytes are request payloads (gRPC adds 5 bytes and HTTP/2 9 bytes per 16 KiB)\n");
  if (plan.metric_series > 0) {
    StrAppend(&out, plan.fanout_text.empty()
                        ? fmt::format("metrics: {} active series (each gets a point per replay)\n",
                                      plan.metric_series)
                        : plan.fanout_text + "\n");
  }
  StrAppend(&out,
            fmt::format("sender memory: about {:.0f} MiB\n", plan.sender_memory_bytes / 1048576.0));
  return out;
}

std::string PlanJson(const Plan& plan) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["plan"] = {{"shape", plan.shape},
               {"seconds", plan.seconds},
               {"events", plan.events},
               {"peak_rate", plan.peak_rate},
               {"compression", CompressionName(plan.compression)},
               {"compression_level", plan.compression_level},
               {"metric_series", plan.metric_series},
               {"metric_replicas", plan.replicas},
               {"active_series", plan.active_series},
               {"sender_memory_bytes", plan.sender_memory_bytes}};
  Json signals = Json::object();
  for (Signal sig : kAllSignals) {
    const PlanSignal& s = plan.signals[SignalIndex(sig)];
    Json codecs = Json::object();
    for (const CodecCost& c : s.codecs) {
      if (c.sample_bytes == 0) continue;
      codecs[std::string(CompressionName(c.codec))] = {
          {"level", c.level},
          {"ratio", c.ratio},
          {"cpu_seconds_per_million_events", c.cpu_seconds_per_m},
          {"sample_bytes", c.sample_bytes}};
    }
    signals[std::string(SignalName(sig))] = {
        {"events", std::round(s.events)},
        {"requests", std::round(s.requests)},
        {"bytes", std::round(s.bytes)},
        {"wire_bytes", std::round(s.wire_bytes)},
        {"events_per_second", plan.seconds > 0 ? s.events / plan.seconds : 0},
        {"bytes_per_second", plan.seconds > 0 ? s.bytes / plan.seconds : 0},
        {"wire_bytes_per_second", plan.seconds > 0 ? s.wire_bytes / plan.seconds : 0},
        {"dataset_events", s.dataset_events},
        {"dataset_requests", s.dataset_requests},
        {"dataset_bytes", s.dataset_bytes},
        {"codecs", codecs}};
  }
  j["signals"] = signals;
  return j.dump(2) + "\n";
}

}  // namespace loadgen
