// otlp-sink: counts (and with --validate, checks) what OTLP/gRPC senders deliver.
#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include "common/atomic_file.h"
#include "common/duration.h"
#include "common/otlp_wire.h"
#include "common/read_file.h"
#include "common/strings.h"
#include "common/yaml_config.h"
#include "cxxopts.hpp"
#include "fmt/core.h"
#include "sink/otlp_sink.h"

int main(int argc, char** argv) {
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
      "max-recv-bytes", "Largest request accepted",
      cxxopts::value<int>()->default_value("4194304"))(
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
      "http-listen", "Also serve OTLP/HTTP (POST /v1/traces, ...) on this host:port",
      cxxopts::value<std::string>())("tls-cert", "Serve TLS with this PEM certificate chain",
                                     cxxopts::value<std::string>())(
      "tls-key", "Private key (PEM) for --tls-cert", cxxopts::value<std::string>())(
      "tls-client-ca", "Require client certificates signed by this CA (mTLS)",
      cxxopts::value<std::string>())("h,help", "Show this help");
  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "otlp-sink: {}\n", e.what());
    return 2;
  }
  if (args.count("help")) {
    fmt::print("{}\n", options.help());
    return 0;
  }
  loadgen::SinkOptions sink_options;
  sink_options.validate = args.count("validate") > 0;
  sink_options.max_receive_bytes = args["max-recv-bytes"].as<int>();
  auto skew = loadgen::ParseDuration(args["max-skew"].as<std::string>(), "--max-skew");
  if (!skew.ok()) {
    fmt::print(stderr, "otlp-sink: {}\n", skew.status().message());
    return 2;
  }
  sink_options.max_skew_ns = skew->count();
  sink_options.fail_share = args["fail-share"].as<double>();
  sink_options.reject_share = args["reject-share"].as<double>();
  sink_options.delay_share = args["delay-share"].as<double>();
  for (auto [flag, share] : {std::pair{"--fail-share", sink_options.fail_share},
                             std::pair{"--reject-share", sink_options.reject_share},
                             std::pair{"--delay-share", sink_options.delay_share}}) {
    if (!(share >= 0 && share <= 1)) {
      fmt::print(stderr, "otlp-sink: {} takes a share from 0 to 1, got {}\n", flag, share);
      return 2;
    }
  }
  sink_options.max_rate = args["max-rate"].as<double>();
  if (!(sink_options.max_rate >= 0)) {
    fmt::print(stderr, "otlp-sink: --max-rate takes items per second, 0 or more\n");
    return 2;
  }
  const std::string over_rate = args["over-rate"].as<std::string>();
  if (over_rate != "refuse" && over_rate != "delay") {
    fmt::print(stderr, "otlp-sink: --over-rate: expected refuse or delay, got \"{}\"\n", over_rate);
    return 2;
  }
  sink_options.over_rate_delay = over_rate == "delay";
  if (args.count("ledger")) sink_options.ledger_path = args["ledger"].as<std::string>();
  if (args.count("require-header")) {
    const std::string h = args["require-header"].as<std::string>();
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "otlp-sink: --require-header: expected name=value, got \"{}\"\n", h);
      return 2;
    }
    sink_options.required_header_name = h.substr(0, eq);
    for (char& c : sink_options.required_header_name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    sink_options.required_header_value = h.substr(eq + 1);
  }
  const std::string code = args["fail-code"].as<std::string>();
  const auto fail_code = loadgen::otlp::ParseStatusCode(code);
  if (!fail_code) {
    fmt::print(stderr,
               "otlp-sink: --fail-code: unknown gRPC status \"{}\" (a name such as UNAVAILABLE or "
               "a number 1-16)\n",
               code);
    return 2;
  }
  sink_options.fail_code = *fail_code;
  for (auto [flag, out] : {std::pair{"tls-cert", &sink_options.tls_cert_pem},
                           std::pair{"tls-key", &sink_options.tls_key_pem},
                           std::pair{"tls-client-ca", &sink_options.client_ca_pem}}) {
    if (!args.count(flag)) continue;
    auto text = loadgen::ReadFile(args[flag].as<std::string>());
    if (!text.ok()) {
      fmt::print(stderr, "otlp-sink: --{}: {}\n", flag, text.status().message());
      return 2;
    }
    *out = *std::move(text);
  }
  if (sink_options.tls_cert_pem.empty() != sink_options.tls_key_pem.empty()) {
    fmt::print(stderr, "otlp-sink: --tls-cert and --tls-key go together\n");
    return 2;
  }
  for (auto [flag, out] : {std::pair{"retry-after", &sink_options.retry_after_ns},
                           std::pair{"delay", &sink_options.delay_ns},
                           std::pair{"delay-jitter", &sink_options.delay_jitter_ns}}) {
    auto d = loadgen::ParseDuration(args[flag].as<std::string>(), std::string("--") + flag);
    if (!d.ok()) {
      fmt::print(stderr, "otlp-sink: {}\n", d.status().message());
      return 2;
    }
    *out = d->count();
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  loadgen::OtlpSink sink(sink_options);
  const std::string listen = args["listen"].as<std::string>();
  auto port = sink.Start(listen);
  if (!port.ok()) {
    fmt::print(stderr, "otlp-sink: {}\n", port.status().message());
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  // Tests and scripts read this line to learn the port; it is flushed at once.
  fmt::print("otlp-sink listening on {}:{}{}\n", host, *port,
             sink_options.validate ? " (validating)" : "");
  if (args.count("http-listen")) {
    const std::string http = args["http-listen"].as<std::string>();
    auto http_port = sink.StartHttp(http);
    if (!http_port.ok()) {
      fmt::print(stderr, "otlp-sink: --http-listen: {}\n", http_port.status().message());
      return 1;
    }
    fmt::print("otlp-sink OTLP/HTTP listening on {}:{}\n", http.substr(0, http.rfind(':')),
               *http_port);
  }
  std::fflush(stdout);

  int sig;
  sigwait(&sigs, &sig);
  sink.Shutdown();
  const std::string summary = sink.SummaryJson();
  fmt::print("{}", summary);
  std::fflush(stdout);
  if (args.count("stats-file")) {
    if (auto s = loadgen::WriteFileAtomically(args["stats-file"].as<std::string>(), summary);
        !s.ok()) {
      fmt::print(stderr, "otlp-sink: --stats-file: {}\n", s.message());
      return 1;
    }
  }
  return 0;
}
