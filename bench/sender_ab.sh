#!/usr/bin/env bash
# telemetry-sender A/B: two sender binaries replay the same data, alternating, in one
# run, against the same otlp-sink (counting, CPU 1); each sender is pinned to CPU 0.
# The default dataset (configs/generator.yaml) and sender config (configs/sender.yaml),
# changing only the rate (0, unlimited), the duration, the inputs (one signal, or all
# for "mix") and otlp.compression. For each sender it prints the median accepted
# events/s and CPU-seconds per million events over RUNS runs. Use it before and after a
# change to the hot path (build the old tree elsewhere and pass its binary).
#   bench/sender_ab.sh OLD_SENDER NEW_SENDER   env: RUNS=3 SECONDS_PER_RUN=8
#   MODE=traces|metrics|logs|mix COMPRESSION=none|gzip|zstd PROTOCOL=grpc|http
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
old=$1 new=$2
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-8}
mode=${MODE:-traces}
compression=${COMPRESSION:-none}
protocol=${PROTOCOL:-grpc}
bin=build/bin
work=build/bench-work/sender-ab
mkdir -p "$work"
default_dataset "$work"
# The compression goes in the file, which older senders read too; keys newer than an
# old sender, at their defaults, are left out.
sender_config_for "$work" "$mode" -e "s|^  compression: none |  compression: $compression |" |
  grep -Ev '^  (compression_level|resource_attributes|scope_attributes|span_attributes|deferred):|^    (max_pending|drain_timeout):' \
    >"$work/sender.yaml"

run_once() {  # $1 = sender binary; prints "events_per_s cpu_s_per_M"
  local http_flag=() lines=1
  if [ "$protocol" = http ]; then http_flag=(--http-listen 127.0.0.1:0) lines=2; fi
  coproc SINK { exec taskset -c 1 "$bin/otlp-sink" --listen 127.0.0.1:0 "${http_flag[@]}"; }
  local pid=$SINK_PID line port i
  trap 'kill "${SINK_PID:-}" 2>/dev/null || true' EXIT
  for ((i = 0; i < lines; i++)); do read -r line <&"${SINK[0]}"; done
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  local endpoint=(--endpoint "127.0.0.1:$port")
  [ "$protocol" = http ] && endpoint=(--protocol http/protobuf --endpoint "http://127.0.0.1:$port")
  /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 0 "$1" --config "$work/sender.yaml" \
    "${endpoint[@]}" --rate 0 --multiplier 0 --duration "${secs}s" \
    --stats-json "$work/sender.json" >/dev/null
  kill -TERM "$pid"
  wait "$pid" >/dev/null || true
  python3 - "$work/sender.json" "$work/time" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
user, system = open(sys.argv[2]).read().split()
accepted, elapsed = s["total"]["events_accepted"], s["elapsed_seconds"]
print(f"{accepted / elapsed:.0f} {(float(user) + float(system)) / (accepted / 1e6):.3f}")
PY
}

ab_compare sender "sender CPU-s/M events" "$mode $compression, $protocol"
