#include "sender/worker_pool.h"

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <set>

#include "catch2/catch.hpp"
#include "common/otlp_wire.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/modes/plan.h"
#include "sink/otlp_sink.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

TEST_CASE("workers split by each signal's share of events, at least one per signal") {
  CHECK(SplitWorkers(4, {30000, 450, 20000}, {8, 4, 5}) == std::array<int, 3>{2, 1, 1});
  CHECK(SplitWorkers(10, {600, 300, 100}, {50, 50, 50}) == std::array<int, 3>{6, 3, 1});
  CHECK(SplitWorkers(1, {10, 10, 10}, {5, 5, 5}) == std::array<int, 3>{1, 1, 1});
  CHECK(SplitWorkers(8, {100, 0, 0}, {3, 0, 0}) == std::array<int, 3>{3, 0, 0});  // Unit cap.
  CHECK(SplitWorkers(4, {0, 0, 0}, {0, 0, 0}) == std::array<int, 3>{0, 0, 0});
}

// An exporter on a fake clock: a request is answered `latency_ns` after it is sent,
// at most `max_in_flight` at a time; waiting moves the clock. It records every send,
// and fails the test if a request holds a unit that an outstanding request holds.
class FakeExporter final : public Exporter {
 public:
  struct Sent {
    int64_t at, intended;
    uint64_t events;
    uint32_t begin, end;  // Its units (from the tag).
  };
  FakeExporter(FakeClock* clock, int64_t latency_ns, int max_in_flight)
      : clock_(clock), latency_(latency_ns), max_(max_in_flight) {}

  bool WaitForSlot(int64_t until_ns) override {
    Answer(clock_->NowNs());
    while (static_cast<int>(pending_.size()) >= max_) {
      if (pending_.front().first > until_ns) {
        if (clock_->NowNs() < until_ns) clock_->Set(until_ns);
        return false;
      }
      AdvanceToNext();
    }
    return true;
  }
  void WaitUntil(int64_t until_ns) override {
    if (on_wait) on_wait(until_ns);
    while (!pending_.empty() && pending_.front().first <= until_ns) AdvanceToNext();
    if (clock_->NowNs() < until_ns) clock_->Set(until_ns);
  }
  void WaitForProgress() override {
    if (!pending_.empty()) AdvanceToNext();
  }
  uint8_t* Prepare(size_t n) override {
    buffer_.assign(n, 0);
    return buffer_.data();
  }
  void Send(const RequestInfo& r) override {
    const auto begin = static_cast<uint32_t>(r.tag >> 32), end = static_cast<uint32_t>(r.tag);
    for (const auto& [due, tag] : pending_) {
      const auto b = static_cast<uint32_t>(tag >> 32), e = static_cast<uint32_t>(tag);
      if (signal_ == Signal::kMetrics) CHECK((end <= b || begin >= e));  // No series twice.
    }
    sent.push_back({clock_->NowNs(), r.intended_ns, r.events, begin, end});
    pending_.emplace_back(clock_->NowNs() + latency_, r.tag);
  }
  void Drain(bool) override {
    while (!pending_.empty()) AdvanceToNext();
  }

  Signal signal_ = Signal::kTraces;
  std::vector<Sent> sent;
  std::function<void(int64_t)> on_wait;  // Called as the loop waits, with the time.

 private:
  void Answer(int64_t now) {
    while (!pending_.empty() && pending_.front().first <= now) {
      const uint64_t tag = pending_.front().second;
      pending_.pop_front();
      if (listener_ != nullptr) listener_->RequestDone(tag);
    }
  }
  void AdvanceToNext() {
    if (clock_->NowNs() < pending_.front().first) clock_->Set(pending_.front().first);
    Answer(clock_->NowNs());
  }
  FakeClock* clock_;
  int64_t latency_;
  int max_;
  std::deque<std::pair<int64_t, uint64_t>> pending_;  // (answered at, tag), in order.
  std::vector<uint8_t> buffer_;
};

constexpr int64_t kMs = 1'000'000;

