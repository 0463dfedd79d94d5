package native

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// roomLog is an Observer keeping the room events only, as "+room@id" and
// "-room@id", and the socket events as "connected@id" / "gone@id".
type roomLog struct {
	mu    sync.Mutex
	lines []string
}

func (r *roomLog) Observe(e Event) {
	var line string
	switch e.Kind {
	case RoomJoined:
		line = "+" + e.Room + "@" + e.Socket
	case RoomLeft:
		line = "-" + e.Room + "@" + e.Socket
	case SocketConnected:
		line = "connected@" + e.Socket
	case SocketDisconnected:
		line = "gone@" + e.Socket
	default:
		return
	}
	if e.Nsp != "/" {
		line += " nsp=" + e.Nsp
	}
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
}

func (r *roomLog) waitFor(t *testing.T, last string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		lines := slices.Clone(r.lines)
		r.mu.Unlock()
		if slices.Contains(lines, last) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", last, lines)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A server with observers reports every membership change of its sockets
// (core.Config.RoomEvents), whoever asked, as Node's adapter emits
// join-room / leave-room: the socket's own room before its connection,
// Join and Leave, SocketsJoin, and every room when it goes.
func TestObserveRooms(t *testing.T) {
	log := &roomLog{}
	joined := make(chan *Socket, 1)
	_, hs := newTestServer(t, Options{Observers: []Observer{log}}, func(s *Server) {
		s.OnConnection(func(so *Socket) {
			so.Join("lobby")
			joined <- so
		})
	})
	c, err := Dial(hs.URL, clientOpts("websocket"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	so := within(t, joined, "the connection")
	id := so.ID()
	so.Join("a")
	so.Leave("a")
	if err := so.Namespace().In(id).SocketsJoin("b"); err != nil {
		t.Fatal(err)
	}
	c.Disconnect()
	lines := log.waitFor(t, "gone@"+id)
	want := []string{"+" + id + "@" + id, "connected@" + id, "+lobby@" + id, "+a@" + id, "-a@" + id, "+b@" + id}
	if len(lines) != len(want)+4 || !slices.Equal(lines[:len(want)], want) {
		t.Fatalf("events %q, want %q then every room left and gone", lines, want)
	}
	left := slices.Sorted(slices.Values(lines[len(want) : len(want)+3]))
	if !slices.Equal(left, slices.Sorted(slices.Values([]string{"-" + id + "@" + id, "-lobby@" + id, "-b@" + id}))) ||
		lines[len(lines)-1] != "gone@"+id {
		t.Fatalf("departure %q", lines[len(want):])
	}
}

// Without observers at the start the machine reports no rooms (it pays
// nothing for them); an observer added later sees the sockets, not their
// rooms (Options.Observers).
func TestObserveRoomsOnlyWithObserversAtStart(t *testing.T) {
	log := &roomLog{}
	joined := make(chan string, 1)
	srv, hs := newTestServer(t, Options{}, func(s *Server) {
		s.OnConnection(func(so *Socket) { so.Join("lobby"); joined <- so.ID() })
	})
	if err := srv.Observe(log); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(hs.URL, clientOpts("websocket"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := within(t, joined, "the connection")
	c.Disconnect()
	if lines := log.waitFor(t, "gone@"+id); !slices.Equal(lines, []string{"connected@" + id, "gone@" + id}) {
		t.Fatalf("events %q", lines)
	}
}
