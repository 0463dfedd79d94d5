package redis

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/socketcore/socketcore/adapter/wire"
	cw "github.com/socketcore/socketcore/core/wire"
)

type shardedVector struct {
	ID       int      `json:"id"`
	Phase    string   `json:"phase"`
	Kind     string   `json:"kind"`
	Sender   string   `json:"sender"`
	Command  string   `json:"command"`
	Channel  string   `json:"channel"`
	Encoding string   `json:"encoding"`
	Hex      string   `json:"hex"`
	Commands []string `json:"commands"`
}

func shardedVectors(tb testing.TB) []shardedVector {
	raw, err := os.ReadFile("../wire/testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct{ Vectors []shardedVector }
	if err := json.Unmarshal(raw, &f); err != nil {
		tb.Fatal(err)
	}
	var out []shardedVector
	for _, v := range f.Vectors {
		if v.Phase == "sharded" {
			out = append(out, v)
		}
	}
	if len(out) < 25 {
		tb.Fatalf("only %d sharded vectors in vectors.json", len(out))
	}
	return out
}

// The two Node servers of the capture: SA in dynamic mode, SB in
// dynamic-private mode.
var shardedSenders = map[string]SubscriptionMode{"SA-pub": Dynamic, "SB-pub": DynamicPrivate}

// shardedGolden holds what each SPUBLISHed message decodes to.
var shardedGolden = map[int]string{
	58: `Broadcast uid="2ea86a95e980757a" nsp=/ rooms=[] except=[] volatile=false compress=true timeout=0s data=["hello","world",1]`,
	59: `Broadcast uid="2ea86a95e980757a" nsp=/ rooms=["room-c3"] except=[] volatile=false compress=true timeout=0s data=["to-room","x"]`,
	60: `Broadcast uid="2ea86a95e980757a" nsp=/ rooms=["kiRXy4TQGBNkWiizAAAH"] except=[] volatile=false compress=true timeout=0s data=["private","p"]`,
	61: `Broadcast uid="660150cf73b0929b" nsp=/ rooms=["_1UVd0Lrb0TJdVvzAAAF"] except=[] volatile=false compress=true timeout=0s data=["private","p2"]`,
	62: `Broadcast uid="2ea86a95e980757a" nsp=/ rooms=[] except=["room-c3"] volatile=false compress=true timeout=0s data=["except",1]`,
	63: `Broadcast uid="2ea86a95e980757a" nsp=/ rooms=[] except=[] volatile=false compress=true timeout=0s data=["bin",{"_placeholder":true,"num":0}] atts=[010203]`,
	64: `Broadcast uid="2ea86a95e980757a" nsp=/ rooms=[] except=[] volatile=true compress=false timeout=0s data=["flags",1]`,
	65: `Broadcast uid="71e9fb0239133f07" nsp=/chat rooms=[] except=[] volatile=false compress=true timeout=0s data=["chatmsg","hi"]`,
	66: `SocketsJoin uid="2ea86a95e980757a" nsp=/ rooms=["room-c3"] except=[] join=["sj"]`,
	68: `SocketsLeave uid="2ea86a95e980757a" nsp=/ rooms=[] except=[] join=["sj"]`,
	70: `FetchSockets uid="2ea86a95e980757a" nsp=/ req=08b7c5f3b84da7e6 rooms=[] except=[]`,
	71: `FetchSocketsResponse uid="660150cf73b0929b" nsp=/ req=08b7c5f3b84da7e6 socket{kiRXy4TQGBNkWiizAAAH ["kiRXy4TQGBNkWiizAAAH" "common" "room-c3"] data={"user":"c3","server":"SB"} handshake=503B}`,
	73: `ServerSideEmit uid="2ea86a95e980757a" nsp=/ data=["ping-noack",1]`,
	74: `ServerSideEmit uid="2ea86a95e980757a" nsp=/ req=3bd63bb35c503896 data=["ping-ack","q"]`,
	75: `ServerSideEmitResponse uid="660150cf73b0929b" nsp=/ req=3bd63bb35c503896 data=["pong-from-SB"]`,
	77: `ServerSideEmit uid="2ea86a95e980757a" nsp=/ data=["ping-noack",{"_placeholder":true,"num":0}] atts=[05]`,
	78: `Broadcast uid="2ea86a95e980757a" nsp=/ req=006a6879ae6469e6 rooms=[] except=[] volatile=false compress=true timeout=1s data=["ackme",42]`,
	79: `BroadcastClientCount uid="660150cf73b0929b" nsp=/ req=006a6879ae6469e6 count=1`,
	80: `BroadcastAck uid="660150cf73b0929b" nsp=/ req=006a6879ae6469e6 data=["ack-from-c3"]`,
	83: `DisconnectSockets uid="660150cf73b0929b" nsp=/ rooms=["-rUBORqKaVFP8ylgAAAG"] except=[] close=true`,
}

// shardedNotIdentical are the vectors whose re-encoding differs from
// Node's bytes: none.
var shardedNotIdentical = map[int]bool{}

// TestShardedVectorsByteCompat decodes every message Node's sharded
// adapter SPUBLISHed, re-encodes it with the sender's uid and mode (and,
// for answers, the requester's uid from the channel), and compares the
// channel and the bytes with Node's.
func TestShardedVectorsByteCompat(t *testing.T) {
	seen := map[int]bool{}
	identical := 0
	for _, v := range shardedVectors(t) {
		if v.Command != "SPUBLISH" {
			continue
		}
		payload, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatal(err)
		}
		mode, ok := shardedSenders[v.Sender]
		if !ok {
			t.Errorf("#%d: unknown sender %q", v.ID, v.Sender)
			continue
		}
		nsp := nspOf(v.Channel)
		d, err := ShardedCodec{Prefix: wire.DefaultPrefix, UID: "0000000000000000"}.Decode(nsp, payload)
		want, listed := shardedGolden[v.ID]
		if !listed {
			t.Errorf("#%d: not in shardedGolden (%v: %s)", v.ID, err, describe(d))
			continue
		}
		seen[v.ID] = true
		if err != nil {
			t.Errorf("#%d: decode: %v", v.ID, err)
			continue
		}
		if got := describe(d); got != want {
			t.Errorf("#%d: decoded\n got %s\nwant %s", v.ID, got, want)
		}
		requester := ""
		if d.Msg.Type.IsResponse() {
			rest := strings.TrimPrefix(v.Channel, wire.BroadcastChannel(wire.DefaultPrefix, nsp))
			requester = strings.TrimSuffix(rest, "#")
		}
		c := ShardedCodec{Prefix: wire.DefaultPrefix, UID: d.UID, Mode: mode}
		out, err := c.Encode(d.Msg, requester)
		if err != nil {
			t.Errorf("#%d: encode: %v", v.ID, err)
			continue
		}
		if out.Channel != v.Channel {
			t.Errorf("#%d: channel %q, Node used %q", v.ID, out.Channel, v.Channel)
		}
		if (v.Encoding == "json") != wire.IsJSON(out.Payload) {
			t.Errorf("#%d: encoded as JSON=%v, Node used %s", v.ID, wire.IsJSON(out.Payload), v.Encoding)
		}
		if bytes.Equal(out.Payload, payload) {
			identical++
			if shardedNotIdentical[v.ID] {
				t.Errorf("#%d: now byte-identical; update shardedNotIdentical", v.ID)
			}
		} else if !shardedNotIdentical[v.ID] {
			t.Errorf("#%d: not byte-identical\n got %x\nwant %x\n got %q\nwant %q", v.ID, out.Payload, payload, out.Payload, payload)
		}
		d2, err := c.Decode(nsp, out.Payload)
		if err != nil || describe(d2) != describe(d) {
			t.Errorf("#%d: re-decoded %v\n got %s\nwant %s", v.ID, err, describe(d2), describe(d))
		}
	}
	for id := range shardedGolden {
		if !seen[id] {
			t.Errorf("#%d: vector missing", id)
		}
	}
	if identical != len(seen)-len(shardedNotIdentical) {
		t.Errorf("%d byte-identical vectors, want %d", identical, len(seen)-len(shardedNotIdentical))
	}
	t.Logf("%d/%d sharded vectors byte-identical", identical, len(seen))
}

