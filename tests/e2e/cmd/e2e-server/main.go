// Command e2e-server serves the e2e application (tests/e2e/APP.md) for
// running the JS tests by hand: it prints "listening <port>" like node-app.mjs.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"

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
	srv := e2e.NewApp(native.Options{})
	defer srv.Close()
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	go http.Serve(ln, srv)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	<-ch
}
