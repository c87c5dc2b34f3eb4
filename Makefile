# Entry points. Every target installs what it needs first (scripts/install-deps.sh is
# idempotent), so `make demo` and `make test` work on a fresh Debian 12 machine.
# WERROR=ON turns warnings into errors (CI sets it).

BUILD ?= build
WERROR ?= OFF
JOBS ?= $(shell nproc)
CMAKE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOADGEN_WERROR=$(WERROR)

FUZZ_SECONDS ?= 60

.PHONY: all deps tool-deps build tools test demo bench asan tsan fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

tool-deps:
	@scripts/install-deps.sh --tools

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DBUILD_TESTING=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Only the three tools, with only their packages: what the demo needs. A build
# directory configured with the tests keeps them.
tools: tool-deps
	test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DBUILD_TESTING=OFF >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target telemetry-generator telemetry-sender otlp-sink

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: tools
	scripts/demo.sh $(BUILD)

bench: build
	bench/throughput.sh $(BUILD)

# Sanitizer builds: -O1 as the sanitizers' docs advise, and line tables only (-g1),
# which is all a report's stack needs: half the compile time of -O2 -g. Without NDEBUG,
# so the asserts on the preconditions headers state are checked under the test suite.
SANITIZER_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"

# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B build-asan $(CMAKE_FLAGS) $(SANITIZER_FLAGS) -DLOADGEN_SANITIZE=address,undefined >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# The worker pools, limiter, exporter retries, TLS and signal handling under
# ThreadSanitizer. Tests whose outcome depends on timing are left out: under TSan
# everything is ~20x slower, so the fault suite's requests time out and are retried (the
# sink then counts the duplicates that at-least-once delivery allows) and a scheduled run
# falls short of its rates.
tsan: deps
	cmake -S . -B build-tsan $(CMAKE_FLAGS) $(SANITIZER_FLAGS) -DLOADGEN_SANITIZE=thread >/dev/null
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -j $(JOBS) --timeout 1200 \
	  -R "pool|send loop|stop|bucket|SIGINT|retr|refusal|partial|TLS|schedule|limiter|compression|late roots (arrive|are split)|late roots: due|deferred queue|trace store" \
	  -E "^fault:|shapes the load"

# Each libFuzzer target for FUZZ_SECONDS on seeds from real inputs (tests/fuzz/run.sh).
fuzz: deps
	tests/fuzz/run.sh $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz generated
