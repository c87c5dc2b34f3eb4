#!/usr/bin/env bash
# Generator speed and memory on two datasets, both from configs/generator.yaml with only
# the counts changed: "traces" (about 1 M spans: 66,667 traces of 15 spans, no metrics
# or logs) and "mixed" (the default mix of traces, metrics and logs, traces and logs
# 25 times the default counts). For --threads 1 and 2 it prints events/s (wall clock),
# CPU-seconds per million events, and peak RSS: the median of RUNS runs, timed with
# /usr/bin/time. Events are spans, data points and log records.
#   bench/generator.sh [build-dir]   env: RUNS=3 THREADS="1 2" BASE=<an older generator>
# With BASE, that binary runs the same datasets first (without --threads), for a
# before/after comparison in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build=${1:-build}
runs=${RUNS:-3}
threads_list=${THREADS:-1 2}
work=$build/bench-work/generator
mkdir -p "$work"

sed -e 's/^  count: 2000 .*/  count: 66667/' -e 's/^  metric_count: 85 .*/  metric_count: 0/' \
  -e 's/^  count: 20000 .*/  count: 0/' configs/generator.yaml >"$work/traces.yaml"
sed -e 's/^  count: 2000 .*/  count: 50000/' -e 's/^  count: 20000 .*/  count: 500000/' \
  configs/generator.yaml >"$work/mixed.yaml"


run_once() {  # $1 = dataset, rest = the generator command; prints "events/s cpu_s_per_M rss_MB"
  local dataset=$1
  shift
  rm -rf "$work/out"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" --config "$work/$dataset.yaml" \
    --output "$work/out" >"$work/out.txt"
  local events
  events=$(awk '/^(traces|metrics|logs) / {n += $2} END {print n}' "$work/out.txt")
  read -r wall user sys rss <"$work/time"
  awk -v n="$events" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
    'BEGIN {printf "%.0f %.3f %.1f\n", n / w, (u + s) / (n / 1e6), r / 1024}'
}

report() {  # $1 = dataset, $2 = label, rest = the command
  local dataset=$1 label=$2
  shift 2
  : >"$work/results"
  for _ in $(seq "$runs"); do run_once "$dataset" "$@" >>"$work/results"; done
  printf '%-8s %-12s %14s %18s %10s\n' "$dataset" "$label" \
    "$(cut -d' ' -f1 "$work/results" | median)" "$(cut -d' ' -f2 "$work/results" | median)" \
    "$(cut -d' ' -f3 "$work/results" | median)"
}

printf '%-8s %-12s %14s %18s %10s   (median of %s)\n' dataset generator "events/s" \
  "CPU-s/M events" "RSS MB" "$runs"
for dataset in traces mixed; do
  [ -n "${BASE:-}" ] && report "$dataset" base "$BASE"
  for t in $threads_list; do
    report "$dataset" "threads $t" "$build/bin/telemetry-generator" --threads "$t"
  done
done
