#include "sender/modes/merge.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "common/otlp_signal.h"
#include "common/read_file.h"
#include "common/strings.h"
#include "yaml-cpp/yaml.h"

namespace loadgen {
namespace {

// Our summaries are JSON, which yaml-cpp reads as YAML flow style.
struct Instance {
  std::string path;
  YAML::Node root;
};

struct SignalTotals {
  std::map<std::string, double> counts;  // events_sent, events_accepted, ...
  double p50 = 0, p99 = 0, max = 0;      // Worst instance.
  double intended_p50 = 0, intended_p99 = 0, intended_max = 0;
  struct Error {
    double count = 0;
    std::string message;
  };
  std::vector<std::pair<std::string, Error>> errors;  // In first-seen order.
};

struct Bucket {
  double seconds = 0, target = 0, rejected = 0, failed = 0, retries = 0, requests = 0;
  std::array<double, 3> accepted{};
  double p50 = 0, p99 = 0, in_flight = 0;
  double intended_p99 = 0, lag = 0, late = 0;
  bool target_known = false;
  int instances = 0;
};

constexpr const char* kCounts[] = {
    "events_sent",       "events_accepted", "events_rejected", "events_failed", "requests",
    "rejected_requests", "failed_requests", "retries",         "bytes",         "late_requests"};
constexpr size_t kNumCounts = std::size(kCounts);

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  return out;
}

}  // namespace

