#!/usr/bin/env bash
# The main job end to end on the embedded default: generate the default dataset,
# start otlp-sink on 127.0.0.1 (a free port, so a local collector on 4317 is left
# alone), replay it for the configured 10 s, and compare what was sent with what
# arrived. Exits non-zero when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/bin
out=$build/demo
mkdir -p "$out"

echo "== generating the default dataset (configs/generator.yaml)"
"$bin/telemetry-generator" --config configs/generator.yaml

echo "== starting otlp-sink on 127.0.0.1"
coproc SINK { exec "$bin/otlp-sink" --listen 127.0.0.1:0 --validate --stats-file "$out/sink.json"; }
sink_pid=$SINK_PID
trap 'kill "$sink_pid" 2>/dev/null || true' EXIT
read -r line <&"${SINK[0]}"   # "otlp-sink listening on 127.0.0.1:PORT (validating)"
echo "$line"
port=$(sed -E 's/.*:([0-9]+).*/\1/' <<<"$line")

echo "== replaying (configs/sender.yaml)"
"$bin/telemetry-sender" --config configs/sender.yaml --endpoint "127.0.0.1:$port" \
  --stats-json "$out/sender.json"

kill -TERM "$sink_pid"
wait "$sink_pid" || true
trap - EXIT

# Pull counts out of the two JSON summaries (no JSON tool needed): squeezed onto one
# line without blanks, each count follows its key.
flat() { tr -d ' \n' < "$1"; }
sent() { flat "$out/sender.json" | grep -o "\"$1\":{\"events_sent\":[0-9]*,\"events_accepted\":[0-9]*" | grep -o '[0-9]*$'; }
got() { flat "$out/sink.json" | grep -o "\"$1\":[0-9]*" | head -1 | grep -o '[0-9]*$'; }
invalid=$(flat "$out/sink.json" | grep -o '"validation":{"enabled":true,"errors":[0-9]*' | grep -o '[0-9]*$')

echo
echo "== what the sender reports as accepted vs what otlp-sink received"
printf '%-8s %14s %14s\n' signal "sender" "sink"
status=0
for pair in traces:spans metrics:data_points logs:log_records; do
  s=$(sent "${pair%%:*}"); r=$(got "${pair##*:}")
  mark=$([ "$s" = "$r" ] && echo "equal" || echo "DIFFERENT")
  [ "$s" = "$r" ] || status=1
  printf '%-8s %14s %14s  %s\n' "${pair%%:*}" "$s" "$r" "$mark"
done
echo "sink validation errors: $invalid"
[ "$invalid" = "0" ] || status=1
echo "summaries: $out/sender.json $out/sink.json"
exit $status
