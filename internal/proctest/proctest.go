// Package proctest gives the tests that run the socketcore command as a
// separate process (tests/cluster/...) what they all need: the command
// built from source once per test binary, a loopback port that is free,
// a buffer the process's output can be written to while the test reads
// it, and Eventually, to wait for what a process or a cluster does. A
// build that fails fails the test; it is never skipped.
package proctest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Package is the import path, relative to the repository root, of the
// command Socketcore builds.
const Package = "./hosts/native/cmd/socketcore"

// The build is shared by every test of the binary: building takes seconds,
// and a TempDir of the first test would be gone before the next one runs.
var (
	once sync.Once
	dir  string
	bin  string
	err  error
)

// Socketcore returns the path of the socketcore command, built on first
// use into a temporary directory that outlives the tests. Call Cleanup
// from TestMain to remove it.
func Socketcore(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		var root string
		if root, err = repoRoot(); err != nil {
			return
		}
		goBin, lookErr := exec.LookPath("go")
		if lookErr != nil {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		if dir, err = os.MkdirTemp("", "socketcore-cmd-"); err != nil {
			return
		}
		bin = filepath.Join(dir, "socketcore")
		cmd := exec.Command(goBin, "build", "-o", bin, Package)
		cmd.Dir = root
		if out, buildErr := cmd.CombinedOutput(); buildErr != nil {
			err = fmt.Errorf("go build %s: %v\n%s", Package, buildErr, out)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Cleanup removes what Socketcore built.
func Cleanup() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// repoRoot walks up from the test's directory to go.mod (without a
// testing.TB: Socketcore's build runs once, for whichever test asks first).
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("go.mod not found above the test directory")
		}
		d = parent
	}
}

// FreePort returns a loopback port nobody listens on (for a moment): for a
// process that must keep its address across restarts, where the kernel's
// choice at each start would not do.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// SyncBuffer collects a process's output: exec copies it from another
// goroutine while the test reads it (on failure, or to wait for a line).
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Eventually retries cond every 20ms until it holds, for at most within,
// then fails the test; cond also says what it saw, for the failure.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	for end := time.Now().Add(within); ; {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			tb.Fatalf("timed out after %v waiting for %s; last saw %s", within, what, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
