// TLS and mTLS between the sender's exporter and otlp-sink on 127.0.0.1, with
// certificates made at test time by openssl.
#include "catch2/catch.hpp"
#include "common/read_file.h"
#include "sender/grpc_exporter.h"
#include "sender/worker_pool.h"
#include "sink/otlp_sink.h"
#include "tests/small_dataset.h"

namespace loadgen {
namespace {

using testing::TempDir;

// A CA, a server certificate for 127.0.0.1 / localhost and a client certificate.
struct Pki {
  TempDir dir;
  Pki() {
    const std::string d = dir.path();
    auto run = [&](const std::string& cmd) {
      auto r = testing::Run({"/bin/sh", "-c", cmd + " 2>&1"});
      INFO(cmd << "\n" << r.out);
      REQUIRE(r.exit_code == 0);
    };
    run("cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca "
        "-keyout ca.key -out ca.pem");
    testing::WriteText(dir.File("server.ext"),
                       "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    testing::WriteText(dir.File("client.ext"), "extendedKeyUsage=clientAuth\n");
    for (std::string who : {"server", "client"}) {
      run("cd " + d + " && openssl req -newkey rsa:2048 -nodes -subj /CN=" + who + " -keyout " +
          who + ".key -out " + who + ".csr && openssl x509 -req -in " + who +
          ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile " + who + ".ext -out " +
          who + ".pem");
    }
  }
  std::string Read(const char* name) const { return *ReadFile(dir.File(name)); }
};

struct TlsRun {
  RunStats stats;
  SinkSnapshot sink;
};

// Runs the logs of a small dataset through one worker: OTLP/gRPC, or with `http`,
// OTLP/HTTP to the sink's HTTPS port (libcurl on the sender's side).
void RunAgainst(const SinkOptions& sink_options, const SenderConfig& config, TlsRun* out,
                bool http = false) {
  TempDir data_dir;
  const auto summary = testing::GenerateSmall(data_dir);
  LoadedDataset data;
  REQUIRE(LoadTemplateFile(summary.logs.path, Signal::kLogs, UnitLimits{}, &data).ok());
  OtlpSink sink(sink_options);
  auto port = http ? sink.StartHttp("127.0.0.1:0") : sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  auto credentials = MakeCredentials(config);
  REQUIRE(credentials.ok());
  ExporterOptions exporter;
  exporter.target = "127.0.0.1:" + std::to_string(*port);
  if (http) {
    exporter.protocol = "http/protobuf";
    std::string url = config.insecure ? "http://" : "https://";
    url += "127.0.0.1:" + std::to_string(*port);
    url += "/v1/logs";
    exporter.http_urls[SignalIndex(Signal::kLogs)] = url;
    exporter.tls_ca_file = config.tls.ca_file;
    exporter.tls_cert_file = config.tls.cert_file;
    exporter.tls_key_file = config.tls.key_file;
  }
  exporter.credentials = *credentials;
  exporter.tls_server_name = config.tls.server_name;
  exporter.timeout = std::chrono::seconds(5);
  exporter.retry.initial_interval = std::chrono::milliseconds(10);
  exporter.retry.max_elapsed_time = std::chrono::milliseconds(100);
  PoolOptions pool;
  pool.workers = 1;
  StopSignal stop;
  RunWorkerPool(data, pool, exporter, nullptr, &out->stats, &stop);
  sink.Shutdown();
  out->sink = sink.Snapshot();
}

uint64_t Accepted(const TlsRun& r) { return r.stats.Snapshot(Signal::kLogs).events_accepted; }
uint64_t Failed(const TlsRun& r) { return r.stats.Snapshot(Signal::kLogs).events_failed; }

TEST_CASE("TLS: verified against the CA file, refused without it or for the wrong name") {
  const bool http = GENERATE(false, true);  // OTLP/gRPC, then OTLP/HTTP.
  INFO((http ? "OTLP/HTTP" : "OTLP/gRPC"));
  Pki pki;
  SinkOptions sink;
  sink.tls_cert_pem = pki.Read("server.pem");
  sink.tls_key_pem = pki.Read("server.key");
  SenderConfig config;
  config.insecure = false;

  SECTION("with the CA the certificate verifies and everything arrives") {
    config.tls.ca_file = pki.dir.File("ca.pem");
    TlsRun run;
    RunAgainst(sink, config, &run, http);
    CHECK(Accepted(run) > 0);
    CHECK(Failed(run) == 0);
    CHECK(run.sink.items[SignalIndex(Signal::kLogs)] == Accepted(run));
  }
  SECTION("with the system roots a private CA is not trusted: nothing is sent") {
    TlsRun run;
    RunAgainst(sink, config, &run, http);
    CHECK(Accepted(run) == 0);
    CHECK(Failed(run) > 0);
    CHECK(run.sink.requests[SignalIndex(Signal::kLogs)] == 0);
  }
  SECTION("the server name is checked") {
    if (http) return;  // The URL's host is the name for OTLP/HTTP (no override).
    config.tls.ca_file = pki.dir.File("ca.pem");
    config.tls.server_name = "not-the-server.example";
    TlsRun run;
    RunAgainst(sink, config, &run, http);
    CHECK(Accepted(run) == 0);
    CHECK(run.sink.requests[SignalIndex(Signal::kLogs)] == 0);
  }
  SECTION("plaintext to a TLS port fails") {
    config.insecure = true;
    TlsRun run;
    RunAgainst(sink, config, &run, http);
    CHECK(Accepted(run) == 0);
  }
}

TEST_CASE("mTLS: the sink accepts only a client with a certificate from its CA") {
  const bool http = GENERATE(false, true);  // OTLP/gRPC, then OTLP/HTTP.
  INFO((http ? "OTLP/HTTP" : "OTLP/gRPC"));
  Pki pki;
  SinkOptions sink;
  sink.tls_cert_pem = pki.Read("server.pem");
  sink.tls_key_pem = pki.Read("server.key");
  sink.client_ca_pem = pki.Read("ca.pem");
  SenderConfig config;
  config.tls.ca_file = pki.dir.File("ca.pem");

  TlsRun without;
  RunAgainst(sink, config, &without, http);
  CHECK(Accepted(without) == 0);
  CHECK(without.sink.requests[SignalIndex(Signal::kLogs)] == 0);

  config.tls.cert_file = pki.dir.File("client.pem");
  config.tls.key_file = pki.dir.File("client.key");
  TlsRun with;
  RunAgainst(sink, config, &with, http);
  CHECK(Accepted(with) > 0);
  CHECK(Failed(with) == 0);
}

TEST_CASE("TLS settings that cannot work are refused up front, naming the key") {
  SenderConfig config;
  config.tls.ca_file = "/nonexistent/ca.pem";
  auto c = MakeCredentials(config);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(std::string(c.status().message()), Catch::Contains("otlp.tls.ca_file"));
  config.tls.ca_file = "";
  config.tls.cert_file = "/etc/hostname";
  c = MakeCredentials(config);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(std::string(c.status().message()), Catch::Contains("set both or neither"));
}

}  // namespace
}  // namespace loadgen
