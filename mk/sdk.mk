# The JS SDK (sdk/js): socket.io-client's API over core.wasm's client role.
# `make sdk` builds sdk/js/dist (index.js, index.d.ts, core.wasm); `make
# test-sdk` runs its Node tests against the Go e2e app and Node's socket.io
# in every transport mode, the SDK in workerd (a Worker in miniflare, which
# sdk/js's npm devDependencies bring: no Cloudflare account) and its browser
# tests in Debian's headless Chromium (sdk/js/test/run.mjs); `make
# sdk-connect-time` measures page load → "connect" in Chromium, the SDK
# against the official client bundle.
.PHONY: sdk test-sdk sdk-chromium sdk-connect-time

SDK_DIR  := sdk/js
CHROMIUM := /usr/bin/chromium

# playwright-core never downloads a browser (it has no install script);
# the variable makes sure no other package does either.
$(SDK_DIR)/node_modules/.package-lock.json: $(SDK_DIR)/package.json $(SDK_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(SDK_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

sdk: wasm $(SDK_DIR)/node_modules/.package-lock.json
	cd $(SDK_DIR) && CORE_WASM=$(abspath $(CORE_WASM)) node build.mjs

# The browser tests' Chromium: Debian's package, installed when missing.
sdk-chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "$(CHROMIUM) is missing: apt-get install -y chromium"; \
	  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } || \
	  { echo "could not install Debian's chromium, which the SDK's browser tests need at $(CHROMIUM): as root, run apt-get update && apt-get install -y chromium"; exit 1; }; \
	fi

test-sdk: sdk sdk-chromium node_modules/.package-lock.json
	@mkdir -p build
	$(GO) build -o build/e2e-server ./tests/e2e/cmd/e2e-server
	$(GO) build -o build/socketcore ./hosts/native/cmd/socketcore
	SDK_GO_SERVER=$(abspath build/e2e-server) SDK_DEMO_SERVER=$(abspath build/socketcore) node $(SDK_DIR)/test/run.mjs

# Page load → "connect" in headless Chromium, the SDK against the official
# bundle, same page, same Go server, same run (CONNECT_LOADS loads each,
# cold and warm), and where a cold load's time goes.
CONNECT_LOADS ?= 15
sdk-connect-time: sdk sdk-chromium node_modules/.package-lock.json
	@mkdir -p build
	$(GO) build -o build/e2e-server ./tests/e2e/cmd/e2e-server
	SDK_GO_SERVER=$(abspath build/e2e-server) node $(SDK_DIR)/test/connect-time.mjs $(CONNECT_LOADS)

TEST_EXTRA += test-sdk