// TestShardedVectorsChannels checks the subscriptions Node made (#57, #67,
// #69, #85) against the codec's channel names and room rule, and that the
// classic emitter's message (#82) is not a sharded message.
func TestShardedVectorsChannels(t *testing.T) {
	for _, v := range shardedVectors(t) {
		switch v.ID {
		case 57, 85:
			// <prefix>#<nsp># and <prefix>#<nsp>#<uid>#, per namespace.
			for _, cmd := range v.Commands {
				f := strings.Fields(cmd)
				ch := f[len(f)-1]
				nsp := nspOf(ch)
				c := ShardedCodec{Prefix: wire.DefaultPrefix}
				if ch == c.MainChannel(nsp) {
					continue
				}
				uid := strings.TrimSuffix(strings.TrimPrefix(ch, c.MainChannel(nsp)), "#")
				if len(uid) != 16 || strings.Trim(uid, "0123456789abcdef") != "" || ch != c.ResponseChannel(nsp, uid) {
					t.Errorf("#%d: %q is neither a main nor a response channel", v.ID, ch)
				}
			}
		case 67, 69:
			// SB (dynamic-private) subscribed to the room "sj" when it was
			// created, and dropped it when deleted.
			c := ShardedCodec{Prefix: wire.DefaultPrefix, Mode: DynamicPrivate}
			if len(v.Commands) != 1 || !strings.HasSuffix(v.Commands[0], " "+c.RoomChannel("/", "sj")) || !c.UsesRoomChannel("sj") {
				t.Errorf("#%d: %q", v.ID, v.Commands)
			}
		case 82:
			payload, _ := hex.DecodeString(v.Hex)
			if _, err := (ShardedCodec{Prefix: wire.DefaultPrefix}).Decode("/", payload); err == nil {
				t.Errorf("#82: the emitter's classic broadcast decoded as a sharded message")
			}
		}
	}
}

