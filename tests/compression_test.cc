// Request compression, from the codec to the wire: gzip and zstd written by the sender
// decode with independent decoders (the gzip and zstd command-line tools) to the frames
// they were made from; otlp-sink decodes what any client sends (the sender's exporters,
// curl) over gRPC and OTLP/HTTP, counts exactly, refuses a corrupt body as malformed and
// a coding it does not take with the status the specs name.
#include "common/compression.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "common/clock.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sender/loader.h"
#include "sender/transform.h"
#include "sender/worker_pool.h"
#include "sink/otlp_sink.h"
#include "tests/small_dataset.h"
#include "tests/test_util.h"

namespace loadgen {
namespace {

using testing::ReadText;
using testing::Run;
using testing::TempDir;
using testing::WriteText;

// Patched requests of a small dataset's traces, as a send builds them.
std::vector<std::string> PatchedFrames(const TempDir& dir) {
  const auto summary = testing::GenerateSmall(dir);
  LoadedDataset data;
  REQUIRE(LoadTemplateFile(summary.traces.path, Signal::kTraces, UnitLimits{}, &data).ok());
  const CompiledSignal& s = data.of(Signal::kTraces);
  const IdMapper ids(7);
  RequestBuilder builder(s, ids, TimestampOptions{}, 1, WallNowNs());
  std::vector<std::string> frames;
  for (uint32_t u = 0; u < s.unit_count();) {
    const RequestCut& cut = builder.Cut(u, s.unit_count(), 300, 1 << 20);
    std::string& f = frames.emplace_back(cut.bytes, '\0');
    builder.Write(0, WallNowNs(), nullptr, reinterpret_cast<uint8_t*>(f.data()));
    u = cut.end;
  }
  REQUIRE(frames.size() > 2);
  return frames;
}

// `tool` (gzip or zstd) decoding `bytes`, as a file: its output.
std::string DecodeWithTool(const TempDir& dir, const std::string& tool, std::string_view bytes) {
  const std::string in = dir.File("in.bin"), out = dir.File("out.bin");
  WriteText(in, bytes);
  auto r = Run({"/bin/sh", "-c", tool + " -dc < " + in + " > " + out});
  INFO(tool << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return ReadText(out);
}

TEST_CASE("compression: independent decoders read what the sender writes") {
  TempDir dir;
  const std::vector<std::string> frames = PatchedFrames(dir);
  const Compression codec = GENERATE(Compression::kGzip, Compression::kZstd);
  const int level = GENERATE(1, 6, 12);
  INFO(CompressionName(codec) << " level " << level);
  Compressor compressor(codec, level);
  for (const std::string& frame : frames) {
    const std::string packed = compressor.Compress(frame);
    CHECK(packed.size() < frame.size() / 2);  // OTLP compresses well, random IDs and all.
    CHECK(DecodeWithTool(dir, codec == Compression::kGzip ? "gzip" : "zstd", packed) == frame);
    std::string ours;
    REQUIRE(Decompress(codec, packed, frame.size(), &ours).ok());
    CHECK(ours == frame);
  }
}

TEST_CASE("compression: the sink's decoders take what other encoders write") {
  TempDir dir;
  const std::string frame = PatchedFrames(dir)[0];
  WriteText(dir.File("frame.bin"), frame);
  auto encode = [&](const std::string& command) {
    auto r = Run({"/bin/sh", "-c", command + " > " + dir.File("enc.bin")});
    INFO(command << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return ReadText(dir.File("enc.bin"));
  };
  std::string out;
  SECTION("zstd streamed from a pipe: no content size in the frame header") {
    const std::string z = encode("cat " + dir.File("frame.bin") + " | zstd -q -c");
    REQUIRE(Decompress(Compression::kZstd, z, frame.size(), &out).ok());
    CHECK(out == frame);
  }
  SECTION("zstd: two frames, one after the other") {
    const std::string half = dir.File("half.bin");
    WriteText(half, std::string_view(frame).substr(0, frame.size() / 2));
    WriteText(dir.File("rest.bin"), std::string_view(frame).substr(frame.size() / 2));
    const std::string z =
        encode("{ zstd -q -c " + half + "; zstd -q -c " + dir.File("rest.bin") + "; }");
    REQUIRE(Decompress(Compression::kZstd, z, frame.size(), &out).ok());
    CHECK(out == frame);
  }
  SECTION("gzip: two members (RFC 1952 allows them)") {
    WriteText(dir.File("a.bin"), std::string_view(frame).substr(0, 1000));
    WriteText(dir.File("b.bin"), std::string_view(frame).substr(1000));
    const std::string g =
        encode("{ gzip -c " + dir.File("a.bin") + "; gzip -c " + dir.File("b.bin") + "; }");
    REQUIRE(Decompress(Compression::kGzip, g, frame.size(), &out).ok());
    CHECK(out == frame);
  }
  SECTION("gzip at its best compression") {
    const std::string g = encode("gzip -9 -c " + dir.File("frame.bin"));
    REQUIRE(Decompress(Compression::kGzip, g, frame.size(), &out).ok());
    CHECK(out == frame);
  }
}

TEST_CASE("compression: corrupt, truncated and oversized bodies are refused, never decoded") {
  TempDir dir;
  const std::string frame = PatchedFrames(dir)[0];
  const Compression codec = GENERATE(Compression::kGzip, Compression::kZstd);
  INFO(CompressionName(codec));
  Compressor compressor(codec, kDefaultCompressionLevel);
  const std::string good = compressor.Compress(frame);
  std::string out;
  SECTION("a flipped byte in the middle") {
    std::string bad = good;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5A);
    CHECK(Decompress(codec, bad, 1 << 24, &out).code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("cut short") {
    const std::string bad = good.substr(0, good.size() - 7);
    CHECK(Decompress(codec, bad, 1 << 24, &out).code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("bytes after the end") {
    CHECK(Decompress(codec, good + "trailing", 1 << 24, &out).code() ==
          absl::StatusCode::kInvalidArgument);
  }
  SECTION("not compressed at all") {
    CHECK(Decompress(codec, frame, 1 << 24, &out).code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("more than the limit once decoded") {
    const absl::Status s = Decompress(codec, good, frame.size() - 1, &out);
    CHECK(s.code() == absl::StatusCode::kResourceExhausted);
    CHECK_THAT(std::string(s.message()), Catch::Contains("larger than"));
  }
}

// The sender's exporters (gRPC C++ for gzip, libnghttp2 for zstd, libcurl for OTLP/HTTP)
// against an in-process sink that keeps each request's bytes as they arrived.
TEST_CASE("compression: what the exporters put on the wire is the frame, compressed once") {
  TempDir dir;
  const auto summary = testing::GenerateSmall(dir);
  LoadedDataset data;
  REQUIRE(LoadTemplateFile(summary.traces.path, Signal::kTraces, UnitLimits{}, &data).ok());
  const Compression codec = GENERATE(Compression::kNone, Compression::kGzip, Compression::kZstd);
  const bool http = GENERATE(false, true);
  INFO(CompressionName(codec) << (http ? " over OTLP/HTTP" : " over gRPC"));
  std::mutex mu;
  std::vector<std::pair<Compression, std::string>> wire;
  std::vector<std::string> decoded;
  SinkOptions options;
  options.validate = true;
  options.on_wire = [&](Signal, Compression c, std::string_view bytes) {
    std::lock_guard<std::mutex> lock(mu);
    wire.emplace_back(c, std::string(bytes));
  };
  options.on_request = [&](Signal, std::string_view bytes) {
    std::lock_guard<std::mutex> lock(mu);
    decoded.emplace_back(bytes);
  };
  OtlpSink sink(options);
  auto port = http ? sink.StartHttp("127.0.0.1:0") : sink.Start("127.0.0.1:0");
  REQUIRE(port.ok());
  ExporterOptions exporter;
  const std::string target = "127.0.0.1:" + std::to_string(*port);
  exporter.target = target;
  exporter.plaintext = true;
  exporter.credentials = grpc::InsecureChannelCredentials();
  exporter.compression = codec;
  if (http) {
    exporter.protocol = "http/protobuf";
    exporter.http_urls[SignalIndex(Signal::kTraces)] = "http://" + target + "/v1/traces";
  }
  PoolOptions pool;
  pool.workers = 2;
  pool.multiplier = 2;
  RunStats stats;
  StopSignal stop;
  RunWorkerPool(data, pool, exporter, nullptr, &stats, &stop);
  sink.Shutdown();

  const SignalSnapshot sent = stats.Snapshot(Signal::kTraces);
  const SinkSnapshot got = sink.Snapshot();
  CHECK(sent.events_accepted == 2 * data.events[0]);
  CHECK(got.items[0] == sent.events_accepted);
  CHECK(got.validation_errors == 0);
  CHECK(got.malformed_requests == 0);
  // Both ends count the same bytes: the message as sent, and as decoded.
  CHECK(got.wire_bytes[0] == sent.wire_bytes_sent);
  CHECK(got.bytes[0] == sent.bytes_sent);
  REQUIRE(wire.size() == sent.requests);
  REQUIRE(decoded.size() == wire.size());
  uint64_t raw = 0;
  for (size_t i = 0; i < wire.size(); ++i) {
    CHECK(wire[i].first == codec);
    raw += wire[i].second.size();
  }
  if (codec == Compression::kNone) {
    CHECK(raw == sent.bytes_sent);
    return;
  }
  CHECK(sent.bytes_sent > 2 * sent.wire_bytes_sent);
  // Each request decodes, with an independent decoder, to a request the sink took;
  // every decoded request is a whole trace request (compressed once: decoding once
  // gives protobuf, not another compressed stream).
  std::multiset<std::string> taken(decoded.begin(), decoded.end());
  for (const auto& [c, bytes] : wire) {
    const std::string plain =
        DecodeWithTool(dir, codec == Compression::kGzip ? "gzip" : "zstd", bytes);
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
    CHECK(request.ParseFromString(plain));
    CHECK(request.resource_spans_size() > 0);
    CHECK(taken.count(plain) == 1);
  }
}

// The real binaries: the sender with each codec over each protocol, into otlp-sink.
struct SinkWithHttp {
  explicit SinkWithHttp(std::vector<std::string> args = {})
      : sink([&] {
          args.insert(args.end(), {"--http-listen", "127.0.0.1:0", "--validate"});
          return args;
        }()) {
    std::string line;
    while (http_port == 0 && sink.process().ReadLine(&line)) {
      if (line.starts_with("otlp-sink OTLP/HTTP listening on ")) {
        http_port = std::atoi(line.c_str() + line.rfind(':') + 1);
      }
    }
    REQUIRE(http_port != 0);
  }
  std::vector<std::string> Endpoint(bool http) const {
    if (!http) return {"--endpoint", sink.endpoint()};
    return {"--protocol", "http/protobuf", "--endpoint",
            "http://127.0.0.1:" + std::to_string(http_port)};
  }
  testing::SinkProcess sink;
  int http_port = 0;
};

testing::RunResult Send(const TempDir& dir, const std::string& prefix, const SinkWithHttp& sink,
                        bool http, const std::string& codec, const std::string& extra = "") {
  std::vector<std::string> argv = {testing::BinaryPath("telemetry-sender"),
                                   "--config",
                                   testing::WriteSenderConfig(dir, prefix, extra),
                                   "--compression",
                                   codec,
                                   "--rate",
                                   "0",
                                   "--multiplier",
                                   "2",
                                   "--stats-json",
                                   dir.File("sender.json")};
  for (const std::string& a : sink.Endpoint(http)) argv.push_back(a);
  return Run(argv);
}

TEST_CASE("compression: each codec over each protocol delivers the dataset exactly") {
  TempDir dir;
  const std::string prefix = testing::GenerateSmallDataset(dir);
  const std::string meta = ReadText(prefix + "-metadata.yaml");
  const std::string codec = GENERATE(std::string("none"), std::string("gzip"), std::string("zstd"));
  const bool http = GENERATE(false, true);
  INFO(codec << (http ? " over OTLP/HTTP" : " over gRPC"));
  SinkWithHttp sink;
  auto r = Send(dir, prefix, sink, http, codec);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  if (codec != "none") CHECK_THAT(r.out, Catch::Contains(codec + " level 1"));
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.sink.Stop();
  CHECK(testing::JsonInt(got, "spans") == 2 * testing::MetaCount(meta, "spans"));
  CHECK(testing::JsonInt(got, "data_points") == 2 * testing::MetaCount(meta, "data_points"));
  CHECK(testing::JsonInt(got, "log_records") == 2 * testing::MetaCount(meta, "log_records"));
  CHECK(testing::JsonInt(sent, "events_accepted", "\"total\"") == testing::SinkAccepted(got));
  CHECK(testing::JsonInt(got, "errors", "\"validation\"") == 0);
  CHECK(testing::JsonInt(got, "malformed_requests") == 0);
  // The sender's and the sink's count of bytes on the wire agree, and show the codec.
  const int64_t wire = testing::SinkSum(got, "wire_bytes");
  CHECK(testing::JsonInt(sent, "wire_bytes", "\"total\"") == wire);
  if (codec == "none") {
    CHECK(wire == testing::SinkSum(got, "bytes"));
  } else {
    CHECK(testing::SinkSum(got, "bytes") > 3 * wire);
  }
}

TEST_CASE("compression: a receiver that does not take zstd rejects it, reported once") {
  TempDir dir;
  const std::string prefix = testing::GenerateSmallDataset(dir);
  const bool http = GENERATE(false, true);
  INFO((http ? "OTLP/HTTP" : "gRPC"));
  SinkWithHttp sink({"--accept-encodings", "identity,gzip"});
  auto r = Send(dir, prefix, sink, http, "zstd");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);  // Nothing was accepted.
  const std::string sent = ReadText(dir.File("sender.json"));
  const std::string got = sink.sink.Stop();
  CHECK(testing::SinkAccepted(got) == 0);
  CHECK(testing::JsonInt(sent, "events_rejected", "\"total\"") ==
        testing::JsonInt(sent, "events_sent", "\"total\""));
  CHECK(testing::JsonInt(sent, "retries", "\"total\"") == 0);  // A refusal is not retried.
  const std::string kind = http ? "HTTP 415" : "UNIMPLEMENTED";
  CHECK_THAT(r.err, Catch::Contains(kind + ": otlp-sink: zstd requests are not accepted here") ||
                        Catch::Contains(kind + ": zstd requests are not accepted here"));
  // Once per kind on stderr, however many requests it refused.
  size_t lines = 0;
  for (size_t at = r.err.find(kind); at != std::string::npos; at = r.err.find(kind, at + 1)) {
    ++lines;
  }
  CHECK(lines == 1);
}

// One request to otlp-sink from curl (an independent HTTP/2 and HTTP/1.1 client): the
// gRPC status (from the trailers) or the HTTP status it got.
std::string Curl(const TempDir& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/curl",    "-s", "-S", "-o", dir.File("body"), "-D",
                                   dir.File("headers")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = Run(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string headers = ReadText(dir.File("headers"));
  const size_t at = headers.find("grpc-status: ");
  if (at != std::string::npos)
    return "grpc " + headers.substr(at + 13, headers.find('\r', at) - at - 13);
  return "http " + headers.substr(headers.find(' ') + 1, 3);
}

TEST_CASE("compression: otlp-sink decodes any client's gzip and zstd, and refuses bad bodies") {
  TempDir dir;
  const std::string frame = PatchedFrames(dir)[0];
  SinkWithHttp sink({"--accept-encodings", "identity,gzip,zstd"});
  const std::string grpc_url = "http://" + sink.sink.endpoint() +
                               "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
  const std::string http_url = "http://127.0.0.1:" + std::to_string(sink.http_port) + "/v1/traces";
  // A gRPC message: the compressed flag, a big-endian length, the bytes.
  auto message = [](bool compressed, const std::string& bytes) {
    std::string m(5, '\0');
    m[0] = compressed ? 1 : 0;
    for (int i = 0; i < 4; ++i) m[1 + i] = static_cast<char>(bytes.size() >> (24 - 8 * i));
    return m + bytes;
  };
  auto grpc = [&](const std::string& encoding, const std::string& body) {
    WriteText(dir.File("req"), body);
    return Curl(dir, {"--http2-prior-knowledge", "-H", "content-type: application/grpc", "-H",
                      "te: trailers", "-H", "grpc-encoding: " + encoding, "--data-binary",
                      "@" + dir.File("req"), grpc_url});
  };
  auto http = [&](const std::string& encoding, const std::string& body) {
    WriteText(dir.File("req"), body);
    return Curl(
        dir, {"-H", "content-type: application/x-protobuf", "-H", "content-encoding: " + encoding,
              "--data-binary", "@" + dir.File("req"), http_url});
  };
  WriteText(dir.File("frame.bin"), frame);
  REQUIRE(Run({"/bin/sh", "-c", "cd " + dir.path() + " && gzip -k frame.bin && zstd -q frame.bin"})
              .exit_code == 0);
  const std::string gz = ReadText(dir.File("frame.bin.gz"));
  const std::string zst = ReadText(dir.File("frame.bin.zst"));
  std::string corrupt_zst = zst;
  corrupt_zst[corrupt_zst.size() / 2] =
      static_cast<char>(corrupt_zst[corrupt_zst.size() / 2] ^ 0x33);
  std::string corrupt_gz = gz;
  corrupt_gz[corrupt_gz.size() / 2] = static_cast<char>(corrupt_gz[corrupt_gz.size() / 2] ^ 0x33);

  CHECK(grpc("gzip", message(true, gz)) == "grpc 0");
  CHECK(grpc("zstd", message(true, zst)) == "grpc 0");
  CHECK(http("gzip", gz) == "http 200");
  CHECK(http("zstd", zst) == "http 200");
  CHECK(http("ZSTD", zst) == "http 200");  // Content codings are case-insensitive.
  // Corrupt bodies are malformed: INVALID_ARGUMENT, 400.
  CHECK(grpc("gzip", message(true, corrupt_gz)) == "grpc 3");
  CHECK(grpc("zstd", message(true, corrupt_zst)) == "grpc 3");
  CHECK(http("gzip", corrupt_gz) == "http 400");
  CHECK(http("zstd", corrupt_zst) == "http 400");
  // Codings the sink does not take: UNIMPLEMENTED, 415.
  CHECK(grpc("deflate", message(true, gz)) == "grpc 12");
  CHECK(http("deflate", gz) == "http 415");
  CHECK(http("br", gz) == "http 415");
  // gRPC C-core drops a grpc-encoding it does not know (br) before the sink sees the
  // call, so the compressed bytes arrive as if plain: refused as malformed, not taken.
  CHECK(grpc("br", message(true, zst.substr(4))) == "grpc 3");

  const std::string got = sink.sink.Stop();
  const int64_t spans = testing::JsonInt(got, "spans");
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  REQUIRE(request.ParseFromString(frame));
  int64_t per_request = 0;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) per_request += ss.spans_size();
  }
  CHECK(spans == 5 * per_request);  // The five good requests, and nothing of the rest.
  CHECK(testing::JsonInt(got, "malformed_requests") == 5);
}

}  // namespace
}  // namespace loadgen
