#include "sender/modes/report.h"

#include <unistd.h>

#include <array>

#include "common/clock.h"
#include "common/strings.h"

namespace loadgen {
namespace {

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += c;
        }
    }
  }
  return out;
}

double Rate(uint64_t n, int64_t ns) { return ns > 0 ? n * 1e9 / static_cast<double>(ns) : 0; }

}  // namespace

StatsReporter::StatsReporter(const RunStats& stats, std::chrono::nanoseconds interval,
                             std::FILE* out, const RateLimiter* limiter)
    : stats_(stats),
      limiter_(limiter),
      interval_(interval),
      out_(out),
      tty_(isatty(fileno(out)) == 1) {}

StatsReporter::~StatsReporter() { Stop(); }

void StatsReporter::Start() {
  start_ns_ = last_ns_ = SteadyClock().NowNs();
  thread_ = std::thread([this] { Loop(); });
}

void StatsReporter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (start_ns_ != 0) Record(SteadyClock().NowNs(), /*print=*/false);
  if (tty_) fmt::print(out_, "\n");
}

std::vector<IntervalRecord> StatsReporter::intervals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

void StatsReporter::Loop() {
  const SteadyClock clock;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval_, [&] { return stop_; })) {
    lock.unlock();
    Record(clock.NowNs(), /*print=*/true);
    lock.lock();
  }
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
  if (print) {
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
  std::lock_guard<std::mutex> lock(mu_);
  records_.push_back(r);
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

std::string SummaryJson(const RunStats& stats, const RunInfo& info,
                        const std::vector<IntervalRecord>& intervals) {
  std::string out = fmt::format(
      "{{\n  \"endpoint\": \"{}\",\n  \"elapsed_seconds\": {:.3f},\n  \"target_rate\": {},\n"
      "  \"stop_reason\": \"{}\",\n  \"instance\": {},\n  \"instances\": {},\n"
      "  \"start_unix_ns\": {},\n  \"stats_interval_seconds\": {:.3f},\n{}  \"signals\": {{",
      JsonEscape(info.endpoint), info.elapsed_ns / 1e9, info.target_rate,
      JsonEscape(info.stop_reason), info.instance, info.instances, info.start_unix_ns,
      info.stats_interval_seconds,
      info.capacity_json.empty() ? "" : StrCat("  \"capacity\": ", info.capacity_json, ",\n"));
  uint64_t sent = 0, accepted = 0, rejected = 0, failed = 0, retries = 0, late = 0;
  bool first = true;
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    late += snap.late_requests;
    sent += snap.events_sent;
    accepted += snap.events_accepted;
    rejected += snap.events_rejected;
    failed += snap.events_failed;
    retries += snap.retries;
    StrAppend(&out, first ? "\n" : ",\n");
    first = false;
    StrAppend(
        &out,
        fmt::format("    \"{}\": {{\"events_sent\": {}, \"events_accepted\": {}, "
                    "\"events_rejected\": {}, \"events_failed\": {}, \"requests\": {}, "
                    "\"rejected_requests\": {}, "
                    "\"failed_requests\": {}, \"retries\": {}, \"bytes\": {}, "
                    "\"events_per_second\": {:.1f}, \"late_requests\": {}, "
                    "\"latency_ms\": {{\"p50\": {:.3f}, \"p99\": {:.3f}, \"max\": {:.3f}}}, "
                    "\"intended_latency_ms\": {{\"p50\": {:.3f}, \"p99\": {:.3f}, \"max\": "
                    "{:.3f}}}, \"errors\": [",
                    SignalName(s), snap.events_sent, snap.events_accepted, snap.events_rejected,
                    snap.events_failed, snap.requests, snap.rejected_requests, snap.failed_requests,
                    snap.retries, snap.bytes_sent, Rate(snap.events_accepted, info.elapsed_ns),
                    snap.late_requests, snap.p50_ns / 1e6, snap.p99_ns / 1e6, snap.max_ns / 1e6,
                    snap.intended_p50_ns / 1e6, snap.intended_p99_ns / 1e6,
                    snap.intended_max_ns / 1e6));
    bool first_error = true;
    for (const auto& e : stats.Errors(s)) {
      StrAppend(&out, fmt::format("{}{{\"kind\": \"{}\", \"count\": {}, \"message\": \"{}\"}}",
                                  first_error ? "" : ", ", JsonEscape(e.kind), e.count,
                                  JsonEscape(e.first_message)));
      first_error = false;
    }
    StrAppend(&out, "]}");
  }
  StrAppend(
      &out,
      fmt::format("\n  }},\n  \"total\": {{\"events_sent\": {}, \"events_accepted\": {}, "
                  "\"events_rejected\": {}, \"events_failed\": {}, \"retries\": {}, "
                  "\"late_requests\": {}, \"events_per_second\": {:.1f}}},\n"
                  "  \"in_flight\": {{\"peak\": {}, \"limit\": {}}},\n"
                  "  \"schedule_lag_ms\": {{\"paced\": {}, \"final\": {:.3f}, \"max\": {:.3f}, "
                  "\"pacing_interval\": {:.3f}}},\n"
                  "  \"peak_rss_bytes\": {},\n  \"schedule\": \"{}\",\n  \"intervals\": [",
                  sent, accepted, rejected, failed, retries, late, Rate(accepted, info.elapsed_ns),
                  stats.in_flight_peak(), info.in_flight_limit, info.paced, info.final_lag_ns / 1e6,
                  stats.lag_max_ns() / 1e6, info.pacing_interval_ns / 1e6, info.peak_rss_bytes,
                  JsonEscape(info.schedule)));
  // One line per interval: the time series that reports and --merge-reports read.
  for (size_t k = 0; k < intervals.size(); ++k) {
    const IntervalRecord& r = intervals[k];
    StrAppend(&out, fmt::format(
                        "{}\n    {{\"t\": {:.3f}, \"seconds\": {:.3f}, \"target\": {:.1f}, "
                        "\"achieved\": {:.1f}, \"accepted\": {{\"traces\": {}, \"metrics\": {}, "
                        "\"logs\": {}}}, \"rejected\": {}, \"failed\": {}, \"retries\": {}, "
                        "\"requests\": {}, \"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}, "
                        "\"intended_p99_ms\": {:.3f}, \"in_flight\": {}, \"lag_ms\": {:.3f}, "
                        "\"late_requests\": {}}}",
                        k == 0 ? "" : ",", r.end_seconds, r.seconds, r.target_rate,
                        r.achieved_rate(), r.accepted[0], r.accepted[1], r.accepted[2], r.rejected,
                        r.failed, r.retries, r.requests, r.p50_ns / 1e6, r.p99_ns / 1e6,
                        r.intended_p99_ns / 1e6, r.in_flight, r.lag_ns / 1e6, r.late_requests));
  }
  StrAppend(&out, "\n  ]\n}\n");
  return out;
}

}  // namespace loadgen
