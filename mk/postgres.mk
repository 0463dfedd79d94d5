# The PostgreSQL cluster against Node: a Go server (adapter/postgres) and a
# socket.io server on the official @socket.io/postgres-adapter share a
# cluster, official clients on both, both emitters
# (tests/cluster/postgres/mixed_test.go with the postgresnode tag, driven by
# mixed.mjs). The Go-only PostgreSQL tests run in `go test ./...`. Both need
# PostgreSQL at 127.0.0.1:5432 (database test, trust auth) or PG_URL.
.PHONY: test-postgres

PG_NODE_DIR := tests/cluster/postgres

$(PG_NODE_DIR)/node_modules/.package-lock.json: $(PG_NODE_DIR)/package.json $(PG_NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ and npm (apt-get install nodejs npm)"; exit 1; }
	cd $(PG_NODE_DIR) && npm ci --no-audit --no-fund

test-postgres: $(PG_NODE_DIR)/node_modules/.package-lock.json
	$(GO) vet -tags postgresnode ./$(PG_NODE_DIR)/
	$(GO) test -race -count=1 -tags postgresnode -run TestMixedCluster -timeout 5m ./$(PG_NODE_DIR)/

TEST_EXTRA += test-postgres
