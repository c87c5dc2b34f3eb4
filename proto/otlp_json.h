// OTLP/JSON, the JSON encoding of OTLP/HTTP (application/json): what the OpenTelemetry
// SDKs' http/json exporters send. It is protobuf's JSON mapping of the same messages
// except for trace and span IDs, which are hex strings instead of base64; keys may be
// lowerCamelCase or the proto names, enums integers, 64-bit integers strings or
// numbers, and unknown keys are ignored, as the OTLP specification requires of a
// receiver.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/otlp_signal.h"
#include "common/otlp_wire.h"
#include "grpcpp/support/status.h"

namespace loadgen {

// Turns an Export<signal>ServiceRequest in OTLP/JSON into its protobuf encoding. Fails
// with InvalidArgument naming the place (a JSON path, or the parser's position) and
// what was expected.
absl::Status OtlpJsonToBinary(Signal signal, std::string_view json, std::string* binary);

// The OTLP/HTTP JSON bodies of a response: an Export<signal>ServiceResponse (with its
// partial success when anything was rejected), and a google.rpc.Status.
std::string ExportResponseJson(Signal signal, const otlp::PartialSuccess& partial);
std::string StatusJson(grpc::StatusCode code, std::string_view message);

}  // namespace loadgen
