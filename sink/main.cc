// otlp-sink: counts (and with --validate, checks) what OTLP/gRPC senders deliver.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>

#include "common/atomic_file.h"
#include "common/command_line.h"
#include "common/strings.h"
#include "cxxopts.hpp"
#include "fmt/core.h"
#include "grpc/support/log.h"
#include "sink/flags.h"
#include "sink/otlp_sink.h"
#include "sink/trace_store.h"
#include "sink/ui.h"

namespace {

// gRPC's log, less one line: gRPC C-core does not know the zstd encoding, and says so
// for every connection that uses it ("Error parsing metadata: ... key=grpc-encoding
// value=zstd"), though the sink decodes zstd itself (OtlpSink::Decode).
void GrpcLog(gpr_log_func_args* args) {
  const std::string_view message = args->message;
  if (message.find("key=grpc-encoding value=zstd") != std::string_view::npos) return;
  fmt::print(stderr, "{} {}:{}] {}\n", gpr_log_severity_string(args->severity), args->file,
             args->line, message);
}

}  // namespace

int main(int argc, char** argv) {
  gpr_set_log_function(GrpcLog);
  cxxopts::Options options = loadgen::SinkFlags();
  const loadgen::CommandLine command_line =
      loadgen::ParseCommandLine("otlp-sink", options, argc, argv);
  if (!command_line.args) return command_line.exit_code;
  const cxxopts::ParseResult& args = *command_line.args;
  auto parsed = loadgen::SinkOptionsFromFlags(args);
  if (!parsed.ok()) {
    fmt::print(stderr, "otlp-sink: {}\n", parsed.status().message());
    return 2;
  }
  auto ui = loadgen::SinkUiFromFlags(args);
  if (!ui.ok()) {
    fmt::print(stderr, "otlp-sink: {}\n", ui.status().message());
    return 2;
  }
  loadgen::SinkOptions sink_options = *parsed;
  // --ui: the page's store looks at a copy of what is accepted, on its own thread.
  std::unique_ptr<loadgen::TraceStore> store;
  if (!ui->listen.empty()) {
    store = std::make_unique<loadgen::TraceStore>(ui->keep_traces);
    sink_options.on_request = [s = store.get()](loadgen::Signal signal, std::string_view request) {
      s->Offer(signal, request);
    };
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
  std::unique_ptr<loadgen::HttpServer> page;
  if (store != nullptr) {
    page = std::make_unique<loadgen::HttpServer>(
        loadgen::SinkUiHandler(sink, *store, sink_options.validate));
    auto ui_port = page->Start(ui->listen);
    if (!ui_port.ok()) {
      fmt::print(stderr, "otlp-sink: --ui: {}\n", ui_port.status().message());
      return 1;
    }
    fmt::print("otlp-sink page on http://{}:{}/ (the last {} traces)\n",
               ui->listen.substr(0, ui->listen.rfind(':')), *ui_port, ui->keep_traces);
  }
  std::fflush(stdout);

  int sig;
  sigwait(&sigs, &sig);
  if (page != nullptr) page->Stop();
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
