package native

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// scriptedMachine returns its outputs, then Wait; it records inputs.
type scriptedMachine struct {
	out []wire.Output
	in  []wire.Input
}

func (m *scriptedMachine) Handle(_ clock.Instant, in wire.Input) error {
	m.in = append(m.in, in)
	return nil
}

func (m *scriptedMachine) Poll() wire.Output {
	if len(m.out) == 0 {
		return wire.Wait{}
	}
	o := m.out[0]
	m.out = m.out[1:]
	return o
}

// TestDrainWritesOncePerConnection: the outputs of one drain reach each
// connection in order, joined into one write (one read here when the
// kernel delivers them together), a volatile frame goes when the connection
// was writable, and a connection closed in the same drain gets its frames
// before the close frame.
func TestDrainWritesOncePerConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	clients := make([]net.Conn, 2)
	conns := make([]*wsConn, 2)
	for i := range conns {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		sv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = cl
		conns[i] = &wsConn{id: wire.ConnID(i + 1), wg: &wg, writeTTL: time.Second}
		conns[i].attach(sv)
	}
	text := func(s string) []wire.Frame { return []wire.Frame{{Data: []byte(s)}} }
	m := &scriptedMachine{out: []wire.Output{
		wire.Send{Conn: 1, Frames: text("a")},
		wire.Broadcast{Conns: []wire.ConnID{1, 2}, Frames: text("b")},
		wire.Send{Conn: 1, Frames: []wire.Frame{{Data: []byte{1, 2}, Binary: true}, {Data: []byte("c")}}},
		wire.Send{Conn: 1, Frames: text("v"), Volatile: true},
		wire.Send{Conn: 2, Frames: text("d")},
		wire.CloseConn{Conn: 2},
	}}
	d := newDriver(m, nil)
	d.call(func(clock.Instant) {
		d.ws[1], d.ws[2] = conns[0], conns[1]
	})
	d.post(func(clock.Instant) {}) // a drain with the script's outputs
	var want1 []byte
	for _, f := range [][]wire.Frame{text("a"), text("b"), {{Data: []byte{1, 2}, Binary: true}, {Data: []byte("c")}}, text("v")} {
		want1 = appendFrames(want1, f)
	}
	got1 := make([]byte, len(want1))
	clients[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(clients[0], got1); err != nil || !bytes.Equal(got1, want1) {
		t.Fatalf("connection 1: %q, %v; want %q", got1, err, want1)
	}
	want2 := append(appendFrames(appendFrames(nil, text("b")), text("d")), 0x88, 2, 0x03, 0xe8)
	clients[1].SetReadDeadline(time.Now().Add(5 * time.Second))
	got2, err := io.ReadAll(clients[1])
	if err != nil || !bytes.Equal(got2, want2) {
		t.Fatalf("connection 2: %q, %v; want %q then the end", got2, err, want2)
	}
	d.call(func(clock.Instant) {
		if len(d.pending) != 0 || len(d.dirty) != 0 || conns[0].pendHead != 0 || conns[1].pendHead != 0 {
			t.Errorf("pending frames left: %d, %d dirty", len(d.pending), len(d.dirty))
		}
	})
	d.stop()
	wg.Wait()
}
