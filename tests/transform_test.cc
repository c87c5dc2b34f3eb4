#include "sender/transform.h"

#include <map>
#include <set>

#include "catch2/catch.hpp"
#include "common/template_file.h"
#include "common/wire.h"
#include "google/protobuf/util/message_differencer.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/loader.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;
namespace cm = opentelemetry::proto::collector::metrics::v1;
namespace cl = opentelemetry::proto::collector::logs::v1;
namespace mp = opentelemetry::proto::metrics::v1;
using google::protobuf::util::MessageDifferencer;

constexpr uint64_t kNow = 1'750'000'000'000'000'000ull;
constexpr uint64_t kSeriesStart = kNow - 3'600'000'000'000ull;

std::string NewTrace(const IdMapper& ids, const std::string& tmpl, uint64_t replay) {
  std::string out(16, '\0');
  ids.MapTrace(TraceId::Load(reinterpret_cast<const uint8_t*>(tmpl.data())), replay)
      .Store(reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

std::string NewSpan(const std::string& new_trace, const std::string& tmpl) {
  const uint64_t id =
      IdMapper::MapSpan(wire::LoadLE64(reinterpret_cast<const uint8_t*>(tmpl.data())),
                        TraceId::Load(reinterpret_cast<const uint8_t*>(new_trace.data())));
  return std::string(reinterpret_cast<const char*>(&id), 8);
}

// The latest end of each template trace in a request, from kTemplateEpochNs (the small
// dataset's traces are whole in every request).
std::map<std::string, uint64_t> LatestEnds(const ct::ExportTraceServiceRequest& tmpl) {
  std::map<std::string, uint64_t> latest;
  for (const auto& rs : tmpl.resource_spans())
    for (const auto& ss : rs.scope_spans())
      for (const auto& s : ss.spans()) {
        uint64_t& l = latest[s.trace_id()];
        l = std::max(l, s.end_time_unix_nano() - kTemplateEpochNs);
      }
  return latest;
}

// The straightforward transform the builder must equal: decode, deep-copy, set each
// field (without jitter, which the jitter test checks on its own). A trace is placed so
// that its last span ends at the send time (minus backdate); a log record so that it is
// observed then.
ct::ExportTraceServiceRequest ReferenceTraces(const ct::ExportTraceServiceRequest& tmpl,
                                              const IdMapper& ids, uint64_t replay,
                                              TimestampOptions ts) {
  ct::ExportTraceServiceRequest out = tmpl;
  const std::map<std::string, uint64_t> latest = LatestEnds(tmpl);
  for (auto& rs : *out.mutable_resource_spans())
    for (auto& ss : *rs.mutable_scope_spans())
      for (auto& s : *ss.mutable_spans()) {
        const uint64_t b = kNow - ts.backdate_ns - latest.at(s.trace_id());
        const std::string trace = NewTrace(ids, s.trace_id(), replay);
        s.set_span_id(NewSpan(trace, s.span_id()));
        if (!s.parent_span_id().empty()) s.set_parent_span_id(NewSpan(trace, s.parent_span_id()));
        s.set_trace_id(trace);
        s.set_start_time_unix_nano(b + s.start_time_unix_nano() - kTemplateEpochNs);
        s.set_end_time_unix_nano(b + s.end_time_unix_nano() - kTemplateEpochNs);
        for (auto& e : *s.mutable_events())
          e.set_time_unix_nano(b + e.time_unix_nano() - kTemplateEpochNs);
      }
  return out;
}

cl::ExportLogsServiceRequest ReferenceLogs(const cl::ExportLogsServiceRequest& tmpl,
                                           const IdMapper& ids, uint64_t replay,
                                           TimestampOptions ts) {
  cl::ExportLogsServiceRequest out = tmpl;
  for (auto& rl : *out.mutable_resource_logs())
    for (auto& sl : *rl.mutable_scope_logs())
      for (auto& r : *sl.mutable_log_records()) {
        const uint64_t b =
            kNow - ts.backdate_ns -
            (std::max(r.time_unix_nano(), r.observed_time_unix_nano()) - kTemplateEpochNs);
        r.set_time_unix_nano(b + r.time_unix_nano() - kTemplateEpochNs);
        r.set_observed_time_unix_nano(b + r.observed_time_unix_nano() - kTemplateEpochNs);
        if (!r.trace_id().empty()) {
          const std::string trace = NewTrace(ids, r.trace_id(), replay);
          if (!r.span_id().empty()) r.set_span_id(NewSpan(trace, r.span_id()));
          r.set_trace_id(trace);
        }
      }
  return out;
}

template <typename Point>
void ReferencePoint(Point* p, const TimestampOptions& ts) {
  p->set_time_unix_nano(kNow - ts.backdate_ns + p->time_unix_nano() - kTemplateEpochNs);
  if (p->start_time_unix_nano() != 0) {
    p->set_start_time_unix_nano(kSeriesStart + p->start_time_unix_nano() - kTemplateEpochNs);
  }
}

// Cumulative monotonic values grow by the template value per replay.
cm::ExportMetricsServiceRequest ReferenceMetrics(const cm::ExportMetricsServiceRequest& tmpl,
                                                 TimestampOptions ts, uint64_t replay) {
  const uint64_t k = replay + 1;
  cm::ExportMetricsServiceRequest out = tmpl;
  for (auto& rm : *out.mutable_resource_metrics())
    for (auto& sm : *rm.mutable_scope_metrics())
      for (auto& m : *sm.mutable_metrics()) {
        // mutable_x() would switch the oneof, so only touch the kind the metric has.
        if (m.has_gauge())
          for (auto& p : *m.mutable_gauge()->mutable_data_points()) ReferencePoint(&p, ts);
        if (m.has_sum()) {
          const bool grows = m.sum().is_monotonic() && m.sum().aggregation_temporality() ==
                                                           mp::AGGREGATION_TEMPORALITY_CUMULATIVE;
          for (auto& p : *m.mutable_sum()->mutable_data_points()) {
            ReferencePoint(&p, ts);
            if (grows && p.has_as_int()) p.set_as_int(p.as_int() * static_cast<int64_t>(k));
            if (grows && p.has_as_double()) p.set_as_double(p.as_double() * k);
          }
        }
        if (m.has_histogram()) {
          const bool grows =
              m.histogram().aggregation_temporality() == mp::AGGREGATION_TEMPORALITY_CUMULATIVE;
          for (auto& p : *m.mutable_histogram()->mutable_data_points()) {
            ReferencePoint(&p, ts);
            if (!grows) continue;
            p.set_count(p.count() * k);
            if (p.has_sum()) p.set_sum(p.sum() * k);
            for (auto& c : *p.mutable_bucket_counts()) c *= k;
          }
        }
        if (m.has_exponential_histogram())
          for (auto& p : *m.mutable_exponential_histogram()->mutable_data_points())
            ReferencePoint(&p, ts);
        if (m.has_summary())
          for (auto& p : *m.mutable_summary()->mutable_data_points()) ReferencePoint(&p, ts);
      }
  return out;
}

LoadedDataset Load(const DatasetSummary& s, UnitLimits limits = {}) {
  LoadedDataset d;
  REQUIRE(LoadTemplateFile(s.traces.path, Signal::kTraces, limits, &d).ok());
  REQUIRE(LoadTemplateFile(s.metrics.path, Signal::kMetrics, limits, &d).ok());
  REQUIRE(LoadTemplateFile(s.logs.path, Signal::kLogs, limits, &d).ok());
  return d;
}

// One request as the builder sends it, and the same units unpatched.
struct Built {
  std::string sent, tmpl;
  RequestCut cut;
};

Built Build(RequestBuilder& b, const CompiledSignal& c, uint32_t begin, uint64_t max_events,
            uint64_t replay, size_t max_bytes = 4 << 20) {
  Built out;
  out.cut = b.Cut(begin, c.unit_count(), max_events, max_bytes);
  const std::vector<uint64_t> last_sent(c.unit_count(), kSeriesStart);
  out.sent.resize(out.cut.bytes);
  b.Write(replay, kNow, last_sent.data(), reinterpret_cast<uint8_t*>(out.sent.data()));
  out.tmpl.resize(out.cut.bytes);
  b.WriteTemplate(reinterpret_cast<uint8_t*>(out.tmpl.data()));
  return out;
}

// Every request of one replay at a budget of `max_events`.
template <typename Fn>
void ForEachRequest(RequestBuilder& b, const CompiledSignal& c, uint64_t max_events,
                    uint64_t replay, Fn&& fn) {
  for (uint32_t u = 0; u < c.unit_count();) {
    const Built r = Build(b, c, u, max_events, replay);
    fn(r);
    u = r.cut.end;
  }
}

TEST_CASE("built requests equal a deep-copy-and-set transform, for every signal") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const IdMapper ids(0xC0FFEE);
  const int64_t backdate = GENERATE(int64_t{0}, int64_t{60'000'000'000});
  const TimestampOptions ts{0, backdate};
  const uint64_t replay = GENERATE(0u, 7u);
  const uint64_t budget = GENERATE(1u, 37u, 8192u);
  INFO("backdate " << backdate << " replay " << replay << " budget " << budget);

  RequestBuilder traces(data.of(Signal::kTraces), ids, ts, 1, kSeriesStart);
  ForEachRequest(traces, data.of(Signal::kTraces), budget, replay, [&](const Built& r) {
    ct::ExportTraceServiceRequest tmpl, got;
    REQUIRE(tmpl.ParseFromString(r.tmpl));
    REQUIRE(got.ParseFromString(r.sent));
    CHECK(MessageDifferencer::Equals(got, ReferenceTraces(tmpl, ids, replay, ts)));
  });
  RequestBuilder logs(data.of(Signal::kLogs), ids, ts, 1, kSeriesStart);
  ForEachRequest(logs, data.of(Signal::kLogs), budget, replay, [&](const Built& r) {
    cl::ExportLogsServiceRequest tmpl, got;
    REQUIRE(tmpl.ParseFromString(r.tmpl));
    REQUIRE(got.ParseFromString(r.sent));
    CHECK(MessageDifferencer::Equals(got, ReferenceLogs(tmpl, ids, replay, ts)));
  });
  RequestBuilder metrics(data.of(Signal::kMetrics), ids, ts, 1, kSeriesStart);
  ForEachRequest(metrics, data.of(Signal::kMetrics), budget, replay, [&](const Built& r) {
    cm::ExportMetricsServiceRequest tmpl, got;
    REQUIRE(tmpl.ParseFromString(r.tmpl));
    REQUIRE(got.ParseFromString(r.sent));
    CHECK(MessageDifferencer::Equals(got, ReferenceMetrics(tmpl, ts, replay)));
  });
}

TEST_CASE("requests are cut to the budget and coalesce their units under shared envelopes") {
  testing::TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  const LoadedDataset data = Load(summary);
  const CompiledSignal& c = data.of(Signal::kTraces);
  const IdMapper ids(5);
  RequestBuilder b(c, ids, {}, 1, kSeriesStart);
  const uint64_t budget = GENERATE(1u, 30u, 200u, 100000u);
  INFO("budget " << budget);
  uint64_t spans = 0, requests = 0;
  std::set<std::string> traces;
  ForEachRequest(b, c, budget, 0, [&](const Built& r) {
    ++requests;
    ct::ExportTraceServiceRequest got;
    REQUIRE(got.ParseFromString(r.sent));
    CHECK(got.ByteSizeLong() == r.cut.bytes);  // The size Cut announced is exact.
    std::set<std::string> resources;
    uint64_t n = 0;
    for (const auto& rs : got.resource_spans()) {
      // Each resource (and scope) once per request, however many traces share it.
      CHECK(resources.insert(rs.resource().SerializeAsString()).second);
      std::set<std::string> scopes;
      for (const auto& ss : rs.scope_spans()) CHECK(scopes.insert(ss.scope().name()).second);
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) {
          ++n;
          traces.insert(s.trace_id());
        }
    }
    CHECK(n == r.cut.events);
    // Within the budget, or one whole trace when a trace alone is more.
    CHECK((n <= budget || r.cut.end == r.cut.begin + 1));
    spans += n;
  });
  CHECK(spans == c.events);                // Every span once per replay...
  CHECK(traces.size() == c.unit_count());  // ...with its whole trace in one request.
  if (budget == 100000) CHECK(requests == 1);
  if (budget == 1) CHECK(requests == c.unit_count());

  // A byte limit is kept too: every request fits, and it takes more of them.
  uint64_t small = 0;
  for (uint32_t u = 0; u < c.unit_count();) {
    const RequestCut& cut = b.Cut(u, c.unit_count(), 100000, 16 << 10);
    CHECK((cut.bytes <= (16u << 10) || cut.end == cut.begin + 1));
    ++small;
    u = cut.end;
  }
  CHECK(small > 2);
}

TEST_CASE("a cut never passes the end of the worker's share") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const CompiledSignal& c = data.of(Signal::kLogs);
  const IdMapper ids(5);
  RequestBuilder b(c, ids, {}, 1, kSeriesStart);
  const RequestCut& cut = b.Cut(10, 25, 1000, 4 << 20);
  CHECK(cut.begin == 10);
  CHECK(cut.end == 25);
  CHECK(cut.events == 15);
}

TEST_CASE("each replay gets new IDs, parent links and offsets are kept") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const IdMapper ids(42);
  const CompiledSignal& c = data.of(Signal::kTraces);
  RequestBuilder b(c, ids, {}, 1, kSeriesStart);
  std::set<std::string> trace_ids, span_ids;
  size_t spans_seen = 0, traces_seen = 0;
  for (uint64_t replay = 0; replay < 3; ++replay) {
    ForEachRequest(b, c, 200, replay, [&](const Built& r) {
      ct::ExportTraceServiceRequest tmpl, got;
      REQUIRE(tmpl.ParseFromString(r.tmpl));
      REQUIRE(got.ParseFromString(r.sent));
      std::map<std::string, std::set<std::string>> spans_of_trace;
      std::map<std::string, uint64_t> root_start;
      for (const auto& rs : got.resource_spans())
        for (const auto& ss : rs.scope_spans())
          for (const auto& s : ss.spans()) {
            spans_of_trace[s.trace_id()].insert(s.span_id());
            if (s.parent_span_id().empty()) root_start[s.trace_id()] = s.start_time_unix_nano();
            CHECK(span_ids.insert(s.trace_id() + s.span_id()).second);  // Unique everywhere.
            ++spans_seen;
          }
      for (const auto& [t, _] : spans_of_trace) {
        CHECK(trace_ids.insert(t).second);  // A new trace ID per trace per replay.
        ++traces_seen;
      }
      for (int rs = 0; rs < got.resource_spans_size(); ++rs)
        for (int ss = 0; ss < got.resource_spans(rs).scope_spans_size(); ++ss)
          for (int s = 0; s < got.resource_spans(rs).scope_spans(ss).spans_size(); ++s) {
            const auto& g = got.resource_spans(rs).scope_spans(ss).spans(s);
            const auto& t = tmpl.resource_spans(rs).scope_spans(ss).spans(s);
            CHECK(g.trace_id() != t.trace_id());
            if (!g.parent_span_id().empty()) {
              CHECK(spans_of_trace[g.trace_id()].count(g.parent_span_id()) == 1);
            }
            // Offset from the trace start and duration are the template's, to the ns.
            CHECK(g.start_time_unix_nano() - root_start[g.trace_id()] ==
                  t.start_time_unix_nano() - kTemplateEpochNs);
            CHECK(g.end_time_unix_nano() - g.start_time_unix_nano() ==
                  t.end_time_unix_nano() - t.start_time_unix_nano());
          }
    });
  }
  CHECK(spans_seen == 3 * data.events[SignalIndex(Signal::kTraces)]);
  CHECK(traces_seen == 3 * 60);
}