func TestShardedRoomChannelRule(t *testing.T) {
	sid := "kiRXy4TQGBNkWiizAAAH"
	cases := []struct {
		mode SubscriptionMode
		room string
		want bool
	}{
		{"", "room", true},
		{Dynamic, "room", true},
		{Dynamic, sid, false},
		{Dynamic, strings.Repeat("é", 20), false}, // 20 UTF-16 units, 40 bytes
		{Dynamic, strings.Repeat("😀", 10), false}, // 10 surrogate pairs
		{Dynamic, strings.Repeat("😀", 20), true},
		{Dynamic, sid + "x", true},
		{DynamicPrivate, sid, true},
		{Static, "room", false},
	}
	for _, tc := range cases {
		if got := (ShardedCodec{Mode: tc.mode}).UsesRoomChannel(tc.room); got != tc.want {
			t.Errorf("%q %q: %v", tc.mode, tc.room, got)
		}
	}
}

// TestShardedEncode covers the core's side: channels, JSON vs msgpack,
// key orders, and that each message decodes back.
func TestShardedEncode(t *testing.T) {
	c := ShardedCodec{Prefix: "p", UID: "0123456789abcdef"}
	bin := []byte{0xca, 0xfe}
	const req = "fedcba9876543210"
	cases := []struct {
		name    string
		mode    SubscriptionMode
		m       cw.ClusterMessage
		channel string
		want    string // JSON, or msgpack as hex
		lossy   bool
	}{
		{"broadcast, nil rooms", "", cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true, Data: []byte(`["e",1]`)},
			"p#/#", `{"type":3,"data":{"packet":{"type":2,"data":["e",1]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"one room (twice), dynamic: room channel", "", cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/chat", Rooms: []string{"r", "r"},
			Except: []string{"x"}, Volatile: true, Data: []byte(`["e"]`)}, "p#/chat#r#",
			`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":["r"],"except":["x"],"flags":{"volatile":true,"compress":false}}},"uid":"0123456789abcdef","nsp":"/chat"}`, true},
		{"a socket id, dynamic: main channel", Dynamic, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"kiRXy4TQGBNkWiizAAAH"},
			Compress: true, Data: []byte(`["e"]`)}, "p#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":["kiRXy4TQGBNkWiizAAAH"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"a socket id, dynamic-private: its channel", DynamicPrivate, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"kiRXy4TQGBNkWiizAAAH"},
			Compress: true, Data: []byte(`["e"]`)}, "p#/#kiRXy4TQGBNkWiizAAAH#",
			`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":["kiRXy4TQGBNkWiizAAAH"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"one room, static: main channel", Static, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"r"},
			Compress: true, Data: []byte(`["e"]`)}, "p#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":["r"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"two rooms: main channel", DynamicPrivate, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"a", "b"},
			Compress: true, Data: []byte(`["e"]`)}, "p#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":["a","b"],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"one room with acks: main channel", DynamicPrivate, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"r"},
			RequestID: req, Timeout: 1500 * time.Millisecond, Compress: true, Data: []byte(`["e"]`)}, "p#/#",
			`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"requestId":"fedcba9876543210","opts":{"rooms":["r"],"except":[],"flags":{"timeout":1500}}},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"binary broadcast: msgpack", "", cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true,
			Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}}}, "p#/#",
			"84a47479706503a46461746182a67061636b657482a47479706502a46461746192a362696ec403010203a46f70747383a5726f6f6d7390a665786365707490a5666c61677380a3756964b030313233343536373839616263646566a36e7370a12f", false},
		{"join", "", cw.ClusterMessage{Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{"a"}, JoinRooms: []string{"j", "k"}}, "p#/#",
			`{"type":4,"data":{"opts":{"rooms":["a"],"except":[],"flags":{}},"rooms":["j","k"]},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"leave", "", cw.ClusterMessage{Type: cw.ClusterSocketsLeave, Nsp: "/", Except: []string{"e"}}, "p#/#",
			`{"type":5,"data":{"opts":{"rooms":[],"except":["e"],"flags":{}},"rooms":[]},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"disconnect", "", cw.ClusterMessage{Type: cw.ClusterDisconnectSockets, Nsp: "/", Rooms: []string{"s"}, Close: true}, "p#/#",
			`{"type":6,"data":{"opts":{"rooms":["s"],"except":[],"flags":{}},"close":true},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"fetch with timeout", "", cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: req, Rooms: []string{"a"}, Timeout: 2 * time.Second}, "p#/#",
			`{"type":7,"data":{"opts":{"rooms":["a"],"except":[],"flags":{"timeout":2000}},"requestId":"fedcba9876543210"},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"server-side emit", "", cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["ev","<&>"]`)}, "p#/#",
			`{"type":9,"data":{"packet":["ev","<&>"]},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"server-side emit with ack, binary: msgpack", "", cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: req,
			Data: []byte(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bin}}, "p#/#",
			"84a47479706509a46461746182a9726571756573744964b066656463626139383736353433323130a67061636b657492a26576c402cafea3756964b030313233343536373839616263646566a36e7370a12f", false},
		{"fetch answer, nil handshake and data", "", cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: req,
			Sockets: []cw.ClusterSocket{{ID: "s1"}, {ID: "s2", Rooms: []string{"s2"}, Handshake: []byte(`{"auth":{"t":1}}`), Data: []byte(`null`)}}},
			"p#/#aaaaaaaaaaaaaaaa#", `{"type":8,"data":{"requestId":"fedcba9876543210","sockets":[{"id":"s1","handshake":{"headers":{},"time":"","address":"","xdomain":false,"secure":false,"issued":0,"url":"","query":{},"auth":{}},"rooms":[],"data":{}},{"id":"s2","handshake":{"auth":{"t":1}},"rooms":["s2"],"data":null}]},"uid":"0123456789abcdef","nsp":"/"}`, true},
		{"fetch answer, no sockets", "", cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Nsp: "/", RequestID: req},
			"p#/#aaaaaaaaaaaaaaaa#", `{"type":8,"data":{"requestId":"fedcba9876543210","sockets":[]},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"server-side emit answer", "", cw.ClusterMessage{Type: cw.ClusterServerSideEmitResponse, Nsp: "/", RequestID: req,
			Data: []byte(`[{"a":1},2]`)}, "p#/#aaaaaaaaaaaaaaaa#",
			`{"type":10,"data":{"requestId":"fedcba9876543210","packet":{"a":1}},"uid":"0123456789abcdef","nsp":"/"}`, true},
		{"server-side emit answer without args", "", cw.ClusterMessage{Type: cw.ClusterServerSideEmitResponse, Nsp: "/", RequestID: req,
			Data: []byte(`[]`)}, "p#/#aaaaaaaaaaaaaaaa#",
			`{"type":10,"data":{"requestId":"fedcba9876543210"},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"client count zero", "", cw.ClusterMessage{Type: cw.ClusterBroadcastClientCount, Nsp: "/", RequestID: req},
			"p#/#aaaaaaaaaaaaaaaa#", `{"type":11,"data":{"requestId":"fedcba9876543210","clientCount":0},"uid":"0123456789abcdef","nsp":"/"}`, false},
		{"ack with binary: msgpack", "", cw.ClusterMessage{Type: cw.ClusterBroadcastAck, Nsp: "/", RequestID: req,
			Data: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bin}}, "p#/#aaaaaaaaaaaaaaaa#",
			"84a4747970650ca46461746182a9726571756573744964b066656463626139383736353433323130a67061636b6574c402cafea3756964b030313233343536373839616263646566a36e7370a12f", false},
		{"ack with null", "", cw.ClusterMessage{Type: cw.ClusterBroadcastAck, Nsp: "/", RequestID: req, Data: []byte(`[null]`)},
			"p#/#aaaaaaaaaaaaaaaa#", `{"type":12,"data":{"requestId":"fedcba9876543210","packet":null},"uid":"0123456789abcdef","nsp":"/"}`, false},
	}
	for _, tc := range cases {
		cc := c
		cc.Mode = tc.mode
		out, err := cc.Encode(tc.m, "aaaaaaaaaaaaaaaa")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := string(out.Payload)
		if !wire.IsJSON(out.Payload) {
			got = hex.EncodeToString(out.Payload)
		}
		if out.Channel != tc.channel || got != tc.want {
			t.Errorf("%s:\n got %s %s\nwant %s %s", tc.name, out.Channel, got, tc.channel, tc.want)
		}
		d, err := cc.Decode(tc.m.Nsp, out.Payload)
		if err != nil {
			t.Errorf("%s: decode: %v", tc.name, err)
			continue
		}
		if d.UID != c.UID {
			t.Errorf("%s: uid %q", tc.name, d.UID)
		}
		if tc.lossy {
			continue
		}
		if want := shardedNormalize(tc.m); !reflect.DeepEqual(shardedNormalize(d.Msg), want) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", tc.name, shardedNormalize(d.Msg), want)
		}
	}
}

