// Command e2e-server serves the e2e application (tests/e2e/APP.md) for
// running the JS tests by hand: it prints "listening <port>" like node-app.mjs.
// SIO_RECOVERY_MS=n enables connection state recovery with an n ms window.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/tests/e2e"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "0"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var opts native.Options
	if v := os.Getenv("SIO_RECOVERY_MS"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			fmt.Fprintln(os.Stderr, "SIO_RECOVERY_MS must be a positive number of ms, got", v)
			os.Exit(1)
		}
		opts.Recovery = &native.Recovery{MaxDisconnectionDuration: time.Duration(ms) * time.Millisecond}
	}
	srv := e2e.NewApp(opts)
	defer srv.Close()
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	go http.Serve(ln, srv)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	<-ch
}
