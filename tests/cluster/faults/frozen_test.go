package faults

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestCloseWhileRedisFrozen: Redis stops answering (SIGSTOP: connections
// stay open and Redis accepts new ones, but nothing comes back, as behind
// a network partition) while a server has many messages waiting for the
// adapter. The server keeps serving its clients, and Close returns within
// a bound instead of trying every waiting message for the adapter's
// timeout (5 s each).
func TestCloseWhileRedisFrozen(t *testing.T) {
	r := startRedis(t)
	// Short I/O timeouts, so that the adapter call in progress at Close
	// (which no context cancels: go-redis only has I/O deadlines) ends
	// soon; by default it ends at the server's 5 s bound of one call.
	n := startNodeWith(t, r.addr, "frozen", "a", nodeConfig{redis: func(o *redis.Options) {
		o.ReadTimeout, o.WriteTimeout, o.MaxRetries = 300*time.Millisecond, 300*time.Millisecond, -1
	}})
	p := dial(t, n, "/")
	n.srv.Emit("news", "before")
	p.expect("news", "before")
	eventually(t, wait, "the broadcast published", func() (bool, string) {
		st := n.srv.ClusterStats()
		return st.Published == 1, fmt.Sprintf("%+v", st)
	})

	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer r.cmd.Process.Signal(syscall.SIGCONT)
	const many = 200
	for i := range many {
		if d := timed(func() { n.srv.Emit("news", "frozen") }); d > apiBound {
			t.Fatalf("Emit %d took %v while Redis is frozen", i, d)
		}
	}
	for range many {
		p.expect("news", "frozen")
	}
	p.ping("a")
	p.c.Close()
	// Close gives the adapter 2 s (closeBudget in hosts/native), then
	// cancels the rest.
	d := timed(func() { n.srv.Close() })
	st := n.srv.ClusterStats()
	if d > 3500*time.Millisecond || st.Dropped == 0 || st.Published != 1 || st.Pending != 0 {
		t.Errorf("Close took %v while Redis is frozen; %+v", d, st)
	} else {
		t.Logf("Close took %v while Redis is frozen; %+v", d, st)
	}
}
