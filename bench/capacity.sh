#!/usr/bin/env bash
# The capacity search against a real receiver on the wall clock: otlp-sink --max-rate CAP
# takes CAP events/s and refuses the rest (RESOURCE_EXHAUSTED), and the sender searches
# with the default dataset and configs (configs/generator.yaml, configs/sender.yaml; the
# capacity section as shipped). Prints the rate found over the cap, per run and the
# median. The search's logic is tested exactly on a fake clock (tests/capacity_test.cc);
# this is the figure with real gRPC, real timers and a real receiver.
#   bench/capacity.sh [CAP]   env: RUNS=3
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
cap=${1:-15000}
runs=${RUNS:-3}
bin=build/bin
work=build/bench-work/capacity
mkdir -p "$work"
default_dataset "$work"
sender_config_for "$work" mix >"$work/sender.yaml"

: >"$work/ratios"
for run in $(seq "$runs"); do
  coproc SINK { exec "$bin/otlp-sink" --listen 127.0.0.1:0 --max-rate "$cap"; }
  pid=$SINK_PID
  trap 'kill "${SINK_PID:-}" 2>/dev/null || true' EXIT
  read -r line <&"${SINK[0]}"
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  "$bin/telemetry-sender" --config "$work/sender.yaml" --endpoint "127.0.0.1:$port" \
    --find-capacity --stats-json "$work/sender.json" >"$work/sender.out"
  kill -TERM "$pid"
  wait "$pid" || true
  python3 - "$work/sender.json" "$cap" "$run" <<'PY' | tee -a /dev/stderr | cut -d' ' -f3 >>"$work/ratios"
import json, sys
found = json.load(open(sys.argv[1]))["capacity"]["sustained_rate"]
print(f"run {sys.argv[3]}: {found / float(sys.argv[2]):.3f} ({found:.0f}/s found, cap {sys.argv[2]}/s)")
PY
done
echo "found/cap median of $runs: $(median <"$work/ratios")"
