# hosts/wasi: the WASI edge handler behind a GRIP proxy (Pushpin locally).
# `make test-wasi` installs pushpin (Debian) when missing and runs the
# Go tests with the pushpin tag (they build the wasip1 handler themselves
# and start their own pushpin); `make wasi-handler` builds the module for
# the local runner (go run ./hosts/wasi/cmd/wasi-runner --pushpin);
# `make bench-wasi` measures it next to the native server.
WASI_HANDLER ?= build/wasi-handler.wasm

.PHONY: test-wasi wasi-handler pushpin-install bench-wasi

wasi-handler:
	GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(WASI_HANDLER) ./hosts/wasi/cmd/wasi-handler

pushpin-install:
	@command -v pushpin >/dev/null 2>&1 || { \
	  echo "pushpin is missing: installing it with apt-get (Debian package pushpin)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  ( $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends pushpin ) \
	  || { echo "could not install pushpin: run 'apt-get install -y pushpin' as root (Debian/Ubuntu), then make test-wasi"; exit 1; }; }

test-wasi: node_modules/.package-lock.json pushpin-install
	$(GO) test -tags pushpin -count=1 -timeout 10m ./hosts/wasi/...

# Round trip and broadcast throughput, native server vs the WASI handler
# behind Pushpin (warm and per request), websocket and polling, in one run.
bench-wasi: node_modules/.package-lock.json pushpin-install wasi-handler
	$(GO) run ./hosts/wasi/cmd/wasi-bench --wasm $(WASI_HANDLER)

TEST_EXTRA += test-wasi