struct LoopRun {
  testing::TempDir dir;
  LoadedDataset data;
  FakeClock clock{1'000 * kMs};
  RunStats stats;
  StopSignal stop;
  PoolOptions pool;
  IdMapper ids{3};

  LoopRun() {
    const auto summary = testing::GenerateSmall(dir);
    REQUIRE(LoadTemplateFile(summary.traces.path, Signal::kTraces, UnitLimits{}, &data).ok());
    REQUIRE(LoadTemplateFile(summary.metrics.path, Signal::kMetrics, UnitLimits{}, &data).ok());
    REQUIRE(LoadTemplateFile(summary.logs.path, Signal::kLogs, UnitLimits{}, &data).ok());
    pool.multiplier = 0;
    pool.series_start_ns = WallNowNs();
  }
  // Runs one worker holding all of `signal`'s units, for `duration_ns` from now.
  bool Run(Signal signal, FakeExporter& exporter, TokenBucket* bucket, int64_t duration_ns) {
    exporter.signal_ = signal;
    const CompiledSignal& c = data.of(signal);
    RequestBuilder builder(c, ids, {}, 1, pool.series_start_ns);
    if (bucket != nullptr) bucket->Start();
    const int64_t deadline = duration_ns > 0 ? clock.NowNs() + duration_ns : 0;
    return SendLoop({signal, 0, c.unit_count()}, pool, exporter, builder, bucket, &stats, &stop,
                    deadline, clock);
  }
};

TEST_CASE("send loop: a request carries one pacing interval of the rate, evenly spaced") {
  LoopRun run;
  FakeExporter exporter(&run.clock, 2 * kMs, 8);
  TokenBucket bucket(2000, &run.clock);  // Log records: 100 per 50 ms.
  const int64_t start = run.clock.NowNs();
  run.Run(Signal::kLogs, exporter, &bucket, 2'000 * kMs);
  REQUIRE(exporter.sent.size() == 40);
  for (size_t k = 0; k < exporter.sent.size(); ++k) {
    const auto& r = exporter.sent[k];
    INFO("request " << k);
    CHECK(r.events == 100);
    // Intended at the middle of its 50 ms, and sent then: evenly spaced.
    CHECK(std::abs(r.intended - (start + static_cast<int64_t>(k) * 50 * kMs + 25 * kMs)) <= 1);
    CHECK(r.at == r.intended);
  }
  CHECK(run.stats.lag_max_ns() == 0);
  CHECK(run.clock.NowNs() == start + 2'000 * kMs);  // The run lasts its duration.
}

TEST_CASE("send loop: traces go whole, within the interval, at their share of the time") {
  LoopRun run;
  FakeExporter exporter(&run.clock, 2 * kMs, 8);
  TokenBucket bucket(1000, &run.clock);  // 50 spans per 50 ms; traces of ~12.
  run.Run(Signal::kTraces, exporter, &bucket, 3'000 * kMs);
  const CompiledSignal& c = run.data.of(Signal::kTraces);
  REQUIRE(exporter.sent.size() > 20);
  uint64_t events = 0;
  for (size_t k = 0; k < exporter.sent.size(); ++k) {
    const auto& r = exporter.sent[k];
    CHECK((r.events <= 50 || r.end == r.begin + 1));  // At most the interval, or one trace.
    uint64_t in_units = 0;
    for (uint32_t u = r.begin; u < r.end; ++u) in_units += c.unit(u).events;
    CHECK(in_units == r.events);  // Whole units only.
    if (k > 0) {
      // The gap between two requests is the time the schedule takes for half of each.
      const auto& prev = exporter.sent[k - 1];
      const double gap_ms = static_cast<double>(r.intended - prev.intended) / kMs;
      CHECK(gap_ms == Approx((prev.events + r.events) / 2.0).margin(0.001));
    }
    events += r.events;
  }
  // The end of the run: what was sent is the rate times the duration, give or take
  // half a request (the last request goes if its middle is due before the end).
  CHECK(std::abs(static_cast<double>(events) - 3000) <= 25 + 10);
}

TEST_CASE("send loop: a duration-bound run delivers rate x duration within half a request") {
  LoopRun run;
  FakeExporter exporter(&run.clock, 1 * kMs, 8);
  const int64_t duration_ms = GENERATE(1234, 997, 5000);
  const double rate = GENERATE(100.0, 777.0, 20000.0);
  TokenBucket bucket(rate, &run.clock);
  run.Run(Signal::kLogs, exporter, &bucket, duration_ms * kMs);
  uint64_t events = 0;
  for (const auto& r : exporter.sent) events += r.events;
  const double expected = rate * static_cast<double>(duration_ms) / 1000;
  const double half_request = std::max(1.0, rate * 0.05) / 2;
  INFO("rate " << rate << " for " << duration_ms << " ms");
  CHECK(std::abs(static_cast<double>(events) - expected) <= half_request + 1);
}

TEST_CASE("late roots: due their delay after their trace's request is done, drained or failed") {
  // On a fake clock: a trace worker at 2,000 spans/s (100 a request, 50 ms apart), its
  // requests answered in 2 ms, hands its late roots (100 ms) to the queue; then the
  // late sender drains them with a drain timeout of 75 ms.
  testing::TempDir dir;
  GeneratorConfig config = testing::SmallConfig(dir);
  config.roots.late_share = 0.3;
  config.roots.late_delay_ms = 100;
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  LoadedDataset data;
  REQUIRE(LoadTemplateFile(summary->traces.path, Signal::kTraces, UnitLimits{}, &data).ok());
  const CompiledSignal& traces = data.of(Signal::kTraces);
  const uint64_t roots = data.late_roots.roots.events;
  REQUIRE(roots > 0);
  FakeClock clock(1'000 * kMs);
  RunStats stats;
  StopSignal stop;
  PoolOptions pool;
  pool.multiplier = 1;
  const IdMapper ids(3);
  FakeExporter trace_out(&clock, 2 * kMs, 8);
  DeferredQueue queue(1'000'000);
  LateRootGate gate(data.late_roots, &queue, clock);
  trace_out.SetListener(&gate);
  RequestBuilder builder(traces, ids, {}, 1, 0);
  TokenBucket bucket(2000, &clock);
  bucket.Start();
  REQUIRE(SendLoop({Signal::kTraces, 0, traces.unit_count()}, pool, trace_out, builder, &bucket,
                   &stats, &stop, 0, clock, nullptr, &gate));
  trace_out.Drain(false);
  REQUIRE(gate.Flush(trace_out, &stats, nullptr, 0));
  trace_out.SetListener(nullptr);
  REQUIRE(trace_out.sent.size() > 3);
  CHECK(queue.pending() == roots);
  // Every queued send is due the delay after one of the requests was answered.
  std::set<int64_t> answered;
  for (const auto& r : trace_out.sent) answered.insert(r.at + 2 * kMs);
  const int64_t last_answer = *answered.rbegin();
  {
    DeferredQueue copy(1'000'000);
    DeferredSend send;
    while (queue.PopDue(INT64_MAX, &send)) {
      CHECK(answered.count(send.due_ns - 100 * kMs) == 1);
      REQUIRE(copy.TryPush(send));
    }
    while (copy.PopDue(INT64_MAX, &send)) REQUIRE(queue.TryPush(send));
  }
  queue.Close();
  // The drain starts now (the last answer): roots due within 75 ms go when due, those
  // of the last request (due in 100 ms) are counted as failed.
  CHECK(clock.NowNs() == last_answer);
  FakeExporter root_out(&clock, 2 * kMs, 8);
  RequestBuilder root_builder(data.late_roots.roots, ids, {}, 1, 0);
  const LateRootResult result =
      SendLateRoots(&queue, root_builder, root_out, &bucket, pool.pacing_interval, 8192,
                    pool.max_request_bytes, std::chrono::milliseconds(75), &stats, &stop, 0, clock);
  uint64_t sent = 0;
  for (const auto& r : root_out.sent) {
    sent += r.events;
    CHECK(r.at >= r.intended);
    CHECK(r.intended - 100 * kMs >= trace_out.sent.front().at);
  }
  CHECK(result.sent == sent);
  CHECK(result.failed > 0);
  CHECK(result.sent > 0);
  CHECK(result.sent + result.failed == roots);
  CHECK(stats.of(Signal::kTraces).events_failed == result.failed);
  const auto errors = stats.Errors(Signal::kTraces);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].kind == "late_roots_not_sent");
  CHECK_THAT(errors[0].first_message, Catch::Contains("drain_timeout (75 ms)"));
}

// --plan's arithmetic against the send loop on a fake clock: what a run sends, per
// signal, in events, requests and bytes, is what the plan said (the wall-clock run of
// the same is end_to_end_test's plan case).
TEST_CASE("the plan predicts what the send loop sends, per signal, exactly") {
  LoopRun run;
  SenderConfig config;  // The defaults, at 20000 events/s for 2 s.
  config.events_per_second = 20000;
  config.duration = std::chrono::seconds(2);
  config.multiplier = 0;
  auto plan = MakePlan(run.data, config);
  REQUIRE(plan.ok());
  CHECK(plan->events == Approx(40000));
  RateLimiter limiter(RateSchedule::Constant(config.events_per_second), 0, run.data.events,
                      &run.clock);
  for (Signal s : kAllSignals) {
    INFO(SignalName(s));
    FakeExporter exporter(&run.clock, 1 * kMs, 8);
    run.pool.max_events = {static_cast<uint64_t>(config.batch_traces),
                           static_cast<uint64_t>(config.batch_metrics),
                           static_cast<uint64_t>(config.batch_logs)};
    run.pool.pacing_interval = config.pacing_interval;
    run.Run(s, exporter, limiter.of(s), 2'000 * kMs);
    uint64_t events = 0;
    for (const auto& r : exporter.sent) events += r.events;
    const PlanSignal& p = plan->signals[SignalIndex(s)];
    const double request = p.events / p.requests;  // The plan's average request.
    CHECK(std::abs(static_cast<double>(events) - p.events) <= request / 2 + 1);
    CHECK(std::abs(static_cast<double>(exporter.sent.size()) - p.requests) <= 1);
  }
}

TEST_CASE("send loop: requests follow a rate change") {
  LoopRun run;
  FakeExporter exporter(&run.clock, 1 * kMs, 8);
  TokenBucket bucket(2000, &run.clock);
  const int64_t change = run.clock.NowNs() + 1'000 * kMs;
  bool changed = false;
  exporter.on_wait = [&](int64_t until) {
    if (!changed && until >= change) {
      run.clock.Set(change);
      bucket.SetRate(200);  // 10 records per 50 ms.
      changed = true;
    }
  };
  run.Run(Signal::kLogs, exporter, &bucket, 2'000 * kMs);
  size_t before = 0, after = 0, straddling = 0;
  uint64_t events_after = 0;
  for (const auto& r : exporter.sent) {
    if (r.at < change) {
      CHECK(r.events == 100);
      ++before;
    } else if (after == 0 && straddling == 0 && r.events == 100) {
      // Cut and reserved before the change, it goes as it was, and the new rate
      // counts it: the next requests wait until the new schedule has caught up.
      ++straddling;
      events_after += r.events;
    } else {
      CHECK(r.events == 10);
      ++after;
      events_after += r.events;
    }
  }
  CHECK(before == 20);
  CHECK(straddling <= 1);
  // A second at the new rate: 200 events, give or take half a request.
  CHECK(std::abs(static_cast<double>(events_after) - 200) <= 5 + 1);
}

TEST_CASE("send loop: a series waits for its previous point, at any concurrency") {
  LoopRun run;
  run.pool.multiplier = 3;
  // Slow answers and many slots: without the gate, replays would overlap.
  FakeExporter exporter(&run.clock, 200 * kMs, 8);
  CHECK(run.Run(Signal::kMetrics, exporter, nullptr, 0));
  uint64_t events = 0;
  for (const auto& r : exporter.sent) events += r.events;
  CHECK(events == 3 * run.data.events[SignalIndex(Signal::kMetrics)]);
  // One request holds the whole (small) replay: each replay waited for the last.
  REQUIRE(exporter.sent.size() == 3);
  CHECK(exporter.sent[1].at >= exporter.sent[0].at + 200 * kMs);
  CHECK(exporter.sent[2].at >= exporter.sent[1].at + 200 * kMs);
}

TEST_CASE("send loop: held back by a slow receiver, the lag grows and shows") {
  LoopRun run;
  // One request at a time, answered after 100 ms, while the schedule wants one every
  // 50 ms: the sender falls behind by 50 ms a request.
  FakeExporter exporter(&run.clock, 100 * kMs, 1);
  TokenBucket bucket(2000, &run.clock);
  run.Run(Signal::kLogs, exporter, &bucket, 2'000 * kMs);
  REQUIRE(exporter.sent.size() >= 19);
  const auto& last = exporter.sent.back();
  CHECK(last.at - last.intended >= 900 * kMs);
  CHECK(run.stats.lag_max_ns() >= 900 * kMs);
  CHECK(run.stats.Snapshot(Signal::kLogs).late_requests >= 15);
  CHECK(bucket.LagNs(run.clock.NowNs()) >= 900 * kMs);
}

SinkOptions Validating() {
  SinkOptions o;
  o.validate = true;
  return o;
}

struct Harness {
  testing::TempDir dir;
  LoadedDataset data;
  OtlpSink sink;
  ExporterOptions exporter;

  explicit Harness(SinkOptions sink_options = Validating()) : sink(sink_options) {
    const auto summary = testing::GenerateSmall(dir);
    REQUIRE(LoadTemplateFile(summary.traces.path, Signal::kTraces, UnitLimits{}, &data).ok());
    REQUIRE(LoadTemplateFile(summary.metrics.path, Signal::kMetrics, UnitLimits{}, &data).ok());
    REQUIRE(LoadTemplateFile(summary.logs.path, Signal::kLogs, UnitLimits{}, &data).ok());
    auto port = sink.Start("127.0.0.1:0");
    REQUIRE(port.ok());
    exporter.target = "127.0.0.1:" + std::to_string(*port);
    exporter.credentials = grpc::InsecureChannelCredentials();
    exporter.plaintext = true;
    exporter.max_in_flight = 4;
    exporter.retry.initial_interval = std::chrono::milliseconds(5);
  }

  void Run(uint64_t multiplier, RunStats* stats) {
    PoolOptions pool;
    pool.workers = 3;
    pool.multiplier = multiplier;
    pool.series_start_ns = WallNowNs();
    StopSignal stop;
    RunWorkerPool(data, pool, exporter, nullptr, stats, &stop);
    sink.Shutdown();
  }
};

TEST_CASE("a multiplier replays the whole dataset exactly that many times") {
  Harness h;
  PoolOptions pool;
  pool.workers = GENERATE(1, 3, 7);
  pool.multiplier = 3;
  pool.run_key = 11;
  pool.series_start_ns = WallNowNs();
  RunStats stats;
  StopSignal stop;
  RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop);
  h.sink.Shutdown();
  const SinkSnapshot got = h.sink.Snapshot();
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    INFO(SignalName(s) << " with " << pool.workers << " workers");
    CHECK(stats.Snapshot(s).events_accepted == 3 * h.data.events[i]);
    CHECK(got.items[i] == 3 * h.data.events[i]);
    CHECK(got.requests[i] == stats.Snapshot(s).requests);  // Each request arrived once.
    CHECK(stats.Snapshot(s).events_failed == 0);
  }
  CHECK(got.validation_errors == 0);
  for (const auto& e : got.examples) WARN(e);
}

TEST_CASE("trace and span IDs are unique across workers and replays, whatever the compression") {
  std::mutex mu;
  std::set<std::string> span_ids;  // trace_id + span_id as received
  std::set<std::string> trace_ids;
  uint64_t spans = 0, duplicates = 0;
  SinkOptions o;
  o.on_request = [&](Signal s, std::string_view bytes) {
    if (s != Signal::kTraces) return;
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
    REQUIRE(req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& rs : req.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& span : ss.spans()) {
          ++spans;
          trace_ids.insert(span.trace_id());
          duplicates += !span_ids.insert(span.trace_id() + span.span_id()).second;
        }
  };
  Harness h(o);
  h.exporter.compression = GENERATE(Compression::kNone, Compression::kGzip, Compression::kZstd);
  PoolOptions pool;
  pool.workers = 4;
  pool.multiplier = 3;
  pool.run_key = 99;
  RunStats stats;
  StopSignal stop;
  RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop);
  h.sink.Shutdown();
  CHECK(spans == 3 * h.data.events[SignalIndex(Signal::kTraces)]);
  CHECK(duplicates == 0);
  CHECK(trace_ids.size() == 3 * 60);  // A new trace ID per trace per replay.
}

TEST_CASE("a stopped pool sends nothing more and drains what is in flight") {
  // The sink stops the pool when its 20th request arrives; every answer takes 5 ms, so
  // requests are on the wire at that moment.
  constexpr int kStopAt = 20;
  StopSignal stop;
  std::atomic<int> arrived{0};
  SinkOptions options = Validating();
  options.delay_ns = 5'000'000;
  options.on_request = [&](Signal, std::string_view) {
    if (++arrived == kStopAt) stop.Stop();
  };
  Harness h(options);
  PoolOptions pool;
  pool.workers = 3;
  pool.multiplier = 0;  // Unlimited: only the stop ends it.
  pool.series_start_ns = WallNowNs();
  RunStats stats;
  const PoolResult result = RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop);
  const SinkSnapshot got = h.sink.Snapshot();
  h.sink.Shutdown();
  CHECK_FALSE(result.replays_done);
  uint64_t sent = 0, received = 0;
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    const SignalSnapshot snap = stats.Snapshot(s);
    INFO(SignalName(s));
    // Drained: every request on the wire at the stop was answered, and counted as the
    // sink counted it; none was abandoned.
    CHECK(snap.events_accepted == got.items[i]);
    CHECK(snap.events_failed == 0);
    sent += snap.requests;
    received += got.requests[i];
  }
  CHECK(sent == received);
  // Nothing more: after the stop, at most the requests already in flight then.
  CHECK(received >= static_cast<uint64_t>(kStopAt));
  CHECK(received <= static_cast<uint64_t>(kStopAt + pool.workers * h.exporter.max_in_flight));
}

TEST_CASE("requests to a port nobody listens on are counted as failed, not accepted") {
  Harness h;
  h.sink.Shutdown();  // The port is now closed.
  h.exporter.timeout = std::chrono::seconds(2);
  h.exporter.retry.initial_interval = std::chrono::milliseconds(20);
  h.exporter.retry.max_elapsed_time = std::chrono::milliseconds(200);
  PoolOptions pool;
  pool.multiplier = 1;
  RunStats stats;
  StopSignal stop;
  RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop);
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    CHECK(snap.events_accepted == 0);
    CHECK(snap.events_failed == h.data.events[SignalIndex(s)]);
    // Retried until max_elapsed_time, then failed: both are reported, once each.
    const auto errors = stats.Errors(s);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].kind == "UNAVAILABLE (retried)");
    CHECK(errors[0].count == snap.retries);
    CHECK(errors[1].kind == "UNAVAILABLE");
    CHECK(errors[1].count == snap.failed_requests);
    CHECK(snap.retries > 0);
  }
}

