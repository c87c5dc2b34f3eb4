// The OTLP wire facts the sender and the sink share: what one writes the other reads,
// and what they write is what the real protobuf classes read.
#include "common/otlp_wire.h"

#include <string>

#include "catch2/catch.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace loadgen::testing {
namespace {

TEST_CASE("otlp_wire: partial success reads back, and as the real response messages") {
  CHECK(otlp::EncodeExportResponse({}).empty());  // Full success: the empty message.
  const std::string bytes = otlp::EncodeExportResponse({12, "12 spans had no name"});
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse traces;
  REQUIRE(traces.ParseFromString(bytes));
  CHECK(traces.partial_success().rejected_spans() == 12);
  CHECK(traces.partial_success().error_message() == "12 spans had no name");
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceResponse logs;
  logs.mutable_partial_success()->set_rejected_log_records(3);
  logs.mutable_partial_success()->set_error_message("too old");
  const otlp::PartialSuccess back = otlp::DecodeExportResponse(logs.SerializeAsString());
  CHECK(back.rejected == 3);
  CHECK(back.message == "too old");
  CHECK(otlp::DecodeExportResponse("").rejected == 0);
  CHECK(otlp::DecodeExportResponse("\x0a\xff").rejected == 0);  // Truncated: nothing read.
}

TEST_CASE("otlp_wire: a status carries its RetryInfo delay, or says it has none") {
  CHECK(otlp::RetryDelayNs(otlp::EncodeStatus(grpc::UNAVAILABLE, "busy")) == -1);
  CHECK(otlp::RetryDelayNs(otlp::EncodeStatus(grpc::RESOURCE_EXHAUSTED, "slow down",
                                              2'500'000'000)) == 2'500'000'000);
  CHECK(otlp::RetryDelayNs("") == -1);
  CHECK(otlp::RetryDelayNs("garbage") == -1);
}

TEST_CASE("otlp_wire: status names, retry rules and the OTLP/HTTP status map") {
  CHECK(otlp::StatusCodeName(grpc::RESOURCE_EXHAUSTED) == "RESOURCE_EXHAUSTED");
  CHECK(otlp::StatusCodeName(static_cast<grpc::StatusCode>(99)) == "UNKNOWN");
  CHECK(otlp::ParseStatusCode("UNAVAILABLE") == grpc::UNAVAILABLE);
  CHECK(otlp::ParseStatusCode("8") == grpc::RESOURCE_EXHAUSTED);
  CHECK_FALSE(otlp::ParseStatusCode("OK").has_value());  // Not a refusal.
  CHECK_FALSE(otlp::ParseStatusCode("17").has_value());
  CHECK_FALSE(otlp::ParseStatusCode("unavailable").has_value());
  for (grpc::StatusCode c : {grpc::UNAVAILABLE, grpc::DEADLINE_EXCEEDED, grpc::ABORTED,
                             grpc::CANCELLED, grpc::OUT_OF_RANGE, grpc::DATA_LOSS}) {
    CHECK(otlp::IsRetryable(c, false));
  }
  CHECK(otlp::IsRetryable(grpc::RESOURCE_EXHAUSTED, true));
  CHECK_FALSE(otlp::IsRetryable(grpc::RESOURCE_EXHAUSTED, false));  // Too big to send.
  CHECK_FALSE(otlp::IsRetryable(grpc::INVALID_ARGUMENT, true));
  CHECK_FALSE(otlp::IsRetryable(grpc::UNAUTHENTICATED, false));
  CHECK(otlp::HttpStatusFor(grpc::UNAVAILABLE) == 503);
  CHECK(otlp::HttpStatusFor(grpc::RESOURCE_EXHAUSTED) == 429);
  CHECK(otlp::HttpStatusFor(grpc::INVALID_ARGUMENT) == 400);
  CHECK(otlp::HttpStatusFor(grpc::INTERNAL) == 500);
  // What the sink answers is what the sender retries, and nothing else.
  for (grpc::StatusCode c : {grpc::UNAVAILABLE, grpc::RESOURCE_EXHAUSTED}) {
    CHECK(otlp::IsRetryableHttpStatus(otlp::HttpStatusFor(c)));
  }
  for (grpc::StatusCode c : {grpc::INVALID_ARGUMENT, grpc::UNAUTHENTICATED, grpc::INTERNAL}) {
    CHECK_FALSE(otlp::IsRetryableHttpStatus(otlp::HttpStatusFor(c)));
  }
}

}  // namespace
}  // namespace loadgen::testing

namespace loadgen::otlp {
namespace {

TEST_CASE("otlp_wire: Retry-After in seconds or as an HTTP-date, else none") {
  // 1999-12-31T23:59:00Z, a minute before the date below.
  const int64_t now = 946684740LL * 1'000'000'000;
  CHECK(RetryAfterNs("120", now) == 120'000'000'000);
  CHECK(RetryAfterNs(" 0 ", now) == 0);
  CHECK(RetryAfterNs("Fri, 31 Dec 1999 23:59:59 GMT", now) == 59'000'000'000);
  CHECK(RetryAfterNs("Fri, 31 Dec 1999 23:00:00 GMT", now) == 0);  // Already past.
  for (const char* bad : {"", "-5", "1.5", "soon", "99999999999", "31 Dec 1999 23:59:59"}) {
    INFO(bad);
    CHECK(RetryAfterNs(bad, now) == -1);
  }
}

}  // namespace
}  // namespace loadgen::otlp
