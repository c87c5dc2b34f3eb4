#include "sink/flags.h"

#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/compression.h"
#include "common/duration.h"
#include "common/otlp_wire.h"
#include "common/read_file.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace loadgen {
namespace {

absl::Status Bad(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// Shares, the rate cap and the reaction to it.
absl::Status ApplyShapes(const cxxopts::ParseResult& args, SinkOptions* o) {
  o->fail_share = args["fail-share"].as<double>();
  o->reject_share = args["reject-share"].as<double>();
  o->delay_share = args["delay-share"].as<double>();
  for (auto [flag, share] :
       {std::pair{"--fail-share", o->fail_share}, std::pair{"--reject-share", o->reject_share},
        std::pair{"--delay-share", o->delay_share}}) {
    if (!(share >= 0 && share <= 1)) {
      return Bad(StrCat(flag, " takes a share from 0 to 1, got ", share));
    }
  }
  o->max_rate = args["max-rate"].as<double>();
  if (!(o->max_rate >= 0)) return Bad("--max-rate takes items per second, 0 or more");
  const std::string over_rate = args["over-rate"].as<std::string>();
  if (over_rate != "refuse" && over_rate != "delay") {
    return Bad(StrCat("--over-rate: expected refuse or delay, got \"", over_rate, "\""));
  }
  o->over_rate_delay = over_rate == "delay";
  const std::string code = args["fail-code"].as<std::string>();
  const auto fail_code = otlp::ParseStatusCode(code);
  if (!fail_code) {
    return Bad(StrCat("--fail-code: unknown gRPC status \"", code,
                      "\" (a name such as UNAVAILABLE or a number 1-16)"));
  }
  o->fail_code = *fail_code;
  for (auto [flag, out] :
       {std::pair{"max-skew", &o->max_skew_ns}, std::pair{"retry-after", &o->retry_after_ns},
        std::pair{"delay", &o->delay_ns}, std::pair{"delay-jitter", &o->delay_jitter_ns},
        std::pair{"series-interval", &o->series_interval_ns}}) {
    auto d = ParseDuration(args[flag].as<std::string>(), StrCat("--", flag));
    if (!d.ok()) return d.status();
    *out = d->count();
  }
  return absl::OkStatus();
}

absl::Status ApplyRequiredHeader(const std::string& h, SinkOptions* o) {
  const auto eq = h.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Bad(StrCat("--require-header: expected name=value, got \"", h, "\""));
  }
  o->required_header_name = h.substr(0, eq);
  for (char& c : o->required_header_name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  o->required_header_value = h.substr(eq + 1);
  return absl::OkStatus();
}

absl::Status ApplyTls(const cxxopts::ParseResult& args, SinkOptions* o) {
  for (auto [flag, out] :
       {std::pair{"tls-cert", &o->tls_cert_pem}, std::pair{"tls-key", &o->tls_key_pem},
        std::pair{"tls-client-ca", &o->client_ca_pem}}) {
    if (!args.count(flag)) continue;
    auto text = ReadFile(args[flag].as<std::string>());
    if (!text.ok()) return Bad(StrCat("--", flag, ": ", text.status().message()));
    *out = *std::move(text);
  }
  if (o->tls_cert_pem.empty() != o->tls_key_pem.empty()) {
    return Bad("--tls-cert and --tls-key go together");
  }
  return absl::OkStatus();
}

// --accept-encodings: the content codings the sink decodes; the rest are refused.
absl::Status ApplyEncodings(const std::string& list, SinkOptions* o) {
  o->codings = {};
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    const absl::string_view trimmed = absl::StripAsciiWhitespace(name);
    auto coding = ParseContentCoding(std::string_view(trimmed.data(), trimmed.size()));
    if (!coding.ok()) {
      return Bad(StrCat("--accept-encodings: ", coding.status().message(), " in \"", list, "\""));
    }
    o->codings[static_cast<size_t>(*coding)] = true;
  }
  if (!o->codings[static_cast<size_t>(Compression::kNone)]) {
    return Bad("--accept-encodings: identity is always accepted; list it too");
  }
  return absl::OkStatus();
}

}  // namespace

