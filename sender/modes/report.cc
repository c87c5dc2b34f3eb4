#include "sender/modes/report.h"

#include <unistd.h>

#include <array>

#include "common/clock.h"
#include "common/strings.h"

namespace loadgen {
namespace {

double Rate(uint64_t n, int64_t ns) { return ns > 0 ? n * 1e9 / static_cast<double>(ns) : 0; }

}  // namespace

StatsReporter::StatsReporter(const RunStats& stats, std::chrono::nanoseconds interval,
                             std::FILE* out, const RateLimiter* limiter, const Clock* clock)
    : stats_(stats),
      limiter_(limiter),
      clock_(clock != nullptr ? clock : &steady_),
      interval_(interval),
      out_(out),
      tty_(out != nullptr && isatty(fileno(out)) == 1) {}

StatsReporter::~StatsReporter() { Stop(); }

void StatsReporter::Start() {
  start_ns_ = last_ns_ = clock_->NowNs();
  if (interval_.count() > 0) thread_ = std::thread([this] { Loop(); });
}

void StatsReporter::Stop() {
  {
    MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (start_ns_ != 0) Record(clock_->NowNs(), /*print=*/false);
  if (tty_) fmt::print(out_, "\n");
}

std::vector<IntervalRecord> StatsReporter::intervals() const {
  MutexLock lock(&mu_);
  return records_;
}

void StatsReporter::Loop() {
  mu_.Lock();
  while (!stop_) {
    const auto until = std::chrono::steady_clock::now() + interval_;
    while (!stop_ && cv_.wait_until(mu_, until) != std::cv_status::timeout) {
    }
    if (stop_) break;
    mu_.Unlock();
    Sample();
    mu_.Lock();
  }
  mu_.Unlock();
}

void StatsReporter::Record(int64_t now, bool print) {
  IntervalRecord r;
  r.end_seconds = (now - start_ns_) / 1e9;
  r.seconds = (now - last_ns_) / 1e9;
  if (r.seconds <= 0) return;
  if (limiter_ != nullptr) {
    r.target_rate =
        (limiter_->ScheduledEvents(now) - limiter_->ScheduledEvents(last_ns_)) / r.seconds;
  }
  LatencyHistogram::Counts latency{}, intended{};
  uint64_t total = 0;
  std::string signals;
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    const SignalSnapshot snap = stats_.Snapshot(s);
    stats_.of(s).latency.AddCountsTo(&latency);
    stats_.of(s).intended_latency.AddCountsTo(&intended);
    r.accepted[i] = snap.events_accepted - last_[i].events_accepted;
    r.late_requests += snap.late_requests - last_[i].late_requests;
    r.rejected += snap.events_rejected - last_[i].events_rejected;
    r.failed += snap.events_failed - last_[i].events_failed;
    r.retries += snap.retries - last_[i].retries;
    r.requests += snap.requests - last_[i].requests;
    total += snap.events_accepted;
    if (snap.requests > 0) {
      StrAppend(&signals, fmt::format(" {} {} ({:.0f}/s)", SignalName(s), snap.events_accepted,
                                      r.accepted[i] / r.seconds));
    }
    last_[i] = snap;
  }
  LatencyHistogram::Counts interval = latency, intended_interval = intended;
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
    interval[b] -= last_latency_[b];
    intended_interval[b] -= last_intended_[b];
  }
  last_latency_ = latency;
  last_intended_ = intended;
  r.p50_ns = LatencyHistogram::QuantileOf(interval, 0.5);
  r.p99_ns = LatencyHistogram::QuantileOf(interval, 0.99);
  r.intended_p99_ns = LatencyHistogram::QuantileOf(intended_interval, 0.99);
  r.in_flight = stats_.in_flight();
  if (limiter_ != nullptr) r.lag_ns = limiter_->LagNs(now);
  last_ns_ = now;
  if (print && out_ != nullptr) {
    uint64_t rejected = 0, failed = 0, retries = 0;
    for (Signal s : kAllSignals) {
      rejected += last_[SignalIndex(s)].events_rejected;
      failed += last_[SignalIndex(s)].events_failed;
      retries += last_[SignalIndex(s)].retries;
    }
    // Fixed words, so scripts (and the fault tests) can read the line.
    std::string line = fmt::format(
        "[{:>6.1f}s]{} | accepted {} rejected {} failed {} retries {} in_flight {} p99 {:.1f} ms | "
        "{:.0f} ev/s now",
        r.end_seconds, signals, total, rejected, failed, retries, r.in_flight, r.p99_ns / 1e6,
        r.achieved_rate());
    if (r.target_rate >= 0) {
      StrAppend(&line,
                fmt::format(", target {:.0f}/s, lag {:.0f} ms", r.target_rate, r.lag_ns / 1e6));
    }
    StrAppend(&line, fmt::format(", {:.0f} overall", Rate(total, now - start_ns_)));
    if (tty_) {
      fmt::print(out_, "\r{}\x1b[K", line);
    } else {
      fmt::print(out_, "{}\n", line);
    }
    std::fflush(out_);
  }
  MutexLock lock(&mu_);
  records_.push_back(r);
  if (keep_ > 0 && records_.size() > keep_) records_.erase(records_.begin());
}