// shardedNormalize is normalize, keeping Timeout on FetchSockets (the
// sharded opts carry flags there).
func shardedNormalize(m cw.ClusterMessage) cw.ClusterMessage {
	timeout := m.Timeout
	m = normalize(m)
	if m.Type == cw.ClusterFetchSockets {
		m.Timeout = timeout
	}
	return m
}

func TestShardedEncodeRejects(t *testing.T) {
	c := ShardedCodec{Prefix: "p", UID: "0123456789abcdef"}
	for _, tc := range []struct {
		m           cw.ClusterMessage
		requester   string
		unsupported bool
	}{
		{cw.ClusterMessage{Type: cw.ClusterAllRooms, RequestID: "r"}, "", true},
		{cw.ClusterMessage{Type: cw.ClusterAllRoomsResponse, RequestID: "r"}, "x", true},
		{cw.ClusterMessage{Type: cw.ClusterBroadcast, Data: []byte(`{}`)}, "", false},
		{cw.ClusterMessage{Type: cw.ClusterBroadcast, Data: []byte(`[1]`)}, "", false},
		{cw.ClusterMessage{Type: cw.ClusterBroadcast, Data: []byte(`["e",{"_placeholder":true,"num":0}]`)}, "", false},
		{cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Data: []byte(`[`)}, "", false},
		{cw.ClusterMessage{Type: cw.ClusterFetchSockets}, "", false},
		{cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, RequestID: "r"}, "", false}, // requester unknown
		{cw.ClusterMessage{Type: cw.ClusterBroadcastAck}, "x", false},
		{cw.ClusterMessage{Type: cw.ClusterBroadcastAck, RequestID: "r", Data: []byte(`{}`)}, "x", false},
		{cw.ClusterMessage{Type: 0}, "x", false},
		{cw.ClusterMessage{Type: 99, RequestID: "r"}, "x", false},
	} {
		out, err := c.Encode(tc.m, tc.requester)
		if err == nil {
			t.Errorf("%+v: encoded as %q", tc.m, out.Payload)
			continue
		}
		if u := errors.Is(err, ErrUnsupported) && errors.Is(err, errors.ErrUnsupported); u != tc.unsupported {
			t.Errorf("%+v: %v (unsupported=%v)", tc.m, err, u)
		}
	}
}

