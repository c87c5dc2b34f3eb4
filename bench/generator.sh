#!/usr/bin/env bash
# Generator speed and memory: a dataset of about 1 M spans (random topology, no metrics
# or logs), timed with /usr/bin/time. Prints spans/s and peak RSS for the median run.
#   bench/generator.sh [build-dir]   env: RUNS=3 SPANS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-3}
spans=${SPANS:-1000000}
work=$build/bench-work/generator
mkdir -p "$work"
cat >"$work/gen.yaml" <<YAML
output: {directory: $work/out, prefix: gen}
seed: 7
traces:
  count: $((spans / 15))
  spans: {avg_per_trace: 15, std_dev: 5}
metrics: {metric_count: 0}
logs: {count: 0}
YAML
: >"$work/results"
for _ in $(seq "$runs"); do
  /usr/bin/time -f '%e %M' -o "$work/time" "$build/bin/telemetry-generator" --config "$work/gen.yaml" >"$work/out.txt"
  made=$(grep -o '^traces *[0-9]*' "$work/out.txt" | grep -o '[0-9]*$')
  read -r secs rss <"$work/time"
  awk -v n="$made" -v s="$secs" -v r="$rss" 'BEGIN {printf "%.0f %.1f %d %.2f\n", n / s, r / 1024, n, s}' >>"$work/results"
done
sort -n "$work/results" | awk -v runs="$runs" '{a[NR]=$0} END {split(a[int((NR+1)/2)], m, " ");
  printf "generator: %d spans in %.2f s = %d spans/s, peak RSS %.1f MB (median of %d)\n", m[3], m[4], m[1], m[2], runs}'
ls -la "$work/out"/gen-traces.pb | awk '{printf "file: %.1f MB\n", $5 / 1048576}'
