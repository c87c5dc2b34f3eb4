#include "sender/modes/merge.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "common/otlp_signal.h"
#include "common/read_file.h"
#include "common/strings.h"

namespace loadgen {
namespace {

absl::StatusOr<std::vector<RunSummary>> ReadSummaries(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("--merge-reports: no files given");
  std::vector<RunSummary> out;
  for (const std::string& path : paths) {
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    auto summary = ParseRunSummary(*text, path);
    if (!summary.ok()) return summary.status();
    out.push_back(*std::move(summary));
  }
  return out;
}

// Counts add up; latencies are the worst instance's; errors merge by kind, in
// first-seen order.
void AddSignal(const SignalSummary& in, SignalSummary* t) {
  AddCounts(in, t);
  auto worst = [](const LatencyMs& a, LatencyMs* b) {
    b->p50 = std::max(b->p50, a.p50);
    b->p99 = std::max(b->p99, a.p99);
    b->max = std::max(b->max, a.max);
  };
  worst(in.latency, &t->latency);
  worst(in.intended_latency, &t->intended_latency);
  for (const ErrorCount& e : in.errors) {
    auto it = std::find_if(t->errors.begin(), t->errors.end(),
                           [&](const ErrorCount& x) { return x.kind == e.kind; });
    if (it == t->errors.end()) {
      t->errors.push_back({e.kind, 0, e.message});
      it = t->errors.end() - 1;
    }
    it->count += e.count;
  }
}

// Time series on one wall clock: an instance's interval starts at its own start plus
// t - seconds; intervals starting within half an interval of each other are merged.
std::vector<IntervalSummary> MergeIntervals(const std::vector<RunSummary>& in, int64_t start,
                                            double interval) {
  std::vector<IntervalSummary> out;
  if (interval <= 0) return out;
  std::map<int64_t, IntervalSummary> buckets;
  std::map<int64_t, bool> target_known;
  for (const RunSummary& run : in) {
    const double offset = (run.start_unix_ns - start) / 1e9;
    for (const IntervalSummary& r : run.intervals) {
      const int64_t k = std::llround((offset + r.t - r.seconds) / interval);
      IntervalSummary& b = buckets[k];
      b.seconds = std::max(b.seconds, r.seconds);
      if (r.target >= 0) {
        b.target = (target_known[k] ? b.target : 0) + r.target;
        target_known[k] = true;
      }
      for (size_t i = 0; i < 3; ++i) b.accepted[i] += r.accepted[i];
      b.rejected += r.rejected;
      b.failed += r.failed;
      b.retries += r.retries;
      b.requests += r.requests;
      b.late_requests += r.late_requests;
      b.p50_ms = std::max(b.p50_ms, r.p50_ms);
      b.p99_ms = std::max(b.p99_ms, r.p99_ms);
      b.intended_p99_ms = std::max(b.intended_p99_ms, r.intended_p99_ms);
      b.lag_ms = std::max(b.lag_ms, r.lag_ms);
      b.in_flight += r.in_flight;
      ++b.instances;
    }
  }
  for (auto& [k, b] : buckets) {
    b.t = k * interval + b.seconds;
    const double accepted = static_cast<double>(b.accepted[0] + b.accepted[1] + b.accepted[2]);
    b.achieved = b.seconds > 0 ? accepted / b.seconds : 0;
    out.push_back(b);
  }
  return out;
}

std::string MergedText(const RunSummary& m) {
  std::string text = fmt::format("merged {} instance summaries: {:.2f}s, target {:.0f} events/s\n",
                                 m.merged_from, m.elapsed_seconds, m.target_rate);
  constexpr const char* kRow = "{:<8} {:>12} {:>12} {:>9} {:>9} {:>8} {:>9} {:>11} {:>12}\n";
  StrAppend(&text, fmt::format(kRow, "signal", "sent", "accepted", "rejected", "failed", "retries",
                               "requests", "events/s", "worst p99 ms"));
  for (Signal s : kAllSignals) {
    const SignalSummary& t = m.signals[SignalIndex(s)];
    if (!t.active()) continue;
    StrAppend(&text, fmt::format(kRow, SignalName(s), t.events_sent, t.events_accepted,
                                 t.events_rejected, t.events_failed, t.retries, t.requests,
                                 fmt::format("{:.0f}", t.events_per_second),
                                 fmt::format("{:.2f}", t.latency.p99)));
    for (const ErrorCount& e : t.errors) {
      StrAppend(&text, fmt::format("         {} x{}: {}\n", e.kind, e.count, e.message));
    }
  }
  const SignalSummary total = m.Total();
  StrAppend(&text, fmt::format("{:<8} {:>12} {:>12}   ({:.0f} events/s accepted)\n", "total",
                               total.events_sent, total.events_accepted, total.events_per_second));
  return text;
}

}  // namespace

absl::StatusOr<MergedReport> MergeReports(const std::vector<std::string>& paths) {
  auto in = ReadSummaries(paths);
  if (!in.ok()) return in.status();
  RunSummary m;
  m.merged_from = static_cast<int>(in->size());
  m.stop_reason = "merged";
  m.instances = m.merged_from;
  m.start_unix_ns = INT64_MAX;
  for (const RunSummary& run : *in) {
    m.elapsed_seconds = std::max(m.elapsed_seconds, run.elapsed_seconds);
    m.target_rate += run.target_rate;
    m.in_flight_peak += run.in_flight_peak;
    m.in_flight_limit += run.in_flight_limit;
    m.peak_rss_bytes = std::max(m.peak_rss_bytes, run.peak_rss_bytes);
    m.late_roots_sent += run.late_roots_sent;
    m.late_roots_failed += run.late_roots_failed;
    m.start_unix_ns = std::min(m.start_unix_ns, run.start_unix_ns);
    if (m.schedule.empty()) m.schedule = run.schedule;
    m.stats_interval_seconds = std::max(m.stats_interval_seconds, run.stats_interval_seconds);
    m.paced = m.paced || run.paced;
    m.pacing_interval_ms = std::max(m.pacing_interval_ms, run.pacing_interval_ms);
    m.lag_max_ms = std::max(m.lag_max_ms, run.lag_max_ms);
    m.lag_final_ms = std::max(m.lag_final_ms, run.lag_final_ms);
    for (size_t k = 0; k < 3; ++k) AddSignal(run.signals[k], &m.signals[k]);
  }
  for (SignalSummary& s : m.signals) {
    s.events_per_second = m.elapsed_seconds > 0 ? s.events_accepted / m.elapsed_seconds : 0;
  }
  m.intervals = MergeIntervals(*in, m.start_unix_ns, m.stats_interval_seconds);
  return MergedReport{m, MergedText(m)};
}

}  // namespace loadgen
