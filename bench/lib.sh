# Shared by the benches (sourced, from the project root): the default dataset, the
# default sender config with only the inputs changed, medians, and the A/B loop.

# Generates the default dataset (configs/generator.yaml) into $1 once.
default_dataset() {
  [ -f "$1/telemetry-traces.pb" ] ||
    "$bin/telemetry-generator" --config configs/generator.yaml --output "$1" >/dev/null
}

# Prints configs/sender.yaml with the inputs of dataset dir $1 for mode $2 (one signal,
# or "mix" for all three; the others emptied), plus any extra sed arguments after.
sender_config_for() {
  local dir=$1 mode=$2 s
  shift 2
  local edits=()
  for s in traces metrics logs; do
    if [ "$mode" = mix ] || [ "$mode" = "$s" ]; then
      edits+=(-e "s|^  $s: .*|  $s: $dir/telemetry-$s.pb|")
    else
      edits+=(-e "s|^  $s: .*|  $s: \"\"|")
    fi
  done
  sed "${edits[@]}" "$@" configs/sender.yaml
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A/B in one run: run_once OLD and run_once NEW alternate $runs times into $work/old and
# $work/new ("events_per_s cpu_s_per_M" lines); then the medians under a header naming
# column 1 ($1, the side), the CPU column ($2) and the conditions ($3).
ab_compare() {
  local side_name=$1 cpu_name=$2 conditions=$3 side
  : >"$work/old" && : >"$work/new"
  for _ in $(seq "$runs"); do
    run_once "$old" >>"$work/old"
    run_once "$new" >>"$work/new"
  done
  printf '%-6s %14s %22s   (%s, median of %s x %ss)\n' "$side_name" "events/s" "$cpu_name" \
    "$conditions" "$runs" "$secs"
  for side in old new; do
    printf '%-6s %14s %22s\n' "$side" "$(cut -d' ' -f1 "$work/$side" | median)" \
      "$(cut -d' ' -f2 "$work/$side" | median)"
  done
}
