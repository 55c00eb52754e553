# The two commands of the README: `make run` and `make test`.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= ./data

.PHONY: deps configure build run test test-asan test-tsan fuzz bench soak format clean

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

# The whole suite under sanitizers, each in a build dir of its own, with
# jemalloc off (the sanitizers must see every allocation). Tests that start
# `crier` start the sanitized one of the same build dir (CRIER_BINARY).
# A finding stops the process that met it (halt_on_error), which fails the
# test if that process is the test itself, and fails the target in any case
# (the reports directory, below).
# -O1 -g1: line tables are all a report needs, and against RelWithDebInfo's
# -O2 -g this halves the compile time (measured: 17.7 s against 34 s of CPU
# for workers/webhook_provider.cpp under ASan+UBSan; Release -O3 takes 11.4 s),
# which is what decides whether CI can afford the ASan run.
SAN_CMAKE = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCRIER_USE_JEMALLOC=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
# Every process of the run (the test binaries and what they start: crier
# serve, crier sink, the CLI) writes its reports as files into
# <build dir>/sanitizer-reports, and scripts/sanitizer-reports.sh fails the
# target if there is one: a finding in a child process fails the run even when
# the test that started it never looks at the child's exit code or output.
san_log = log_exe_name=1:log_path=$(CURDIR)/$(1)/sanitizer-reports/$(2)

test-asan: deps
	@cmake -S . -B build-asan $(SAN_CMAKE) -DCMAKE_CXX_FLAGS="$(ASAN_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(ASAN_FLAGS)" >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@rm -rf build-asan/sanitizer-reports && mkdir -p build-asan/sanitizer-reports
	cd build-asan && rc=0; \
	  ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=0:$(call san_log,build-asan,asan) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$(call san_log,build-asan,ubsan) \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 || rc=1; \
	  ../scripts/sanitizer-reports.sh sanitizer-reports || rc=1; exit $$rc

test-tsan: deps
	@cmake -S . -B build-tsan $(SAN_CMAKE) -DCMAKE_CXX_FLAGS="$(TSAN_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(TSAN_FLAGS)" >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@rm -rf build-tsan/sanitizer-reports && mkdir -p build-tsan/sanitizer-reports
	cd build-tsan && rc=0; \
	  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp:$(call san_log,build-tsan,tsan)" \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 || rc=1; \
	  ../scripts/sanitizer-reports.sh sanitizer-reports || rc=1; exit $$rc

# libFuzzer targets (tests/fuzz/*_fuzz.cpp), built with Debian's clang in
# build-fuzz, each run for FUZZ_TIME seconds from its committed corpus; new
# coverage is merged back into tests/fuzz/corpus/<name> (minimised), crashes
# are left in build-fuzz/artifacts/. FUZZ_TARGETS="csv ndjson" runs a few.
FUZZ_TIME ?= 120
FUZZ_TARGETS ?=
# -fno-sanitize=function: clang 14 cannot emit its prologue data for
# coroutine frames ("Cannot represent a difference across sections").
FUZZ_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer \
  -fno-sanitize-recover=undefined
fuzz: deps
	@dpkg -s clang-14 libclang-rt-14-dev >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev
	@cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCRIER_USE_JEMALLOC=OFF -DCRIER_BUILD_TESTS=OFF -DCRIER_BUILD_FUZZ=ON \
	  -DCMAKE_CXX_FLAGS="$(FUZZ_FLAGS)" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_targets
	./tests/fuzz/run.sh build-fuzz $(FUZZ_TIME) $(FUZZ_TARGETS)

# Benchmarks: micro-benchmarks, then the server scenarios (bench/load.sh), the
# three levels of rate limits (bench/rate_levels.sh) and the vendors' façades
# against the native API (bench/compat.sh), and profiles at scale: import,
# segment evaluation, a segment's peak RSS (bench/profiles.sh).
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
	./bench/rate_levels.sh build-bench
	./bench/compat.sh build-bench
	./bench/profiles.sh build-bench

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
