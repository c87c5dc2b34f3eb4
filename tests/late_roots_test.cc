// Late roots at load and in the queue: the loader takes marked roots out of their traces
// into units of their own, in their traces' order, without the mark and on their
// traces' timeline; the queue hands them out by due time within its bound.
#include "sender/late_roots.h"

#include <algorithm>

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/loader.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

struct FileCounts {
  uint64_t spans = 0, marked = 0, marked_roots = 0;
};

FileCounts CountSpans(const std::string& path) {
  FileCounts out;
  for (const TemplateChunk& chunk : testing::ReadChunks(path)) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
    REQUIRE(req.ParseFromString(chunk.payload));
    for (const auto& rs : req.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& span : ss.spans()) {
          ++out.spans;
          for (const auto& kv : span.attributes()) {
            if (kv.key() != kLateRootDelayAttribute) continue;
            ++out.marked;
            out.marked_roots += span.parent_span_id().empty();
            CHECK(kv.value().int_value() == 250);
          }
        }
      }
    }
  }
  return out;
}

TEST_CASE("late roots are split out at load, after their traces, unmarked, on their timeline") {
  testing::TempDir dir;
  GeneratorConfig config = testing::SmallConfig(dir);
  config.roots.late_share = 0.3;
  config.roots.late_delay_ms = 250;
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  const FileCounts file = CountSpans(summary->traces.path);
  INFO(file.marked << " marked of " << file.spans << " spans");
  REQUIRE(file.marked > 0);
  CHECK(file.marked == file.marked_roots);

  LoadedDataset data;
  REQUIRE(LoadTemplateFile(summary->traces.path, Signal::kTraces, UnitLimits{}, &data).ok());
  const CompiledSignal& traces = data.of(Signal::kTraces);
  const LateRoots& late = data.late_roots;
  REQUIRE(!late.empty());
  CHECK(late.roots.unit_count() == file.marked);
  CHECK(late.roots.events == file.marked);
  CHECK(data.events[0] == file.spans);
  CHECK(traces.events + late.roots.events == file.spans);
  CHECK(late.roots.arena.find(kLateRootDelayAttribute) == std::string::npos);
  CHECK(traces.arena.find(kLateRootDelayAttribute) == std::string::npos);
  CHECK(std::all_of(late.delay_ns.begin(), late.delay_ns.end(),
                    [](int64_t d) { return d == 250'000'000; }));
  REQUIRE(late.first_of_unit.size() == traces.unit_count() + 1);
  CHECK(late.first_of_unit.front() == 0);
  CHECK(late.first_of_unit.back() == late.roots.unit_count());
  CHECK(std::is_sorted(late.first_of_unit.begin(), late.first_of_unit.end()));
  // Each root follows the last unit of its trace, and shares its latest time.
  for (uint32_t u = 0; u < traces.unit_count(); ++u) {
    for (uint32_t d = late.first_of_unit[u]; d < late.first_of_unit[u + 1]; ++d) {
      const TraceId trace = late.roots.trace_groups[late.roots.unit(d).first_group];
      auto holds = [&](uint32_t unit) {
        for (uint32_t g = traces.unit(unit).first_group; g < traces.unit(unit + 1).first_group;
             ++g) {
          if (traces.trace_groups[g] == trace) return true;
        }
        return false;
      };
      CHECK(holds(u));
      for (uint32_t later = u + 1; later < traces.unit_count(); ++later) CHECK(!holds(later));
      CHECK(late.roots.unit(d).latest_ns == traces.unit(u).latest_ns);
    }
  }

  SECTION("a dataset without marks has no late roots") {
    testing::TempDir plain_dir;
    auto plain = GenerateDataset(testing::SmallConfig(plain_dir));
    REQUIRE(plain.ok());
    LoadedDataset plain_data;
    REQUIRE(LoadTemplateFile(plain->traces.path, Signal::kTraces, UnitLimits{}, &plain_data).ok());
    CHECK(plain_data.late_roots.empty());
    CHECK(plain_data.events[0] == plain_data.of(Signal::kTraces).events);
  }
}

TEST_CASE("a late root whose trace has no other span in its chunk is an error naming it") {
  // A request of one marked root alone.
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x11'));
  span->set_span_id(std::string(8, '\x22'));
  auto* kv = span->add_attributes();
  kv->set_key(std::string(kLateRootDelayAttribute));
  kv->mutable_value()->set_int_value(100);
  std::string rest;
  std::vector<std::string> roots;
  std::vector<int64_t> delays;
  const absl::Status s = SplitLateRoots(req.SerializeAsString(), &rest, &roots, &delays);
  CHECK(!s.ok());
  CHECK_THAT(std::string(s.message()), Catch::Contains("11111111111111111111111111111111") &&
                                           Catch::Contains("no other span of its trace"));
}

TEST_CASE("the deferred queue hands out sends by due time, within its bound") {
  DeferredQueue queue(5);
  CHECK(queue.next_due_ns() == RateSchedule::kForever);
  CHECK(queue.TryPush({30, 0, 0, 0, 2}));
  CHECK(queue.TryPush({10, 0, 1, 2, 3}));
  CHECK(queue.TryPush({20, 0, 2, 3, 5}));
  CHECK(queue.pending() == 5);
  CHECK(!queue.TryPush({5, 0, 3, 5, 6}));  // A sixth root would pass the bound.
  CHECK(queue.next_due_ns() == 10);
  DeferredSend got;
  CHECK(!queue.PopDue(9, &got));
  REQUIRE(queue.PopDue(25, &got));
  CHECK(got.due_ns == 10);
  CHECK(got.replay == 1);
  REQUIRE(queue.PopDue(25, &got));
  CHECK(got.due_ns == 20);
  CHECK(!queue.PopDue(25, &got));
  CHECK(queue.pending() == 2);
  CHECK(queue.TakeAll() == 2);
  CHECK(queue.next_due_ns() == RateSchedule::kForever);
  // An empty queue takes a send bigger than its bound, so nothing waits forever.
  CHECK(queue.TryPush({1, 0, 0, 0, 9}));
  CHECK(queue.peak_pending() == 9);
  CHECK(!queue.closed());
  queue.Close();
  CHECK(queue.closed());
}

}  // namespace
}  // namespace loadgen