func TestShardedDecodeRejects(t *testing.T) {
	c := ShardedCodec{Prefix: "p", UID: "me"}
	cases := []struct {
		payload     string
		unsupported bool
	}{
		{``, false},
		{`[]`, false},
		{`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{}},"uid":"x"}`, true},            // no nsp
		{`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{}},"uid":"x","nsp":"/c"}`, true}, // other namespace
		{`{"type":1,"uid":"x","nsp":"/"}`, true},                                                      // heartbeat
		{`{"type":13,"uid":"x","nsp":"/"}`, true},                                                     // adapter close
		{`{"type":42,"data":{},"uid":"x","nsp":"/"}`, true},                                           // unknown type
		{`{"type":3,"data":{"packet":{"type":0,"data":["e"]},"opts":{}},"uid":"x","nsp":"/"}`, true},  // not an event
		{`{"data":{},"uid":"x","nsp":"/"}`, false},                                                    // no type
		{`{"type":"3","data":{},"uid":"x","nsp":"/"}`, false},                                         // type not a number
		{`{"type":3,"uid":"x","nsp":"/"}`, false},                                                     // no data
		{`{"type":3,"data":[],"uid":"x","nsp":"/"}`, false},                                           // data not an object
		{`{"type":3,"data":{"opts":{}},"uid":"x","nsp":"/"}`, false},                                  // no packet
		{`{"type":3,"data":{"packet":{"type":2,"data":["e"]}},"uid":"x","nsp":"/"}`, false},           // no opts
		{`{"type":3,"data":{"packet":{"type":2,"data":[1]},"opts":{}},"uid":"x","nsp":"/"}`, false},   // event name
		{`{"type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":[{}]}},"uid":"x","nsp":"/"}`, false},
		{`{"type":4,"data":{"rooms":["j"]},"uid":"x","nsp":"/"}`, false},                     // no opts
		{`{"type":7,"data":{"opts":{}},"uid":"x","nsp":"/"}`, false},                         // no requestId
		{`{"type":7,"data":{"opts":{},"requestId":1},"uid":"x","nsp":"/"}`, false},           // requestId not a string
		{`{"type":9,"data":{},"uid":"x","nsp":"/"}`, false},                                  // no packet
		{`{"type":8,"data":{"sockets":[]},"uid":"x","nsp":"/"}`, false},                      // no requestId
		{`{"type":8,"data":{"requestId":"r","sockets":[1]},"uid":"x","nsp":"/"}`, false},     // socket not an object
		{`{"type":11,"data":{"requestId":"r"},"uid":"x","nsp":"/"}`, false},                  // no count
		{`{"type":11,"data":{"requestId":"r","clientCount":-1},"uid":"x","nsp":"/"}`, false}, // bad count
		{`{"type":3,"uid":1,"nsp":"/"}`, false},                                              // uid not a string
		{"\x81\xa4type\x03\x00", false},                                                      // trailing bytes
	}
	for _, tc := range cases {
		_, err := c.Decode("/", []byte(tc.payload))
		if err == nil {
			t.Errorf("%q: accepted", tc.payload)
			continue
		}
		unsup := errors.Is(err, ErrUnsupported) || errors.Is(err, ErrOtherNamespace)
		if unsup != tc.unsupported {
			t.Errorf("%q: %v (unsupported=%v)", tc.payload, err, unsup)
		}
	}
	// Numeric rooms are accepted as their text.
	d, err := c.Decode("/", []byte(`{"type":4,"data":{"opts":{"rooms":[42],"except":[1.5]},"rooms":[7]},"uid":"x","nsp":"/"}`))
	if err != nil || !reflect.DeepEqual(d.Msg.Rooms, []string{"42"}) || !reflect.DeepEqual(d.Msg.Except, []string{"1.5"}) ||
		!reflect.DeepEqual(d.Msg.JoinRooms, []string{"7"}) {
		t.Errorf("numeric rooms: %v %+v", err, d.Msg)
	}
}

