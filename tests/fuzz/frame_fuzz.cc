// Fuzzes what the sender and the sink do with request bytes: the signal compiler and,
// for payloads it accepts, request building at several budgets (every request built
// must be well formed, announce its exact size, and together the requests of a replay
// must hold every item once), and the sink's counting and validation of untrusted
// network input: whatever protobuf's parser refuses, the sink's wire-walking validation
// refuses too. The first byte picks the signal.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/random.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/frame.h"
#include "sender/transform.h"
#include "sink/otlp_sink.h"
#include "sink/validate.h"

namespace {

bool ProtobufParses(loadgen::Signal signal, const std::string& bytes) {
  switch (signal) {
    case loadgen::Signal::kTraces:
      return opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest()
          .ParseFromString(bytes);
    case loadgen::Signal::kMetrics:
      return opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest()
          .ParseFromString(bytes);
    case loadgen::Signal::kLogs:
      return opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest().ParseFromString(
          bytes);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto signal = static_cast<loadgen::Signal>(data[0] % 3 + 1);
  const std::string payload(reinterpret_cast<const char*>(data + 1), size - 1);

  uint64_t counted = 0;
  const bool well_formed = loadgen::CountItems(signal, payload, &counted);
  std::vector<std::pair<std::string, std::string>> problems;
  loadgen::ValidateRequest(signal, payload, 5'000'000'000, 1'000'000'000, &problems);
  const bool undecodable = !problems.empty() && problems.back().first == "undecodable_request";
  // The walk may refuse more (groups, which OTLP never uses), never less.
  if (!undecodable && !ProtobufParses(signal, payload)) std::abort();

  loadgen::SignalCompiler compiler(signal, {.max_items = 3, .max_bytes = 1024});
  auto items = compiler.Add(payload, "fuzz");
  if (!items.ok()) return 0;
  if (well_formed && *items != counted) std::abort();  // Compiling lost or invented items.
  const loadgen::CompiledSignal compiled = compiler.Finish();
  if (compiled.empty()) return 0;
  const loadgen::IdMapper ids(42);
  loadgen::RequestBuilder builder(compiled, ids, loadgen::TimestampOptions{.jitter_ns = 1000}, 7,
                                  1'000'000'000);
  const std::vector<uint64_t> last_sent(compiled.unit_count(), 1'000'000'000);
  std::string out;
  for (uint64_t budget : {uint64_t{1}, uint64_t{4}, uint64_t{1000}}) {
    uint64_t total = 0;
    for (uint32_t u = 0; u < compiled.unit_count();) {
      const loadgen::RequestCut& cut = builder.Cut(u, compiled.unit_count(), budget, 4096);
      out.assign(cut.bytes, '\0');
      builder.Write(budget, 2'000'000'000, last_sent.data(),
                    reinterpret_cast<uint8_t*>(out.data()));
      uint64_t n = 0;
      if (!loadgen::CountItems(signal, out, &n) || n != cut.events) std::abort();
      total += n;
      u = cut.end;
    }
    if (total != compiled.events) std::abort();
  }
  return 0;
}
