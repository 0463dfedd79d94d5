package native

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
)

// errorCode reads both forms of the machine's refusals, whatever the code.
func TestErrorCode(t *testing.T) {
	cases := []struct {
		body string
		want int
	}{
		{`{"code":0,"message":"Transport unknown"}`, engine.ErrUnknownTransport},
		{`{"code":1,"message":"Session ID unknown"}`, engine.ErrUnknownSID},
		{`{"code":5,"message":"Unsupported protocol version"}`, engine.ErrUnsupportedProtocol},
		{"Bad request", engine.ErrBadRequest}, // a refused upgrade: text/html
		{"Forbidden", engine.ErrForbidden},
		{`{"code":9,"message":"?"}`, errOther},
		{`{"code":12,"message":"?"}`, errOther},
		{"", errOther},
		{"Payload Too Large", errOther},
	}
	for _, c := range cases {
		if got := errorCode([]byte(c.body)); got != c.want {
			t.Errorf("errorCode(%q) = %d, want %d", c.body, got, c.want)
		}
	}
}

func TestReasonIndex(t *testing.T) {
	for i, r := range reasons {
		if reasonIndex(r) != i {
			t.Errorf("reasonIndex(%q) = %d", r, reasonIndex(r))
		}
	}
	if reasonIndex("io server disconnect") != numReasons-1 || reasonIndex("") != numReasons-1 {
		t.Error("an unknown reason is not other")
	}
	if got := DisconnectReasons(); len(got) != numReasons-1 || got[3] != wire.ReasonPingTimeout {
		t.Errorf("DisconnectReasons() = %q", got)
	}
	var c [numReasons]uint64
	c[reasonIndex(wire.ReasonPingTimeout)] = 2
	c[numReasons-1] = 1
	rc := reasonCounts(&c)
	if rc[3] != (ReasonCount{"ping timeout", 2}) || rc[numReasons-1] != (ReasonCount{"other", 1}) {
		t.Errorf("reasonCounts: %v", rc)
	}
}

// The histogram's buckets are cumulative in the snapshot, bounds included.
func TestLatencyHistogram(t *testing.T) {
	var h latencyHistogram
	for _, d := range []time.Duration{0, time.Millisecond, time.Millisecond + 1, 30 * time.Millisecond, time.Minute} {
		h.observe(d)
	}
	s := h.snapshot()
	if len(s.Bounds) != len(ackBounds) || s.Bounds[0] != 0.001 || s.Bounds[len(s.Bounds)-1] != 10 {
		t.Fatalf("bounds %v", s.Bounds)
	}
	//          1ms 2.5 5  10 25 50 ...
	want := []uint64{2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4}
	if !slices.Equal(s.Buckets, want) || s.Count != 5 {
		t.Fatalf("buckets %v count %d, want %v and 5", s.Buckets, s.Count, want)
	}
	if sum := time.Duration(math.Round(s.Sum * 1e9)); sum != time.Minute+32*time.Millisecond+1 {
		t.Fatalf("sum %v", sum)
	}
}

func TestRecoveryAsked(t *testing.T) {
	for auth, want := range map[string]bool{
		`{}`:                                  false,
		`{"pid":"a"}`:                         false,
		`{"pid":"a","offset":"b"}`:            true,
		`{"token":"x","pid":"a","offset":""}`: true,
		`{"pid":1,"offset":"b"}`:              false,
		`{"pid":"a","offset":"b"`:             false,
	} {
		if recoveryAsked([]byte(auth)) != want {
			t.Errorf("recoveryAsked(%s) = %v", auth, !want)
		}
	}
}

// The driver counts the volatile frames a busy WebSocket does not take:
// alone, or among the frames of one drain (the others are queued).
func TestVolatileDroppedOnWebSocket(t *testing.T) {
	c := &wsConn{id: 1, running: true} // a writer owns the socket: busy
	if ok, dropped := c.offer([]byte("x"), false, true, 10); !ok || !dropped {
		t.Fatalf("busy, volatile: ok %v dropped %v", ok, dropped)
	}
	if ok, dropped := c.offer([]byte("y"), false, false, 10); !ok || dropped || len(c.queue) != 1 {
		t.Fatalf("busy, not volatile: ok %v dropped %v queue %q", ok, dropped, c.queue)
	}
	d := &driver{writeQueueLimit: 10}
	d.pend(c, []byte("v1"), false, true)
	d.flushConn(c)
	d.pend(c, []byte("v2"), false, true)
	d.pend(c, []byte("kept"), false, false)
	d.pend(c, []byte("v3"), true, true)
	d.flushConn(c)
	if d.stats.volatileDropped != 3 || len(c.queue) != 2 || string(c.queue[1]) != "kept" {
		t.Fatalf("dropped %d, queue %q", d.stats.volatileDropped, c.queue)
	}
}