TEST_CASE("jitter moves each trace and each log record as a whole, within the bound") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const IdMapper ids(9);
  constexpr int64_t kJitter = 250'000'000;
  RequestBuilder b(data.of(Signal::kTraces), ids, {kJitter, 0}, 3, kSeriesStart);
  std::set<uint64_t> shifts;
  ForEachRequest(b, data.of(Signal::kTraces), 100, 0, [&](const Built& r) {
    ct::ExportTraceServiceRequest tmpl, got;
    REQUIRE(tmpl.ParseFromString(r.tmpl));
    REQUIRE(got.ParseFromString(r.sent));
    std::map<std::string, uint64_t> shift_of_trace;
    const std::map<std::string, uint64_t> latest = LatestEnds(tmpl);
    for (int rs = 0; rs < got.resource_spans_size(); ++rs)
      for (int ss = 0; ss < got.resource_spans(rs).scope_spans_size(); ++ss)
        for (int s = 0; s < got.resource_spans(rs).scope_spans(ss).spans_size(); ++s) {
          const auto& g = got.resource_spans(rs).scope_spans(ss).spans(s);
          const auto& t = tmpl.resource_spans(rs).scope_spans(ss).spans(s);
          // How much earlier than "its last span ends now" the trace was placed.
          const uint64_t shift =
              kNow - latest.at(t.trace_id()) -
              (g.start_time_unix_nano() - (t.start_time_unix_nano() - kTemplateEpochNs));
          CHECK(shift <= static_cast<uint64_t>(kJitter));
          CHECK(g.end_time_unix_nano() <= kNow);
          auto [it, fresh] = shift_of_trace.emplace(g.trace_id(), shift);
          CHECK(it->second == shift);  // Every span of a trace moves together.
          if (fresh) shifts.insert(shift);
        }
  });
  CHECK(shifts.size() > 30);  // Traces move apart.
}