std::string SummaryText(const RunStats& stats, const RunInfo& info) {
  std::string out = fmt::format("telemetry-sender summary: {:.2f}s to {} ({})\n",
                                info.elapsed_ns / 1e9, info.endpoint, info.stop_reason);
  constexpr const char* kRow =
      "{:<8} {:>12} {:>12} {:>9} {:>9} {:>8} {:>9} {:>10} {:>11} {:>8} {:>8}\n";
  StrAppend(&out, fmt::format(kRow, "signal", "sent", "accepted", "rejected", "failed", "retries",
                              "requests", "MiB", "events/s", "p50 ms", "p99 ms"));
  uint64_t sent = 0, accepted = 0;
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    if (snap.requests == 0 && snap.retries == 0) continue;
    sent += snap.events_sent;
    accepted += snap.events_accepted;
    StrAppend(&out, fmt::format(kRow, SignalName(s), snap.events_sent, snap.events_accepted,
                                snap.events_rejected, snap.events_failed, snap.retries,
                                snap.requests, fmt::format("{:.1f}", snap.bytes_sent / 1048576.0),
                                fmt::format("{:.0f}", Rate(snap.events_accepted, info.elapsed_ns)),
                                fmt::format("{:.2f}", snap.p50_ns / 1e6),
                                fmt::format("{:.2f}", snap.p99_ns / 1e6)));
    // Each kind of error once, with how often it happened.
    for (const auto& e : stats.Errors(s)) {
      StrAppend(&out, fmt::format("         {} x{}: {}\n", e.kind, e.count, e.first_message));
    }
  }
  StrAppend(&out, fmt::format("{:<8} {:>12} {:>12}   ({:.0f} events/s accepted)\n", "total", sent,
                              accepted, Rate(accepted, info.elapsed_ns)));
  StrAppend(&out, fmt::format("requests in flight: peak {} of at most {}; peak RSS {:.0f} MiB\n",
                              stats.in_flight_peak(), info.in_flight_limit,
                              info.peak_rss_bytes / 1048576.0));
  if (const LateRootResult& late = info.late_roots; late.sent + late.failed > 0) {
    StrAppend(&out, fmt::format("late roots: {} sent after their traces, {} not sent; at most {} "
                                "waited at once; {:.0f} ms of sending after the run's end\n",
                                late.sent, late.failed, late.peak_pending, late.drain_ns / 1e6));
  }
  if (info.paced) {
    LatencyHistogram::Counts intended{};
    uint64_t late = 0;
    for (Signal s : kAllSignals) {
      stats.of(s).intended_latency.AddCountsTo(&intended);
      late += stats.Snapshot(s).late_requests;
    }
    StrAppend(&out, fmt::format("schedule: lag worst {:.0f} ms, at the end {:.0f} ms; {} requests "
                                "sent more than {:g} ms late; latency from the intended send "
                                "time p50 {:.2f} ms, p99 {:.2f} ms\n",
                                stats.lag_max_ns() / 1e6, info.final_lag_ns / 1e6, late,
                                info.pacing_interval_ns / 1e6,
                                LatencyHistogram::QuantileOf(intended, 0.5) / 1e6,
                                LatencyHistogram::QuantileOf(intended, 0.99) / 1e6));
  }
  return out;
}

RunSummary MakeRunSummary(const RunStats& stats, const RunInfo& info,
                          const std::vector<IntervalRecord>& intervals) {
  RunSummary out;
  out.endpoint = info.endpoint;
  out.elapsed_seconds = info.elapsed_ns / 1e9;
  out.target_rate = info.target_rate;
  out.schedule = info.schedule;
  out.stop_reason = info.stop_reason;
  out.instance = info.instance;
  out.instances = info.instances;
  out.start_unix_ns = info.start_unix_ns;
  out.stats_interval_seconds = info.stats_interval_seconds;
  out.capacity = info.capacity;
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    SignalSummary& o = out.signals[SignalIndex(s)];
    o.events_sent = snap.events_sent;
    o.events_accepted = snap.events_accepted;
    o.events_rejected = snap.events_rejected;
    o.events_failed = snap.events_failed;
    o.requests = snap.requests;
    o.rejected_requests = snap.rejected_requests;
    o.failed_requests = snap.failed_requests;
    o.retries = snap.retries;
    o.bytes = snap.bytes_sent;
    o.wire_bytes = snap.wire_bytes_sent;
    o.late_requests = snap.late_requests;
    o.events_per_second = Rate(snap.events_accepted, info.elapsed_ns);
    o.latency = {snap.p50_ns / 1e6, snap.p99_ns / 1e6, snap.max_ns / 1e6};
    o.intended_latency = {snap.intended_p50_ns / 1e6, snap.intended_p99_ns / 1e6,
                          snap.intended_max_ns / 1e6};
    for (const auto& e : stats.Errors(s)) o.errors.push_back({e.kind, e.count, e.first_message});
  }
  out.in_flight_peak = stats.in_flight_peak();
  out.in_flight_limit = info.in_flight_limit;
  out.paced = info.paced;
  out.lag_final_ms = info.final_lag_ns / 1e6;
  out.lag_max_ms = stats.lag_max_ns() / 1e6;
  out.pacing_interval_ms = info.pacing_interval_ns / 1e6;
  out.peak_rss_bytes = info.peak_rss_bytes;
  out.late_roots_sent = info.late_roots.sent;
  out.late_roots_failed = info.late_roots.failed;
  for (const IntervalRecord& r : intervals) out.intervals.push_back(SummaryOf(r));
  return out;
}

IntervalSummary SummaryOf(const IntervalRecord& r) {
  IntervalSummary o;
  o.t = r.end_seconds;
  o.seconds = r.seconds;
  o.target = r.target_rate;
  o.achieved = r.achieved_rate();
  o.accepted = r.accepted;
  o.rejected = r.rejected;
  o.failed = r.failed;
  o.retries = r.retries;
  o.requests = r.requests;
  o.late_requests = r.late_requests;
  o.p50_ms = r.p50_ns / 1e6;
  o.p99_ms = r.p99_ns / 1e6;
  o.intended_p99_ms = r.intended_p99_ns / 1e6;
  o.lag_ms = r.lag_ns / 1e6;
  o.in_flight = r.in_flight;
  return o;
}

}  // namespace loadgen
