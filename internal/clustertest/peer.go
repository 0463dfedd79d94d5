package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// Event is what a client received: an event (Args) or its disconnection
// (Name "disconnect", Reason).
type Event struct {
	Name   string
	Args   native.Args
	Reason string
}

func (e Event) String() string {
	if e.Name == "disconnect" {
		return "disconnect " + e.Reason
	}
	b, _ := json.Marshal(e.Args.Values())
	return e.Name + " " + string(b)
}

// Hello is what Dial waits for before it returns.
type Hello int

const (
	// HelloServer: the application's "hello" {id, server}, with the
	// client's id and the name the server was dialed as.
	HelloServer Hello = iota
	// HelloID: the application's "hello", with the client's id.
	HelloID
	// Connected: the connection only (a server without the application).
	Connected
)

// Options are Dial's.
type Options struct {
	Wait   time.Duration // bounds every single wait of the peer
	Hello  Hello
	Ignore []string // events not queued, besides "hello" and "quiz"
}

// Peer is a Go client of one server of the cluster.
type Peer struct {
	T      testing.TB
	Server string // the server's name
	C      *native.ClientSocket
	ID     string
	Events chan Event // every event but "hello", "quiz" and Options.Ignore
	wait   time.Duration
}

// Dial connects a client to the server named server at url (WebSocket, no
// reconnection), answers "quiz" with "<server>:<question>", and waits for
// what o.Hello says. The client is closed at the end of the test.
func Dial(t testing.TB, url, server string, o Options) *Peer {
	t.Helper()
	c, err := native.Dial(url, native.ClientOptions{
		Transports:     []string{"websocket"},
		NoReconnection: true,
		NoAutoConnect:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &Peer{T: t, Server: server, C: c, Events: make(chan Event, 64), wait: o.Wait}
	type hello struct {
		ID     string `json:"id"`
		Server string `json:"server"`
	}
	hellos := make(chan hello, 1)
	c.On("hello", func(h hello) { hellos <- h })
	c.On("quiz", func(q string, ack native.Ack) { ack(server + ":" + q) })
	c.OnAny(func(name string, args native.Args) {
		if name == "hello" || name == "quiz" || slices.Contains(o.Ignore, name) {
			return
		}
		select {
		case p.Events <- Event{Name: name, Args: args}:
		default:
			t.Errorf("client of %s: events overflow at %s", server, name)
		}
	})
	c.OnDisconnect(func(reason string) { p.Events <- Event{Name: "disconnect", Reason: reason} })
	connected := make(chan struct{}, 1)
	if o.Hello == Connected {
		c.OnConnect(func() { connected <- struct{}{} })
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	if o.Hello == Connected {
		select {
		case <-connected:
		case <-time.After(o.Wait):
			t.Fatalf("client of %s: not connected within %v", server, o.Wait)
		}
		if p.ID = c.ID(); p.ID == "" {
			t.Fatalf("client of %s: no id", server)
		}
		return p
	}
	select {
	case h := <-hellos:
		if o.Hello == HelloServer && (h.Server != server || h.ID == "" || h.ID != c.ID()) {
			t.Fatalf("client of %s: hello %+v, client id %q", server, h, c.ID())
		}
		if h.ID != c.ID() {
			t.Fatalf("client of %s: hello %q, id %q", server, h.ID, c.ID())
		}
		p.ID = h.ID
	case <-time.After(o.Wait):
		t.Fatalf("client of %s: no hello within %v", server, o.Wait)
	}
	return p
}

// Ask emits a request of the application and decodes its acknowledgement
// into res; an acknowledgement {error} fails the test.
func (p *Peer) Ask(res any, event string, args ...any) {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), p.wait)
	defer cancel()
	r, err := p.C.Timeout(p.wait).EmitWithAck(ctx, event, args...)
	if err != nil {
		p.T.Fatalf("%q asked on %s: %v", event, p.Server, err)
	}
	var failed struct {
		Error string `json:"error"`
	}
	if len(r.Raw) > 0 && strings.HasPrefix(string(r.Raw[0]), "{") && json.Unmarshal(r.Raw[0], &failed) == nil && failed.Error != "" {
		p.T.Fatalf("%q asked on %s failed: %s", event, p.Server, failed.Error)
	}
	if err := r.Decode(res); err != nil {
		p.T.Fatalf("%q asked on %s: answer %v: %v", event, p.Server, r.Values(), err)
	}
}

// Do asks for a request answered "ok".
func (p *Peer) Do(event string, args ...any) {
	p.T.Helper()
	var ok string
	p.Ask(&ok, event, args...)
	if ok != "ok" {
		p.T.Fatalf("%q asked on %s answered %q", event, p.Server, ok)
	}
}

// Next returns the client's next event, what naming it for the failure.
func (p *Peer) Next(what string) Event {
	p.T.Helper()
	select {
	case e := <-p.Events:
		return e
	case <-time.After(p.wait):
		p.T.Fatalf("client of %s: no %s within %v", p.Server, what, p.wait)
		return Event{}
	}
}

// Payload is what the tests broadcast.
type Payload struct {
	From string `json:"from"`
	Bin  []byte `json:"bin"`
	Big  string `json:"big,omitempty"`
}

// Expect checks that the client's next event is name with want.
func (p *Peer) Expect(name string, want Payload) {
	p.T.Helper()
	e := p.Next(name)
	var got Payload
	if e.Name != name || e.Args.Len() != 1 || e.Args.Decode(&got) != nil || got.From != want.From ||
		string(got.Bin) != string(want.Bin) || got.Big != want.Big {
		if len(want.Big) > 20 {
			want.Big = fmt.Sprintf("(%d bytes)", len(want.Big))
		}
		p.T.Fatalf("client of %s: got %.200s, want %s %+v", p.Server, e, name, want)
	}
}

// Quiet checks that nothing else arrived at peers.
func Quiet(t testing.TB, peers ...*Peer) {
	t.Helper()
	for _, p := range peers {
		select {
		case e := <-p.Events:
			t.Errorf("client of %s: unexpected %.200s", p.Server, e)
		default:
		}
	}
}

// Sock is one socket as the application's "fetch" answers it.
type Sock struct {
	ID    string   `json:"id"`
	Rooms []string `json:"rooms"`
	Data  struct {
		Server string `json:"server"`
	} `json:"data"`
}

func (s Sock) String() string {
	r := slices.Clone(s.Rooms)
	sort.Strings(r)
	return fmt.Sprintf("%s@%s%v", s.ID, s.Data.Server, r)
}

// Fetch asks for the sockets of room ("" for all) and describes them,
// sorted by id, as Want does.
func (p *Peer) Fetch(room string) string {
	p.T.Helper()
	var socks []Sock
	p.Ask(&socks, "fetch", room)
	sort.Slice(socks, func(i, j int) bool { return socks[i].ID < socks[j].ID })
	return fmt.Sprint(socks)
}

// Want describes the sockets of peers, each in its own room and in
// rooms[peer], as Fetch does.
func Want(rooms map[*Peer][]string, peers ...*Peer) string {
	var out []Sock
	for _, p := range peers {
		s := Sock{ID: p.ID, Rooms: append([]string{p.ID}, rooms[p]...)}
		s.Data.Server = p.Server
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return fmt.Sprint(out)
}
