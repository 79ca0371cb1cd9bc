# Thin wrapper over CMake. `make run` and `make test` are the README's two commands:
# each installs what is missing (Debian/Ubuntu), configures, builds and then runs.
BUILD ?= build
SAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
# ctest shows no output of a skipped test: after a run, print each "SKIP: why" line the
# client tests (tests/clients/run_client.c) wrote to ctest's log, keeping ctest's status.
SHOW_SKIPS = rc=$$?; grep -h '^SKIP: ' Testing/Temporary/LastTest.log 2>/dev/null | sort -u; exit $$rc

.PHONY: all deps build run test test-unit asan-test fuzz tidy bench bench-latency docker-test format clean

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/mayfly-server --bind 127.0.0.1 --port 6379

test: build
	cd $(BUILD) && { ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS); $(SHOW_SKIPS); }

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

asan-test: deps
	cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	    -DMAYFLY_SANITIZE=address,undefined -DMAYFLY_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && { ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS); $(SHOW_SKIPS); }

# Each target runs FUZZ_SECONDS (default 60) from its committed seed corpus.
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMAYFLY_FUZZ=ON \
	    -DMAYFLY_SANITIZE=address,undefined
	cmake --build build-fuzz -j $(JOBS) --target fuzz_resp fuzz_resp_reader fuzz_dispatch \
	    fuzz_load
	scripts/fuzz.sh build-fuzz

# clang-tidy over src/ (.clang-tidy, with the ratchet of scripts/tidy-ratchet.txt). Only
# configures build-tidy for its compile_commands.json; TIDY_ARGS="--changed main" limits
# the run to the files that differ from main.
tidy: deps
	cmake -S . -B build-tidy -DCMAKE_C_COMPILER=clang -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
	    -DMAYFLY_TESTS=OFF > /dev/null
	python3 scripts/tidy.py --build build-tidy $(TIDY_ARGS)

# Everything (throughput, memory, latency probes; ~30 min on 2 quiet CPUs). BENCH_ARGS
# selects, e.g. BENCH_ARGS="--only latency --cases hash1m,hashes10m" (bench/README.md).
# REDIS74_SERVER=/path/redis-server gives the latency probes a reference with field TTLs.
bench: build
	python3 bench/bench.py $(BENCH_ARGS)

# Issue 17's latency cases only, at full scale (~10-15 min): PING beside Redis while 1M
# fields of one hash / 10M fields of 1M hashes expire at once, the key table grows to 10M
# keys and one hash to 10M fields, and FLUSHALL of 5M keys.
bench-latency: build
	python3 bench/bench.py --only latency $(BENCH_ARGS)

docker-test:
	sh tests/docker/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(SAN_BUILD) build-fuzz build-tidy