TEST_CASE("nothing ends in the future: a trace ends, a record is observed, by the send time") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const IdMapper ids(11);
  const int64_t backdate = GENERATE(int64_t{0}, int64_t{5'000'000'000});
  const uint64_t limit = kNow - static_cast<uint64_t>(backdate);
  uint64_t at_limit = 0, spans = 0;
  RequestBuilder b(data.of(Signal::kTraces), ids, {0, backdate}, 3, kSeriesStart);
  ForEachRequest(b, data.of(Signal::kTraces), 100, 2, [&](const Built& r) {
    ct::ExportTraceServiceRequest got;
    REQUIRE(got.ParseFromString(r.sent));
    for (const auto& rs : got.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) {
          ++spans;
          CHECK(s.end_time_unix_nano() <= limit);
          for (const auto& e : s.events()) CHECK(e.time_unix_nano() <= limit);
          at_limit += s.end_time_unix_nano() == limit;  // Each trace's last span ends then.
        }
  });
  CHECK(at_limit >= 60);  // At least one span per trace, all 60 traces.
  CHECK(spans == data.events[SignalIndex(Signal::kTraces)]);
  RequestBuilder l(data.of(Signal::kLogs), ids, {0, backdate}, 3, kSeriesStart);
  ForEachRequest(l, data.of(Signal::kLogs), 100, 2, [&](const Built& r) {
    cl::ExportLogsServiceRequest got;
    REQUIRE(got.ParseFromString(r.sent));
    for (const auto& rl : got.resource_logs())
      for (const auto& sl : rl.scope_logs())
        for (const auto& rec : sl.log_records()) {
          CHECK(rec.time_unix_nano() <= rec.observed_time_unix_nano());
          CHECK(rec.observed_time_unix_nano() == limit);
        }
  });
}

TEST_CASE("logs of a span carry that span's new IDs in the same replay") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const IdMapper ids(7);
  RequestBuilder traces(data.of(Signal::kTraces), ids, {}, 1, kSeriesStart);
  RequestBuilder logs(data.of(Signal::kLogs), ids, {}, 2, kSeriesStart);
  const uint64_t replay = 4;
  std::set<std::string> sent_spans;  // trace_id + span_id as sent
  ForEachRequest(traces, data.of(Signal::kTraces), 500, replay, [&](const Built& r) {
    ct::ExportTraceServiceRequest got;
    REQUIRE(got.ParseFromString(r.sent));
    for (const auto& rs : got.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) sent_spans.insert(s.trace_id() + s.span_id());
  });
  size_t correlated = 0;
  ForEachRequest(logs, data.of(Signal::kLogs), 7, replay, [&](const Built& r) {
    cl::ExportLogsServiceRequest got;
    REQUIRE(got.ParseFromString(r.sent));
    for (const auto& rl : got.resource_logs())
      for (const auto& sl : rl.scope_logs())
        for (const auto& rec : sl.log_records()) {
          if (rec.trace_id().empty()) continue;
          ++correlated;
          CHECK(sent_spans.count(rec.trace_id() + rec.span_id()) == 1);
        }
  });
  CHECK(correlated > 50);
}

