package abi

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/records.json from the table in vectors_test.go")

// vector is one golden record: its kind, its encoding and its value as
// encoding/json renders the decoded Go value (byte strings in base64,
// durations and instants in nanoseconds).
type vector struct {
	Name  string          `json:"name"`
	Kind  string          `json:"kind"` // "0x0101"
	Type  string          `json:"type"` // the kind's name
	Hex   string          `json:"hex"`
	Value json.RawMessage `json:"value"`
}

type vectorFile struct {
	Version int      `json:"version"`
	Note    string   `json:"note"`
	Records []vector `json:"records"`
}

const vectorsPath = "testdata/records.json"

var seed = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// table is the source of the golden vectors: every kind at least once,
// and the edge cases of each primitive.
var table = []struct {
	name string
	rec  any
}{
	{"init: zero config (defaults)", Init{Role: RoleServer}},
	{"init: every field", Init{Role: RoleServer, Config: core.Config{
		Config: engine.Config{
			PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
			UpgradeTimeout: 10 * time.Second, CloseTimeout: 30 * time.Second,
			MaxPayload: 1_000_000, MaxBufferedBytes: 16 << 20,
			Transports: engine.Polling | engine.WebSocket, DisableUpgrades: true, Seed: seed, AllowEIO3: true,
		},
		ConnectTimeout: time.Second, MaxAttachments: 10, MaxDepth: 64, MaxPendingAcks: 1024, DynamicNamespaces: true,
		Cluster: true, RequestsTimeout: 5 * time.Second,
		RecoveryWindow: 2 * time.Minute, RecoveryMaxPackets: 100_000, RecoveryMaxBytes: 64 << 20, RecoveryStore: true,
		Parser: sio.MsgpackParser, RoomEvents: true,
	}}},
	{"init: engine role", Init{Role: RoleEngine, Config: core.Config{Config: engine.Config{
		PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Transports: engine.WebSocket, Seed: seed,
	}}}},
	{"http: polling handshake", wire.HTTPRequest{Conn: 1, Method: "GET", Query: "EIO=4&transport=polling"}},
	{"http: websocket upgrade", wire.HTTPRequest{Conn: 2, Method: "GET", Query: "EIO=4&transport=websocket&sid=abc", WebSocket: true}},
	{"http: post", wire.HTTPRequest{Conn: 0xfedcba9876543210, Method: "POST", Query: "EIO=4&transport=polling&sid=x", Body: []byte("40\x1e42[\"a\"]")}},
	{"http: too large, binary", wire.HTTPRequest{Conn: 3, Method: "POST", Binary: true, TooLarge: true}},
	{"recv: text", wire.Recv{Conn: 7, Data: []byte(`42["echo","héllo"]`)}},
	{"recv: binary", wire.Recv{Conn: 7, Data: []byte{0, 1, 0xff}, Binary: true}},
	{"recv: empty", wire.Recv{Conn: 7}},
	{"closed: orderly", wire.Closed{Conn: 9}},
	{"closed: error", wire.Closed{Conn: 9, Error: true}},
	{"timeout", wire.Timeout{}},
	{"cluster received: broadcast, every field", wire.ClusterReceived{Msg: wire.ClusterMessage{
		Type: wire.ClusterBroadcast, Nsp: "/chat", RequestID: "AbCdEfGh1",
		Rooms: []string{"a", "b"}, Except: []string{"muted"}, Volatile: true, Compress: true, Timeout: 2 * time.Second,
		Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xca, 0xfe}},
		JoinRooms: []string{"team"}, Close: true,
		Sockets:     []wire.ClusterSocket{{ID: "s1", Rooms: []string{"s1", "a"}, Handshake: []byte(`{"address":"::1"}`), Data: []byte(`{"n":1}`)}},
		ClientCount: 3,
	}}},
	{"cluster received: fetch sockets response", wire.ClusterReceived{Msg: wire.ClusterMessage{
		Type: wire.ClusterFetchSocketsResponse, Nsp: "/", RequestID: "r2",
		Sockets: []wire.ClusterSocket{
			{ID: "s2", Rooms: []string{"s2"}, Handshake: []byte(`{}`), Data: []byte(`null`)},
			{ID: "s3"},
		},
	}}},
	{"cluster received: empty", wire.ClusterReceived{}},
	{"cluster servers", wire.ClusterServers{RequestID: "AbCdEfGh1", Servers: 3}},
	{"cluster servers: count failed", wire.ClusterServers{RequestID: "r", Servers: -1}},
	{"recovery found: another server's session and packets", wire.RecoveryFound{Ref: 4, Found: true,
		Session: wire.RecoverySession{State: wire.RecoveryLive, PID: "AbCdEfghijklmnopqrst", Socket: "s0000000000000000001",
			Nsp: "/chat", Rooms: []string{"s0000000000000000001", "team"}, Node: "AbCdEf", Data: []byte(`{"user":"ann"}`)},
		OffsetFound: true, Packets: []wire.RecoveryPacket{
			{Offset: "XyZ0123a", Rooms: []string{"team"}, Except: []string{"muted"}, Data: []byte(`["news",1]`)},
			{Offset: "AbCdEf7", Rooms: []string{"s0000000000000000001"}, Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xca, 0xfe}}},
		}}},
	{"recovery found: nothing", wire.RecoveryFound{Ref: 5}},
	{"add namespace", AddNamespace{Name: "/admin", Gated: true}},
	{"accept connect", AcceptConnect{Socket: "s0000000000000000001"}},
	{"reject connect: no data", RejectConnect{Socket: "s1", Message: "not authorized"}},
	{"reject connect: data", RejectConnect{Socket: "s1", Message: "no", Data: []byte(`{"why":1}`)}},
	{"emit: plain", core.Emit{Socket: "s1", Data: []byte(`["hello","world"]`)}},
	{"emit: ack, binary, flags", core.Emit{
		Socket: "s1", Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}},
		WithAck: true, Timeout: 5 * time.Second, Volatile: true, Compress: true,
	}},
	{"ack: no args", Ack{Ref: 42}},
	{"ack: args and attachments", Ack{Ref: 1 << 63, Args: []byte(`[1,{"_placeholder":true,"num":0}]`), Attachments: [][]byte{nil, {9}}}},
	{"broadcast: namespace", core.Broadcast{Nsp: "/", Data: []byte(`["news"]`)}},
	{"broadcast: rooms, except, ack", core.Broadcast{
		Nsp: "/chat", Rooms: []string{"a", "b"}, Except: []string{"muted"}, Data: []byte(`["m",1]`),
		Attachments: [][]byte{{0xca, 0xfe}}, Volatile: true, Compress: true, Local: true, WithAck: true, Timeout: time.Second,
	}},
	{"join", Join{Socket: "s1", Rooms: []string{"room 1", "ünïcode"}}},
	{"join: no rooms", Join{Socket: "s1"}},
	{"leave", Leave{Socket: "s1", Room: "room 1"}},
	{"rooms", RoomsOf{Socket: "s1"}},
	{"connected", IsConnected{Socket: "s1"}},
	{"transport", TransportOf{Socket: "s1"}},
	{"sockets in", SocketsIn{Nsp: "/", Rooms: []string{"a"}}},
	{"disconnect", Disconnect{Socket: "s1", CloseSession: true}},
	{"close", Close{}},
	{"stats", StatsQuery{}},
	{"config", ConfigQuery{}},
	{"counts", CountsQuery{}},
	{"engine send: message", EngineSend{SID: "lv_VI97HAXpY6yYWAAAC", Frames: []wire.Frame{{Data: []byte("4héllo")}}}},
	{"engine send: binary, volatile, compress", EngineSend{SID: "x", Frames: []wire.Frame{{Data: []byte{0, 1, 0xff}, Binary: true}, {Data: []byte("4")}}, Volatile: true, Compress: true}},
	{"engine send: no frames", EngineSend{SID: "x"}},
	{"sockets join", SocketsJoin{Target: core.Target{Nsp: "/", Rooms: []string{"a"}, Except: []string{"b", "c"}}, Rooms: []string{"team", "blue"}}},
	{"sockets join: local, no rooms", SocketsJoin{Target: core.Target{Nsp: "/admin", Local: true}}},
	{"sockets leave", SocketsLeave{Target: core.Target{Nsp: "/", Rooms: []string{"team"}}, Rooms: []string{"blue"}}},
	{"disconnect sockets", DisconnectSockets{Target: core.Target{Nsp: "/", Except: []string{"s1"}}, CloseSession: true}},
	{"fetch sockets", FetchSockets{Target: core.Target{Nsp: "/", Rooms: []string{"r"}, Local: true}}},
	{"fetch sockets: namespace", FetchSockets{Target: core.Target{Nsp: "/"}}},
	{"all rooms", AllRooms{Nsp: "/chat"}},
	{"all rooms: local", AllRooms{Nsp: "/", Local: true}},
	{"server side emit", ServerSideEmit{Nsp: "/", Data: []byte(`["note","hi"]`)}},
	{"server side emit: ack, binary", ServerSideEmit{Nsp: "/", Data: []byte(`["ping",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}, WithAck: true}},
	{"set recovery data", SetRecoveryData{Socket: "s1", Data: []byte(`{"user":"ann"}`)}},
	{"set recovery data: no data", SetRecoveryData{Socket: "s1"}},
	{"reply: ref", RefReply{Ref: 3}},
	{"reply: broadcast", BroadcastReply{Ref: 4, Targets: 10000}},
	{"reply: strings", StringsReply{List: []string{"s1", "room"}}},
	{"reply: strings, none", StringsReply{}},
	{"reply: bool", BoolReply{Value: true}},
	{"reply: string", StringReply{Value: "websocket"}},
	{"reply: stats", core.Stats{Sessions: 1, Sockets: 2, Pending: 3, InAcks: 4, OutAcks: 5, Namespaces: 6, Timers: 7}},
	{"reply: config", core.Config{Config: engine.Config{PingInterval: 25 * time.Second, MaxPayload: -1, Seed: seed}, MaxDepth: 64, RequestsTimeout: 5 * time.Second}},
	{"reply: counts", CountsReply{Polling: 2, WebSocket: 3, VolatileDropped: 1 << 40, Namespaces: []core.NamespaceCount{
		{Name: "/", Sockets: 4, Rooms: 1}, {Name: "/chat", Sockets: 1}}}},
	{"reply: counts, no namespaces", CountsReply{}},
	{"respond: json", wire.Respond{Conn: 1, Status: 200, ContentType: "text/plain; charset=UTF-8", Body: []byte(`0{"sid":"x"}`)}},
	{"respond: no body", wire.Respond{Conn: 1, Status: 400}},
	{"respond: compressible payload", wire.Respond{Conn: 2, Status: 200, ContentType: "text/plain; charset=UTF-8", Body: []byte(`42["m","x"]`), Compress: true}},
	{"accept websocket", wire.AcceptWebSocket{Conn: 2}},
	{"send: text and binary frames", wire.Send{Conn: 2, Frames: []wire.Frame{{Data: []byte(`451-["b",{"_placeholder":true,"num":0}]`)}, {Data: []byte{1, 2}, Binary: true}}}},
	{"send: volatile, compress", wire.Send{Conn: 2, Frames: []wire.Frame{{Data: []byte("2")}}, Volatile: true, Compress: true}},
	{"broadcast out", wire.Broadcast{Conns: []wire.ConnID{2, 5, 1 << 40}, Frames: []wire.Frame{{Data: []byte(`42["news"]`)}}}},
	{"close conn", wire.CloseConn{Conn: 2}},
	{"wait: none", wire.Wait{}},
	{"wait: deadline", wire.Wait{Deadline: 25_000_000_001}},
	{"session opened", wire.SessionOpened{SID: "lv_VI97HAXpY6yYWAAAC", Conn: 1, WebSocket: true}},
	{"session upgraded", wire.SessionUpgraded{SID: "lv_VI97HAXpY6yYWAAAC", Conn: 2}},
	{"session closed", wire.SessionClosed{SID: "lv_VI97HAXpY6yYWAAAC", Reason: wire.ReasonPingTimeout}},
	{"message received", wire.MessageReceived{SID: "x", Data: []byte("hello"), Binary: false}},
	{"connect requested", wire.ConnectRequested{Socket: "s1", SID: "x", Nsp: "/admin", Auth: []byte(`{"token":"t"}`), Known: true}},
	{"connected out", wire.Connected{Socket: "s1", SID: "x", Nsp: "/"}},
	{"connect requested: recovered", wire.ConnectRequested{Socket: "s1", SID: "y", Nsp: "/admin", Auth: []byte(`{"pid":"p","offset":"o"}`), Known: true,
		Recovered: true, Data: []byte(`{"user":"ann"}`)}},
	{"connected out: recovered", wire.Connected{Socket: "s1", SID: "y", Nsp: "/", Recovered: true, Data: []byte(`{"user":"ann"}`)}},
	{"connected out: recovered, no data", wire.Connected{Socket: "s1", SID: "y", Nsp: "/", Recovered: true}},
	{"event received: ack", wire.EventReceived{Socket: "s1", Name: "echo", Data: []byte(`["echo",1]`), Ack: 9}},
	{"event received: binary", wire.EventReceived{Socket: "s1", Name: "up", Data: []byte(`["up",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xde, 0xad}}}},
	{"ack resolved", wire.AckResolved{Ref: 9, Socket: "s1", Args: []byte(`["ok"]`)}},
	{"ack resolved: timed out", wire.AckResolved{Ref: 10, Socket: "s1", Err: wire.AckTimedOut}},
	{"broadcast ack resolved", wire.BroadcastAckResolved{Ref: 11, Replies: []wire.Reply{
		{Socket: "s1", Args: []byte(`[1]`)}, {Socket: "s2", Args: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}},
	}, TimedOut: true}},
	{"broadcast ack resolved: none", wire.BroadcastAckResolved{Ref: 12}},
	{"disconnecting", wire.Disconnecting{Socket: "s1", Reason: wire.ReasonTransportClose, Rooms: []string{"s1", "a"}}},
	{"disconnected", wire.Disconnected{Socket: "s1", Reason: wire.ReasonServerNamespaceDisconnect}},
	{"room joined: its own room", wire.RoomJoined{Nsp: "/", Room: "s0000000000000000001", Socket: "s0000000000000000001"}},
	{"room left", wire.RoomLeft{Nsp: "/chat", Room: "team ü", Socket: "s1"}},
	{"cluster publish: fetch sockets, count", wire.ClusterPublish{Msg: wire.ClusterMessage{
		Type: wire.ClusterFetchSockets, Nsp: "/", RequestID: "AbCdEfGh1", Rooms: []string{"r"}, Except: []string{"x"},
	}, CountServers: true}},
	{"cluster publish: every field", wire.ClusterPublish{Msg: wire.ClusterMessage{
		Type: wire.ClusterAllRoomsResponse, Nsp: "/", RequestID: "q",
		Rooms: []string{"a"}, Except: []string{"b"}, Volatile: true, Compress: true, Timeout: time.Millisecond,
		Data: []byte(`[1]`), Attachments: [][]byte{nil, {2}}, JoinRooms: []string{"r1", "r2"}, Close: true,
		Sockets: []wire.ClusterSocket{{ID: "s1", Rooms: []string{"s1"}}}, ClientCount: -1, Offset: "AbCdEf1z",
	}}},
	{"cluster publish: broadcast with offset", wire.ClusterPublish{Msg: wire.ClusterMessage{
		Type: wire.ClusterBroadcast, Nsp: "/", Rooms: []string{"team"}, Compress: true, Data: []byte(`["news",1]`), Offset: "AbCdEf2",
	}}},
	{"cluster publish: broadcast client count", wire.ClusterPublish{Msg: wire.ClusterMessage{
		Type: wire.ClusterBroadcastClientCount, Nsp: "/", RequestID: "r", ClientCount: 2,
	}}},
	{"cluster request done: fetch sockets", wire.ClusterRequestDone{Ref: 5, Sockets: []wire.ClusterSocket{
		{ID: "s1", Rooms: []string{"s1", "a"}},
		{ID: "s9", Rooms: []string{"s9"}, Handshake: []byte(`{"query":{"EIO":"4"}}`), Data: []byte(`{"server":1}`)},
	}, Answers: 2, Expected: 2}},
	{"cluster request done: all rooms", wire.ClusterRequestDone{Ref: 6, Rooms: []string{"a", "s1"}, Answers: 1, Expected: 1}},
	{"cluster request done: server side emit, timed out", wire.ClusterRequestDone{Ref: 7, Replies: []wire.Reply{
		{Args: []byte(`["pong",0]`)}, {Args: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}},
	}, TimedOut: true, Answers: 2, Expected: 3}},
	{"cluster request done: empty", wire.ClusterRequestDone{Ref: 8}},
	{"server side emit received", wire.ServerSideEmitReceived{Nsp: "/", Data: []byte(`["note","hello"]`)}},
	{"server side emit received: ack, binary", wire.ServerSideEmitReceived{Nsp: "/chat", Data: []byte(`["ping",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xde, 0xad}}, Ack: 12}},
	{"room created", wire.RoomCreated{Nsp: "/", Room: "team"}},
	{"room deleted", wire.RoomDeleted{Nsp: "/chat", Room: "abcdefghijklmnopqrst"}},
	{"recovery record", wire.RecoveryRecord{Nsp: "/", Packet: wire.RecoveryPacket{Offset: "AbCdEf3", Rooms: []string{"s1"},
		Data: []byte(`["hello",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}}},
	{"recovery session: live", wire.RecoverySession{State: wire.RecoveryLive, PID: "AbCdEfghijklmnopqrst", Socket: "s1",
		Nsp: "/", Rooms: []string{"s1", "team"}, Node: "AbCdEf"}},
	{"recovery session: saved, data", wire.RecoverySession{State: wire.RecoverySaved, PID: "AbCdEfghijklmnopqrst", Socket: "s1",
		Nsp: "/chat", Rooms: []string{"s1"}, Node: "AbCdEf", Data: []byte(`{"user":"ann"}`)}},
	{"recovery lookup", wire.RecoveryLookup{Ref: 9, Nsp: "/", PID: "AbCdEfghijklmnopqrst", Offset: "XyZ0123a", Node: "GhIjKl"}},
}

