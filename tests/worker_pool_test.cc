#include "sender/worker_pool.h"

#include <mutex>
#include <set>

#include "bench/otlp_sink.h"
#include "catch2/catch.hpp"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
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

TEST_CASE("trace and span IDs are unique across workers and replays, gzip or not") {
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
  h.exporter.gzip = GENERATE(false, true);
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
  Harness h;
  PoolOptions pool;
  pool.multiplier = 0;  // Unlimited: only the stop ends it.
  RunStats stats;
  StopSignal stop;
  stop.Stop();
  RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop);
  h.sink.Shutdown();
  for (Signal s : kAllSignals) CHECK(stats.Snapshot(s).requests == 0);
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
  faulty.fail_share = 0.2;             // Every fifth request.
  faulty.fail_code = GENERATE(14, 8);  // UNAVAILABLE; RESOURCE_EXHAUSTED with RetryInfo.
  faulty.retry_after_ns = faulty.fail_code == 8 ? 2'000'000 : 0;
  Harness h(faulty);
  RunStats stats;
  h.Run(2, &stats);
  const SinkSnapshot got = h.sink.Snapshot();
  uint64_t retries = 0, refused = 0;
  for (Signal s : kAllSignals) {
    const int i = SignalIndex(s);
    INFO(SignalName(s) << " code " << faulty.fail_code);
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
  faulty.fail_code = GENERATE(3, 8);
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
      CHECK(errors[0].kind == (faulty.fail_code == 3 ? "INVALID_ARGUMENT" : "RESOURCE_EXHAUSTED"));
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

}  // namespace
}  // namespace loadgen
