// Scale-out: N sender processes (--instance i --instances N, or the index from a
// Kubernetes Indexed Job's JOB_COMPLETION_INDEX) against one real gRPC sink on
// 127.0.0.1. Together they send exactly the configured load, with trace IDs disjoint
// by instance and every resource tagged with its instance.
#include <map>
#include <mutex>
#include <set>

#include "catch2/catch.hpp"
#include "common/wire.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sink/otlp_sink.h"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;

struct Seen {
  std::mutex mu;
  std::map<int, std::set<std::string>> trace_ids_by_tag;  // By bytes 0-1 of the ID.
  std::map<std::string, int64_t> spans_by_instance;       // By resource loadgen.instance.
  int64_t mismatched = 0;  // Spans whose ID tag and resource attribute disagree.
};

void Collect(Seen* seen, std::string_view request) {
  ct::ExportTraceServiceRequest r;
  REQUIRE(r.ParseFromArray(request.data(), static_cast<int>(request.size())));
  std::lock_guard<std::mutex> lock(seen->mu);
  for (const auto& rs : r.resource_spans()) {
    std::string instance = "(none)";
    for (const auto& kv : rs.resource().attributes()) {
      if (kv.key() == "loadgen.instance") instance = kv.value().string_value();
    }
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        const auto* id = reinterpret_cast<const uint8_t*>(span.trace_id().data());
        const int tag = id[0] | id[1] << 8;
        seen->trace_ids_by_tag[tag].insert(span.trace_id());
        ++seen->spans_by_instance[instance];
        if (std::to_string(tag) != instance) ++seen->mismatched;
      }
    }
  }
}

TEST_CASE("scale-out: N instances together send the multiplier's replays, IDs disjoint") {
  TempDir dir;
  const std::string prefix = GenerateSmallDataset(dir);
  const int64_t spans = MetaCount(ReadText(prefix + "-metadata.yaml"), "spans");
  Seen seen;
  SinkOptions options;
  options.on_request = [&](Signal s, std::string_view request) {
    if (s == Signal::kTraces) Collect(&seen, request);
  };
  OtlpSink sink(options);
  auto port = sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  const std::string config = WriteSenderConfig(dir, prefix);
  std::vector<std::unique_ptr<Process>> senders;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> argv = {BinaryPath("telemetry-sender"),
                                     "--config",
                                     config,
                                     "--endpoint",
                                     "127.0.0.1:" + std::to_string(*port),
                                     "--rate",
                                     "0",
                                     "--multiplier",
                                     "6",
                                     "--instances",
                                     "3"};
    std::vector<std::string> env;
    if (i == 2) {
      env.push_back("JOB_COMPLETION_INDEX=2");  // As in an Indexed Job.
    } else {
      argv.insert(argv.end(), {"--instance", std::to_string(i)});
    }
    senders.push_back(std::make_unique<Process>(argv, env));
  }
  for (auto& p : senders) {
    INFO(p->out() << p->err());
    REQUIRE(p->Wait() == 0);
    CHECK_THAT(p->out(), Catch::Contains("of 3: its share"));
  }
  sink.Shutdown();
  // Six replays in all, two per instance.
  CHECK(static_cast<int64_t>(sink.Snapshot().items[0]) == 6 * spans);
  REQUIRE(seen.trace_ids_by_tag.size() == 3);
  for (int tag = 0; tag < 3; ++tag) {
    INFO("instance " << tag);
    CHECK(seen.spans_by_instance[std::to_string(tag)] == 2 * spans);
  }
  CHECK(seen.mismatched == 0);
  // Disjoint by construction: the tags differ; within an instance, replays differ.
  size_t ids = 0;
  for (const auto& [tag, set] : seen.trace_ids_by_tag) ids += set.size();
  CHECK(ids == seen.trace_ids_by_tag[0].size() * 3);
}

TEST_CASE("scale-out: N instances at a rate add up to the rate") {
  TempDir dir;
  const std::string config = DefaultSetup(dir);  // The shipped defaults.
  SinkProcess sink;
  auto json = [&](int i) {
    std::string name = "s";  // Built stepwise: GCC 12 -O3 misreports "a" + s + "b".
    name += std::to_string(i);
    name += ".json";
    return dir.File(name);
  };
  std::vector<std::unique_ptr<Process>> senders;
  for (int i = 0; i < 2; ++i) {
    senders.push_back(std::make_unique<Process>(
        std::vector<std::string>{BinaryPath("telemetry-sender"), "--config", config, "--endpoint",
                                 sink.endpoint(), "--rate", "10000", "--duration", "4s",
                                 "--instances", "2", "--instance", std::to_string(i),
                                 "--stats-json", json(i)},
        std::vector<std::string>{}, dir.path()));
  }
  for (auto& p : senders) {
    INFO(p->out() << p->err());
    REQUIRE(p->Wait() == 0);
  }
  const std::string got = sink.Stop();
  const int64_t total = SinkAccepted(got);
  for (int i = 0; i < 2; ++i) {
    const std::string s = ReadText(json(i));
    CHECK(JsonDouble(s, "target_rate") == Approx(5000));  // Each its half.
  }
  // 10000/s together for 4 s, within 2%.
  CHECK(std::abs(total - 40000) <= 40000 * 2 / 100);

  // The instances' summaries merge into one that adds up to what the sink received.
  auto merged = Run({BinaryPath("telemetry-sender"), "--merge-reports", json(0), json(1),
                     "--stats-json", dir.File("merged.json"), "--report", dir.File("all.html")});
  INFO(merged.out << merged.err);
  REQUIRE(merged.exit_code == 0);
  CHECK_THAT(merged.out, Catch::Contains("merged 2 instance summaries"));
  const std::string m = ReadText(dir.File("merged.json"));
  CHECK(JsonInt(m, "events_accepted", "\"total\"") == total);
  CHECK(JsonInt(m, "events_accepted", "\"traces\"") == JsonInt(got, "spans"));
  CHECK(JsonInt(m, "events_accepted", "\"logs\"") == JsonInt(got, "log_records"));
  CHECK(JsonDouble(m, "target_rate") == Approx(10000));
  CHECK(JsonDouble(m, "target", "\"intervals\"") == Approx(10000).margin(100));
  CHECK(JsonInt(m, "instances", "\"intervals\"") == 2);  // Both in the first interval.
  CHECK_THAT(ReadText(dir.File("all.html")),
             Catch::Contains("2 instances") && Catch::Contains("Rate: target vs achieved"));

  // Anything but a summary is refused, naming the file.
  WriteText(dir.File("not-a-summary.json"), "{\"hello\": 1}\n");
  auto bad = Run(
      {BinaryPath("telemetry-sender"), "--merge-reports", json(0), dir.File("not-a-summary.json")});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains(dir.File("not-a-summary.json") +
                                      ": not a sender JSON summary (no \"signals\""));
}

}  // namespace
}  // namespace loadgen::testing
