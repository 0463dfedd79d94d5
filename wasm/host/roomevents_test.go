package host

import (
	"reflect"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// With Config.RoomEvents, core.wasm reports the same RoomJoined and
// RoomLeft outputs as the native core, in the same places: the socket's
// own room at connection, Join and Leave, every room at disconnection.
func TestRoomEvents(t *testing.T) {
	cfg := core.Config{RoomEvents: true}
	cfg.Seed = [32]byte{9}
	m := newTestMachine(t, cfg)
	if !m.Config().RoomEvents {
		t.Fatal("the guest's Config lost RoomEvents")
	}
	n := core.NewServer(cfg)
	now := clock.Instant(time.Second)
	type machine interface {
		Handle(clock.Instant, wire.Input) error
		Poll() wire.Output
		Join(wire.SocketID, ...string) error
		Leave(wire.SocketID, string) error
	}
	var id wire.SocketID
	steps := []struct {
		name string
		do   func(mc machine) error
	}{
		{"connect", func(mc machine) error {
			if err := mc.Handle(now, wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true}); err != nil {
				return err
			}
			return mc.Handle(now, wire.Recv{Conn: 1, Data: []byte("40")})
		}},
		{"join", func(mc machine) error { return mc.Join(id, "a", "b") }},
		{"leave", func(mc machine) error { return mc.Leave(id, "a") }},
		{"disconnect", func(mc machine) error { return mc.Handle(now, wire.Recv{Conn: 1, Data: []byte("41")}) }},
	}
	var all []wire.Output
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
		for _, o := range outs[0] {
			if c, ok := o.(wire.Connected); ok {
				id = c.Socket
			}
		}
		all = append(all, outs[0]...)
	}
	var got []wire.Output
	for _, o := range all {
		switch o.(type) {
		case wire.RoomJoined, wire.RoomLeft:
			got = append(got, o)
		}
	}
	want := []wire.Output{
		wire.RoomJoined{Nsp: "/", Room: string(id), Socket: id},
		wire.RoomJoined{Nsp: "/", Room: "a", Socket: id},
		wire.RoomJoined{Nsp: "/", Room: "b", Socket: id},
		wire.RoomLeft{Nsp: "/", Room: "a", Socket: id},
		wire.RoomLeft{Nsp: "/", Room: string(id), Socket: id},
		wire.RoomLeft{Nsp: "/", Room: "b", Socket: id},
	}
	if id == "" || !reflect.DeepEqual(got, want) {
		t.Fatalf("room events\n got %+v\nwant %+v", got, want)
	}
}
