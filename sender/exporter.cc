#include "sender/exporter.h"

#include "sender/grpc_exporter.h"
#include "sender/h2_grpc_exporter.h"
#include "sender/http_exporter.h"

namespace loadgen {

std::unique_ptr<Exporter> MakeExporter(const ExporterOptions& options, Signal signal,
                                       RunStats* stats) {
  if (options.protocol == "http/protobuf") return MakeHttpExporter(options, signal, stats);
  // gRPC C++ can name only identity, deflate and gzip in grpc-encoding.
  if (options.compression == Compression::kZstd) return MakeH2GrpcExporter(options, signal, stats);
  return std::make_unique<GrpcExporter>(options, signal, stats);
}

}  // namespace loadgen
