#include "proto/otlp_json.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace loadgen {
namespace {

using nlohmann::json;

// Deeper than any OTLP message (an AnyValue kvlist nests), shallow enough for the stack.
constexpr int kMaxDepth = 64;

bool IsIdKey(const std::string& key) {
  return key == "traceId" || key == "spanId" || key == "parentSpanId" || key == "trace_id" ||
         key == "span_id" || key == "parent_span_id";
}

// Rewrites hex IDs as the base64 protobuf's JSON parser reads for bytes.
absl::Status HexIdsToBase64(json& node, std::string& path, int depth) {
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": nested deeper than ", kMaxDepth, " levels"));
  }
  const size_t mark = path.size();
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      absl::StrAppend(&path, "[", i, "]");
      if (absl::Status s = HexIdsToBase64(node[i], path, depth + 1); !s.ok()) return s;
      path.resize(mark);
    }
    return absl::OkStatus();
  }
  if (!node.is_object()) return absl::OkStatus();
  for (auto it = node.begin(); it != node.end(); ++it) {
    absl::StrAppend(&path, path.empty() ? "" : ".", it.key());
    if (IsIdKey(it.key()) && it->is_string()) {
      const std::string& hex = it->get_ref<const std::string&>();
      if (hex.size() % 2 != 0 ||
          hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": \"", hex.substr(0, 64),
                         "\" is not a hex string (OTLP/JSON writes IDs as hex)"));
      }
      *it = absl::Base64Escape(absl::HexStringToBytes(hex));
    } else if (absl::Status s = HexIdsToBase64(*it, path, depth + 1); !s.ok()) {
      return s;
    }
    path.resize(mark);
  }
  return absl::OkStatus();
}

std::unique_ptr<google::protobuf::Message> RequestOf(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return std::make_unique<
          opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest>();
    case Signal::kMetrics:
      return std::make_unique<
          opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest>();
    case Signal::kLogs:
      return std::make_unique<
          opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest>();
  }
  return nullptr;
}

}  // namespace

absl::Status OtlpJsonToBinary(Signal signal, std::string_view text, std::string* binary) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // Malformed, or a number out of range.
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", e.what()));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("an OTLP/JSON request is an object");
  }
  std::string path;
  if (absl::Status s = HexIdsToBase64(doc, path, 0); !s.ok()) return s;
  std::unique_ptr<google::protobuf::Message> request = RequestOf(signal);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(doc.dump(), request.get(), options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an ", request->GetDescriptor()->name(), ": ",
                     absl::string_view(parsed.message().data(), parsed.message().size())));
  }
  binary->clear();
  if (!request->SerializeToString(binary)) {
    return absl::InvalidArgumentError("the request does not serialize");
  }
  return absl::OkStatus();
}

std::string ExportResponseJson(Signal signal, const otlp::PartialSuccess& partial) {
  json out = json::object();
  if (partial.rejected > 0 || !partial.message.empty()) {
    const char* key = signal == Signal::kTraces    ? "rejectedSpans"
                      : signal == Signal::kMetrics ? "rejectedDataPoints"
                                                   : "rejectedLogRecords";
    // proto3's JSON writes 64-bit integers as strings.
    out["partialSuccess"] = {{key, std::to_string(partial.rejected)},
                             {"errorMessage", partial.message}};
  }
  return out.dump();
}

std::string StatusJson(grpc::StatusCode code, std::string_view message) {
  return json{{"code", static_cast<int>(code)}, {"message", std::string(message)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

}  // namespace loadgen
