# Both edge hosts measured in one run, each next to the native server
# (tests/e2e/cmd/e2e-server, the same application): round-trip latency and
# broadcast throughput of the Worker in miniflare, then of the WASI handler
# behind Pushpin (warm and instance per request), websocket and polling.
.PHONY: bench-edge

bench-edge: bench-cloudflare bench-wasi
