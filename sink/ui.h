// otlp-sink --ui HOST:PORT: one self-contained page (nothing fetched from elsewhere) of
// what arrived, refreshed every two seconds:
//   totals per signal and per service, arrivals per second;
//   the recent traces the TraceStore keeps (ID, root service and name, spans, duration,
//   error), filtered by service and by error, or found by ID;
//   one trace as a waterfall (the span tree with timing bars, kind, status, attributes
//   and events) with the log records that name it;
//   the --validate violations by kind, with examples.
// Its data: GET /api/summary, /api/traces and /api/trace/<hex ID> (JSON). Every
// handler is bounded and total: anything else is a 404 or 405 with a message.
#pragma once

#include "common/http_server.h"
#include "sink/otlp_sink.h"
#include "sink/trace_store.h"

namespace loadgen {

// `sink` and `store` must outlive the handler; `validating` says whether the sink runs
// with --validate.
HttpServer::Handler SinkUiHandler(const OtlpSink& sink, const TraceStore& store, bool validating);

}  // namespace loadgen
