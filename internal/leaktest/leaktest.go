// Package leaktest fails a test binary that leaves goroutines behind
// (STYLE.md §5, as coder/websocket's main_test.go does).
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignored are goroutines that belong to the runtime or the test framework.
var ignored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"runtime.goexit",
	"created by runtime",
	"signal.signal_recv",
	"os/signal.loop",
	"testing.(*T).Run",
	"runtime.ensureSigM",
	"internal/poll.runtime_pollWait", // idle keep-alive conns of http.DefaultTransport are closed below
}

func interesting(stack string) bool {
	lines := strings.SplitN(stack, "\n", 3)
	if len(lines) < 2 {
		return false
	}
	if strings.Contains(lines[1], "testing.(*M).Run") || strings.Contains(lines[1], "leaktest.") {
		return false
	}
	for _, ig := range ignored[:len(ignored)-1] {
		if strings.Contains(lines[1], ig) {
			return false
		}
	}
	return true
}

func leaked() []string {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	var out []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && interesting(g) {
			out = append(out, g)
		}
	}
	return out
}

// Main runs the tests, then waits up to 5 s for goroutines started by them
// to end; any left fail the binary with their stacks.
func Main(m *testing.M) { os.Exit(Check(m)) }

// Check is Main without the exit: it returns the binary's exit code, for a
// TestMain with cleanup of its own to do first.
func Check(m *testing.M) int {
	before := len(leaked())
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		var left []string
		for {
			left = leaked()
			if len(left) <= before || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(left) > before {
			fmt.Fprintf(os.Stderr, "leaktest: %d goroutines leaked:\n\n%s\n", len(left)-before, strings.Join(left, "\n\n"))
			code = 1
		}
	}
	return code
}
