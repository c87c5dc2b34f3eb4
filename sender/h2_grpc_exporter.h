// OTLP/gRPC for the encodings gRPC C++ cannot send. Its core names only identity,
// deflate and gzip in grpc-encoding, and turns any other value into identity while
// still flagging the message compressed (seen on the wire with gRPC 1.51; zstd in the
// core is grpc/grpc#26460, still a proposal), so zstd calls are written here: unary
// gRPC calls (one length-prefixed message each way, the status in the trailers) over
// one HTTP/2 connection from Debian's libnghttp2, plaintext or TLS (OpenSSL, ALPN h2).
// libcurl's HTTP/2 would do the framing too, but Debian 12's 7.88.1 fails every reuse
// of a prior-knowledge (plaintext) HTTP/2 connection (curl/curl#10634, fixed in 8.0).
//
// Calls multiplex as streams on the exporter's connection; a lost connection fails its
// calls as UNAVAILABLE (retried by the policy) and the next call reconnects. Outcomes
// follow the gRPC exporter's rules (CallQueueExporter::CompleteGrpc). Used by one
// worker thread.
#pragma once

#include <memory>

#include "sender/exporter.h"

namespace loadgen {

// Calls options.target (or the signal's own target) as host:port, plaintext when
// options.plaintext, else TLS verified against options.tls_ca_file (or the system
// roots) for options.tls_server_name (or the host), with a client certificate for mTLS.
std::unique_ptr<Exporter> MakeH2GrpcExporter(const ExporterOptions& options, Signal signal,
                                             RunStats* stats);

}  // namespace loadgen
