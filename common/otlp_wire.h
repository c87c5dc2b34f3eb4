// What OTLP puts on the wire around the telemetry: an Export response's partial
// success, a google.rpc.Status with RetryInfo, gRPC status names, and the HTTP status
// OTLP/HTTP answers for each refusal. The sender reads what the sink writes with the
// same functions, so the two agree by construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "grpcpp/support/status_code_enum.h"

namespace loadgen::otlp {

// The Collector's OTLP receivers refuse gRPC messages above 4 MiB by default: the
// sender's requests stay under it, and the sink enforces it, unless told otherwise.
inline constexpr int kDefaultMaxMessageBytes = 4 << 20;

// Export{Trace,Metrics,Logs}ServiceResponse: field 1 partial_success {1 rejected
// count, 2 error_message}, the same numbers for all three signals. Full success is
// the empty message.
struct PartialSuccess {
  int64_t rejected = 0;
  std::string message;
};
std::string EncodeExportResponse(const PartialSuccess& p);
PartialSuccess DecodeExportResponse(std::string_view response);

// google.rpc.Status {1 code, 2 message, 3 details}; with a delay > 0, the details carry
// google.rpc.RetryInfo {1 retry_delay: Duration}.
std::string EncodeStatus(grpc::StatusCode code, std::string_view message,
                         int64_t retry_delay_ns = 0);
// The RetryInfo delay in a serialized google.rpc.Status, or -1 when there is none.
int64_t RetryDelayNs(std::string_view status);

// UNAVAILABLE, RESOURCE_EXHAUSTED, ...; "UNKNOWN" for a number outside the enum.
std::string_view StatusCodeName(grpc::StatusCode code);
// The code named `name` (upper case, as above) or written as its number 1..16.
std::optional<grpc::StatusCode> ParseStatusCode(std::string_view name);
// Whether an export refused with `code` may be retried (the OTLP spec's list);
// RESOURCE_EXHAUSTED only with RetryInfo, since without it the request is too big.
bool IsRetryable(grpc::StatusCode code, bool has_retry_info);

// OTLP/HTTP: the status for a refusal with a gRPC code (429 and 503 retryable, 400
// malformed, 401/403 auth, 500 otherwise), and whether a client retries an HTTP status.
int HttpStatusFor(grpc::StatusCode code);
bool IsRetryableHttpStatus(long status);
// The gRPC code a client reports for an HTTP status that is not 200 on a gRPC call
// (gRPC's doc/http-grpc-status-mapping.md): 400 INTERNAL, 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, else UNKNOWN.
grpc::StatusCode GrpcCodeForHttpStatus(long status);
// grpc-message's percent-encoding undone (PROTOCOL-HTTP2.md: %XX for bytes outside
// 0x20-0x7E and for '%'); a malformed escape is kept as it is.
std::string PercentDecode(std::string_view text);
// A Retry-After header's wait in ns from `now_unix_ns`: delay-seconds ("120") or an
// HTTP-date ("Fri, 31 Dec 1999 23:59:59 GMT", 0 once past); -1 when it is neither.
int64_t RetryAfterNs(std::string_view value, int64_t now_unix_ns);

}  // namespace loadgen::otlp
