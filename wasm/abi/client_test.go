package abi

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/sio"
	"github.com/socketcore/socketcore/core/wire"
)

// clientTable holds the client role's golden vectors; they go at the end
// of vectors_test.go's table (and so of testdata/records.json), where
// TestVectors, TestRoundTrip and the fuzz seeds check them like the rest.
var clientTable = []struct {
	name string
	rec  any
}{
	{"client: http response", wire.HTTPResponse{Conn: 3, Status: 200, Body: []byte(`0{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)}},
	{"client: http response, error status, no body", wire.HTTPResponse{Conn: 4, Status: 400}},
	{"client: dialed", wire.Dialed{Conn: 5}},
	{"client: config, defaults", client.Config{Host: "example.com"}},
	{"client: config, every field", client.Config{
		Secure: true, Host: "[::1]:3000", Path: "/io/", Query: "a=1&b=2", Transports: []string{"websocket", "polling"},
		NoUpgrade: true, RememberUpgrade: true, TryAllTransports: true, NoTimestamp: true, NoReconnection: true,
		ReconnectionAttempts: 5, ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: 2 * time.Second,
		RandomizationFactor: 0.25, Timeout: -1, MaxAttachments: 10, MaxDepth: 64, MaxPendingAcks: 1024,
		Parser: sio.MsgpackParser, Seed: seed,
	}},
	{"client: open", ClientOpen{}},
	{"client: close", ClientClose{}},
	{"client: add socket", AddSocket{Nsp: "/chat", Auth: []byte(`{"token":"t"}`), Retries: 3, AckTimeout: time.Second}},
	{"client: add socket, dynamic auth", AddSocket{Nsp: "/", DynamicAuth: true}},
	{"client: connect", ClientConnect{Nsp: "/"}},
	{"client: disconnect", ClientDisconnect{Nsp: "/chat"}},
	{"client: set auth", SetAuth{Nsp: "/", Auth: []byte(`{"name":"ann"}`)}},
	{"client: set auth, none", SetAuth{Nsp: "/"}},
	{"client: emit", ClientEmit{Nsp: "/", Emit: client.Emit{Data: []byte(`["hello","world"]`)}}},
	{"client: emit, ack, binary, flags", ClientEmit{Nsp: "/chat", Emit: client.Emit{
		Data: []byte(`["up",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3}},
		WithAck: true, Timeout: 5 * time.Second, Volatile: true, Compress: true,
	}}},
	{"client: cancel ack", CancelAck{Ref: 7}},
	{"client: stats", ClientStatsQuery{}},
	{"client: close engine", ClientCloseEngine{}},
	{"client: stats reply", client.Stats{Conns: 1, Timers: 2, Sockets: 3, Acks: 4, InAcks: 5, Buffered: 6}},
	{"client: fetch get", wire.Fetch{Conn: 1, Method: "GET", URL: "http://h/socket.io/?EIO=4&transport=polling&t=abc"}},
	{"client: fetch post", wire.Fetch{Conn: 2, Method: "POST", URL: "https://h/socket.io/?EIO=4&transport=polling&sid=x", ContentType: "text/plain;charset=UTF-8", Body: []byte("40\x1e42[\"a\"]")}},
	{"client: dial", wire.Dial{Conn: 3, URL: "ws://h/socket.io/?EIO=4&transport=websocket&sid=x"}},
	{"client: engine opened", wire.EngineOpened{SID: "lv_VI97HAXpY6yYWAAAC", Transport: "polling"}},
	{"client: engine upgraded", wire.EngineUpgraded{SID: "lv_VI97HAXpY6yYWAAAC", Transport: "websocket"}},
	{"client: engine error", wire.EngineError{Message: "xhr poll error", Description: "404"}},
	{"client: engine closed", wire.EngineClosed{Reason: wire.ReasonTransportClose}},
	{"client: reconnect attempt", wire.ReconnectAttempt{Attempt: 1}},
	{"client: reconnected", wire.Reconnected{Attempt: 2}},
	{"client: reconnect error", wire.ReconnectError{Message: "xhr poll error"}},
	{"client: reconnect failed", wire.ReconnectFailed{}},
	{"client: auth requested", wire.AuthRequested{Nsp: "/chat"}},
	{"client: connect error, server", wire.ConnectError{Nsp: "/chat", Message: "unauthorized", Data: []byte(`{"reason":"bad token"}`), Server: true}},
	{"client: connect error, transport", wire.ConnectError{Nsp: "/", Message: "websocket error"}},
	{"client: socket disconnected", wire.SocketDisconnected{Nsp: "/", Socket: "s1", Reason: wire.ReasonIOServerDisconnect}},
}

