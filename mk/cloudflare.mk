# hosts/cloudflare: the Worker + Durable Object running core.wasm, tested
# locally in miniflare/workerd from npm (no account, no network): the
# official client's e2e suite in every transport mode (and recovery mode), a
# broadcast to many clients, and a hibernation cycle. Needs Node.js 20+/npm.
.PHONY: test-cloudflare cloudflare-deps bench-cloudflare

TEST_EXTRA += test-cloudflare

hosts/cloudflare/node_modules/.package-lock.json: hosts/cloudflare/package.json hosts/cloudflare/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd hosts/cloudflare && npm ci --no-audit --no-fund

cloudflare-deps: node_modules/.package-lock.json hosts/cloudflare/node_modules/.package-lock.json

test-cloudflare: wasm cloudflare-deps
	cd hosts/cloudflare && node --test --test-concurrency=1 test/*.test.mjs

# Round-trip latency and broadcast throughput of the Worker in miniflare next
# to the native server (tests/e2e/cmd/e2e-server), one run each.
bench-cloudflare: wasm cloudflare-deps
	cd hosts/cloudflare && node bench/bench.mjs