// trace_id + span_id of every span in the requests of units [begin, end) of one replay.
std::set<std::string> SentSpans(RequestBuilder& b, const CompiledSignal& c, uint32_t begin,
                                uint32_t end, uint64_t replay) {
  std::set<std::string> out;
  const std::vector<uint64_t> last_sent(c.unit_count(), kSeriesStart);
  for (uint32_t u = begin; u < end;) {
    const RequestCut& cut = b.Cut(u, end, 100, 4 << 20);
    std::string bytes(cut.bytes, '\0');
    b.Write(replay, kNow, last_sent.data(), reinterpret_cast<uint8_t*>(bytes.data()));
    ct::ExportTraceServiceRequest got;
    REQUIRE(got.ParseFromString(bytes));
    for (const auto& rs : got.resource_spans())
      for (const auto& ss : rs.scope_spans())
        for (const auto& s : ss.spans()) out.insert(s.trace_id() + s.span_id());
    u = cut.end;
  }
  return out;
}

// The spans the exemplars (metrics) or log records (logs) of one replay name.
std::vector<std::string> NamedSpans(RequestBuilder& b, const CompiledSignal& c, Signal signal,
                                    uint64_t replay) {
  std::vector<std::string> out;
  ForEachRequest(b, c, 500, replay, [&](const Built& r) {
    if (signal == Signal::kLogs) {
      cl::ExportLogsServiceRequest got;
      REQUIRE(got.ParseFromString(r.sent));
      for (const auto& rl : got.resource_logs())
        for (const auto& sl : rl.scope_logs())
          for (const auto& rec : sl.log_records())
            if (!rec.span_id().empty()) out.push_back(rec.trace_id() + rec.span_id());
      return;
    }
    cm::ExportMetricsServiceRequest got;
    REQUIRE(got.ParseFromString(r.sent));
    for (const auto& rm : got.resource_metrics())
      for (const auto& sm : rm.scope_metrics())
        for (const auto& m : sm.metrics()) {
          for (const auto& p : m.histogram().data_points())
            for (const auto& e : p.exemplars()) out.push_back(e.trace_id() + e.span_id());
          for (const auto& p : m.exponential_histogram().data_points())
            for (const auto& e : p.exemplars()) out.push_back(e.trace_id() + e.span_id());
        }
  });
  return out;
}

