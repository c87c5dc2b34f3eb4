#include "common/otlp_signal.h"

namespace loadgen {

std::string_view SignalName(Signal s) {
  switch (s) {
    case Signal::kTraces: return "traces";
    case Signal::kMetrics: return "metrics";
    case Signal::kLogs: return "logs";
  }
  return "unknown";
}

std::string_view EventName(Signal s) {
  switch (s) {
    case Signal::kTraces: return "spans";
    case Signal::kMetrics: return "data_points";
    case Signal::kLogs: return "log_records";
  }
  return "unknown";
}

std::string_view ExportMethod(Signal s) {
  switch (s) {
    case Signal::kTraces: return "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    case Signal::kMetrics: return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    case Signal::kLogs: return "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
  }
  return "";
}

}  // namespace loadgen
