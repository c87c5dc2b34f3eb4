#!/usr/bin/env bash
# Rate accuracy: replays the bench dataset at fixed rates against otlp-sink on
# 127.0.0.1 and compares the achieved rate (events the sink received / run time) with
# the target. Prints target, achieved and error per rate.
#   bench/rate_accuracy.sh [build-dir]   env: RATES="10000 100000 1000000" SECONDS_PER_RUN=30
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
secs=${SECONDS_PER_RUN:-30}
rates=${RATES:-"10000 100000 1000000"}
work=$build/bench-work
mkdir -p "$work"
[ -f "$build/bench-data/bench-traces.pb" ] ||
  "$bin/telemetry-generator" --config bench/generator.yaml >/dev/null

printf '%12s %14s %9s %10s\n' "target/s" "achieved/s" "error" "requests"
for rate in $rates; do
  # Small batches keep one request's share of the run far below 1% at every rate.
  cat >"$work/rate.yaml" <<YAML
input:
  traces: $build/bench-data/bench-traces.pb
  metrics: $build/bench-data/bench-metrics.pb
  logs: $build/bench-data/bench-logs.pb
otlp:
  insecure: true
sending:
  rate_limit: {events_per_second: $rate}
  batch_size: {traces: 512, metrics: 512, logs: 512}
  concurrency: 2
  duration: ${secs}s
  multiplier: 0
YAML
  coproc SINK { exec taskset -c 1 "$bin/otlp-sink" --listen 127.0.0.1:0 --stats-file "$work/rate-sink.json"; }
  sink_pid=$SINK_PID
  read -r line <&"${SINK[0]}"
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  taskset -c 0 "$bin/telemetry-sender" --config "$work/rate.yaml" --endpoint "127.0.0.1:$port" \
    --stats-json "$work/rate-sender.json" >/dev/null
  kill -TERM "$sink_pid"; wait "$sink_pid" || true
  received=$(grep -oE '"(spans|data_points|log_records)": [0-9]+' "$work/rate-sink.json" | grep -oE '[0-9]+$' | awk '{s+=$1} END {print s}')
  requests=$(grep -o '"requests": {[^}]*}' "$work/rate-sink.json" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s}')
  awk -v r="$rate" -v n="$received" -v s="$secs" -v q="$requests" \
    'BEGIN {a = n / s; printf "%12d %14.0f %+8.2f%% %10d\n", r, a, (a - r) / r * 100, q}'
done