func kindHex(k Kind) string { return "0x" + hex.EncodeToString([]byte{byte(k >> 8), byte(k)}) }

func buildVectors(t *testing.T) vectorFile {
	f := vectorFile{
		Version: Version,
		Note:    "socketcore core.wasm ABI records (wasm/ABI.md). hex is the record; value is the decoded Go value as encoding/json renders it ([]byte as base64, durations and instants in ns). Regenerate with: go test ./wasm/abi -run TestVectors -update",
	}
	for _, e := range table {
		k, b, err := Append(nil, e.rec)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		v, err := json.Marshal(e.rec)
		if err != nil {
			t.Fatal(err)
		}
		f.Records = append(f.Records, vector{Name: e.name, Kind: kindHex(k), Type: k.String(), Hex: hex.EncodeToString(b), Value: v})
	}
	return f
}

// TestVectors checks the golden file both ways: each record's hex decodes
// to the value it shows and re-encodes to the same hex, and the table in
// this file still encodes to the file's bytes (so a layout change cannot
// slip in without a visible diff and a Version bump).
func TestVectors(t *testing.T) {
	want := buildVectors(t)
	if *update {
		var buf bytes.Buffer
		buf.WriteString("{\n\"version\": " + strconv.Itoa(want.Version) + ",\n\"note\": ")
		note, _ := json.Marshal(want.Note)
		buf.Write(note)
		buf.WriteString(",\n\"records\": [\n")
		for i, r := range want.Records {
			line, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			buf.Write(line)
			if i < len(want.Records)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString("]}\n")
		if err := os.WriteFile(vectorsPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := loadVectors(t)
	if got.Version != Version {
		t.Fatalf("%s has version %d, the codec is version %d", vectorsPath, got.Version, Version)
	}
	if len(got.Records) != len(want.Records) {
		t.Fatalf("%s has %d records, the table %d (run with -update)", vectorsPath, len(got.Records), len(want.Records))
	}
	seen := map[Kind]bool{}
	for i, v := range got.Records {
		w := want.Records[i]
		if v.Name != w.Name || v.Kind != w.Kind || v.Hex != w.Hex || !jsonEqual(v.Value, w.Value) {
			t.Errorf("record %d %q: file has %s %s %s, table gives %s %s %s (run with -update if intended)",
				i, v.Name, v.Kind, v.Hex, v.Value, w.Kind, w.Hex, w.Value)
			continue
		}
		k64, err := strconv.ParseUint(v.Kind[2:], 16, 16)
		if err != nil {
			t.Fatal(err)
		}
		k := Kind(k64)
		seen[k] = true
		if k.String() != v.Type {
			t.Errorf("%q: kind %s is named %s, file says %s", v.Name, v.Kind, k, v.Type)
		}
		b, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Decode(k, b)
		if err != nil {
			t.Errorf("%q: Decode: %v", v.Name, err)
			continue
		}
		js, _ := json.Marshal(rec)
		if !jsonEqual(js, v.Value) {
			t.Errorf("%q: decodes to %s, want %s", v.Name, js, v.Value)
		}
		k2, b2, err := Append(nil, rec)
		if err != nil || k2 != k || !bytes.Equal(b2, b) {
			t.Errorf("%q: re-encodes to %v %x %v", v.Name, k2, b2, err)
		}
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("no golden vector for kind %s (%s)", kindHex(k), k)
		}
	}
}

func loadVectors(t testing.TB) vectorFile {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
