// otlp-sink against calls a real backend refuses, over a real gRPC connection on
// 127.0.0.1: a unary Export with no request message or two, an unknown method, a
// payload of one signal sent to another signal's service, and a second sink on a taken port. Each
// is refused with the status a gRPC server gives, and nothing from it is counted.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sink/otlp_sink.h"

namespace loadgen {
namespace {

namespace ct = opentelemetry::proto::collector::trace::v1;

constexpr char kTraceExport[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr char kLogsExport[] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

std::string OneSpan() {
  ct::ExportTraceServiceRequest req;
  auto* span = req.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_trace_id(std::string(16, '\x01'));
  span->set_span_id(std::string(8, '\x02'));
  span->set_name("GET /");
  span->set_start_time_unix_nano(1);
  span->set_end_time_unix_nano(2);
  return req.SerializeAsString();
}

// Sends `messages` on one call to `method` (as a stream, which a client may do to any
// method) and returns the call's status.
grpc::Status Call(int port, const std::string& method, const std::vector<std::string>& messages) {
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &cq);
  void* tag;
  bool ok;
  auto step = [&](intptr_t want) {
    REQUIRE(cq.Next(&tag, &ok));
    REQUIRE(reinterpret_cast<intptr_t>(tag) == want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  for (const std::string& m : messages) {
    grpc::Slice slice(m.data(), m.size());
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    if (!step(2)) break;  // The server already finished the call.
  }
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  // Finish waits for every response message to be read.
  grpc::ByteBuffer response;
  do {
    call->Read(&response, reinterpret_cast<void*>(5));
  } while (step(5));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  step(4);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

uint64_t Spans(const OtlpSink& sink) { return sink.Snapshot().items[0]; }

TEST_CASE("sink: a unary Export carries exactly one request message") {
  SinkOptions options;
  options.validate = GENERATE(false, true);
  INFO("validate " << options.validate);
  OtlpSink sink(options);
  auto port = sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());

  SECTION("one message is accepted and counted") {
    const grpc::Status s = Call(*port, kTraceExport, {OneSpan()});
    INFO(s.error_message());
    CHECK(s.ok());
    CHECK(Spans(sink) == 1);
  }
  SECTION("no message at all is refused") {
    const grpc::Status s = Call(*port, kTraceExport, {});
    CHECK(s.error_code() == grpc::INTERNAL);
    CHECK(s.error_message() == "otlp-sink: the call ended without a request message");
    CHECK(Spans(sink) == 0);
  }
  SECTION("an unknown method is UNIMPLEMENTED") {
    const grpc::Status s =
        Call(*port, "/opentelemetry.proto.collector.trace.v1.TraceService/Nope", {OneSpan()});
    CHECK(s.error_code() == grpc::UNIMPLEMENTED);
    CHECK(Spans(sink) == 0);
  }
}

TEST_CASE("sink: a delayed answer comes after its delay, counting or validating") {
  SinkOptions options;
  options.validate = GENERATE(false, true);
  INFO("validate " << options.validate);
  options.delay_ns = 30'000'000;
  OtlpSink sink(options);
  auto port = sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status s = Call(*port, kTraceExport, {OneSpan()});
  // A lower bound only: an answer cannot come before the delay that holds it.
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
  INFO(s.error_message());
  CHECK(s.ok());
  CHECK(Spans(sink) == 1);
}

TEST_CASE("sink: a second request message on a unary call is refused") {
  SinkOptions options;
  options.validate = GENERATE(false, true);
  INFO("validate " << options.validate);
  OtlpSink sink(options);
  auto port = sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  const grpc::Status s = Call(*port, kTraceExport, {OneSpan(), OneSpan()});
  CHECK(s.error_code() == grpc::INTERNAL);
  CHECK(s.error_message() == "otlp-sink: more than one request message on a unary call");
  CHECK(Spans(sink) == 0);
  // The connection and the sink go on serving well-formed calls.
  CHECK(Call(*port, kTraceExport, {OneSpan()}).ok());
  CHECK(Spans(sink) == 1);
}

TEST_CASE("sink: with validation, a request the signal's service cannot decode is refused whole") {
  SinkOptions options;
  options.validate = true;
  OtlpSink sink(options);
  auto port = sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  // A span's name (field 5, a string) is where a LogRecord has its body (an AnyValue
  // message): the logs service cannot decode it, though the nesting walks alike.
  const grpc::Status s = Call(*port, kLogsExport, {OneSpan()});
  CHECK(s.error_code() == grpc::INVALID_ARGUMENT);
  CHECK(s.error_message() == "otlp-sink: malformed logs request");
  const SinkSnapshot snap = sink.Snapshot();
  CHECK(snap.items[2] == 0);
  CHECK(snap.malformed_requests == 1);
  CHECK(snap.validation_errors == 0);
}

TEST_CASE("sink: a second sink on a port in use fails to start") {
  OtlpSink first({});
  auto port = first.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  OtlpSink second({});
  auto taken = second.Start("127.0.0.1:" + std::to_string(*port));
  CHECK_FALSE(taken.ok());
  // And the first one still gets the traffic.
  CHECK(Call(*port, kTraceExport, {OneSpan()}).ok());
  CHECK(Spans(first) == 1);

  auto http = first.StartHttp("127.0.0.1:0");
  REQUIRE(http.ok());
  auto http_taken = second.StartHttp("127.0.0.1:" + std::to_string(*http));
  CHECK_FALSE(http_taken.ok());
}

}  // namespace
}  // namespace loadgen
