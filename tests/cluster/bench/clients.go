//go:build linux

package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The client side speaks raw Engine.IO v4 / Socket.IO v5 text packets over
// gorilla/websocket, as BENCH-PROTOCOL.md describes: the WebSocket is opened
// directly (no polling handshake), then "40" connects to "/".

const (
	handshakeTimeout = 10 * time.Second
	eioPath          = "/socket.io/?EIO=4&transport=websocket"
)

var (
	tickPrefix = []byte(`42["tick",`)
	seqKey     = []byte(`"seq":`)
	tsKey      = []byte(`"ts":`)
)

// clock is the generator's monotonic clock in µs: the sender stamps each
// broadcast's "ts" with it and receivers subtract it from their own reading.
type clock struct{ epoch time.Time }

func (c clock) now() int64 { return int64(time.Since(c.epoch) / time.Microsecond) }

// dialer opens Engine.IO WebSockets from 127.0.0.1..127.0.0.<srcIPs>, so
// that runs after runs never exhaust one source address's ephemeral ports
// (closed client sockets linger in TIME_WAIT).
type dialer struct{ srcIPs int }

func (d dialer) dial(ctx context.Context, addr string, i int) (*websocket.Conn, error) {
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%max(d.srcIPs, 1)))}
	nd := &net.Dialer{LocalAddr: src, Timeout: handshakeTimeout}
	wd := websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: handshakeTimeout,
		ReadBufferSize:   16 << 10, // several ticks per read(2) when the server batches
		WriteBufferSize:  4 << 10,
	}
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	c, _, err := wd.DialContext(ctx, "ws://"+addr+eioPath, nil)
	if err != nil {
		return nil, err
	}
	// Engine.IO open packet, then the Socket.IO connect to "/".
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if err := expect(c, "0{"); err != nil {
		c.Close()
		return nil, fmt.Errorf("open: %w", err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		c.Close()
		return nil, err
	}
	if err := expect(c, "40"); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// expect reads packets until one starts with prefix, answering pings.
func expect(c *websocket.Conn, prefix string) error {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if bytes.HasPrefix(msg, []byte(prefix)) {
			return nil
		}
		if string(msg) == "2" {
			if err := c.WriteMessage(websocket.TextMessage, []byte("3")); err != nil {
				return err
			}
		}
	}
}

// join makes the connection a member of room "bench" (acknowledged join).
func join(c *websocket.Conn) error {
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	defer c.SetReadDeadline(time.Time{})
	if err := c.WriteMessage(websocket.TextMessage, []byte(`421["join","bench"]`)); err != nil {
		return err
	}
	return expect(c, "431")
}

// member is one receiving client. Its fields are written only by its read
// loop; the benchmark reads them after the loop has ended (done).
type member struct {
	conn   *websocket.Conn
	remote bool // connected to node 2 (the sender is on node 1)

	lat    []int32  // latency of each first delivery, µs
	seen   []uint64 // bitset of the seqs received
	dups   int64    // deliveries of a seq already received
	bad    int64    // ticks that could not be parsed or were out of range
	lastUS int64    // clock reading of the last delivery
	err    error    // why the read loop ended, unless closed by us

	// lastProbe is the highest cluster probe received: before measuring,
	// the sender broadcasts probes (negative seq) until one reaches every
	// member, which proves that both nodes have subscribed to the
	// cluster's channels.
	lastProbe atomic.Int64

	closing atomic.Bool
	done    chan struct{}
}

func newMember(c *websocket.Conn, remote bool, total int) *member {
	return &member{
		conn: c, remote: remote,
		lat:  make([]int32, 0, total),
		seen: make([]uint64, (total+63)/64),
		done: make(chan struct{}),
	}
}

