package host

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// The read-only counts of core/counts.go through core.wasm (the Counts
// query) are the native core's after the same inputs: sessions on polling,
// on WebSocket and upgraded, two namespaces with rooms, volatile packets
// dropped on a polling session with no GET parked.
func TestCounts(t *testing.T) {
	cfg := core.Config{}
	cfg.Seed = [32]byte{4, 2}
	m := newTestMachine(t, cfg)
	n := core.NewServer(cfg)
	now := clock.Instant(time.Second)
	type machine interface {
		Handle(clock.Instant, wire.Input) error
		Poll() wire.Output
		AddNamespace(string, bool) error
		Join(wire.SocketID, ...string) error
		Emit(clock.Instant, core.Emit) (wire.AckRef, error)
		Broadcast(clock.Instant, core.Broadcast) (wire.AckRef, int, error)
		NamespaceCounts() []core.NamespaceCount
		Transports() (polling, websocket int)
		VolatileDropped() uint64
	}
	type counts struct {
		Namespaces         []core.NamespaceCount
		Polling, WebSocket int
		VolatileDropped    uint64
	}
	read := func(mc machine) counts {
		p, ws := mc.Transports()
		return counts{mc.NamespaceCounts(), p, ws, mc.VolatileDropped()}
	}

	// What the steps learn from the outputs (the same on both machines,
	// which the test checks): the polling sessions' ids and the sockets.
	var sidP, sidU wire.SID
	var sockP, sockW, sockChat wire.SocketID
	learn := func(outs []wire.Output) {
		for _, o := range outs {
			switch o := o.(type) {
			case wire.Respond:
				var hs struct{ SID wire.SID }
				if body := string(o.Body); strings.HasPrefix(body, `0{"sid"`) && json.Unmarshal(o.Body[1:], &hs) == nil {
					if sidP == "" {
						sidP = hs.SID
					} else {
						sidU = hs.SID
					}
				}
			case wire.Connected:
				switch {
				case o.SID == sidP:
					sockP = o.Socket
				case o.Nsp == "/chat":
					sockChat = o.Socket
				default:
					sockW = o.Socket
				}
			}
		}
	}
	handle := func(mc machine, in ...wire.Input) error {
		for _, i := range in {
			if err := mc.Handle(now, i); err != nil {
				return err
			}
		}
		return nil
	}
	polling := "EIO=4&transport=polling"
	steps := []struct {
		name string
		do   func(mc machine) error
		want counts
	}{
		{"start", func(mc machine) error { return mc.AddNamespace("/chat", false) },
			counts{Namespaces: []core.NamespaceCount{{Name: "/"}, {Name: "/chat"}}}},
		{"P: polling handshake", func(mc machine) error {
			return handle(mc, wire.HTTPRequest{Conn: 1, Method: "GET", Query: polling})
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/"}, {Name: "/chat"}}, Polling: 1}},
		{"P: connects to /, then its GET takes the answer", func(mc machine) error {
			q := polling + "&sid=" + string(sidP)
			return handle(mc, wire.HTTPRequest{Conn: 2, Method: "POST", Query: q, Body: []byte("40")},
				wire.HTTPRequest{Conn: 3, Method: "GET", Query: q})
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/", Sockets: 1}, {Name: "/chat"}}, Polling: 1}},
		{"W: WebSocket, connects to / and /chat", func(mc machine) error {
			return handle(mc, wire.HTTPRequest{Conn: 4, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true},
				wire.Recv{Conn: 4, Data: []byte("40")}, wire.Recv{Conn: 4, Data: []byte("40/chat,")})
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/", Sockets: 2}, {Name: "/chat", Sockets: 1}}, Polling: 1, WebSocket: 1}},
		{"U: polling handshake", func(mc machine) error {
			return handle(mc, wire.HTTPRequest{Conn: 5, Method: "GET", Query: polling})
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/", Sockets: 2}, {Name: "/chat", Sockets: 1}}, Polling: 2, WebSocket: 1}},
		{"U: upgrades", func(mc machine) error {
			return handle(mc, wire.HTTPRequest{Conn: 6, Method: "GET", Query: "EIO=4&transport=websocket&sid=" + string(sidU), WebSocket: true},
				wire.Recv{Conn: 6, Data: []byte("2probe")}, wire.Recv{Conn: 6, Data: []byte("5")})
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/", Sockets: 2}, {Name: "/chat", Sockets: 1}}, Polling: 1, WebSocket: 2}},
		{"rooms", func(mc machine) error {
			for _, j := range []struct {
				id    wire.SocketID
				rooms []string
			}{{sockP, []string{"a"}}, {sockW, []string{"a", "b"}}, {sockChat, []string{"lobby"}}} {
				if err := mc.Join(j.id, j.rooms...); err != nil {
					return err
				}
			}
			return nil
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/", Sockets: 2, Rooms: 2}, {Name: "/chat", Sockets: 1, Rooms: 1}}, Polling: 1, WebSocket: 2}},
		{"volatile: P has no GET parked", func(mc machine) error {
			if _, err := mc.Emit(now, core.Emit{Socket: sockP, Data: []byte(`["v"]`), Volatile: true}); err != nil {
				return err
			}
			_, _, err := mc.Broadcast(now, core.Broadcast{Nsp: "/", Rooms: []string{"a"}, Data: []byte(`["w"]`), Volatile: true})
			return err
		}, counts{Namespaces: []core.NamespaceCount{{Name: "/", Sockets: 2, Rooms: 2}, {Name: "/chat", Sockets: 1, Rooms: 1}}, Polling: 1, WebSocket: 2,
			VolatileDropped: 2}},
	}
	for _, st := range steps {
		var outs [2][]wire.Output
		for i, mc := range []machine{m, n} {
			if err := st.do(mc); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			outs[i], _ = drain(t, mc)
		}
		if !reflect.DeepEqual(outs[0], outs[1]) {
			t.Fatalf("%s: outputs differ\nwasm   %#v\nnative %#v", st.name, outs[0], outs[1])
		}
		learn(outs[0])
		wc, nc := read(m), read(n)
		if !reflect.DeepEqual(wc, nc) {
			t.Fatalf("%s: counts differ\nwasm   %+v\nnative %+v", st.name, wc, nc)
		}
		if !reflect.DeepEqual(wc, st.want) {
			t.Fatalf("%s: counts\n got %+v\nwant %+v", st.name, wc, st.want)
		}
	}
	if sockP == "" || sockW == "" || sockChat == "" || sidU == "" {
		t.Fatalf("the script lost track: P %q W %q chat %q U %q", sockP, sockW, sockChat, sidU)
	}
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
}
