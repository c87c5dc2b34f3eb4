// The sink page's store: bounded by trace count (the oldest dropped first) and by spans
// per trace, records joined to kept traces only, counts per service, the tree in order.
#include "sink/trace_store.h"

#include "catch2/catch.hpp"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace loadgen {
namespace {

std::string Id(char c) { return std::string(16, c); }
std::string SpanId(int i) {
  return std::string(6, '\x01') + static_cast<char>(i >> 8) + static_cast<char>(i & 0xff);
}

// A request of one trace of `spans` spans of `service`, each the child of the one before.
std::string Trace(char id, int spans, const std::string& service) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* attr = rs->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value(service);
  auto* ss = rs->add_scope_spans();
  for (int i = 0; i < spans; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(Id(id));
    span->set_span_id(SpanId(i + 1));
    if (i > 0) span->set_parent_span_id(SpanId(i));
    span->set_name("op" + std::to_string(i));
    span->set_start_time_unix_nano(1'000'000'000 + i * 1000);
    span->set_end_time_unix_nano(2'000'000'000 - i * 1000);
  }
  return req.SerializeAsString();
}

std::string Record(char trace) {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  auto* record = req.add_resource_logs()->add_scope_logs()->add_log_records();
  record->set_trace_id(Id(trace));
  record->mutable_body()->set_string_value(std::string(1000, 'x'));
  return req.SerializeAsString();
}

std::string Hex(char c) { return HexString(std::string(16, c)); }

TEST_CASE("trace store: keeps the last N traces, caps spans per trace, joins records") {
  TraceStore store(3);
  store.Offer(Signal::kLogs, Record('\x01'));  // Before its trace: not kept.
  for (char c = 1; c <= 4; ++c) store.Offer(Signal::kTraces, Trace(c, 3, "svc"));
  store.Offer(Signal::kTraces, Trace('\x05', TraceStore::kMaxSpans + 500, "big"));
  store.Offer(Signal::kLogs, Record('\x05'));
  store.Offer(Signal::kLogs, Record('\x01'));  // Its trace was dropped.
  store.Flush();
  const std::vector<TraceStore::Row> rows = store.Recent();
  REQUIRE(rows.size() == 3);  // 3, 4 and 5; 1 and 2 dropped, oldest first.
  CHECK(rows[0].id == Hex('\x05'));
  CHECK(rows[1].id == Hex('\x04'));
  CHECK(rows[2].id == Hex('\x03'));
  CHECK(rows[0].spans == TraceStore::kMaxSpans + 500);
  CHECK(rows[0].root_name == "op0");
  CHECK(rows[0].root_service == "big");
  CHECK(!store.TraceJson(Hex('\x01')));
  const auto big = nlohmann::json::parse(*store.TraceJson(Hex('\x05')));
  CHECK(big["spans_kept"] == TraceStore::kMaxSpans);
  CHECK(big["spans_seen"] == TraceStore::kMaxSpans + 500);
  CHECK(big["logs_seen"] == 1);
  CHECK(big["logs"][0]["body"].get<std::string>().size() == TraceStore::kMaxValue + 3);
  // The chain in tree order, each one deeper.
  for (int i = 0; i < 5; ++i) {
    CHECK(big["spans"][i]["name"] == "op" + std::to_string(i));
    CHECK(big["spans"][i]["depth"] == i);
  }
  const TraceStore::Totals totals = store.totals();
  CHECK(totals.per_service.at("svc")[0] == 12);
  CHECK(totals.per_service.at("big")[0] == TraceStore::kMaxSpans + 500);
  CHECK(totals.looked_at == 8);
  CHECK(totals.traces == 3);
  CHECK(totals.skipped == 0);
  CHECK(totals.queued == 0);
  CHECK(totals.share_left_ns >= 0);
  CHECK(totals.share_left_ns <= TraceStore::kBusyNsPerSecond);
}

}  // namespace
}  // namespace loadgen
