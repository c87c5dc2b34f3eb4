#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a bounded time on
# seeds made from real inputs: a small generated dataset and the shipped configs.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET=60] [TARGET...]
# Findings (crash-*, leak-*, timeout-*) are written to build-fuzz/findings/<target>/;
# the script exits non-zero if any target found something. The corpus grows in
# build-fuzz/corpus/<target>/ and is reused by the next run.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(template_reader_fuzz frame_fuzz config_fuzz http_parser_fuzz http_handlers_fuzz decompress_fuzz otlp_json_fuzz)
build=${FUZZ_BUILD:-build-fuzz}

# With WERROR=ON (CI), clang's warnings fail the build too, -Wthread-safety among them:
# this is where the ABSL_GUARDED_BY annotations are checked, so every library is built.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DLOADGEN_FUZZ=ON -DBUILD_TESTING=OFF -DLOADGEN_WERROR="${WERROR:-OFF}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" make_seeds telemetry-generator \
  loadgen_sender_modes

seeds=$build/seeds
if [ ! -d "$seeds" ]; then
  data=$(mktemp -d)
  trap 'rm -rf "$data"' EXIT
  cat >"$data/tiny.yaml" <<YAML
output: {directory: $data, prefix: tiny, max_chunk_bytes: 4096}
seed: 7
traces: {count: 12, spans: {avg_per_trace: 6, std_dev: 3}, error_rate: 0.3}
metrics: {metric_count: 85, host_count: 1, timeseries_per_metric: {min: 1, max: 2}}
logs: {count: 40}
YAML
  "$build/bin/telemetry-generator" --config "$data/tiny.yaml" >/dev/null
  "$build/bin/make_seeds" "$seeds.tmp" "$data"/tiny-*.pb -- configs/*.yaml configs/scenarios/*/*.yaml
  mv "$seeds.tmp" "$seeds"
fi

# Requests as the tools' clients send them: curl, a Prometheus scrape, an OTLP/HTTP
# exporter (Content-Length and chunked), pipelined.
if [ ! -d "$seeds/http" ]; then
  mkdir -p "$seeds/http.tmp"
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.45\r\nAccept: text/plain\r\n\r\n' >"$seeds/http.tmp/scrape"
  printf 'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:4318\r\nContent-Type: application/x-protobuf\r\nContent-Length: 4\r\n\r\n\n\x02\n\x00' >"$seeds/http.tmp/otlp"
  printf 'POST /v1/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n0\r\nT: 1\r\n\r\n' >"$seeds/http.tmp/chunked"
  printf 'PUT /rate HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\n5000GET / HTTP/1.1\r\n\r\n' >"$seeds/http.tmp/pipelined"
  # The dashboard's and the sink page's own requests.
  printf 'GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n\r\n' >"$seeds/http.tmp/status"
  printf 'GET /api/charts HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n\r\n' >"$seeds/http.tmp/charts"
  printf 'PUT /rate HTTP/1.1\r\nContent-Length: 20\r\n\r\n{"target_rate": 1e3}' >"$seeds/http.tmp/rate-json"
  printf 'POST /stop HTTP/1.1\r\nContent-Length: 0\r\n\r\n' >"$seeds/http.tmp/stop"
  printf 'GET /api/trace/11111111111111111111111111111111 HTTP/1.1\r\n\r\n' >"$seeds/http.tmp/trace"
  printf 'GET /api/summary HTTP/1.1\r\n\r\nGET /api/traces HTTP/1.1\r\n\r\n' >"$seeds/http.tmp/summary"
  mv "$seeds/http.tmp" "$seeds/http"
fi

# Request bodies as clients compress them: each template chunk with gzip, zstd and
# zlib (deflate), behind the byte that picks the coding.
if [ ! -d "$seeds/compressed" ]; then
  mkdir -p "$seeds/compressed.tmp"
  i=0
  for f in "$seeds"/frame/*; do
    i=$((i + 1))
    { printf '\000'; gzip -c "$f"; } >"$seeds/compressed.tmp/gzip-$i"
    { printf '\001'; zstd -q -c "$f"; } >"$seeds/compressed.tmp/zstd-$i"
    { printf '\002'; python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))' <"$f"; } >"$seeds/compressed.tmp/deflate-$i"
  done
  mv "$seeds/compressed.tmp" "$seeds/compressed"
fi

# OTLP/JSON as SDKs write it, behind the byte that picks the signal.
if [ ! -d "$seeds/json" ]; then
  mkdir -p "$seeds/json.tmp"
  { printf '\000'; cat <<'JSON'; } >"$seeds/json.tmp/traces"
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},"scopeSpans":[{"scope":{"name":"otelhttp","version":"0.1"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"GET /","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,"attributes":[{"key":"n","value":{"intValue":"200"}},{"key":"l","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"d","value":{"doubleValue":1.5}}]}}]}}}],"events":[{"name":"e","timeUnixNano":"1"}],"links":[{"traceId":"5b8efff798038103d269b633813fc60d","spanId":"eee19b7ec3c1b175"}],"status":{"code":2,"message":"x"}}]}]}]}
JSON
  { printf '\001'; cat <<'JSON'; } >"$seeds/json.tmp/metrics"
{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"a","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"asInt":"3","timeUnixNano":"2","exemplars":[{"asDouble":1,"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}},{"name":"h","histogram":{"dataPoints":[{"count":"2","sum":1.5,"bucketCounts":["1","1"],"explicitBounds":[1]}]}}]}]}]}
JSON
  { printf '\002'; cat <<'JSON'; } >"$seeds/json.tmp/logs"
{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","severityNumber":9,"body":{"stringValue":"hi"},"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","flags":1}]}]}]}
JSON
  mv "$seeds/json.tmp" "$seeds/json"
fi

declare -A seed_dir=([template_reader_fuzz]=template_reader [frame_fuzz]=frame [config_fuzz]=config [http_parser_fuzz]=http [http_handlers_fuzz]=http
  [decompress_fuzz]=compressed [otlp_json_fuzz]=json)
status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  findings=$build/findings/$t
  mkdir -p "$corpus" "$findings"
  log=$build/$t.log
  # -rss_limit_mb: the targets load whole chunks (up to 64 MiB) by design.
  if ! "$build/bin/$t" "$corpus" "$seeds/${seed_dir[$t]}" -max_total_time="$seconds" \
      -rss_limit_mb=4096 -timeout=20 -artifact_prefix="$findings/" -print_final_stats=1 \
      >"$log" 2>&1; then
    status=1
    echo "$t: FOUND A PROBLEM, see $log and $findings/"
    grep -m1 -A12 "ERROR:\|==ERROR\|runtime error\|deadly signal" "$log" || tail -20 "$log"
  fi
  execs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
  cov=$(grep -o "cov: [0-9]*" "$log" | tail -1 || true)
  echo "$t: ${execs} executions in ${seconds}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files"
done
exit $status
