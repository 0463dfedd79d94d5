// Package nginx tests two socketcore nodes behind a real nginx (Debian's)
// with sticky sessions: the official client over polling through nginx
// fails across the nodes without stickiness and works with it, and
// upgrades to WebSocket through it. Its test has the build tag nginx: run
// `make test-nginx`, which installs nginx when it is missing.
package nginx
