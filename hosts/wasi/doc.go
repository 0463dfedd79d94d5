// Package wasi is the WASI edge host of socketcore (README.md beside this
// file): the handler (hosts/wasi/handler) compiled as the wasip1 command
// hosts/wasi/cmd/wasi-handler, served behind a GRIP proxy by the local
// runner (hosts/wasi/runner, hosts/wasi/cmd/wasi-runner). Its tests
// (build tag pushpin, run by `make test-wasi`) start a private Pushpin.
package wasi