absl::StatusOr<MergedReport> MergeReports(const std::vector<std::string>& paths) {
  if (paths.empty()) return absl::InvalidArgumentError("--merge-reports: no files given");
  std::vector<Instance> instances;
  for (const std::string& path : paths) {
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    Instance in{path, {}};
    try {
      in.root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", e.mark.line + 1, ": not a sender JSON summary: ", e.msg));
    }
    for (const char* key : {"signals", "total", "elapsed_seconds", "start_unix_ns"}) {
      if (!in.root.IsMap() || !in.root[key]) {
        return absl::InvalidArgumentError(StrCat(path, ": not a sender JSON summary (no \"", key,
                                                 "\"; written by telemetry-sender --stats-json?)"));
      }
    }
    instances.push_back(std::move(in));
  }

  std::array<SignalTotals, 3> signals;
  double elapsed = 0, target = 0, peak = 0, limit = 0, rss = 0, lag_max = 0, lag_final = 0;
  int64_t start = INT64_MAX;
  double interval = 0;
  std::string schedule;
  try {
    for (const Instance& in : instances) {
      elapsed = std::max(elapsed, in.root["elapsed_seconds"].as<double>());
      target += in.root["target_rate"].as<double>(0);
      peak += in.root["in_flight"]["peak"].as<double>(0);
      limit += in.root["in_flight"]["limit"].as<double>(0);
      rss = std::max(rss, in.root["peak_rss_bytes"].as<double>(0));
      start = std::min(start, in.root["start_unix_ns"].as<int64_t>());
      if (schedule.empty()) schedule = in.root["schedule"].as<std::string>("");
      interval = std::max(interval, in.root["stats_interval_seconds"].as<double>(0));
      lag_max = std::max(lag_max, in.root["schedule_lag_ms"]["max"].as<double>(0));
      lag_final = std::max(lag_final, in.root["schedule_lag_ms"]["final"].as<double>(0));
      for (Signal s : kAllSignals) {
        const YAML::Node n = in.root["signals"][std::string(SignalName(s))];
        if (!n) continue;
        SignalTotals& t = signals[SignalIndex(s)];
        for (const char* c : kCounts) t.counts[c] += n[c].as<double>(0);
        t.p50 = std::max(t.p50, n["latency_ms"]["p50"].as<double>(0));
        t.p99 = std::max(t.p99, n["latency_ms"]["p99"].as<double>(0));
        t.max = std::max(t.max, n["latency_ms"]["max"].as<double>(0));
        const YAML::Node intended = n["intended_latency_ms"];
        t.intended_p50 = std::max(t.intended_p50, intended["p50"].as<double>(0));
        t.intended_p99 = std::max(t.intended_p99, intended["p99"].as<double>(0));
        t.intended_max = std::max(t.intended_max, intended["max"].as<double>(0));
        for (const auto& e : n["errors"]) {
          const std::string kind = e["kind"].as<std::string>();
          auto it = std::find_if(t.errors.begin(), t.errors.end(),
                                 [&](const auto& p) { return p.first == kind; });
          if (it == t.errors.end()) {
            t.errors.push_back({kind, {0, e["message"].as<std::string>("")}});
            it = t.errors.end() - 1;
          }
          it->second.count += e["count"].as<double>(0);
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        StrCat("--merge-reports: a summary has a field of the wrong type: ", e.msg));
  }

  // Time series on one wall clock: an instance's interval starts at its own start plus
  // t - seconds; intervals starting within half an interval of each other are merged.
  std::map<int64_t, Bucket> buckets;
  if (interval > 0) {
    for (const Instance& in : instances) {
      const double offset = (in.root["start_unix_ns"].as<int64_t>() - start) / 1e9;
      for (const auto& r : in.root["intervals"]) {
        const double begin = offset + r["t"].as<double>() - r["seconds"].as<double>();
        Bucket& b = buckets[std::llround(begin / interval)];
        b.seconds = std::max(b.seconds, r["seconds"].as<double>());
        const double t = r["target"].as<double>();
        if (t >= 0) {
          b.target += t;
          b.target_known = true;
        }
        int i = 0;
        for (Signal s : kAllSignals)
          b.accepted[i++] += r["accepted"][std::string(SignalName(s))].as<double>();
        b.rejected += r["rejected"].as<double>();
        b.failed += r["failed"].as<double>();
        b.retries += r["retries"].as<double>();
        b.requests += r["requests"].as<double>();
        b.p50 = std::max(b.p50, r["p50_ms"].as<double>());
        b.p99 = std::max(b.p99, r["p99_ms"].as<double>());
        b.in_flight += r["in_flight"].as<double>();
        b.intended_p99 = std::max(b.intended_p99, r["intended_p99_ms"].as<double>(0));
        b.lag = std::max(b.lag, r["lag_ms"].as<double>(0));
        b.late += r["late_requests"].as<double>(0);
        ++b.instances;
      }
    }
  }

  MergedReport out;
  std::array<double, kNumCounts> total{};
  out.json = fmt::format(
      "{{\n  \"merged_from\": {},\n  \"elapsed_seconds\": {:.3f},\n  \"target_rate\": {},\n"
      "  \"stop_reason\": \"merged\",\n  \"instance\": 0,\n  \"instances\": {},\n"
      "  \"start_unix_ns\": {},\n  \"signals\": {{",
      instances.size(), elapsed, target, instances.size(), start);
  out.text = fmt::format("merged {} instance summaries: {:.2f}s, target {:.0f} events/s\n",
                         instances.size(), elapsed, target);
  constexpr const char* kRow = "{:<8} {:>12} {:>12} {:>9} {:>9} {:>8} {:>9} {:>11} {:>12}\n";
  StrAppend(&out.text, fmt::format(kRow, "signal", "sent", "accepted", "rejected", "failed",
                                   "retries", "requests", "events/s", "worst p99 ms"));
  bool first = true;
  for (Signal s : kAllSignals) {
    SignalTotals& t = signals[SignalIndex(s)];
    for (size_t c = 0; c < kNumCounts; ++c) total[c] += t.counts[kCounts[c]];
    StrAppend(&out.json, first ? "\n" : ",\n");
    first = false;
    StrAppend(&out.json, fmt::format("    \"{}\": {{", SignalName(s)));
    for (const char* c : kCounts)
      StrAppend(&out.json, fmt::format("\"{}\": {:.0f}, ", c, t.counts[c]));
    StrAppend(
        &out.json,
        fmt::format("\"events_per_second\": {:.1f}, \"latency_ms\": {{\"p50\": {:.3f}, "
                    "\"p99\": {:.3f}, \"max\": {:.3f}, \"merged\": \"worst instance\"}}, "
                    "\"intended_latency_ms\": {{\"p50\": {:.3f}, \"p99\": {:.3f}, \"max\": {:.3f}, "
                    "\"merged\": \"worst instance\"}}, \"errors\": [",
                    elapsed > 0 ? t.counts["events_accepted"] / elapsed : 0, t.p50, t.p99, t.max,
                    t.intended_p50, t.intended_p99, t.intended_max));
    for (size_t k = 0; k < t.errors.size(); ++k) {
      StrAppend(&out.json,
                fmt::format("{}{{\"kind\": \"{}\", \"count\": {:.0f}, \"message\": \"{}\"}}",
                            k ? ", " : "", Escape(t.errors[k].first), t.errors[k].second.count,
                            Escape(t.errors[k].second.message)));
    }
    StrAppend(&out.json, "]}");
    if (t.counts["requests"] + t.counts["retries"] == 0) continue;
    StrAppend(
        &out.text,
        fmt::format(kRow, SignalName(s), t.counts["events_sent"], t.counts["events_accepted"],
                    t.counts["events_rejected"], t.counts["events_failed"], t.counts["retries"],
                    t.counts["requests"],
                    fmt::format("{:.0f}", elapsed > 0 ? t.counts["events_accepted"] / elapsed : 0),
                    fmt::format("{:.2f}", t.p99)));
    for (const auto& [kind, e] : t.errors) {
      StrAppend(&out.text, fmt::format("         {} x{:.0f}: {}\n", kind, e.count, e.message));
    }
  }
  StrAppend(&out.json,
            fmt::format(
                "\n  }},\n  \"total\": {{\"events_sent\": {:.0f}, \"events_accepted\": {:.0f}, "
                "\"events_rejected\": {:.0f}, \"events_failed\": {:.0f}, \"retries\": {:.0f}, "
                "\"late_requests\": {:.0f}, \"events_per_second\": {:.1f}}},\n"
                "  \"in_flight\": {{\"peak\": {:.0f}, \"limit\": {:.0f}}},\n"
                "  \"schedule_lag_ms\": {{\"final\": {:.3f}, \"max\": {:.3f}, \"merged\": \"worst "
                "instance\"}},\n"
                "  \"peak_rss_bytes\": {:.0f},\n  \"schedule\": \"{}\",\n  \"intervals\": [",
                total[0], total[1], total[2], total[3], total[7], total[9],
                elapsed > 0 ? total[1] / elapsed : 0, peak, limit, lag_final, lag_max, rss,
                Escape(schedule)));
  StrAppend(&out.text,
            fmt::format("{:<8} {:>12.0f} {:>12.0f}   ({:.0f} events/s accepted)\n", "total",
                        total[0], total[1], elapsed > 0 ? total[1] / elapsed : 0));
  first = true;
  for (const auto& [k, b] : buckets) {
    const double accepted = b.accepted[0] + b.accepted[1] + b.accepted[2];
    StrAppend(&out.json,
              fmt::format("{}\n    {{\"t\": {:.3f}, \"seconds\": {:.3f}, \"target\": {:.1f}, "
                          "\"achieved\": {:.1f}, \"accepted\": {{\"traces\": {:.0f}, \"metrics\": "
                          "{:.0f}, \"logs\": {:.0f}}}, \"rejected\": {:.0f}, \"failed\": {:.0f}, "
                          "\"retries\": {:.0f}, \"requests\": {:.0f}, \"p50_ms\": {:.3f}, "
                          "\"p99_ms\": {:.3f}, \"intended_p99_ms\": {:.3f}, \"in_flight\": {:.0f}, "
                          "\"lag_ms\": {:.3f}, \"late_requests\": {:.0f}, \"instances\": {}}}",
                          first ? "" : ",", k * interval + b.seconds, b.seconds,
                          b.target_known ? b.target : -1.0,
                          b.seconds > 0 ? accepted / b.seconds : 0, b.accepted[0], b.accepted[1],
                          b.accepted[2], b.rejected, b.failed, b.retries, b.requests, b.p50, b.p99,
                          b.intended_p99, b.in_flight, b.lag, b.late, b.instances));
    first = false;
  }
  StrAppend(&out.json, "\n  ]\n}\n");
  return out;
}

}  // namespace loadgen
