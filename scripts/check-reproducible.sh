#!/usr/bin/env bash
# The generator's promise, across builds: the same config and seed give the same bytes
# from a gcc build and a clang build (and at any --threads). CI runs it after the
# ASan build (gcc) with the fuzz build's generator (clang).
#   scripts/check-reproducible.sh GENERATOR_A GENERATOR_B
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for config in configs/generator*.yaml; do
  name=$(basename "$config" .yaml)
  "$a" --config "$config" --output "$work/a-$name" --threads 1 >/dev/null
  "$b" --config "$config" --output "$work/b-$name" --threads 2 >/dev/null
  same=0 differ=0
  for file in "$work/a-$name"/*.pb; do
    if cmp -s "$file" "$work/b-$name/$(basename "$file")"; then
      same=$((same + 1))
    else
      echo "check-reproducible: $config: $(basename "$file") differs between $a and $b"
      differ=$((differ + 1))
    fi
  done
  echo "check-reproducible: $config: $same files the same, $differ different"
  [ $differ -eq 0 ] || status=1
done
exit $status