cxxopts::Options SinkFlags() {
  cxxopts::Options options(
      "otlp-sink",
      "A small OTLP/gRPC receiver that counts spans, data points and log records, and\n"
      "optionally validates them. Prints a JSON summary on SIGINT/SIGTERM.\n\n"
      "Examples:\n"
      "  otlp-sink --listen 127.0.0.1:4317 --validate\n"
      "  otlp-sink --listen 127.0.0.1:0 --stats-file /tmp/sink.json   # port 0: any free port\n");
  options.add_options()("listen", "host:port to serve on",
                        cxxopts::value<std::string>()->default_value("127.0.0.1:4317"))(
      "validate", "Decode and check every request (slower)")(
      "max-skew", "With --validate: allowed distance of timestamps from now",
      cxxopts::value<std::string>()->default_value("15m"))(
      "series-interval",
      "With --validate: a metric series' points closer than 90% of this are counted as "
      "series_too_frequent (agents send one per collection interval)",
      cxxopts::value<std::string>()->default_value("0"))(
      "span-memory",
      "With --validate: how many of the latest spans' IDs are kept to tell whether the spans "
      "exemplars and log records name arrived (at most 24 bytes each)",
      cxxopts::value<std::string>()->default_value(
          std::to_string(TraceContextChecker::kDefaultSpans)))(
      "max-recv-bytes", "Largest request accepted",
      cxxopts::value<std::string>()->default_value(std::to_string(otlp::kDefaultMaxMessageBytes)))(
      "stats-file", "Also write the JSON summary here on exit", cxxopts::value<std::string>())(
      "fail-share", "Refuse this share of requests (exact: 0.2 = every 5th)",
      cxxopts::value<double>()->default_value("0"))(
      "fail-code",
      "Status for refusals: UNAVAILABLE, RESOURCE_EXHAUSTED, INVALID_ARGUMENT, ... or a number",
      cxxopts::value<std::string>()->default_value("UNAVAILABLE"))(
      "retry-after", "Attach google.rpc.RetryInfo with this delay to refusals (e.g. 200ms)",
      cxxopts::value<std::string>()->default_value("0"))(
      "reject-share", "Reject this share of each accepted request's items via partial_success",
      cxxopts::value<double>()->default_value("0"))(
      "delay", "Answer every request this much later (e.g. 50ms)",
      cxxopts::value<std::string>()->default_value("0"))(
      "delay-jitter", "Plus up to this much more, varying per request",
      cxxopts::value<std::string>()->default_value("0"))(
      "delay-share", "Delay only this share of requests (exact: 0.5 = every other one)",
      cxxopts::value<double>()->default_value("1"))(
      "max-rate", "Accept at most this many items (spans, points, records) per second",
      cxxopts::value<double>()->default_value("0"))(
      "over-rate",
      "Over --max-rate: refuse (RESOURCE_EXHAUSTED with RetryInfo) or delay (answer late)",
      cxxopts::value<std::string>()->default_value("refuse"))(
      "ledger", "Append every accepted request to this file (survives SIGKILL; see --help-ledger)",
      cxxopts::value<std::string>())(
      "require-header",
      "Refuse (UNAUTHENTICATED / HTTP 401) requests without this header: name=value",
      cxxopts::value<std::string>())(
      "accept-encodings",
      "Request codings decoded (others refused: gRPC UNIMPLEMENTED, HTTP 415): a list of "
      "identity, gzip, zstd, deflate",
      cxxopts::value<std::string>()->default_value("identity,gzip,zstd,deflate"))(
      "http-listen", "Also serve OTLP/HTTP (POST /v1/traces, ...) on this host:port",
      cxxopts::value<std::string>())("tls-cert", "Serve TLS with this PEM certificate chain",
                                     cxxopts::value<std::string>())(
      "tls-key", "Private key (PEM) for --tls-cert", cxxopts::value<std::string>())(
      "tls-client-ca", "Require client certificates signed by this CA (mTLS)",
      cxxopts::value<std::string>())(
      "ui",
      "Serve a page of what arrived on this host:port: totals, recent traces, one trace "
      "as a waterfall with its logs, validation (e.g. 127.0.0.1:8080)",
      cxxopts::value<std::string>())(
      "keep-traces", "With --ui: the last this many traces are kept in memory",
      cxxopts::value<std::string>()->default_value("1000"))("h,help", "Show this help");
  return options;
}

absl::StatusOr<SinkUiOptions> SinkUiFromFlags(const cxxopts::ParseResult& args) {
  SinkUiOptions ui;
  if (args.count("ui")) ui.listen = args["ui"].as<std::string>();
  const std::string keep = args["keep-traces"].as<std::string>();
  int64_t n = 0;
  if (!ParseInt64(keep, &n) || n < 1 || n > 1'000'000) {
    return Bad(
        StrCat("--keep-traces: expected a number of traces from 1 to 1000000, got \"", keep, "\""));
  }
  ui.keep_traces = static_cast<size_t>(n);
  return ui;
}

absl::StatusOr<SinkOptions> SinkOptionsFromFlags(const cxxopts::ParseResult& args) {
  SinkOptions o;
  o.validate = args.count("validate") > 0;
  const std::string max_bytes = args["max-recv-bytes"].as<std::string>();
  int64_t n = 0;
  if (!ParseInt64(max_bytes, &n) || n < 1024 || n > (int64_t{1} << 30)) {
    return Bad(StrCat("--max-recv-bytes: expected bytes from 1024 to 1073741824, got \"", max_bytes,
                      "\""));
  }
  o.max_receive_bytes = static_cast<int>(n);
  const std::string spans = args["span-memory"].as<std::string>();
  if (!ParseInt64(spans, &n) || n < 1 || n > (int64_t{1} << 32)) {
    return Bad(StrCat("--span-memory: expected a number of spans from 1 to 4294967296, got \"",
                      spans, "\""));
  }
  o.span_memory = static_cast<size_t>(n);
  RETURN_IF_ERROR(ApplyShapes(args, &o));
  if (args.count("ledger")) o.ledger_path = args["ledger"].as<std::string>();
  if (args.count("require-header")) {
    RETURN_IF_ERROR(ApplyRequiredHeader(args["require-header"].as<std::string>(), &o));
  }
  RETURN_IF_ERROR(ApplyTls(args, &o));
  RETURN_IF_ERROR(ApplyEncodings(args["accept-encodings"].as<std::string>(), &o));
  return o;
}

}  // namespace loadgen
