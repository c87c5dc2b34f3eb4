#!/usr/bin/env bash
# Sender throughput against otlp-sink on 127.0.0.1, rate unlimited: the sender pinned to
# CPU 0, the sink (counting mode) to CPU 1. For traces, metrics, logs and the mix it
# prints events/s, MB/s on the wire, sender CPU-seconds per million events and the
# sender's peak RSS: the median of RUNS runs of SECONDS each.
#   bench/throughput.sh [build-dir]      env: RUNS=3 SECONDS_PER_RUN=10 CONCURRENCY=2
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-10}
workers=${CONCURRENCY:-2}
work=$build/bench-work
mkdir -p "$work"

[ -f "$build/bench-data/bench-traces.pb" ] ||
  "$bin/telemetry-generator" --config bench/generator.yaml >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_once() {  # $1 = mode; prints "events_per_s mb_per_s cpu_s_per_M rss_mb"
  local mode=$1 inputs=""
  for s in traces metrics logs; do
    if [ "$mode" = mix ] || [ "$mode" = "$s" ]; then
      inputs+="  $s: $build/bench-data/bench-$s.pb"$'\n'
    else
      inputs+="  $s: \"\""$'\n'
    fi
  done
  printf 'input:\n%sotlp:\n  insecure: true\nsending:\n  concurrency: %s\n  multiplier: 0\n  duration: %ss\n  rate_limit: {events_per_second: 0}\n' \
    "$inputs" "$workers" "$secs" >"$work/sender.yaml"
  coproc SINK { exec taskset -c 1 "$bin/otlp-sink" --listen 127.0.0.1:0 --stats-file "$work/sink.json"; }
  local sink_pid=$SINK_PID line port
  read -r line <&"${SINK[0]}"
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  /usr/bin/time -f '%U %S %M' -o "$work/time" taskset -c 0 "$bin/telemetry-sender" \
    --config "$work/sender.yaml" --endpoint "127.0.0.1:$port" --stats-json "$work/sender.json" >/dev/null
  kill -TERM "$sink_pid"; wait "$sink_pid" || true
  local accepted bytes elapsed user sys rss
  accepted=$(grep -o '"total": {"events_sent": [0-9]*, "events_accepted": [0-9]*' "$work/sender.json" | grep -o '[0-9]*$')
  bytes=$(grep -o '"bytes": [0-9]*' "$work/sender.json" | grep -o '[0-9]*$' | awk '{s+=$1} END {print s}')
  elapsed=$(grep -o '"elapsed_seconds": [0-9.]*' "$work/sender.json" | grep -o '[0-9.]*$')
  read -r user sys rss <"$work/time"
  echo "$accepted $bytes $elapsed $user $sys $rss" | awk '{printf "%.0f %.1f %.3f %.1f\n", $1/$3, $2/$3/1e6, ($4+$5)/($1/1e6), $6/1024}'
}

printf '%-8s %14s %10s %16s %10s   (median of %s x %ss, %s workers)\n' mode "events/s" "MB/s" "CPU-s/M events" "RSS MB" "$runs" "$secs" "$workers"
for mode in traces metrics logs mix; do
  : >"$work/results"
  for _ in $(seq "$runs"); do run_once "$mode" >>"$work/results"; done
  printf '%-8s %14s %10s %16s %10s\n' "$mode" \
    "$(cut -d' ' -f1 "$work/results" | median)" "$(cut -d' ' -f2 "$work/results" | median)" \
    "$(cut -d' ' -f3 "$work/results" | median)" "$(cut -d' ' -f4 "$work/results" | median)"
done