// FuzzShardedDecode: Decode never panics, and what it accepts re-encodes
// to a message that decodes the same.
func FuzzShardedDecode(f *testing.F) {
	for _, v := range shardedVectors(f) {
		if v.Hex != "" {
			b, _ := hex.DecodeString(v.Hex)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c := ShardedCodec{Prefix: wire.DefaultPrefix}
		d, err := c.Decode("/", payload)
		if err != nil {
			return
		}
		c.UID = d.UID
		out, err := c.Encode(d.Msg, "requester")
		if err != nil {
			t.Fatalf("encode %s: %v", describe(d), err)
		}
		d2, err := c.Decode("/", out.Payload)
		if err != nil {
			t.Fatalf("re-decode %q: %v", out.Payload, err)
		}
		if d2.UID == d.UID && reflect.DeepEqual(shardedNormalize(d2.Msg), shardedNormalize(d.Msg)) {
			return
		}
		if utf8.Valid(payload) {
			t.Fatalf("round trip\n%s\n%s", describe(d), describe(d2))
		}
		c.UID = d2.UID
		out, err = c.Encode(d2.Msg, "requester")
		if err != nil {
			t.Fatal(err)
		}
		d3, err := c.Decode("/", out.Payload)
		if err != nil || d3.UID != d2.UID || !reflect.DeepEqual(shardedNormalize(d3.Msg), shardedNormalize(d2.Msg)) {
			t.Fatalf("not stable (%v)\n%s\n%s", err, describe(d2), describe(d3))
		}
	})
}