TEST_CASE("retryable refusals are retried until accepted, and counted as retries") {
  SinkOptions faulty;
  faulty.fail_share = 0.2;  // Every fifth request.
  faulty.fail_code =
      GENERATE(grpc::UNAVAILABLE, grpc::RESOURCE_EXHAUSTED);  // The latter with RetryInfo.
  faulty.retry_after_ns = faulty.fail_code == grpc::RESOURCE_EXHAUSTED ? 2'000'000 : 0;
  Harness h(faulty);
  RunStats stats;
  h.Run(2, &stats);
  const SinkSnapshot got = h.sink.Snapshot();
  uint64_t retries = 0, refused = 0;
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    INFO(SignalName(s) << " code " << otlp::StatusCodeName(faulty.fail_code));
    // Nothing counted as accepted that the sink did not accept, and nothing lost.
    CHECK(stats.Snapshot(s).events_accepted == got.items[i]);
    CHECK(got.items[i] == 2 * h.data.events[i]);
    CHECK(stats.Snapshot(s).events_failed == 0);
    retries += stats.Snapshot(s).retries;
    refused += got.refused_requests[i];
  }
  CHECK(refused > 0);
  CHECK(retries == refused);  // One retry per refusal.
}

TEST_CASE("non-retryable refusals are rejected at once, reported once per kind") {
  SinkOptions faulty;
  faulty.fail_share = 0.25;
  // INVALID_ARGUMENT, and RESOURCE_EXHAUSTED without RetryInfo ("too large").
  faulty.fail_code = GENERATE(grpc::INVALID_ARGUMENT, grpc::RESOURCE_EXHAUSTED);
  Harness h(faulty);
  RunStats stats;
  h.Run(2, &stats);
  const SinkSnapshot got = h.sink.Snapshot();
  uint64_t rejected_requests = 0;
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    const SignalSnapshot snap = stats.Snapshot(s);
    CHECK(snap.retries == 0);
    CHECK(snap.events_failed == 0);  // Refused for good is "rejected", not "failed".
    CHECK(snap.events_rejected == got.refused_items[i]);
    CHECK(snap.rejected_requests == got.refused_requests[i]);
    CHECK(snap.events_accepted == got.items[i]);
    CHECK(snap.events_accepted + snap.events_rejected == 2 * h.data.events[i]);
    rejected_requests += snap.rejected_requests;
    const auto errors = stats.Errors(s);
    if (snap.rejected_requests > 0) {
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].kind == otlp::StatusCodeName(faulty.fail_code));
      CHECK(errors[0].count == snap.rejected_requests);
      CHECK_THAT(errors[0].first_message, Catch::Contains("refused on purpose"));
    }
  }
  CHECK(rejected_requests > 0);
}

