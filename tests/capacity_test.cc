// The capacity search's logic, on a fake clock: a model backend that takes `capacity`
// events/s and refuses the rest (as `otlp-sink --max-rate` does), fed by a sender that
// keeps up with the limiter. Every step's figures are then exact, and so is the rate
// the search ends on. The wall-clock figure against a real sink is bench/capacity.sh.
#include "sender/modes/capacity.h"

#include <string>

#include "catch2/catch.hpp"
#include "nlohmann/json.hpp"
#include "sender/modes/admin.h"

namespace loadgen {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr uint64_t kRequestEvents = 100;

class ModelBackend {
 public:
  ModelBackend(double capacity, int64_t latency_ns)
      : capacity_(capacity),
        latency_ns_(latency_ns),
        limiter_(RateSchedule::Constant(1000), 0, {1000, 0, 0}, &clock_) {
    limiter_.Start();
  }
  RateLimiter* limiter() { return &limiter_; }
  const RunStats& stats() const { return stats_; }
  FakeClock& clock() { return clock_; }
  // Moves the clock to `deadline` in 10 ms ticks; each tick the sender sends every
  // request the limiter lets go, and the backend accepts what its budget allows.
  bool SleepUntil(int64_t deadline) {
    TokenBucket* bucket = limiter_.of(Signal::kTraces);
    SignalCounters& c = stats_.of(Signal::kTraces);
    while (clock_.NowNs() < deadline) {
      clock_.Set(std::min(deadline, clock_.NowNs() + 10 * kMs));
      budget_ = std::min(budget_ + capacity_ * 0.010, 2 * capacity_ * 0.010);
      while (pending_.send_at_ns <= clock_.NowNs()) {
        if (budget_ >= kRequestEvents) {
          budget_ -= kRequestEvents;
          c.requests++;
          c.events_sent += kRequestEvents;
          c.events_accepted += kRequestEvents;
          c.latency.Record(latency_ns_);
        } else {
          c.retries++;  // RESOURCE_EXHAUSTED: the exporter retries it later.
        }
        pending_ = bucket->Reserve(kRequestEvents);
      }
    }
    return clock_.NowNs() < stop_at_;
  }
  void StopAt(int64_t t) { stop_at_ = t; }

 private:
  const double capacity_;
  const int64_t latency_ns_;
  FakeClock clock_{1};
  RateLimiter limiter_;
  RunStats stats_;
  double budget_ = 0;
  Reservation pending_{};
  int64_t stop_at_ = INT64_MAX;
};

CapacityResult Search(ModelBackend& backend, const CapacityOptions& options, std::string* out) {
  const CapacityTime time{&backend.clock(),
                          [&backend](int64_t deadline) { return backend.SleepUntil(deadline); }};
  char* text = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&text, &size);
  CapacityResult r = FindCapacity(options, backend.limiter(), backend.stats(), time, f);
  std::fclose(f);
  *out = std::string(text, size);
  std::free(text);
  return r;
}

TEST_CASE("the capacity search raises, then bisects, to the highest rate that held") {
  ModelBackend backend(16000, 2 * kMs);
  std::string out;
  const CapacityResult r = Search(backend, CapacityOptions{}, &out);  // The shipped defaults.
  INFO(out);
  // 10k holds, 20k breaks (a fifth refused); then 15k, 17.5k, 16.25k, 15.625k.
  const std::vector<std::pair<double, bool>> expected = {
      {10000, true}, {20000, false}, {15000, true}, {17500, false}, {16250, false}, {15625, true}};
  REQUIRE(r.steps.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("step " << i);
    CHECK(r.steps[i].target == expected[i].first);
    CHECK(r.steps[i].held == expected[i].second);
  }
  CHECK(r.capacity == 15625);
  CHECK(!r.stopped);
  // A step that held carried its target, exactly, with nothing refused.
  CHECK(r.best.achieved == Approx(15625).epsilon(0.005));
  CHECK(r.best.error_share == 0);
  CHECK(r.best.lag_ms == 0);
  // A broken step says which threshold broke: 20k offered, 16k taken, 4k refused.
  CHECK(r.steps[1].broke.rfind("error share", 0) == 0);
  CHECK(r.steps[1].error_share == Approx(4000.0 / 20000).margin(0.01));
  // 16.25k is within 1.6% of the cap: the default bound of 1% still catches it.
  CHECK(r.steps[4].error_share > 0.01);
  CHECK_THAT(out, Catch::Contains("capacity: recovering at 10000/s"));
}

