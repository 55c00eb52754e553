# The two commands of the README: `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./data

.PHONY: deps configure build run test bench soak format clean

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# --egress-allow 127.0.0.0/8: the walk-through's receiver (crier sink) runs on
# this machine, and loopback is refused by default.
run: build
	./$(BUILD_DIR)/crier serve --listen $(LISTEN) --data-dir $(DATA_DIR) --egress-allow 127.0.0.0/8

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Benchmarks: micro-benchmarks, then the server scenarios (bench/load.sh) and
# the vendors' façades against the native API (bench/compat.sh).
# A separate Release build with the bench targets; not part of `make test`.
bench: deps
	@dpkg -s wrk gnuplot-nox >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk gnuplot-nox
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCRIER_BUILD_BENCH=ON \
	  -DCRIER_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@mkdir -p bench/results
	./build-bench/bench/crier_micro_bench --benchmark_out=bench/results/micro-$$(date -u +%F).json \
	  --benchmark_out_format=json
	./bench/load.sh build-bench
	./bench/compat.sh build-bench

# The long run: the scale scenario (10 million recipients ingested and
# dispatched to null), peak RSS and data-dir size per recipient after
# `crier compact` (bench/soak.sh; N=200000 make soak for a quick check);
# then the long crash loop.
soak: deps
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCRIER_BUILD_BENCH=ON \
	  -DCRIER_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@mkdir -p bench/results
	./bench/soak.sh build-bench
	@# The long crash loop (tests/e2e/crash_loop_test.cpp): 200 000 webhooks, 12 SIGKILLs during ingest and dispatch.
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build $(BUILD_DIR) --target test_e2e -j $(JOBS)
	CRIER_CRASH_LOOP_USERS=200000 CRIER_CRASH_LOOP_KILLS=12 ./$(BUILD_DIR)/tests/test_e2e --gtest_filter='CrashLoopTest.*'

format:
	@find engine storage workers api app tests bench -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
