#!/usr/bin/env bash
# Sender throughput against otlp-sink on 127.0.0.1, rate unlimited: the sender pinned to
# CPU 0, the sink (counting) to CPU 1. The default dataset (configs/generator.yaml) and
# the default sender config (configs/sender.yaml), changing only what the scenario
# needs: the rate (0, unlimited), the duration, the inputs (one signal, or all for
# "mix") and the compression. For each signal and codec it prints accepted events/s,
# the sender's CPU-seconds per million events, MB/s on the wire (as sent, compressed),
# the compression ratio (bytes before / after, counted by the sink) and the sender's
# peak RSS: the median of RUNS runs of SECONDS each.
#   bench/throughput.sh [build-dir]
#   env: RUNS=3 SECONDS_PER_RUN=10 PROTOCOL=grpc|http CODECS="none gzip zstd"
#        MODES="traces metrics logs mix"
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build=${1:-build}
bin=$build/bin
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-10}
protocol=${PROTOCOL:-grpc}
codecs=${CODECS:-none gzip zstd}
modes=${MODES:-traces metrics logs mix}
work=$build/bench-work/throughput
mkdir -p "$work"

default_dataset "$work"

# The default sender config with the inputs of `mode` (the others removed).
sender_config() { sender_config_for "$work" "$1" >"$work/sender.yaml"; }

run_once() {  # $1 = mode, $2 = codec; prints "events/s cpu_s_per_M wire_MB/s ratio rss_MB"
  local mode=$1 codec=$2 http_flag=() lines=1
  sender_config "$mode"
  if [ "$protocol" = http ]; then http_flag=(--http-listen 127.0.0.1:0) lines=2; fi
  coproc SINK { exec taskset -c 1 "$bin/otlp-sink" --listen 127.0.0.1:0 "${http_flag[@]}" \
    --stats-file "$work/sink.json"; }
  local sink_pid=$SINK_PID line port i
  trap 'kill "${SINK_PID:-}" 2>/dev/null || true' EXIT
  for ((i = 0; i < lines; i++)); do read -r line <&"${SINK[0]}"; done
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  local endpoint=(--endpoint "127.0.0.1:$port")
  [ "$protocol" = http ] && endpoint=(--protocol http/protobuf --endpoint "http://127.0.0.1:$port")
  /usr/bin/time -f '%U %S %M' -o "$work/time" taskset -c 0 "$bin/telemetry-sender" \
    --config "$work/sender.yaml" "${endpoint[@]}" --rate 0 --multiplier 0 --duration "${secs}s" \
    --compression "$codec" --stats-json "$work/sender.json" >/dev/null
  kill -TERM "$sink_pid"
  wait "$sink_pid" || true
  python3 - "$work/sender.json" "$work/sink.json" "$work/time" <<'PY'
import json, sys
sender, sink = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
user, system, rss_kb = open(sys.argv[3]).read().split()
accepted, elapsed = sender["total"]["events_accepted"], sender["elapsed_seconds"]
wire, raw = sum(sink["wire_bytes"].values()), sum(sink["bytes"].values())
cpu = float(user) + float(system)
print(f"{accepted / elapsed:.0f} {cpu / (accepted / 1e6):.3f} {wire / elapsed / 1e6:.1f} "
      f"{raw / max(wire, 1):.2f} {int(rss_kb) / 1024:.0f}")
PY
}

printf '%-8s %-6s %14s %16s %12s %8s %8s   (%s, median of %s x %ss)\n' mode codec "events/s" \
  "CPU-s/M events" "wire MB/s" ratio "RSS MB" "$protocol" "$runs" "$secs"
for mode in $modes; do
  for codec in $codecs; do
    : >"$work/results"
    for _ in $(seq "$runs"); do run_once "$mode" "$codec" >>"$work/results"; done
    printf '%-8s %-6s %14s %16s %12s %8s %8s\n' "$mode" "$codec" \
      "$(cut -d' ' -f1 "$work/results" | median)" "$(cut -d' ' -f2 "$work/results" | median)" \
      "$(cut -d' ' -f3 "$work/results" | median)" "$(cut -d' ' -f4 "$work/results" | median)" \
      "$(cut -d' ' -f5 "$work/results" | median)"
  done
done
