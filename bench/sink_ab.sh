#!/usr/bin/env bash
# otlp-sink A/B: two sink binaries take the same replay, alternating, in one run. The
# sender (pinned to CPU 0) replays one signal of the default dataset (configs/generator.yaml,
# configs/sender.yaml; only the rate, duration and inputs change) as fast as the sink
# takes them; the sink (CPU 1) counts. For each sink it prints the median events/s
# and the sink's CPU-seconds per million events over RUNS runs.
#   bench/sink_ab.sh OLD_SINK NEW_SINK [grpc|http]   env: RUNS=3 SECONDS_PER_RUN=8
#   SINK_ARGS="--validate" (flags both sinks get), SIGNAL=traces|metrics|logs
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
old=$1 new=$2 protocol=${3:-grpc}
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-8}
bin=build/bin
work=build/bench-work/sink-ab
mkdir -p "$work"
default_dataset "$work"
# The default sender config, one signal only.
signal=${SIGNAL:-traces}
sender_config_for "$work" "$signal" >"$work/sender.yaml"

run_once() {  # $1 = sink binary; prints "events_per_s sink_cpu_s_per_M"
  local http_flag=() lines=1
  if [ "$protocol" = http ]; then http_flag=(--http-listen 127.0.0.1:0) lines=2; fi
  coproc SINK { exec taskset -c 1 "$1" --listen 127.0.0.1:0 "${http_flag[@]}" ${SINK_ARGS:-}; }
  local pid=$SINK_PID line port i
  trap 'kill "${SINK_PID:-}" 2>/dev/null || true' EXIT
  for ((i = 0; i < lines; i++)); do read -r line <&"${SINK[0]}"; done
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  local endpoint=(--endpoint "127.0.0.1:$port")
  [ "$protocol" = http ] && endpoint=(--protocol http/protobuf --endpoint "http://127.0.0.1:$port")
  taskset -c 0 "$bin/telemetry-sender" --config "$work/sender.yaml" "${endpoint[@]}" --rate 0 \
    --multiplier 0 --duration "${secs}s" --stats-json "$work/sender.json" >/dev/null
  # utime + stime of the sink, in clock ticks, before it exits.
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill -TERM "$pid"
  wait "$pid" || true
  python3 - "$work/sender.json" "$ticks" "$(getconf CLK_TCK)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
accepted, elapsed = s["total"]["events_accepted"], s["elapsed_seconds"]
cpu = int(sys.argv[2]) / int(sys.argv[3])
print(f"{accepted / elapsed:.0f} {cpu / (accepted / 1e6):.3f}")
PY
}

ab_compare sink "sink CPU-s/M events" "$protocol $signal"
