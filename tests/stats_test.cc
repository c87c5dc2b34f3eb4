// The sender's own numbers: the latency histogram's quantiles against exact ones over
// real distributions, and the Prometheus exposition of a run's counters as a scraper
// parses it.
#include "sender/stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include "catch2/catch.hpp"
#include "sender/modes/admin.h"
#include "sender/modes/report.h"

namespace loadgen {
namespace {

TEST_CASE("latency histogram: quantiles within one bucket (12.5%) of the exact ones") {
  std::mt19937_64 gen(7);
  std::lognormal_distribution<double> service(std::log(2e6), 0.8);  // ~2 ms, long tail.
  std::vector<int64_t> samples(20000);
  LatencyHistogram h;
  for (int64_t& s : samples) {
    s = static_cast<int64_t>(service(gen));
    h.Record(s);
  }
  std::sort(samples.begin(), samples.end());
  CHECK(h.Count() == samples.size());
  CHECK(h.Max() == samples.back());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact = static_cast<double>(samples[static_cast<size_t>(q * (samples.size() - 1))]);
    const auto got = static_cast<double>(h.Quantile(q));
    INFO("q " << q << ": exact " << exact << ", histogram " << got);
    // The upper edge of the sample's bucket: never below it, at most one bucket above.
    CHECK(got >= exact);
    CHECK(got <= exact * 1.125 + 1);
  }
  // Small values are exact, and an empty histogram says 0.
  LatencyHistogram small;
  for (int64_t v : {1, 2, 3, 4, 5}) small.Record(v);
  CHECK(small.Quantile(0.5) == 3);
  CHECK(LatencyHistogram().Quantile(0.99) == 0);
  // Two snapshots subtracted give the interval's distribution.
  LatencyHistogram::Counts before{}, after{};
  h.AddCountsTo(&before);
  for (int i = 0; i < 100; ++i) h.Record(50'000'000);
  h.AddCountsTo(&after);
  for (int i = 0; i < LatencyHistogram::kBuckets; ++i) after[i] -= before[i];
  const int64_t interval_p50 = LatencyHistogram::QuantileOf(after, 0.5);
  CHECK(interval_p50 >= 50'000'000);
  CHECK(interval_p50 <= 50'000'000 * 1.125);
}

// name{labels} -> value, from Prometheus text exposition; every sample line must parse.
std::map<std::string, double> Scrape(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST_CASE("prometheus text: every counter a run keeps, per signal, as a scraper reads it") {
  RunStats stats;
  stats.of(Signal::kTraces).events_accepted = 1200;
  stats.of(Signal::kLogs).events_failed = 7;
  stats.of(Signal::kMetrics).retries = 3;
  for (int i = 0; i < 10; ++i) stats.of(Signal::kTraces).latency.Record(2'000'000);
  const std::string text = PrometheusText(stats, nullptr);
  INFO(text);
  const auto samples = Scrape(text);
  // Each metric has its HELP and TYPE lines, and each sample is a number.
  std::istringstream in(text);
  int help = 0, type = 0;
  for (std::string line; std::getline(in, line);) {
    help += line.starts_with("# HELP ");
    type += line.starts_with("# TYPE ");
  }
  CHECK(help > 0);
  CHECK(help == type);
  auto value = [&](const std::string& prefix, const std::string& signal) {
    for (const auto& [name, v] : samples) {
      if (name.starts_with(prefix) && name.find("signal=\"" + signal + "\"") != std::string::npos) {
        return v;
      }
    }
    FAIL("no sample " << prefix << " for " << signal);
    return -1.0;
  };
  CHECK(value("loadgen_events_accepted_total", "traces") == 1200);
  CHECK(value("loadgen_events_failed_total", "logs") == 7);
  CHECK(value("loadgen_retries_total", "metrics") == 3);
  CHECK(value("loadgen_events_accepted_total", "logs") == 0);
}

TEST_CASE("stats reporter: each interval's rates, target and latency, on a fake clock") {
  constexpr int64_t kMs = 1'000'000;
  FakeClock clock(5'000 * kMs);
  RateLimiter limiter(RateSchedule::Constant(2000), 0, {3, 1, 0}, &clock);  // 1500 + 500/s.
  limiter.Start();
  RunStats stats;
  char* text = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  StatsReporter reporter(stats, std::chrono::nanoseconds(0), out, &limiter, &clock);
  reporter.Start();
  clock.Advance(500 * kMs);
  stats.of(Signal::kTraces).events_accepted += 700;
  stats.of(Signal::kMetrics).events_accepted += 250;
  stats.of(Signal::kTraces).requests += 7;
  stats.of(Signal::kMetrics).retries += 2;
  for (int i = 0; i < 7; ++i) stats.of(Signal::kTraces).latency.Record(40 * kMs);
  reporter.Sample();
  clock.Advance(2'000 * kMs);  // A partial last interval, recorded at Stop.
  stats.of(Signal::kTraces).events_accepted += 100;
  stats.of(Signal::kTraces).latency.Record(900 * kMs);
  reporter.Stop();
  std::fclose(out);
  const std::string printed(text, size);
  std::free(text);
  INFO(printed);
  const std::vector<IntervalRecord> r = reporter.intervals();
  REQUIRE(r.size() == 2);
  CHECK(r[0].seconds == 0.5);
  CHECK(r[0].end_seconds == 0.5);
  CHECK(r[0].target_rate == Approx(2000));
  CHECK(r[0].accepted == std::array<uint64_t, 3>{700, 250, 0});
  CHECK(r[0].achieved_rate() == Approx(1900));
  CHECK(r[0].retries == 2);
  // Latency of the interval's own requests, to the histogram's upper bucket edge.
  CHECK(r[0].p50_ns >= 40 * kMs);
  CHECK(r[0].p50_ns <= 40 * kMs * 1.125);
  CHECK(r[1].seconds == 2.0);
  CHECK(r[1].end_seconds == 2.5);
  CHECK(r[1].accepted == std::array<uint64_t, 3>{100, 0, 0});
  CHECK(r[1].p99_ns >= 900 * kMs);  // Only the one slow request of the second interval.
  CHECK(r[1].p99_ns <= 900 * kMs * 1.125);
  // One line per Sample (the last interval is recorded, not printed).
  CHECK(std::count(printed.begin(), printed.end(), '\n') == 1);
  CHECK_THAT(printed, Catch::Contains("1900 ev/s now, target 2000/s"));
}

}  // namespace
}  // namespace loadgen
