#include "sink/otlp_sink.h"

#include "catch2/catch.hpp"
#include "common/clock.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace loadgen {
namespace {

namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace mp = opentelemetry::proto::metrics::v1;

// A request with one point of a cumulative counter named `name`, attributes in the
// given order.
std::string Counter(const std::string& name, uint64_t start, uint64_t time, int64_t value,
                    const std::vector<std::pair<std::string, std::string>>& attrs,
                    bool monotonic = true) {
  cm::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  auto* ra = rm->mutable_resource()->add_attributes();
  ra->set_key("service.name");
  ra->mutable_value()->set_string_value("checkout");
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("lib");
  auto* m = sm->add_metrics();
  m->set_name(name);
  m->mutable_sum()->set_is_monotonic(monotonic);
  m->mutable_sum()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* p = m->mutable_sum()->add_data_points();
  p->set_start_time_unix_nano(start);
  p->set_time_unix_nano(time);
  p->set_as_int(value);
  for (const auto& [k, v] : attrs) {
    auto* a = p->add_attributes();
    a->set_key(k);
    a->mutable_value()->set_string_value(v);
  }
  return req.SerializeAsString();
}

std::vector<std::string> Kinds(SeriesChecker& checker, const std::string& request) {
  std::vector<std::pair<std::string, std::string>> problems;
  REQUIRE(checker.Check(request, &problems));
  std::vector<std::string> kinds;
  for (const auto& [kind, detail] : problems) kinds.push_back(kind);
  return kinds;
}

using Kinds_ = std::vector<std::string>;

TEST_CASE("series checks: time order, duplicates and cumulative decreases, per series") {
  SeriesChecker c;
  const std::vector<std::pair<std::string, std::string>> ab = {{"a", "1"}, {"b", "2"}};
  const std::vector<std::pair<std::string, std::string>> ba = {{"b", "2"}, {"a", "1"}};
  CHECK(Kinds(c, Counter("requests", 100, 1000, 5, ab)).empty());
  CHECK(Kinds(c, Counter("requests", 100, 2000, 7, ab)).empty());
  // The same series whatever the attributes' order.
  CHECK(Kinds(c, Counter("requests", 100, 2000, 7, ba)) == Kinds_{"series_duplicate_point"});
  CHECK(Kinds(c, Counter("requests", 100, 1500, 9, ba)) == Kinds_{"series_out_of_order"});
  CHECK(Kinds(c, Counter("requests", 100, 3000, 6, ab)) == Kinds_{"cumulative_decrease"});
  // A new start time is a reset, not a decrease.
  CHECK(Kinds(c, Counter("requests", 3500, 4000, 1, ab)).empty());
  // Other attributes, another metric: other series.
  CHECK(Kinds(c, Counter("requests", 100, 1000, 5, {{"a", "9"}})).empty());
  CHECK(Kinds(c, Counter("errors", 100, 1000, 5, ab)).empty());
  // An up-down counter may go down.
  CHECK(Kinds(c, Counter("queue", 100, 1000, 5, ab, false)).empty());
  CHECK(Kinds(c, Counter("queue", 100, 2000, 2, ab, false)).empty());
  CHECK(c.series() == 4);
}

TEST_CASE("the validating sink reports series violations across requests") {
  SinkOptions o;
  o.validate = true;
  o.max_skew_ns = int64_t{1} << 62;  // The points here are from 1970.
  OtlpSink sink(o);
  const std::vector<std::pair<std::string, std::string>> attrs = {{"k", "v"}};
  sink.Receive(Signal::kMetrics, Counter("requests", 100, 2000, 5, attrs));
  sink.Receive(Signal::kMetrics, Counter("requests", 100, 1000, 4, attrs));
  const SinkSnapshot s = sink.Snapshot();
  CHECK(s.errors_by_kind.at("series_out_of_order") == 1);
  CHECK(s.series == 1);
  CHECK(s.items[SignalIndex(Signal::kMetrics)] == 2);
}

TEST_CASE("the sink counts items arriving per second of the wall clock") {
  OtlpSink sink(SinkOptions{});
  const int64_t before = static_cast<int64_t>(WallNowNs() / 1000000000);
  for (int i = 0; i < 5; ++i) sink.Receive(Signal::kMetrics, Counter("m", 1, 2 + i, 1, {}));
  const int64_t after = static_cast<int64_t>(WallNowNs() / 1000000000);
  const SinkSnapshot s = sink.Snapshot();
  CHECK(s.arrivals_start_unix_s >= before);
  CHECK(s.arrivals_start_unix_s <= after);
  uint64_t total = 0;
  for (uint64_t n : s.arrivals) total += n;
  CHECK(total == 5);
  CHECK(s.arrivals.size() <= static_cast<size_t>(after - before + 1));
}

TEST_CASE("a delay share delays exactly that share of requests") {
  SinkOptions o;
  o.delay_ns = 50'000'000;
  o.delay_share = 0.5;
  OtlpSink sink(o);
  int delayed = 0;
  for (int i = 0; i < 10; ++i) {
    const SinkVerdict v = sink.Receive(Signal::kMetrics, Counter("m", 1, 2, 1, {}));
    CHECK((v.delay_ns == 0 || v.delay_ns == 50'000'000));
    delayed += v.delay_ns > 0;
  }
  CHECK(delayed == 5);
}

}  // namespace
}  // namespace loadgen
