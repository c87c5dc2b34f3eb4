#!/usr/bin/env bash
# Rate accuracy as a user runs it: the default dataset (configs/generator.yaml) replayed
# with the default configs/sender.yaml against otlp-sink on 127.0.0.1, changing only
# --rate, --duration and --instances. For each rate it prints the target, what the sink
# received per second of the run, the error, the worst and best whole second at the
# sink (arrivals, first and last second left out: they are partial), and the sender's
# largest schedule lag. The last row runs two instances that share the rate.
#   bench/rate_accuracy.sh [build-dir]
#   env: RATES="100 1000 10000 100000 1000000" SECONDS_PER_RUN=10 INSTANCES=2
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bin=$build/bin
secs=${SECONDS_PER_RUN:-10}
rates=${RATES:-"100 1000 10000 100000 1000000"}
instances=${INSTANCES:-2}
work=$build/bench-work/rate
mkdir -p "$work"
cd "$work"  # The default configs name ./generated: the dataset lives here.
[ -f generated/telemetry-traces.pb ] ||
  "$bin/telemetry-generator" --config "$root/configs/generator.yaml" >/dev/null

# Sums of a JSON array's numbers without the first and last entries: min and max.
inner_min_max() { tr -d '[] ' | tr ',' '\n' | awk 'NF {a[n++]=$1} END {
  if (n < 3) { print "- -"; exit } lo = a[1]; hi = a[1]
  for (i = 1; i < n - 1; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
  print lo, hi }'; }

run() {  # $1 = rate, $2 = instances
  local rate=$1 n=$2 i pids=() lag=0 l
  coproc SINK { exec taskset -c 1 "$bin/otlp-sink" --listen 127.0.0.1:0 --stats-file sink.json; }
  local sink_pid=$SINK_PID line port
  read -r line <&"${SINK[0]}"
  port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")
  for ((i = 0; i < n; i++)); do
    taskset -c 0 "$bin/telemetry-sender" --config "$root/configs/sender.yaml" \
      --endpoint "127.0.0.1:$port" --insecure --rate "$rate" --duration "${secs}s" \
      --instances "$n" --instance "$i" --stats-json "sender-$i.json" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  kill -TERM "$sink_pid"; wait "$sink_pid" || true
  for ((i = 0; i < n; i++)); do
    l=$(grep -o '"schedule_lag_ms": {[^}]*}' "sender-$i.json" | grep -oE '"max": [0-9.]+' | grep -oE '[0-9.]+$')
    lag=$(awk -v a="$lag" -v b="$l" 'BEGIN {print (b > a) ? b : a}')
  done
  local received minmax
  received=$(grep -oE '"(spans|data_points|log_records)": [0-9]+' sink.json | grep -oE '[0-9]+$' | awk '{s+=$1} END {print s+0}')
  minmax=$(grep -o '"items_per_second": \[[^]]*\]' sink.json | sed 's/.*: //' | inner_min_max)
  awk -v r="$rate" -v got="$received" -v s="$secs" -v n="$n" -v mm="$minmax" -v lag="$lag" 'BEGIN {
    split(mm, m, " "); a = got / s
    printf "%10d %9d %12.0f %+8.2f%% %12s %12s %10.1f\n", r, n, a, (a - r) / r * 100,
      (m[1] == "-") ? "-" : sprintf("%+.1f%%", (m[1] - r) / r * 100),
      (m[2] == "-") ? "-" : sprintf("%+.1f%%", (m[2] - r) / r * 100), lag }'
}

printf '%10s %9s %12s %9s %12s %12s %10s   (%ss each, default configs)\n' \
  "target/s" instances "received/s" error "worst 1 s" "best 1 s" "lag ms" "$secs"
for rate in $rates; do run "$rate" 1; done
[ "$instances" -gt 1 ] && run 10000 "$instances"
exit 0
