// The run summary type: what --stats-json writes reads back the same, a field of the
// wrong type is refused naming the file and the field, and --merge-reports adds up.
#include "sender/modes/summary.h"

#include <string>

#include "catch2/catch.hpp"
#include "nlohmann/json.hpp"
#include "sender/modes/merge.h"
#include "tests/test_util.h"

namespace loadgen::testing {
namespace {

RunSummary Sample(int64_t start_unix_ns, uint64_t scale) {
  RunSummary s;
  s.endpoint = "127.0.0.1:4317";
  s.elapsed_seconds = 10;
  s.target_rate = 1000.0 * scale;
  s.stop_reason = "duration reached";
  s.instances = 2;
  s.start_unix_ns = start_unix_ns;
  s.stats_interval_seconds = 5;
  for (size_t k = 0; k < 3; ++k) {
    SignalSummary& sig = s.signals[k];
    sig.events_sent = sig.events_accepted = 1000 * (k + 1) * scale;
    sig.requests = 10 * (k + 1);
    sig.retries = k;
    sig.bytes = 123456 * scale;
    sig.events_per_second = sig.events_accepted / 10.0;
    sig.latency = {1.5 * scale, 9.25 * scale, 20.0};
    sig.intended_latency = {2.5, 11.0 * scale, 30.0};
  }
  s.signals[0].errors.push_back({"UNAVAILABLE", 3 * scale, "connection \"refused\"\n"});
  s.in_flight_peak = 7;
  s.in_flight_limit = 32;
  s.paced = true;
  s.lag_final_ms = 1.25;
  s.lag_max_ms = 4.5 * scale;
  s.pacing_interval_ms = 50;
  s.peak_rss_bytes = 1 << 20;
  for (int i = 0; i < 2; ++i) {
    IntervalSummary& r = s.intervals.emplace_back();
    r.t = 5.0 * (i + 1);
    r.seconds = 5;
    r.target = 1000.0 * scale;
    r.accepted = {1000 * scale, 500 * scale, 200};
    r.achieved = (r.accepted[0] + r.accepted[1] + r.accepted[2]) / 5.0;
    r.requests = 20;
    r.p99_ms = 3.0 * scale;
    r.in_flight = 2;
  }
  return s;
}

TEST_CASE("summary: the JSON reads back as the same summary") {
  RunSummary s = Sample(1'700'000'000'000'000'000, 1);
  CapacitySummary cap;
  cap.sustained_rate = 15000;
  cap.steps.push_back({10000, 9990, 0, 3.5, 1, true, ""});
  cap.steps.push_back({20000, 15010, 0.02, 900, 2500, false, "lag 2500 ms > 1000 ms"});
  s.capacity = cap;
  const std::string json = ToJson(s);
  auto back = ParseRunSummary(json, "s.json");
  REQUIRE(back.ok());
  CHECK(ToJson(*back) == json);
  CHECK(back->signals[0].errors[0].message == "connection \"refused\"\n");
  CHECK(back->capacity->steps[1].broke == "lag 2500 ms > 1000 ms");
  CHECK(back->Total().events_accepted == 6000);
  // The file carries the totals for its readers.
  CHECK(nlohmann::json::parse(json)["total"]["events_accepted"] == 6000);
}

TEST_CASE("summary: a field of the wrong type is refused, naming the file and the field") {
  TempDir dir;
  const nlohmann::ordered_json good = nlohmann::ordered_json::parse(ToJson(Sample(1, 1)));
  auto refused = [&](const nlohmann::json::json_pointer& field, const nlohmann::json& value) {
    nlohmann::ordered_json bad = good;
    bad[field] = value;
    WriteText(dir.File("bad.json"), bad.dump(2));
    auto merged = MergeReports({dir.File("bad.json")});
    REQUIRE_FALSE(merged.ok());
    return std::string(merged.status().message());
  };
  using P = nlohmann::json::json_pointer;
  CHECK(refused(P("/signals/traces/latency_ms/p99"), "fast") ==
        dir.File("bad.json") + ": signals.traces.latency_ms.p99: expected a number");
  CHECK(refused(P("/signals/logs/events_sent"), -5) ==
        dir.File("bad.json") + ": signals.logs.events_sent: expected a whole number >= 0");
  CHECK(refused(P("/signals/logs/events_sent"), 1e30) ==
        dir.File("bad.json") +
            ": signals.logs.events_sent: expected a whole number from 0 to 18446744073709551615");
  CHECK(refused(P("/intervals/1/accepted"), 12) ==
        dir.File("bad.json") + ": intervals[1].accepted: expected an object");
  CHECK(refused(P("/signals/traces/errors"), "none") ==
        dir.File("bad.json") + ": signals.traces.errors: expected a list");
  CHECK(refused(P("/schedule_lag_ms/paced"), "yes") ==
        dir.File("bad.json") + ": schedule_lag_ms.paced: expected true or false");

  // Not JSON at all: the line it breaks on.
  WriteText(dir.File("cut.json"), good.dump(2).substr(0, 200));
  auto cut = MergeReports({dir.File("cut.json")});
  REQUIRE_FALSE(cut.ok());
  CHECK_THAT(std::string(cut.status().message()),
             Catch::StartsWith(dir.File("cut.json") + ":") && Catch::Contains(": not valid JSON"));
}

TEST_CASE("summary: merged instances add up, on one wall clock") {
  TempDir dir;
  // The second instance started one interval (5 s) later.
  WriteText(dir.File("a.json"), ToJson(Sample(1'000'000'000'000, 1)));
  WriteText(dir.File("b.json"), ToJson(Sample(1'005'000'000'000, 2)));
  auto merged = MergeReports({dir.File("a.json"), dir.File("b.json")});
  REQUIRE(merged.ok());
  const RunSummary& m = merged->summary;
  CHECK(m.merged_from == 2);
  CHECK(m.target_rate == 3000);
  CHECK(m.Total().events_accepted == 6000 + 12000);
  CHECK(m.signals[0].latency.p99 == 18.5);  // The worst instance's.
  CHECK(m.signals[0].errors.size() == 1);
  CHECK(m.signals[0].errors[0].count == 3 + 6);
  CHECK(m.lag_max_ms == 9);
  REQUIRE(m.intervals.size() == 3);  // 0-5 s: a; 5-10 s: a and b; 10-15 s: b.
  CHECK(m.intervals[0].instances == 1);
  CHECK(m.intervals[1].instances == 2);
  CHECK(m.intervals[1].accepted[0] == 1000 + 2000);
  CHECK(m.intervals[1].target == 3000);
  CHECK(m.intervals[1].t == 10);
  CHECK(m.intervals[2].achieved == (2000 + 1000 + 200) / 5.0);
  CHECK_THAT(merged->text,
             Catch::Contains("merged 2 instance summaries") && Catch::Contains("UNAVAILABLE x9"));
  // What it writes is a summary again, and merges like one.
  WriteText(dir.File("m.json"), ToJson(m));
  auto again = MergeReports({dir.File("m.json")});
  REQUIRE(again.ok());
  CHECK(again->summary.Total().events_accepted == m.Total().events_accepted);
}

}  // namespace
}  // namespace loadgen::testing
