// OTLP/HTTP export (http/protobuf): POST <url> with the serialized (and compressed, with
// its Content-Encoding) request as the body, through libcurl's multi interface so one
// worker keeps up to `max_in_flight` requests outstanding over kept-alive connections.
// Responses follow the OTLP/HTTP spec: 2xx carries partial success, 429/502/503/504
// are retried (honouring Retry-After), any other status refuses the request for good.
#pragma once

#include <memory>

#include "sender/exporter.h"

namespace loadgen {

// Posts to options.http_urls[signal].
std::unique_ptr<Exporter> MakeHttpExporter(const ExporterOptions& options, Signal signal,
                                           RunStats* stats);

}  // namespace loadgen
