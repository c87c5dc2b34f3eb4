#include "sender/worker_pool.h"

#include "bench/otlp_sink.h"
#include "catch2/catch.hpp"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

TEST_CASE("workers split by each signal's share of events, at least one per signal") {
  CHECK(SplitWorkers(4, {30000, 450, 20000}, {8, 4, 5}) == std::array<int, 3>{2, 1, 1});
  CHECK(SplitWorkers(10, {600, 300, 100}, {50, 50, 50}) == std::array<int, 3>{6, 3, 1});
  CHECK(SplitWorkers(1, {10, 10, 10}, {5, 5, 5}) == std::array<int, 3>{1, 1, 1});
  CHECK(SplitWorkers(8, {100, 0, 0}, {3, 0, 0}) == std::array<int, 3>{3, 0, 0});  // Frame cap.
  CHECK(SplitWorkers(4, {0, 0, 0}, {0, 0, 0}) == std::array<int, 3>{0, 0, 0});
}

struct Harness {
  testing::TempDir dir;
  LoadedDataset data;
  OtlpSink sink{[] {
    SinkOptions o;
    o.validate = true;
    return o;
  }()};
  ExporterOptions exporter;

  Harness() {
    const auto summary = testing::GenerateSmall(dir);
    REQUIRE(LoadTemplateFile(summary.traces.path, Signal::kTraces, 4 << 20, &data).ok());
    REQUIRE(LoadTemplateFile(summary.metrics.path, Signal::kMetrics, 4 << 20, &data).ok());
    REQUIRE(LoadTemplateFile(summary.logs.path, Signal::kLogs, 4 << 20, &data).ok());
    auto port = sink.Start("127.0.0.1:0");
    REQUIRE(port.ok());
    exporter.target = "127.0.0.1:" + std::to_string(*port);
    exporter.credentials = grpc::InsecureChannelCredentials();
    exporter.max_in_flight = 4;
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
    CHECK(got.requests[i] == 3 * h.data.frames[i].size());
    CHECK(stats.Snapshot(s).events_failed == 0);
  }
  CHECK(got.validation_errors == 0);
  for (const auto& e : got.examples) WARN(e);
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
  PoolOptions pool;
  pool.multiplier = 1;
  RunStats stats;
  StopSignal stop;
  RunWorkerPool(h.data, pool, h.exporter, nullptr, &stats, &stop);
  for (Signal s : kAllSignals) {
    const SignalSnapshot snap = stats.Snapshot(s);
    CHECK(snap.events_accepted == 0);
    CHECK(snap.events_failed == h.data.events[SignalIndex(s)]);
    CHECK_THAT(stats.FirstError(s), Catch::Contains("gRPC status 14"));  // UNAVAILABLE
  }
}

}  // namespace
}  // namespace loadgen
