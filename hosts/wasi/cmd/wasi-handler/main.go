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
//
// Environment:
//
//	SOCKETCORE_STORE        the store directory (instance per request)
//	SOCKETCORE_GRIP_KEY     verify the proxy's Grip-Sig with this key and
//	                        refuse (403) every request without a valid one:
//	                        a secret as Pushpin's sig_key writes it (the
//	                        secret, or "base64:" and its base64) for HS256,
//	                        or the PEM text of a public key (EC P-256 for
//	                        ES256, as Fastly Fanout signs; RSA for RS256)
//	SOCKETCORE_GRIP_ISS     the issuer the token must name (Pushpin's
//	                        sig_iss); empty: any
//	SOCKETCORE_RECOVERY_MS  connection state recovery with this window (ms)
package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/socketcore/socketcore/hosts/wasi/handler"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wasi-handler:", err)
		os.Exit(1)
	}
}

func options() (handler.Options, error) {
	var opts handler.Options
	rand.Read(opts.Seed[:]) // WASI random_get: every instance gets its own ids
	if key := os.Getenv("SOCKETCORE_GRIP_KEY"); key != "" {
		v, err := handler.NewGripVerifier(key, os.Getenv("SOCKETCORE_GRIP_ISS"))
		if err != nil {
			return opts, fmt.Errorf("SOCKETCORE_GRIP_KEY: %w", err)
		}
		opts.Grip = v
	}
	if ms := os.Getenv("SOCKETCORE_RECOVERY_MS"); ms != "" {
		n, err := strconv.Atoi(ms)
		if err != nil || n < 0 {
			return opts, fmt.Errorf("SOCKETCORE_RECOVERY_MS: want a number of milliseconds, got %q", ms)
		}
		opts.RecoveryWindow = time.Duration(n) * time.Millisecond
	}
	return opts, nil
}

func run(args []string) error {
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	opts, err := options()
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "serve" {
		h := handler.New(opts)
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
	now := time.Now().UnixNano()
	if resp := handler.Refuse(opts, now, req); resp != nil {
		// not the proxy's: the state is not even read
		if err := handler.WriteFrame(out, resp); err != nil {
			return err
		}
		return out.Flush()
	}
	path := filepath.Join(store, "state.json")
	state, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	lopts := opts
	lopts.Grip = nil // checked above, once
	h, err := handler.Load(lopts, now, state)
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
