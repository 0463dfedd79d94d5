# socketcore — see README.md. Everything a target needs is installed here
# (Go modules, `npm ci` from the committed lock file).
GO      ?= go
ADDR    ?= 127.0.0.1:3000
FUZZTIME ?= 30s

.PHONY: run test vet fmt-check wasm-build wasm size fuzz conformance bench-server bench bench-go bench-cluster

TEST_EXTRA :=

run: node_modules/.package-lock.json sdk
	$(GO) run ./hosts/native/cmd/socketcore --addr $(ADDR)

# The whole suite: static checks, the core's WASM builds, unit/fuzz-seed/host
# tests with the race detector, and the official-client e2e tests.
test: node_modules/.package-lock.json vet fmt-check wasm-build wasm
	SOCKETCORE_CORE_WASM=$(abspath $(CORE_WASM)) $(GO) test -race -count=1 -timeout 15m ./...
	@set -e; for t in $(TEST_EXTRA); do echo "== make $$t"; $(MAKE) --no-print-directory $$t; done

node_modules/.package-lock.json: package-lock.json package.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# The core must build for the WASM targets (issue: core.wasm, the JS SDK).
wasm-build:
	GOOS=wasip1 GOARCH=wasm $(GO) build ./core/...
	GOOS=js GOARCH=wasm $(GO) build ./core/...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm/guest

# core.wasm: the core as a wasip1 reactor (wasm/ABI.md), for wazero and the edge hosts.
CORE_WASM ?= build/core.wasm
wasm:
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -buildmode=c-shared -trimpath -ldflags="-s -w" -o $(CORE_WASM) ./wasm/guest

# core.wasm's size, raw / gzip / brotli, against the budget of issue 4.
size: wasm
	$(GO) run ./wasm/cmd/coresize -max-raw 2000000 -max-brotli 450000 $(CORE_WASM)

# Longer fuzzing of every decoder (the seed corpora run in `make test`).
fuzz:
	@set -e; for pkg_target in \
	  ./core/eio:FuzzDecodePacket ./core/eio:FuzzDecodePayload \
	  ./core/eio:FuzzDecodePayloadV3 ./core/eio:FuzzDecodeBinaryPayloadV3 ./core/eio:FuzzDecodePacketV3 \
	  ./core/sio:FuzzDecode ./core/sio:FuzzReassembler ./hosts/native:FuzzFrameReader ./hosts/native:FuzzFrameReaderDeflate \
	  ./core/sio:FuzzDecodeMsgpack ./core/sio:FuzzMsgpackTranscode ./core/internal/msgpack:FuzzReader ./core:FuzzServerMsgpack \
	  ./core/internal/jsontext:FuzzValidate ./core/internal/jsontext:FuzzQuote \
	  ./core:FuzzServerInputs ./wasm/abi:FuzzABIRecord ./core/client:FuzzClientInputs \
	  ./adapter/wire:FuzzDecode ./adapter/postgres:FuzzDecode \
	  ./core:FuzzV3Namespace ./core/internal/b64:FuzzAgainstEncodingBase64; do \
	  pkg=$${pkg_target%%:*}; t=$${pkg_target##*:}; \
	  echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# The servers the official protocol suites are pointed at (see README).
conformance:
	$(GO) run ./hosts/native/cmd/socketcore conformance --engine-addr 127.0.0.1:3000 --sio-addr 127.0.0.1:3001

bench-server:
	$(GO) run ./hosts/native/cmd/socketcore bench-server --addr 127.0.0.1:3004

# Side by side with Node's socket.io and the raw-WebSocket ceiling, using the
# neutral load generator (BENCH_DIR: the folder with bench.sh and analyze.py;
# ../shared/bench in the founders' workplace). Servers on CPU 1, loadgen on CPU 0.
BENCH_DIR   ?= ../shared/bench
BENCH_WORK  ?= $(CURDIR)/.bench
BENCH_PHASE ?= all
BENCH_REPS  ?= 3
bench:
	@test -f $(BENCH_DIR)/bench.sh || { echo "make bench needs the load generator: BENCH_DIR=<folder with bench.sh and analyze.py>"; exit 1; }
	rm -rf $(BENCH_WORK)/results && mkdir -p $(BENCH_WORK)
	$(GO) build -o $(BENCH_WORK)/socketcore ./hosts/native/cmd/socketcore
	SERVERS="node raw ours" OURS_CMD='$(BENCH_WORK)/socketcore bench-server --addr {ADDR}' BENCH_WORK=$(BENCH_WORK) \
	  bash $(BENCH_DIR)/bench.sh $(BENCH_PHASE) $(BENCH_REPS)
	python3 $(BENCH_DIR)/analyze.py $(BENCH_WORK)/results
	$(GO) run ./tests/bench/targets $(BENCH_WORK)/results

# Cross-node broadcast fanout in a 2-node Redis cluster, Go vs Node in the same
# run (tests/cluster/bench, written for this repository): per run, 2 fresh
# socketcore bench-servers (--redis, random --redis-key) or 2 Node socket.io
# servers on @socket.io/redis-adapter (tests/cluster/bench/node-server.mjs),
# CLUSTER_N clients split evenly between them in room "bench", one sender on
# node 1 at each of CLUSTER_RATES broadcasts/s for CLUSTER_DURATION; kinds
# alternate, CLUSTER_REPS reps. Prints deliveries/s, latency p50/p99/p999 for
# local and remote members, missing/duplicates, CPU (servers, generator,
# Redis): medians (min–max) and Go/Node. Servers on CPU 1, generator on CPU 0
# (taskset); Redis (CLUSTER_REDIS, default $REDIS_URL or 127.0.0.1:6379) is not
# pinned. The whole bench is bounded by CLUSTER_TIMEOUT (each run also has its
# own watchdog). Runs land in $(BENCH_WORK)/cluster.jsonl; CLUSTER_FLAGS passes
# more flags (go run ./tests/cluster/bench -h lists them).
CLUSTER_N        ?= 1000
CLUSTER_RATES    ?= 10,100
CLUSTER_DURATION ?= 10s
CLUSTER_REPS     ?= 3
CLUSTER_FLAGS    ?=
CLUSTER_TIMEOUT  ?= 60m
CLUSTER_REDIS    ?= $(if $(REDIS_URL),$(REDIS_URL),redis://127.0.0.1:6379)
bench-cluster: node_modules/.package-lock.json
	mkdir -p $(BENCH_WORK)
	$(GO) build -o $(BENCH_WORK)/socketcore ./hosts/native/cmd/socketcore
	$(GO) build -o $(BENCH_WORK)/clusterbench ./tests/cluster/bench
	ulimit -n 20000 2>/dev/null; timeout $(CLUSTER_TIMEOUT) $(BENCH_WORK)/clusterbench -socketcore $(BENCH_WORK)/socketcore \
	  -node-server tests/cluster/bench/node-server.mjs -redis $(CLUSTER_REDIS) -logs $(BENCH_WORK)/cluster-logs \
	  -n $(CLUSTER_N) -rates $(CLUSTER_RATES) -d $(CLUSTER_DURATION) -reps $(CLUSTER_REPS) \
	  -out $(BENCH_WORK)/cluster.jsonl $(CLUSTER_FLAGS)

# The Go benchmarks of the codecs, the machines and the host.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./core/... ./hosts/...

# Hosts and packages with their own setup (npm, apt) keep their targets in
# mk/*.mk (included last, so that `run` stays the default goal); each appends
# its test target to TEST_EXTRA, which `make test` runs after the Go suite.
-include $(sort $(wildcard mk/*.mk))
