# The official Socket.IO Admin UI (@socket.io/admin-ui's own page, ui/dist)
# against `socketcore serve --admin`, in Debian's headless Chromium
# (tests/adminui/run.mjs): the UI logs in, lists the sockets, rooms, events
# and the server, and its buttons make a socket join a room, leave it, and
# disconnect another, checked on the official clients' side.
.PHONY: test-adminui

ADMINUI_DIR := tests/adminui

# playwright-core has no install script and never downloads a browser; the
# variable makes sure no other package does either.
$(ADMINUI_DIR)/node_modules/.package-lock.json: $(ADMINUI_DIR)/package.json $(ADMINUI_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(ADMINUI_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

# sdk-chromium (mk/sdk.mk) installs Debian's chromium when it is missing.
test-adminui: sdk-chromium node_modules/.package-lock.json $(ADMINUI_DIR)/node_modules/.package-lock.json
	@mkdir -p build
	$(GO) build -o build/socketcore ./hosts/native/cmd/socketcore
	ADMINUI_SERVER=$(abspath build/socketcore) node $(ADMINUI_DIR)/run.mjs

TEST_EXTRA += test-adminui