// read is the member's read loop: it records every tick and answers
// Engine.IO pings until the connection ends. delivered counts first
// deliveries of every member (the drain phase watches it).
func (m *member) read(clk clock, delivered *atomic.Int64) {
	defer close(m.done)
	var buf bytes.Buffer
	for {
		_, r, err := m.conn.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if !m.closing.Load() {
				m.err = err
			}
			return
		}
		now := clk.now()
		msg := buf.Bytes()
		switch {
		case bytes.HasPrefix(msg, tickPrefix):
			seq, ok1 := intAfter(msg, seqKey)
			ts, ok2 := intAfter(msg, tsKey)
			switch {
			case !ok1 || !ok2:
				m.bad++
			case seq < 0: // a cluster probe
				if -seq > m.lastProbe.Load() {
					m.lastProbe.Store(-seq)
				}
			case seq >= int64(len(m.seen))*64 || int(seq) >= cap(m.lat):
				m.bad++
			case m.seen[seq/64]&(1<<(seq%64)) != 0:
				m.dups++
			default:
				m.seen[seq/64] |= 1 << (seq % 64)
				m.lat = append(m.lat, int32(min(now-ts, 1<<31-1)))
				m.lastUS = now
				delivered.Add(1)
			}
		case len(msg) == 1 && msg[0] == '2': // ping; only this loop writes
			if err := m.conn.WriteMessage(websocket.TextMessage, []byte("3")); err != nil {
				if !m.closing.Load() {
					m.err = err
				}
				return
			}
		}
	}
}

// close ends the connection (no close handshake: the benchmark is over).
func (m *member) close() {
	m.closing.Store(true)
	m.conn.Close()
}

// alive reports whether the read loop is still running.
func (m *member) alive() bool {
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// intAfter parses the (signed) integer that follows key in msg.
func intAfter(msg, key []byte) (int64, bool) {
	i := bytes.Index(msg, key)
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	for j < len(msg) && msg[j] == ' ' {
		j++
	}
	k := j
	if k < len(msg) && msg[k] == '-' {
		k++
	}
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	n, err := strconv.ParseInt(string(msg[j:k]), 10, 64)
	return n, err == nil
}

// sender is the extra client (on node 1, not in the room) that emits
// "broadcast". Its read loop answers pings, so writes share a lock.
type sender struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	pad     []byte // the "t" field's filler
	buf     []byte
	closing atomic.Bool
	done    chan struct{}
}

func newSender(c *websocket.Conn, size int) *sender {
	s := &sender{conn: c, done: make(chan struct{})}
	// Pad the payload {"seq":k,"ts":µs,"t":"xx…"} to about size bytes
	// (with a 5-digit seq and a 9-digit ts), as the neutral loadgen does.
	n := size - len(`{"seq":12345,"ts":123456789,"t":""}`)
	s.pad = bytes.Repeat([]byte("x"), max(n, 0))
	go s.read()
	return s
}

func (s *sender) read() {
	defer close(s.done)
	for {
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			return
		}
		if string(msg) == "2" {
			s.mu.Lock()
			s.conn.WriteMessage(websocket.TextMessage, []byte("3"))
			s.mu.Unlock()
		}
	}
}

// broadcast emits 42["broadcast",{"seq":seq,"ts":ts,"t":"…"}] (no ack).
func (s *sender) broadcast(seq, ts int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(s.buf[:0], `42["broadcast",{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"t":"`...)
	b = append(b, s.pad...)
	b = append(b, `"}]`...)
	s.buf = b
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.conn.WriteMessage(websocket.TextMessage, b)
}

func (s *sender) close() {
	s.closing.Store(true)
	s.conn.Close()
	<-s.done
}

// connectMembers opens n members, alternating between the two nodes (even
// index: node 1, odd: node 2), each joined to room "bench", with at most
// conc handshakes in flight. It fails if any member fails.
func connectMembers(ctx context.Context, d dialer, addrs [2]string, n, total, conc int) ([]*member, error) {
	ms := make([]*member, n)
	errs := make([]error, n)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := d.dial(ctx, addrs[i%2], i)
			if err == nil {
				if err = join(c); err != nil {
					c.Close()
				}
			}
			if err != nil {
				errs[i] = fmt.Errorf("member %d (node %d): %w", i, i%2+1, err)
				return
			}
			ms[i] = newMember(c, i%2 == 1, total)
		}()
	}
	wg.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			first = cmp.Or(first, err)
			failed++
		}
	}
	if failed > 0 {
		for _, m := range ms {
			if m != nil {
				m.close()
			}
		}
		return nil, fmt.Errorf("%d of %d members failed to connect or join; first: %w", failed, n, first)
	}
	return ms, nil
}