func init() { table = append(table, clientTable...) }

// Every client kind is named (Kinds lists it), has a golden vector, and
// the right acceptance: the client role's calls only by RoleClient, never
// by the other roles. IsClientKind picks exactly these constants.
func TestClientKinds(t *testing.T) {
	all := []Kind{
		KindHTTPResponse, KindDialed,
		KindClientConfig, KindClientOpen, KindClientClose, KindAddSocket, KindClientConnect, KindClientDisconnect,
		KindSetAuth, KindClientEmit, KindCancelAck, KindClientStats, KindClientCloseEngine,
		KindClientStatsReply, KindFetch, KindDial,
		KindEngineOpened, KindEngineUpgraded, KindEngineError, KindEngineClosed,
		KindReconnectAttempt, KindReconnected, KindReconnectError, KindReconnectFailed,
		KindAuthRequested, KindConnectError, KindSocketDisconnected,
	}
	seen := map[Kind]bool{}
	for _, e := range clientTable {
		k, _, err := Append(nil, e.rec)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		seen[k] = true
	}
	var listed []Kind
	for _, k := range Kinds() {
		if IsClientKind(k) {
			listed = append(listed, k)
		}
	}
	if len(listed) != len(all) {
		t.Errorf("IsClientKind picks %v among Kinds, want %v", listed, all)
	}
	for _, k := range all {
		if !IsClientKind(k) || strings.HasPrefix(k.String(), "Kind(") {
			t.Errorf("client kind %#04x: IsClientKind %v, name %s", uint16(k), IsClientKind(k), k)
		}
		if !seen[k] {
			t.Errorf("no golden vector for client kind %s", k)
		}
		call := k.IsInput() || k.IsCommand()
		if RoleClient.Accepts(k) != call {
			t.Errorf("RoleClient.Accepts(%s) = %v", k, RoleClient.Accepts(k))
		}
		if RoleServer.Accepts(k) || RoleEngine.Accepts(k) {
			t.Errorf("%s accepted by another role", k)
		}
		if (ReplyKind(k) != 0) != (k == KindClientEmit || k == KindClientStats) {
			t.Errorf("ReplyKind(%s) = %s", k, ReplyKind(k))
		}
	}
	for _, k := range []Kind{KindRecv, KindClosed, KindTimeout, KindAck} {
		if !RoleClient.Accepts(k) {
			t.Errorf("shared call %s not accepted by the client role", k)
		}
	}
	for _, k := range []Kind{KindHTTPRequest, KindEmit, KindClose, KindStats, KindEngineSend, 0x0112, 0x030c, 0x0403, KindFetch, KindEngineOpened} {
		if RoleClient.Accepts(k) {
			t.Errorf("%s accepted by the client role", k)
		}
	}
}

func TestClientRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		kind Kind
		hex  string
	}{
		{"http response: short", KindHTTPResponse, "0300000000000000" + "c800000000000000" + "050000" + "00"},
		{"config: parser 2", KindClientConfig, "00" + "01000000" + "68" + "00000000" + "00000000" + "00000000" +
			"0000000000" + "0000000000000000" + "0000000000000000" + "0000000000000000" + "0000000000000000" + "0000000000000000" +
			"0000000000000000" + "0000000000000000" + "0000000000000000" + "02" + "0000000000000000000000000000000000000000000000000000000000000000"},
		{"add socket: dynamic auth 2", KindAddSocket, "01000000" + "2f" + "00000000" + "02" + "0000000000000000" + "0000000000000000"},
		{"connect error: server 2", KindConnectError, "01000000" + "2f" + "00000000" + "00000000" + "02"},
		{"reconnect failed: trailing", KindReconnectFailed, "00"},
	} {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(c.kind, b); err != ErrBadRecord {
			t.Errorf("%s: Decode = %v, want ErrBadRecord", c.name, err)
		}
	}
	// The config above with parser 0 decodes: the case tests the parser only.
	b, _ := hex.DecodeString("00" + "01000000" + "68" + "00000000" + "00000000" + "00000000" +
		"0000000000" + "0000000000000000" + "0000000000000000" + "0000000000000000" + "0000000000000000" + "0000000000000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" + "00" + "0000000000000000000000000000000000000000000000000000000000000000")
	r, err := Decode(KindClientConfig, b)
	if err != nil || !reflect.DeepEqual(r, client.Config{Host: "h"}) {
		t.Errorf("config with parser 0: %#v, %v", r, err)
	}
}