TEST_CASE("a slow backend breaks the search on p99, and max_rate bounds it") {
  CapacityOptions o;
  o.max_p99_ms = 100;
  ModelBackend slow(1e9, 250 * kMs);  // Takes everything, but answers in 250 ms.
  std::string out;
  CapacityResult r = Search(slow, o, &out);
  REQUIRE(r.steps.size() == 5);  // The start rate broke: then bisect below it.
  CHECK(r.capacity == 0);
  CHECK(r.steps[0].broke.rfind("p99", 0) == 0);

  o = CapacityOptions{};
  o.max_rate = 30000;
  ModelBackend fast(1e9, 1 * kMs);
  r = Search(fast, o, &out);
  REQUIRE(r.steps.size() == 3);  // 10k, 20k, then 30k (not 40k), and the bound ends it.
  CHECK(r.steps[2].target == 30000);
  CHECK(r.capacity == 30000);
}

TEST_CASE("a stop during a step ends the search with the steps measured so far") {
  ModelBackend backend(16000, 2 * kMs);
  backend.StopAt(backend.clock().NowNs() + 30'000 * kMs);  // Into the third step.
  std::string out;
  const CapacityResult r = Search(backend, CapacityOptions{}, &out);
  CHECK(r.stopped);
  REQUIRE(r.steps.size() == 2);
  CHECK(r.capacity == 10000);
}

TEST_CASE("the dashboard's status: times, the search's steps and verdicts, errors by kind") {
  FakeClock clock(1'000'000'000'000);
  RunStats stats;
  RateLimiter limiter(RateSchedule::Constant(15000), 0, {5, 3, 2}, &clock);
  limiter.Start();
  CapacityProgress progress;
  progress.Measuring(10000);
  progress.Measured({10000, 9990, 0.001, 3.5, 2, true, ""});
  progress.Measured({20000, 15000, 0.2, 900, 800, false, "error share 20.00% > 1.00%"});
  progress.Measuring(15000);
  DashboardRun run;
  run.endpoint = "127.0.0.1:4317";
  run.protocol = "grpc";
  run.duration_ns = 10'000'000'000;
  run.start_ns = clock.NowNs() - 2'500'000'000;
  stats.NoteError(Signal::kLogs, "UNAVAILABLE", "backend \xff down");
  StopSignal stop;
  const AdminContext context{&stats, &limiter, nullptr, &stop, nullptr, &run, &progress};
  const auto status =
      nlohmann::json::parse(DashboardStatusJson({"", false}, context, clock.NowNs()));
  INFO(status.dump(2));
  CHECK(status["state"] == "running");
  CHECK(status["elapsed_seconds"] == 2.5);
  CHECK(status["remaining_seconds"] == 7.5);
  CHECK(status["target_rate"] == 15000);
  CHECK(status["controls"]["enabled"] == false);
  CHECK(status["capacity"]["measuring"] == 15000);
  REQUIRE(status["capacity"]["steps"].size() == 2);
  CHECK(status["capacity"]["steps"][0]["held"] == true);
  CHECK(status["capacity"]["steps"][1]["held"] == false);
  CHECK(status["capacity"]["steps"][1]["broke"] == "error share 20.00% > 1.00%");
  REQUIRE(status["errors"].size() == 1);
  CHECK(status["errors"][0]["signal"] == "logs");
  CHECK(status["errors"][0]["kind"] == "UNAVAILABLE");
  // A receiver's message that is not UTF-8 still makes valid JSON.
  CHECK(status["errors"][0]["message"] == "backend \xef\xbf\xbd down");
  stop.Stop();
  CHECK(nlohmann::json::parse(DashboardStatusJson({"", true}, context, clock.NowNs()))["state"] ==
        "stopping");
}

}  // namespace
}  // namespace loadgen