TEST_CASE("partial success: rejected items are counted as rejected, not accepted") {
  SinkOptions faulty;
  faulty.reject_share = 0.1;
  Harness h(faulty);
  RunStats stats;
  h.Run(1, &stats);
  const SinkSnapshot got = h.sink.Snapshot();
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    const SignalSnapshot snap = stats.Snapshot(s);
    CHECK(snap.events_rejected == got.rejected_items[i]);
    CHECK(snap.events_accepted == got.items[i]);
    CHECK(snap.events_accepted + snap.events_rejected == h.data.events[i]);
    CHECK(snap.retries == 0);  // A partial success is never retried.
    if (snap.events_rejected > 0) CHECK(stats.Errors(s).at(0).kind == "partial_success");
  }
}

// The schedule, the duration and the caller's clocks start together, once every
// worker is ready: worker start-up is not run time, and nothing goes out before it.
TEST_CASE("the run starts once, when every worker is ready, before any request") {
  Harness h;
  PoolOptions pool;
  pool.workers = GENERATE(1, 7);
  pool.multiplier = 1;
  pool.series_start_ns = WallNowNs();
  RunStats stats;
  StopSignal stop;
  int starts = 0;
  uint64_t sent_at_start = 0, arrived_at_start = 0;
  RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop, [&] {
    ++starts;
    for (Signal s : kAllSignals) {
      sent_at_start += stats.Snapshot(s).requests;
      arrived_at_start += h.sink.Snapshot().requests[SignalIndex(s)];
    }
  });
  h.sink.Shutdown();
  INFO(pool.workers << " workers");
  CHECK(starts == 1);
  CHECK(sent_at_start == 0);
  CHECK(arrived_at_start == 0);
  uint64_t arrived = 0;
  for (Signal s : kAllSignals) arrived += h.sink.Snapshot().items[SignalIndex(s)];
  CHECK(arrived == h.data.events[0] + h.data.events[1] + h.data.events[2]);
}

TEST_CASE("a run with nothing to send still starts, once") {
  Harness h;
  const LoadedDataset empty;
  PoolOptions pool;
  pool.workers = 4;
  pool.multiplier = 1;
  RunStats stats;
  StopSignal stop;
  int starts = 0;
  const PoolResult r =
      RunWorkerPool(empty, pool, h.exporter, nullptr, &stats, &stop, [&] { ++starts; });
  CHECK(starts == 1);
  INFO(r.workers << " workers");
  CHECK(h.sink.Snapshot().requests[0] + h.sink.Snapshot().requests[1] +
            h.sink.Snapshot().requests[2] ==
        0);
}

}  // namespace
}  // namespace loadgen
