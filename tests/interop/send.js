// Sends a fixed set of telemetry to an OTLP endpoint with the official OpenTelemetry JS
// SDK and its exporters, as an instrumented Node.js service would: 12 spans in one trace,
// 10 metric data points and 4 log records that name spans of the trace. Exits non-zero
// if any export failed. Used by tests/interop_test.cc against otlp-sink.
//   node send.js grpc|http/protobuf|http/json HOST:PORT [none|gzip]
'use strict';
const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');

const [protocol, endpoint, compression = 'none'] = process.argv.slice(2);
const packages = {
  grpc: 'grpc',
  'http/protobuf': 'proto',
  'http/json': 'http',
};
if (!packages[protocol] || !endpoint) {
  console.error('usage: node send.js grpc|http/protobuf|http/json HOST:PORT [none|gzip]');
  process.exit(2);
}
const exporterOf = (signal, cls) => {
  const { [cls]: Exporter } = require(`@opentelemetry/exporter-${signal}-otlp-${packages[protocol]}`);
  const url = protocol === 'grpc' ? `http://${endpoint}` : `http://${endpoint}/v1/${signal === 'trace' ? 'traces' : signal}`;
  const exporter = new Exporter({ url, compression, timeoutMillis: 10000 });
  // Every export's outcome: the SDK only logs a failure.
  const failures = [];
  const exportOnce = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    exportOnce(items, (result) => {
      if (result.code !== 0) failures.push(`${signal}: ${result.error ? result.error.message : 'failed'}`);
      done(result);
    });
  exporter.failures = failures;
  return exporter;
};

async function main() {
  const resource = resourceFromAttributes({
    'service.name': 'interop-checkout',
    'service.version': '1.4.2',
    'deployment.environment.name': 'loadtest',
  });
  const spanExporter = exporterOf('trace', 'OTLPTraceExporter');
  const metricExporter = exporterOf('metrics', 'OTLPMetricExporter');
  const logExporter = exporterOf('logs', 'OTLPLogExporter');

  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3600000 })],
  });
  const loggerProvider = new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter: logExporter })] });

  // One trace: a server span, 11 children (one failing), events and attributes.
  const tracer = tracerProvider.getTracer('@opentelemetry/instrumentation-http', '0.57.0');
  const root = tracer.startSpan('GET /checkout', {
    kind: api.SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'url.path': '/checkout', 'http.response.status_code': 200 },
  });
  const parent = api.trace.setSpan(api.ROOT_CONTEXT, root);
  const children = [];
  for (let i = 0; i < 11; ++i) {
    const child = tracer.startSpan(
      i % 2 === 0 ? 'SELECT orders' : 'POST /payment',
      {
        kind: i % 2 === 0 ? api.SpanKind.CLIENT : api.SpanKind.INTERNAL,
        attributes: { 'db.system.name': 'postgresql', 'interop.index': i, 'interop.ratio': i / 10 },
      },
      parent,
    );
    child.addEvent('retry', { 'retry.attempt': 1 });
    if (i === 7) child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'payment declined' });
    children.push(child);
  }
  children.forEach((c) => c.end());
  root.end();

  // 10 points: a counter with 4 attribute sets, a histogram with 3, a gauge with 3.
  const meter = meterProvider.getMeter('interop-meter', '1.0.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
  for (const route of ['/a', '/b', '/c', '/d']) requests.add(3, { 'http.route': route });
  const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
  for (const code of [200, 404, 500]) duration.record(0.025 * (code / 100), { 'http.response.status_code': code });
  const gauge = meter.createObservableGauge('process.memory.usage', { unit: 'By' });
  gauge.addCallback((result) => {
    for (const type of ['heap', 'stack', 'rss']) result.observe(1024 * type.length, { 'memory.type': type });
  });

  // 4 log records in the trace's context.
  const logger = loggerProvider.getLogger('interop-logger', '1.0.0');
  for (let i = 0; i < 4; ++i) {
    logger.emit({
      severityNumber: i === 3 ? 17 : 9,
      severityText: i === 3 ? 'ERROR' : 'INFO',
      body: `checkout step ${i}`,
      attributes: { 'interop.step': i },
      context: api.trace.setSpan(api.ROOT_CONTEXT, children[i]),
    });
  }

  // Shutting down exports what is left, once (a metrics flush and then a shutdown would
  // export the cumulative points twice).
  await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
  const failures = [...spanExporter.failures, ...metricExporter.failures, ...logExporter.failures];
  if (failures.length > 0) {
    console.error(failures.join('\n'));
    process.exit(1);
  }
  console.log(`sent 12 spans, 10 points, 4 log records over ${protocol} (${compression})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
