package redis

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	cw "github.com/socketcore/socketcore/core/wire"
)

// goAnswerer makes a Go adapter answer as a server with one socket,
// go-sock-1 in go-room, would.
func goAnswerer(t *testing.T, a *Adapter) func(cw.ClusterMessage) {
	return func(m cw.ClusterMessage) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var answers []cw.ClusterMessage
		switch {
		case m.Type == cw.ClusterFetchSockets:
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Sockets: []cw.ClusterSocket{{
				ID: "go-sock-1", Rooms: []string{"go-sock-1", "go-room"},
				Handshake: []byte(`{"headers":{"x-go":"1"},"time":"now","address":"::1","xdomain":false,"secure":false,"issued":1795786378918,"url":"/socket.io/","query":{"EIO":"4"},"auth":{"token":"go"}}`),
				Data:      []byte(`{"user":"gopher"}`)}}})
		case m.Type == cw.ClusterServerSideEmit && m.RequestID != "":
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterServerSideEmitResponse,
				Data: []byte(`[{"pong":"from-go","bin":{"_placeholder":true,"num":0}}]`), Attachments: [][]byte{{0x60}}})
		case m.Type == cw.ClusterBroadcast && m.RequestID != "":
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterBroadcastClientCount, ClientCount: 1},
				cw.ClusterMessage{Type: cw.ClusterBroadcastAck, Data: []byte(`[{"ack":"from-go","bin":{"_placeholder":true,"num":0}}]`),
					Attachments: [][]byte{{0xbe, 0xef}}})
		}
		for _, ans := range answers {
			ans.Nsp, ans.RequestID = m.Nsp, m.RequestID
			if err := a.Publish(ctx, ans); err != nil {
				t.Errorf("answer %v: %v", ans.Type, err)
			}
		}
	}
}

// TestShardedNodeInterop runs a sharded Go adapter and Node's
// createShardedAdapter (node-redis v4) on one Redis, in each subscription
// mode: broadcasts and requests each way, answered by the other side.
func TestShardedNodeInterop(t *testing.T) {
	for _, mode := range []SubscriptionMode{Dynamic, DynamicPrivate, Static} {
		t.Run(string(mode), func(t *testing.T) { shardedNodeInterop(t, mode) })
	}
}

