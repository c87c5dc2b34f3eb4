#!/usr/bin/env bash
# Installs the Debian packages the project builds with. Idempotent: installs only
# what is missing, and uses sudo only when not already root. With --tools, only what
# the three tools need (make demo).
set -euo pipefail

# What the three tools build with (make demo), then what the tests, fuzzers and
# benches add (make test, make fuzz, make bench).
packages=(
  build-essential make cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libcxxopts-dev libfmt-dev zlib1g-dev
  libzstd-dev libdeflate-dev  # request compression (zstd; gzip through libdeflate)
  libcurl4-openssl-dev  # OTLP/HTTP export
  libnghttp2-dev  # OTLP/gRPC with zstd, which gRPC C++ cannot send
  libssl-dev  # otlp-sink's OTLP/HTTP over TLS
  nlohmann-json3-dev  # the typed run summary (--stats-json, --merge-reports, --report)
)
if [ "${1:-}" != "--tools" ]; then
  packages+=(
    git catch2
    openssl   # the TLS tests make their certificates at test time
    curl zstd gzip  # independent clients and decoders in the compression tests
    python3   # the benches and the fuzz seeds read and write JSON and zlib
    time      # bench/throughput.sh measures CPU and RSS with /usr/bin/time
    util-linux  # setpriv: the bad-input tests drop root's file-permission override
    clang libclang-rt-14-dev  # libFuzzer and its sanitizers (make fuzz)
    chromium  # the HTML report test renders the report headless
  )
  # The interop test sends with the OpenTelemetry JS SDK (tests/interop): Node.js and
  # npm, unless the machine has them already.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

# The JS SDK, at the versions tests/interop/package-lock.json pins (when it changed).
install_interop() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/interop"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json" 2>/dev/null; then
    echo "install-deps: npm ci in tests/interop"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error &&
      cp package-lock.json node_modules/.installed-lock.json)
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--tools" ] || install_interop
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ "${1:-}" = "--tools" ] || install_interop
