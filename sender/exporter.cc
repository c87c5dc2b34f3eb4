#include "sender/exporter.h"

#include "sender/grpc_exporter.h"
#include "sender/http_exporter.h"

namespace loadgen {

std::unique_ptr<Exporter> MakeExporter(const ExporterOptions& options, Signal signal,
                                       RunStats* stats) {
  if (options.protocol == "http/protobuf") return MakeHttpExporter(options, signal, stats);
  return std::make_unique<GrpcExporter>(options, signal, stats);
}

}  // namespace loadgen
