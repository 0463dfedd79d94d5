// Command wasi-handler is the socketcore WASI edge handler as a wasip1
// command (GOOS=wasip1 GOARCH=wasm go build): the Socket.IO core, the GRIP
// translation and the e2e application in one module that a WASI runtime
// runs behind a GRIP proxy. It speaks the handler protocol of package
// handler on stdin/stdout.
//
//	wasi-handler          one request per instance: read one request, restore
//	                      the state from the store directory ($SOCKETCORE_STORE,
//	                      default /store, a preopened directory), serve, save
//	                      the state, write the response, exit
//	wasi-handler serve    a warm instance: serve requests until stdin ends,
//	                      keeping the state in memory
//
// The state file is not locked (WASI preview 1 has no locks): the platform
// runs one request at a time per store.
package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/socketcore/socketcore/hosts/wasi/handler"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasi-handler:", err)
		os.Exit(1)
	}
}

func options() handler.Options {
	var opts handler.Options
	rand.Read(opts.Seed[:]) // WASI random_get: every instance gets its own ids
	return opts
}

func run(args []string) error {
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	if len(args) > 0 && args[0] == "serve" {
		h := handler.New(options())
		for {
			var req handler.Request
			if err := handler.ReadFrame(in, &req); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := handler.WriteFrame(out, h.Serve(time.Now().UnixNano(), req)); err != nil {
				return err
			}
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
	store := os.Getenv("SOCKETCORE_STORE")
	if store == "" {
		store = "/store"
	}
	var req handler.Request
	if err := handler.ReadFrame(in, &req); err != nil {
		return err
	}
	path := filepath.Join(store, "state.json")
	state, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	now := time.Now().UnixNano()
	h, err := handler.Load(options(), now, state)
	if err != nil {
		return err
	}
	resp := h.Serve(now, req)
	state, err = h.Save()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, state, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := handler.WriteFrame(out, resp); err != nil {
		return err
	}
	return out.Flush()
}
