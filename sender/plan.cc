#include "sender/plan.h"

#include <algorithm>

#include "common/clock.h"
#include "common/gzip.h"
#include "common/random.h"
#include "common/strings.h"
#include "sender/schedule.h"
#include "sender/transform.h"

namespace loadgen {
namespace {

// Sizes after gzip as gRPC sends it, measured on up to kSampleBytes of each signal's
// frames, spread evenly through the dataset and patched as a send would patch them
// (fresh random IDs compress worse than the templates' own).
constexpr uint64_t kSampleBytes = 32u << 20;

void MeasureGzip(const std::vector<CompiledFrame>& frames, uint64_t total_bytes, PlanSignal* out) {
  if (frames.empty()) return;
  const IdMapper ids(WallNowNs());
  FramePatcher patcher(ids, TimestampOptions{}, 1, WallNowNs());
  const size_t step = std::max<uint64_t>(1, total_bytes / kSampleBytes);
  uint64_t raw = 0, packed = 0;
  std::string buffer;
  for (size_t i = 0; i < frames.size(); i += step) {
    buffer.resize(frames[i].bytes.size());
    patcher.Patch(frames[i], 0, WallNowNs(), WallNowNs(),
                  reinterpret_cast<uint8_t*>(buffer.data()));
    raw += buffer.size();
    packed += GzipCompress(buffer).size();
  }
  out->gzip_sample_bytes = raw;
  out->gzip_ratio = raw > 0 ? static_cast<double>(packed) / static_cast<double>(raw) : 1;
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

absl::StatusOr<Plan> MakePlan(const LoadedDataset& dataset, const SenderConfig& config) {
  Plan plan;
  plan.gzip = config.compression == "gzip";
  RateSchedule schedule = RateSchedule::Constant(config.events_per_second);
  if (!config.schedule.empty()) {
    schedule = RateSchedule::FromStages(config.schedule);
  } else if (config.events_per_second <= 0) {
    return absl::InvalidArgumentError(
        "--plan needs a rate: --rate N, sending.rate_limit.events_per_second or "
        "sending.schedule (unlimited runs go as fast as the receiver takes them, which a "
        "plan cannot know)");
  }
  const uint64_t total_events = dataset.events[0] + dataset.events[1] + dataset.events[2];
  int64_t end = schedule.end_ns();
  if (config.duration.count() > 0) end = std::min<int64_t>(end, config.duration.count());
  if (end == RateSchedule::kForever && config.multiplier > 0) {
    end = schedule.TimeOfEvent(static_cast<double>(total_events) *
                               static_cast<double>(config.multiplier));
  }
  if (end == RateSchedule::kForever) {
    return absl::InvalidArgumentError(
        "--plan needs a length: --duration, --multiplier or a sending.schedule");
  }
  plan.seconds = end / 1e9;
  plan.events = schedule.EventsBy(end);
  plan.peak_rate = schedule.peak_rate();
  plan.shape = config.schedule.empty() ? fmt::format("{:.0f} events/s for {:g}s",
                                                     config.events_per_second, plan.seconds)
                                       : DescribeSchedule(config.schedule);
  uint64_t largest_request = 0;
  for (int i = 0; i < 3; ++i) {
    PlanSignal& s = plan.signals[i];
    s.dataset_events = dataset.events[i];
    s.dataset_requests = dataset.frames[i].size();
    s.dataset_bytes = dataset.bytes[i];
    if (s.dataset_events == 0) continue;
    for (const CompiledFrame& f : dataset.frames[i]) {
      largest_request = std::max<uint64_t>(largest_request, f.bytes.size());
    }
    MeasureGzip(dataset.frames[i], dataset.bytes[i], &s);
    // Each signal is paced at its share of the events (see RateLimiter).
    s.events = plan.events * static_cast<double>(s.dataset_events) / total_events;
    const double replays = s.events / static_cast<double>(s.dataset_events);
    s.requests = replays * static_cast<double>(s.dataset_requests);
    s.bytes = replays * static_cast<double>(s.dataset_bytes);
    s.gzip_bytes = s.bytes * s.gzip_ratio;
  }
  // Templates and patch tables, plus what is in flight, plus gRPC and the process.
  plan.sender_memory_bytes =
      dataset.bytes[0] + dataset.bytes[1] + dataset.bytes[2] + total_events * 24 +
      static_cast<uint64_t>(config.concurrency * config.max_in_flight) * largest_request +
      (24u << 20);
  return plan;
}

std::string PlanText(const Plan& plan) {
  std::string out = fmt::format(
      "plan: {} -> {:.0f} events in {:g} s ({:.0f}/s average, {:.0f}/s peak); nothing is sent\n",
      plan.shape, plan.events, plan.seconds, plan.seconds > 0 ? plan.events / plan.seconds : 0,
      plan.peak_rate);
  constexpr const char* kRow = "{:<8} {:>10} {:>11} {:>10} {:>11} {:>11} {:>12} {:>11} {:>11}\n";
  StrAppend(&out, fmt::format(kRow, "signal", "events/s", "requests/s", "avg req", "MB/s raw",
                              "MB/s gzip", "run events", "run bytes", "run gzip"));
  double events = 0, requests = 0, bytes = 0, gzip = 0;
  for (Signal sig : kAllSignals) {
    const PlanSignal& s = plan.signals[SignalIndex(sig)];
    if (s.dataset_events == 0) continue;
    events += s.events;
    requests += s.requests;
    bytes += s.bytes;
    gzip += s.gzip_bytes;
    StrAppend(&out,
              fmt::format(kRow, SignalName(sig), fmt::format("{:.0f}", s.events / plan.seconds),
                          fmt::format("{:.1f}", s.requests / plan.seconds),
                          Si(s.bytes / std::max(1.0, s.requests), "B"),
                          fmt::format("{:.2f}", s.bytes / plan.seconds / 1e6),
                          fmt::format("{:.2f}", s.gzip_bytes / plan.seconds / 1e6),
                          Si(s.events, ""), Si(s.bytes, "B"), Si(s.gzip_bytes, "B")));
  }
  StrAppend(&out, fmt::format(kRow, "total", fmt::format("{:.0f}", events / plan.seconds),
                              fmt::format("{:.1f}", requests / plan.seconds),
                              Si(bytes / std::max(1.0, requests), "B"),
                              fmt::format("{:.2f}", bytes / plan.seconds / 1e6),
                              fmt::format("{:.2f}", gzip / plan.seconds / 1e6), Si(events, ""),
                              Si(bytes, "B"), Si(gzip, "B")));
  const double per_day = 86400 / plan.seconds;
  StrAppend(&out, fmt::format("per day at this average: {} events, {} raw, {} gzip\n",
                              Si(events * per_day, ""), Si(bytes * per_day, "B"),
                              Si(gzip * per_day, "B")));
  StrAppend(&out, "gzip measured on");
  for (Signal sig : kAllSignals) {
    const PlanSignal& s = plan.signals[SignalIndex(sig)];
    if (s.dataset_events == 0) continue;
    StrAppend(&out, fmt::format(" {} {} ({:.1f}%)", SignalName(sig), Si(s.gzip_sample_bytes, "B"),
                                s.gzip_ratio * 100));
  }
  StrAppend(&out,
            fmt::format(" of patched frames; bytes are request payloads (gRPC adds 5 bytes and "
                        "HTTP/2 9 bytes per 16 KiB); compression is {} in this config.\n",
                        plan.gzip ? "gzip" : "off"));
  StrAppend(&out,
            fmt::format("sender memory: about {:.0f} MiB\n", plan.sender_memory_bytes / 1048576.0));
  return out;
}

std::string PlanJson(const Plan& plan) {
  std::string out = fmt::format(
      "{{\n  \"plan\": {{\"shape\": \"{}\", \"seconds\": {:.3f}, \"events\": {:.0f}, "
      "\"peak_rate\": {:.1f}, \"gzip\": {}, \"sender_memory_bytes\": {}}},\n  \"signals\": {{",
      plan.shape, plan.seconds, plan.events, plan.peak_rate, plan.gzip, plan.sender_memory_bytes);
  bool first = true;
  for (Signal sig : kAllSignals) {
    const PlanSignal& s = plan.signals[SignalIndex(sig)];
    StrAppend(&out, fmt::format(
                        "{}\n    \"{}\": {{\"events\": {:.0f}, \"requests\": {:.0f}, "
                        "\"bytes\": {:.0f}, \"gzip_bytes\": {:.0f}, \"gzip_ratio\": {:.4f}, "
                        "\"events_per_second\": {:.1f}, \"bytes_per_second\": {:.1f}, "
                        "\"dataset_events\": {}, \"dataset_requests\": {}, \"dataset_bytes\": {}}}",
                        first ? "" : ",", SignalName(sig), s.events, s.requests, s.bytes,
                        s.gzip_bytes, s.gzip_ratio, plan.seconds > 0 ? s.events / plan.seconds : 0,
                        plan.seconds > 0 ? s.bytes / plan.seconds : 0, s.dataset_events,
                        s.dataset_requests, s.dataset_bytes));
    first = false;
  }
  StrAppend(&out, "\n  }\n}\n");
  return out;
}

}  // namespace loadgen