TEST_CASE("exemplars and logs name spans as the trace workers last sent them") {
  testing::TempDir dir;
  GeneratorConfig config = testing::SmallConfig(dir);
  config.metric_count = 85;  // The whole catalog: the service histograms have exemplars.
  auto summary = GenerateDataset(config);
  REQUIRE(summary.ok());
  const LoadedDataset data = Load(*summary);
  const CompiledSignal& traces = data.of(Signal::kTraces);
  REQUIRE(data.of(Signal::kMetrics).span_slots.size() >= 20);
  const uint32_t n = traces.unit_count(), half = n / 2, quarter = (n - half) / 2;
  REQUIRE(quarter >= 4);
  // Two trace workers, as a pool splits the units; replays 3, 5, 7, ... (instance 1 of 2).
  TraceLinks links(traces, {{0, half}, {half, n}}, 3, 2);
  const IdMapper ids(11);
  RequestBuilder trace_builder(traces, ids, {}, 1, kSeriesStart);
  RequestBuilder metrics(data.of(Signal::kMetrics), ids, {}, 2, kSeriesStart, {}, &links);
  RequestBuilder logs(data.of(Signal::kLogs), ids, {}, 3, kSeriesStart, {}, &links);

  // Nothing sent yet: references name the first replay's spans, which come next.
  const std::set<std::string> first = SentSpans(trace_builder, traces, 0, n, 3);
  for (Signal s : {Signal::kMetrics, Signal::kLogs}) {
    const auto named = NamedSpans(s == Signal::kMetrics ? metrics : logs, data.of(s), s, 40);
    REQUIRE(named.size() >= 20);
    for (const auto& id : named) CHECK(first.count(id) == 1);
  }

  // Worker 0 has sent its share once and then a quarter of it again; worker 1 half of
  // its share once. A reference names replay 5 in the first quarter, replay 3 in the
  // rest of worker 0's share and the first half of worker 1's, and the rest of worker 1's
  // share comes next, in replay 3.
  links.Built(0, 1, quarter);
  links.Built(1, 0, quarter);
  const std::set<std::string> again = SentSpans(trace_builder, traces, 0, quarter, 5);
  const std::set<std::string> stale = SentSpans(trace_builder, traces, 0, n, 5);
  const std::set<std::string> superseded = SentSpans(trace_builder, traces, 0, quarter, 3);
  for (Signal s : {Signal::kMetrics, Signal::kLogs}) {
    INFO(SignalName(s));
    const auto named = NamedSpans(s == Signal::kMetrics ? metrics : logs, data.of(s), s, 41);
    size_t in_again = 0, in_first = 0;
    for (const auto& id : named) {
      in_again += again.count(id);
      in_first += first.count(id);
      // Never a span of replay 5 that has not been sent.
      CHECK((again.count(id) == 1 || (first.count(id) == 1 && stale.count(id) == 0)));
      CHECK(superseded.count(id) == 0);  // Replay 5 of these was sent since.
    }
    CHECK(in_again + in_first == named.size());
    CHECK(in_again > 0);
    CHECK(in_first > 0);
  }
  CHECK(links.ReplayOf(TraceLinks::Target{}) == -1);  // A trace the traces do not hold.

  // A run without traces loads the metrics without exemplars, and nothing else changes.
  LoadedDataset bare;
  REQUIRE(LoadTemplateFile(summary->metrics.path, Signal::kMetrics, {}, &bare, {},
                           /*drop_exemplars=*/true)
              .ok());
  CHECK(bare.of(Signal::kMetrics).span_slots.empty());
  CHECK(bare.of(Signal::kMetrics).trace_groups.empty());
  CHECK(bare.of(Signal::kMetrics).events == data.of(Signal::kMetrics).events);
  CHECK(bare.of(Signal::kMetrics).counter_slots.size() ==
        data.of(Signal::kMetrics).counter_slots.size());
}

}  // namespace
}  // namespace loadgen