func shardedNodeInterop(t *testing.T, mode SubscriptionMode) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	codec := ShardedCodec{Prefix: prefix, Mode: mode}
	in := newInbox(t)
	goAdapter := newShardedAdapter(t, c, prefix, mode, in, "/")
	in.mu.Lock()
	in.on = goAnswerer(t, goAdapter)
	in.mu.Unlock()
	// The host reports the rooms of its sockets: go-sock-1 is in its own
	// room and in go-room.
	goAdapter.RoomCreated("/", "go-sock-1")
	goAdapter.RoomCreated("/", "go-room")
	dynamic := mode != Static
	waitNumSub(t, c, codec.RoomChannel("/", "go-room"), map[bool]int64{true: 1}[dynamic])

	n := startNodeScript(t, filepath.Join("tests", "cluster", "sharded", "server.mjs"),
		"PREFIX="+prefix, "SUBSCRIPTION_MODE="+string(mode))
	if len(n.uid) != 16 {
		t.Fatalf("Node's uid %q", n.uid)
	}
	// Node subscribes without waiting: poll until both servers count.
	deadline := time.Now().Add(wait)
	for {
		var count int
		n.call("serverCount", nil, &count)
		if count == 2 && serverCount(t, goAdapter, "/") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Node's serverCount = %d, want 2", count)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Node's room channels: node-room in the dynamic modes, the sid's own
	// room only in dynamic-private.
	waitNumSub(t, c, codec.RoomChannel("/", "node-room"), map[bool]int64{true: 1}[dynamic])
	waitNumSub(t, c, codec.RoomChannel("/", n.sid), map[bool]int64{true: 1}[mode == DynamicPrivate])

	// go broadcasts reach the node client, on the channel the mode picks
	{
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"no-such-room"},
			Compress: true, Data: []byte(`["not-for-you"]`)})
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true,
			Data:        []byte(`["from-go","x",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}},1.5]`),
			Attachments: [][]byte{{0xca, 0xfe}, {1}}})
		e := n.event("broadcast")
		jsonEq(t, "client got", []byte(rawJSON(e.Args)), `["from-go","x",{"$bin":"cafe"},{"n":{"$bin":"01"}},1.5]`)
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"node-room"},
			Except: []string{"nobody"}, Compress: true, Data: []byte(`["to-node-room"]`)})
		e = n.event("broadcast to node-room")
		jsonEq(t, "client got", []byte(rawJSON(e.Args)), `["to-node-room"]`)
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{n.sid}, Data: []byte(`["to-sid"]`)})
		e = n.event("broadcast to sid")
		jsonEq(t, "client got", []byte(rawJSON(e.Args)), `["to-sid"]`)
	}

	// node broadcasts reach go: a single room on its channel needs the
	// room hook
	{
		// Go never reported go-room-2: in the dynamic modes Node publishes
		// on its channel, which Go does not receive.
		n.call("emit", map[string]any{"rooms": []string{"go-room-2"}, "args": []any{"to-go-room-2"}}, nil)
		n.call("emit", map[string]any{"rooms": []string{"go-room"}, "args": []any{"to-go-room", map[string]string{"$bin": "0a"}}}, nil)
		m := in.next("broadcast")
		if !dynamic {
			if string(m.Data) != `["to-go-room-2"]` || !reflect.DeepEqual(m.Rooms, []string{"go-room-2"}) {
				t.Fatalf("got %+v", m)
			}
			m = in.next("broadcast")
		}
		want := cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"go-room"}, Except: []string{},
			Compress: true, Data: []byte(`["to-go-room",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0x0a}}}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("\n got %+v\nwant %+v", m, want)
		}
		n.call("emit", map[string]any{"rooms": []string{"go-sock-1"}, "args": []any{"to-go-sock"}}, nil)
		if m := in.next("broadcast to go's sid"); string(m.Data) != `["to-go-sock"]` {
			t.Fatalf("got %+v", m)
		}

		n.call("emit", map[string]any{"except": []string{"x"}, "volatile": true, "compress": false,
			"args": []any{"from-node", "hi", map[string]string{"$bin": "010203"}, map[string]any{"nested": map[string]string{"$bin": "04"}}}}, nil)
		m = in.next("broadcast")
		want = cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{}, Except: []string{"x"}, Volatile: true,
			Data:        []byte(`["from-node","hi",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`),
			Attachments: [][]byte{{1, 2, 3}, {4}}}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("\n got %+v\nwant %+v", m, want)
		}
		if e := n.event("node's own broadcast"); e.Args[0] == nil || !strings.Contains(rawJSON(e.Args), "from-node") {
			t.Errorf("client got %s", rawJSON(e.Args))
		}
	}

	// node fetchSockets, answered by go
	{
		var sockets []struct {
			ID        string          `json:"id"`
			Rooms     []string        `json:"rooms"`
			Data      json.RawMessage `json:"data"`
			Handshake json.RawMessage `json:"handshake"`
		}
		n.call("fetchSockets", nil, &sockets)
		if len(sockets) != 2 || sockets[0].ID != n.sid || sockets[1].ID != "go-sock-1" {
			t.Fatalf("got %+v", sockets)
		}
		jsonEq(t, "go socket data", sockets[1].Data, `{"user":"gopher"}`)
		jsonEq(t, "go socket handshake", sockets[1].Handshake, `{"headers":{"x-go":"1"},"time":"now","address":"::1","xdomain":false,"secure":false,"issued":1795786378918,"url":"/socket.io/","query":{"EIO":"4"},"auth":{"token":"go"}}`)
		if !reflect.DeepEqual(sockets[1].Rooms, []string{"go-sock-1", "go-room"}) {
			t.Errorf("rooms %q", sockets[1].Rooms)
		}
		if m := in.next("fetch"); m.Type != cw.ClusterFetchSockets || m.RequestID == "" {
			t.Errorf("got %+v", m)
		}
	}

	// node serverSideEmitWithAck and emitWithAck, answered by go
	{
		var replies []json.RawMessage
		n.call("serverSideEmitWithAck", map[string]any{"args": []any{"ping-go", 1, map[string]any{"a": []int{2}}}}, &replies)
		jsonEq(t, "serverSideEmit replies", []byte(rawJSON(replies)), `[{"pong":"from-go","bin":{"$bin":"60"}}]`)
		m := in.next("server-side emit")
		if m.Type != cw.ClusterServerSideEmit || m.RequestID == "" || string(m.Data) != `["ping-go",1,{"a":[2]}]` {
			t.Errorf("got %+v", m)
		}
		n.call("serverSideEmit", map[string]any{"args": []any{"no-ack-go", map[string]string{"$bin": "ff"}}}, nil)
		m = in.next("server-side emit without ack")
		if m.Type != cw.ClusterServerSideEmit || m.RequestID != "" || string(m.Data) != `["no-ack-go",{"_placeholder":true,"num":0}]` ||
			len(m.Attachments) != 1 || string(m.Attachments[0]) != "\xff" {
			t.Errorf("got %+v", m)
		}

		n.call("emitWithAck", map[string]any{"timeout": 3000, "args": []any{"ackme", map[string]string{"$bin": "ff"}}}, &replies)
		if len(replies) != 2 {
			t.Fatalf("replies %s", rawJSON(replies))
		}
		slices.SortFunc(replies, func(a, b json.RawMessage) int { return strings.Compare(string(a), string(b)) })
		jsonEq(t, "acks", []byte(rawJSON(replies)), `[{"ack":"from-go","bin":{"$bin":"beef"}},{"ack":"from-node-client","event":"ackme"}]`)
		m = in.next("broadcast with acks")
		if m.Type != cw.ClusterBroadcast || m.RequestID == "" || m.Timeout != 3*time.Second ||
			string(m.Data) != `["ackme",{"_placeholder":true,"num":0}]` || len(m.Attachments) != 1 || string(m.Attachments[0]) != "\xff" {
			t.Errorf("got %+v", m)
		}
		if e := n.event("node client ack event"); rawJSON(e.Args) != `["ackme",{"$bin":"ff"}]` {
			t.Errorf("client got %s", rawJSON(e.Args))
		}
		// To one room: acks never take a room channel.
		n.call("emitWithAck", map[string]any{"rooms": []string{"go-room"}, "timeout": 3000, "args": []any{"ackme2"}}, &replies)
		jsonEq(t, "acks", []byte(rawJSON(replies)), `[{"ack":"from-go","bin":{"$bin":"beef"}}]`)
		if m := in.next("broadcast with acks to a room"); m.RequestID == "" || !reflect.DeepEqual(m.Rooms, []string{"go-room"}) {
			t.Errorf("got %+v", m)
		}
	}

	// node socketsJoin and disconnectSockets reach go
	{
		n.call("socketsJoin", map[string]any{"rooms": []string{"a"}, "except": []string{"b"}, "join": "joined"}, nil)
		m := in.next("join")
		if m.Type != cw.ClusterSocketsJoin || !reflect.DeepEqual(m.Rooms, []string{"a"}) || !reflect.DeepEqual(m.Except, []string{"b"}) ||
			!reflect.DeepEqual(m.JoinRooms, []string{"joined"}) {
			t.Errorf("got %+v", m)
		}
		n.call("disconnectSockets", map[string]any{"rooms": []string{"nobody"}, "close": true}, nil)
		m = in.next("disconnect")
		if m.Type != cw.ClusterDisconnectSockets || !m.Close || !reflect.DeepEqual(m.Rooms, []string{"nobody"}) {
			t.Errorf("got %+v", m)
		}
	}

	// go requests, answered by node
	{
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "go-f1", Rooms: []string{"node-room"}})
		m := in.next("fetch answer")
		if m.Type != cw.ClusterFetchSocketsResponse || m.RequestID != "go-f1" || len(m.Sockets) != 1 || string(m.Sockets[0].ID) != n.sid {
			t.Fatalf("got %+v", m)
		}
		s := m.Sockets[0]
		jsonEq(t, "node socket data", s.Data, `{"user":"node-user","n":1}`)
		var hs struct {
			Auth   map[string]string `json:"auth"`
			Query  map[string]string `json:"query"`
			Issued int64             `json:"issued"`
		}
		if err := json.Unmarshal(s.Handshake, &hs); err != nil || hs.Auth["token"] != "t" || hs.Query["EIO"] != "4" || hs.Issued == 0 {
			t.Errorf("handshake %s (%v)", s.Handshake, err)
		}
		if !slices.Contains(s.Rooms, "node-room") || !slices.Contains(s.Rooms, n.sid) {
			t.Errorf("rooms %q", s.Rooms)
		}

		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: "go-s1",
			Data: []byte(`["ping-node","a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}})
		m = in.next("server-side emit answer")
		if m.Type != cw.ClusterServerSideEmitResponse || m.RequestID != "go-s1" {
			t.Fatalf("got %+v", m)
		}
		// Binary survives both ways here: the sharded adapter sends msgpack.
		jsonEq(t, "node's answer", m.Data, `[{"pong":"from-node","got":["a",{"_placeholder":true,"num":0}]}]`)
		if len(m.Attachments) != 1 || string(m.Attachments[0]) != "\x07" {
			t.Errorf("attachments %x", m.Attachments)
		}
		if e := n.event("server-side emit"); e.Event != "server" || e.Name != "ping-node" || rawJSON(e.Args) != `["a",{"$bin":"07"}]` {
			t.Errorf("node got %+v %s", e, rawJSON(e.Args))
		}
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["no-ack",{"x":1}]`)})
		if e := n.event("server-side emit without ack"); e.Name != "no-ack" || rawJSON(e.Args) != `[{"x":1}]` {
			t.Errorf("node got %+v %s", e, rawJSON(e.Args))
		}

		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", RequestID: "go-b1", Timeout: 2 * time.Second,
			Rooms: []string{"node-room"}, Compress: true, Data: []byte(`["go-ackme",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xab}}})
		m = in.next("client count")
		if m.Type != cw.ClusterBroadcastClientCount || m.RequestID != "go-b1" || m.ClientCount != 1 {
			t.Errorf("got %+v", m)
		}
		m = in.next("ack")
		if m.Type != cw.ClusterBroadcastAck || m.RequestID != "go-b1" {
			t.Errorf("got %+v", m)
		}
		jsonEq(t, "ack", m.Data, `[{"ack":"from-node-client","event":"go-ackme"}]`)
		if e := n.event("client got go-ackme"); rawJSON(e.Args) != `["go-ackme",{"$bin":"ab"}]` {
			t.Errorf("client got %s", rawJSON(e.Args))
		}

		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{n.sid}, JoinRooms: []string{"go-joined"}})
		deadline := time.Now().Add(wait)
		for {
			var rooms []string
			n.call("localRooms", nil, &rooms)
			if slices.Contains(rooms, "go-joined") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node socket rooms %q", rooms)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Node subscribed to the new room's channel (dynamic modes), so a
		// Go broadcast there reaches it.
		waitNumSub(t, c, codec.RoomChannel("/", "go-joined"), map[bool]int64{true: 1}[dynamic])
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"go-joined"}, Data: []byte(`["joined"]`)})
		if e := n.event("broadcast to the joined room"); rawJSON(e.Args) != `["joined"]` {
			t.Errorf("client got %s", rawJSON(e.Args))
		}
	}
	in.empty("go")
	select {
	case e := <-n.events:
		t.Errorf("node: unexpected %+v %s", e, rawJSON(e.Args))
	default:
	}
}
