// What instruments a service, as a backend sees it: the SDK and runtime of its language
// (telemetry.sdk.*, process.runtime.* on its resource) and, per kind of span, the
// instrumentation library that made it (the span's InstrumentationScope, with its
// version), as the OpenTelemetry SDKs and their contrib instrumentations name them.
// Languages are spread over a topology's services; each service keeps one.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace loadgen {

// The libraries a span (or log record) comes from.
enum class Library : int {
  kHttpServer,
  kHttpClient,
  kGrpcServer,
  kGrpcClient,
  kDatabase,
  kCache,
  kMessaging,
  kLogs,
  kCount,
};

struct Scope {
  std::string_view name, version;
};

struct Runtime {
  std::string_view language;  // telemetry.sdk.language
  std::string_view sdk_version;
  std::string_view runtime_name, runtime_version, runtime_description;  // process.runtime.*
  std::array<Scope, static_cast<size_t>(Library::kCount)> scopes;
};

// The runtimes services are spread over: java, go, python, nodejs, dotnet.
inline constexpr int kRuntimeCount = 5;
const Runtime& RuntimeAt(int index);

// The semantic-conventions version whose names the generator uses, and its schema URL.
inline constexpr std::string_view kSchemaUrl = "https://opentelemetry.io/schemas/1.44.0";

}  // namespace loadgen