namespace loadgen {
namespace {

// One metric of each kind, as a template would hold it.
cm::ExportMetricsServiceRequest MetricKinds() {
  cm::ExportMetricsServiceRequest req;
  auto* sm = req.add_resource_metrics()->add_scope_metrics();
  auto point = [](mp::NumberDataPoint* p, bool start) {
    p->set_time_unix_nano(kTemplateEpochNs);
    if (start) p->set_start_time_unix_nano(kTemplateEpochNs);
  };
  auto* counter = sm->add_metrics();
  counter->set_name("requests");
  counter->mutable_sum()->set_is_monotonic(true);
  counter->mutable_sum()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* cp = counter->mutable_sum()->add_data_points();
  point(cp, true);
  cp->set_as_int(40);
  auto* seconds = sm->add_metrics();
  seconds->set_name("cpu.time");
  seconds->mutable_sum()->set_is_monotonic(true);
  seconds->mutable_sum()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* sp = seconds->mutable_sum()->add_data_points();
  point(sp, true);
  sp->set_as_double(2.5);
  auto* delta = sm->add_metrics();
  delta->set_name("delta.requests");
  delta->mutable_sum()->set_is_monotonic(true);
  delta->mutable_sum()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_DELTA);
  auto* dp = delta->mutable_sum()->add_data_points();
  point(dp, true);
  dp->set_as_int(7);
  auto* updown = sm->add_metrics();
  updown->set_name("queue.size");
  updown->mutable_sum()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* up = updown->mutable_sum()->add_data_points();
  point(up, true);
  up->set_as_int(12);
  auto* gauge = sm->add_metrics();
  gauge->set_name("temperature");
  auto* gp = gauge->mutable_gauge()->add_data_points();
  point(gp, false);
  gp->set_as_double(21.5);
  auto* hist = sm->add_metrics();
  hist->set_name("latency");
  hist->mutable_histogram()->set_aggregation_temporality(mp::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* hp = hist->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(kTemplateEpochNs);
  hp->set_start_time_unix_nano(kTemplateEpochNs);
  for (uint64_t c : {3, 5, 2}) hp->add_bucket_counts(c);
  hp->add_explicit_bounds(0.1);
  hp->add_explicit_bounds(1);
  hp->set_count(10);
  hp->set_sum(4.0);
  hp->set_min(0.01);
  hp->set_max(2);
  return req;
}

TEST_CASE("cumulative counters grow across replays, deltas get consecutive windows") {
  SignalCompiler compiler(Signal::kMetrics, {});
  REQUIRE(compiler.Add(MetricKinds().SerializeAsString(), "kinds").ok());
  const CompiledSignal c = compiler.Finish();
  REQUIRE(c.unit_count() == 6);
  const IdMapper ids(1);
  RequestBuilder builder(c, ids, {}, 1, kSeriesStart);
  uint64_t window_start = kSeriesStart;
  std::vector<uint64_t> last_sent(c.unit_count(), kSeriesStart);
  double last_cpu = 0;
  int64_t last_count = 0;
  for (uint64_t replay = 0; replay < 4; ++replay) {
    const uint64_t now = kNow + replay * 10'000'000'000ull;
    const RequestCut& cut = builder.Cut(0, c.unit_count(), 100, 1 << 20);
    std::string out(cut.bytes, '\0');
    builder.Write(replay, now, last_sent.data(), reinterpret_cast<uint8_t*>(out.data()));
    std::fill(last_sent.begin(), last_sent.end(), now);
    cm::ExportMetricsServiceRequest got;
    REQUIRE(got.ParseFromString(out));
    const auto& m = got.resource_metrics(0).scope_metrics(0).metrics();
    INFO("replay " << replay);
    // Counters: template x (replay + 1), a fixed start, never backwards.
    CHECK(m[0].sum().data_points(0).as_int() == 40 * static_cast<int64_t>(replay + 1));
    CHECK(m[0].sum().data_points(0).start_time_unix_nano() == kSeriesStart);
    CHECK(m[1].sum().data_points(0).as_double() >= last_cpu);
    last_cpu = m[1].sum().data_points(0).as_double();
    // Delta: the window runs from the previous send to this one, and the value repeats.
    CHECK(m[2].sum().data_points(0).start_time_unix_nano() == window_start);
    CHECK(m[2].sum().data_points(0).time_unix_nano() == now);
    CHECK(m[2].sum().data_points(0).as_int() == 7);
    // Up-down counters and gauges are sent as they are, with the new time.
    CHECK(m[3].sum().data_points(0).as_int() == 12);
    CHECK(m[4].gauge().data_points(0).as_double() == 21.5);
    CHECK(m[4].gauge().data_points(0).time_unix_nano() == now);
    // Cumulative histogram: count, sum and buckets grow together and stay consistent.
    const auto& h = m[5].histogram().data_points(0);
    uint64_t buckets = 0;
    for (uint64_t c : h.bucket_counts()) buckets += c;
    CHECK(h.count() == 10 * (replay + 1));
    CHECK(buckets == h.count());
    CHECK(h.sum() == Approx(4.0 * (replay + 1)));
    CHECK(h.min() == 0.01);
    CHECK(static_cast<int64_t>(h.count()) >= last_count);
    last_count = static_cast<int64_t>(h.count());
    window_start = now;
  }
}

// Every resource's identity attribute in a metrics request, by resource (its other
// attributes), in request order.
std::map<std::string, std::string> Identities(const std::string& request) {
  cm::ExportMetricsServiceRequest got;
  REQUIRE(got.ParseFromString(request));
  std::map<std::string, std::string> out;
  for (const auto& rm : got.resource_metrics()) {
    std::string rest, id;
    for (const auto& kv : rm.resource().attributes()) {
      const std::string& k = kv.key();
      if (k == "service.instance.id" || k == "k8s.pod.uid" || k == "container.id" ||
          k == "k8s.deployment.uid" || k == "host.id") {
        id = kv.value().string_value();
      } else {
        rest += kv.SerializeAsString();
      }
    }
    REQUIRE(!id.empty());  // The generator gives every metrics resource one.
    out[rest] = id;
  }
  return out;
}

TEST_CASE("series fan-out: each replica is another instance, counting its own visits") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const CompiledSignal& c = data.of(Signal::kMetrics);
  const IdMapper ids(1);
  SeriesFanout fanout;
  fanout.replicas = 3;
  fanout.interval_ns = 10'000'000'000;
  RequestBuilder b(c, ids, {}, 1, kSeriesStart, fanout);
  RequestBuilder plain(c, ids, {}, 1, kSeriesStart);
  std::vector<uint64_t> last_sent(c.unit_count(), kSeriesStart);
  auto build = [&](RequestBuilder& builder, uint64_t replay) {
    const RequestCut& cut = builder.Cut(0, c.unit_count(), 1 << 20, 64 << 20);
    REQUIRE(cut.end == c.unit_count());
    std::string out(cut.bytes, '\0');
    builder.Write(replay, kNow, last_sent.data(), reinterpret_cast<uint8_t*>(out.data()));
    return out;
  };
  // Replays 0, 1, 2 are three instances of every resource; replay 3 is the first again.
  std::set<std::string> seen;
  std::vector<std::map<std::string, std::string>> by_replay;
  for (uint64_t r = 0; r < 6; ++r) {
    by_replay.push_back(Identities(build(b, r)));
    for (const auto& [resource, id] : by_replay.back()) seen.insert(id);
  }
  CHECK(seen.size() == 3 * by_replay[0].size());  // Three identities per resource.
  CHECK(by_replay[0] == by_replay[3]);
  CHECK(by_replay[1] == by_replay[4]);
  CHECK(by_replay[0] == Identities(build(plain, 0)));  // Replica 0 is the template's.
  for (const auto& [resource, id] : by_replay[1])
    CHECK(id.size() == by_replay[0].at(resource).size());
  // A replica's counters grow per visit: replay 4 is replica 1's second visit.
  cm::ExportMetricsServiceRequest second, once;
  REQUIRE(second.ParseFromString(build(b, 4)));
  REQUIRE(once.ParseFromString(build(plain, 1)));
  REQUIRE(second.resource_metrics_size() == once.resource_metrics_size());
  for (int i = 0; i < second.resource_metrics_size(); ++i) {
    // The same points as replay 1 of a plain run: values x2, the same times.
    CHECK(MessageDifferencer::Equals(second.resource_metrics(i).scope_metrics(0),
                                     once.resource_metrics(i).scope_metrics(0)));
  }
}

TEST_CASE("series churn replaces its share of the identities every interval") {
  testing::TempDir dir;
  const LoadedDataset data = Load(testing::GenerateSmall(dir));
  const CompiledSignal& c = data.of(Signal::kMetrics);
  const IdMapper ids(1);
  SeriesFanout fanout;
  fanout.replicas = 60;  // Many (resource, replica) pairs: the share shows.
  fanout.interval_ns = 1'000'000'000;
  fanout.churn_interval_ns = 1'000'000'000;
  fanout.churn_share = 0.3;
  RequestBuilder b(c, ids, {}, 1, kSeriesStart, fanout);
  std::vector<uint64_t> last_sent(c.unit_count(), kSeriesStart);
  auto identities = [&](uint64_t replay, uint64_t now) {
    const RequestCut& cut = b.Cut(0, c.unit_count(), 1 << 20, 64 << 20);
    std::string out(cut.bytes, '\0');
    b.Write(replay, now, last_sent.data(), reinterpret_cast<uint8_t*>(out.data()));
    return Identities(out);
  };
  uint64_t pairs = 0, replaced = 0, again = 0;
  for (uint64_t replica = 0; replica < fanout.replicas; ++replica) {
    // The same replica in two generations (a churn interval apart), and twice in one.
    const auto first = identities(replica, kSeriesStart + 500'000'000);
    const auto later = identities(replica, kSeriesStart + 1'500'000'000);
    const auto same = identities(replica, kSeriesStart + 1'900'000'000);
    for (const auto& [resource, id] : first) {
      ++pairs;
      replaced += later.at(resource) != id;
      again += same.at(resource) != later.at(resource);
    }
  }
  CHECK(again == 0);  // Within an interval an identity stays.
  CHECK(static_cast<double>(replaced) / static_cast<double>(pairs) == Approx(0.3).margin(0.05));
}

}  // namespace
}  // namespace loadgen
