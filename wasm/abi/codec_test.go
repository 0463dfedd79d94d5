package abi

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/core/wire"
)

func TestRoundTrip(t *testing.T) {
	for _, e := range table {
		k, b, err := Append(nil, e.rec)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		got, err := Decode(k, b)
		if err != nil {
			t.Fatalf("%s: Decode: %v", e.name, err)
		}
		if !reflect.DeepEqual(got, e.rec) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v", e.name, got, e.rec)
		}
		// Append appends: a prefix in dst is kept.
		_, b2, _ := Append([]byte("xy"), e.rec)
		if string(b2[:2]) != "xy" || !bytes.Equal(b2[2:], b) {
			t.Errorf("%s: Append does not append", e.name)
		}
		// Every strict prefix and every extension is refused.
		for n := 0; n < len(b); n++ {
			if _, err := Decode(k, b[:n]); err == nil {
				t.Errorf("%s: prefix of %d bytes decodes", e.name, n)
				break
			}
		}
		if _, err := Decode(k, append(b[:len(b):len(b)], 0)); err != ErrBadRecord {
			t.Errorf("%s: trailing byte: %v", e.name, err)
		}
	}
}

func TestEveryKindHasAName(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		n := k.String()
		if seen[n] {
			t.Errorf("two kinds named %s", n)
		}
		seen[n] = true
		if (ReplyKind(k) != 0) != (k == KindEmit || k == KindBroadcast || k == KindRooms || k == KindConnected ||
			k == KindTransport || k == KindSocketsIn || k == KindStats || k == KindConfig ||
			k == KindFetchSockets || k == KindAllRooms || k == KindServerSideEmit || k == KindClientEmit || k == KindClientStats ||
			k == KindSnapshot || k == KindRestore || k == KindCounts) {
			t.Errorf("ReplyKind(%s) = %s", k, ReplyKind(k))
		}
		if k != KindInit && !k.IsInput() && !k.IsCommand() && !k.IsOutput() && k.Class() != 0x08 {
			t.Errorf("kind %s is in no class", k)
		}
	}
	if got := Kind(0x7777).String(); got != "Kind(0x7777)" {
		t.Errorf("unknown kind prints %q", got)
	}
}

func TestRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		kind Kind
		hex  string
		err  error
	}{
		{"unknown kind", 0x7777, "", ErrUnknownKind},
		{"bool 2", KindClosed, "0900000000000000" + "02", ErrBadRecord},
		{"length past the end", KindRecv, "0700000000000000" + "05000000" + "6869" + "00", ErrBadRecord},
		{"huge list count", KindJoin, "02000000" + "7331" + "ffffffff", ErrBadRecord},
		{"huge frame count", KindSend, "0200000000000000" + "ffffff0f" + "0000", ErrBadRecord},
		{"empty record for a non-empty kind", KindWait, "", ErrBadRecord},
		{"engine send: compress 2", KindEngineSend, "01000000" + "78" + "00000000" + "00" + "02", ErrBadRecord},
		{"engine send: huge frame count", KindEngineSend, "01000000" + "78" + "ffffff0f" + "0000", ErrBadRecord},
		{"cluster servers: short", KindClusterServers, "01000000" + "72" + "0300000000", ErrBadRecord},
		{"cluster received: huge socket count", KindClusterReceived, "01" + "00000000" + "00000000" + "00000000" + "00000000" +
			"00" + "00" + "0000000000000000" + "00000000" + "00000000" + "00000000" + "00" + "ffffff0f" + "0000000000000000", ErrBadRecord},
		{"cluster received: close 2", KindClusterReceived, "04" + "00000000" + "00000000" + "00000000" + "00000000" +
			"00" + "00" + "0000000000000000" + "00000000" + "00000000" + "00000000" + "02" + "00000000" + "0000000000000000", ErrBadRecord},
		{"fetch sockets: local 2", KindFetchSockets, "01000000" + "2f" + "00000000" + "00000000" + "02", ErrBadRecord},
		{"cluster publish: no count_servers", KindClusterPublish, "01" + "00000000" + "00000000" + "00000000" + "00000000" +
			"00" + "00" + "0000000000000000" + "00000000" + "00000000" + "00000000" + "00" + "00000000" + "0000000000000000", ErrBadRecord},
		{"config: no recovery fields (version 2)", KindConfigReply, strings.Repeat("00", 8*6+1+1+32+8*4+1+1+8), ErrBadRecord},
		{"config: unknown parser 2", KindConfigReply, strings.Repeat("00", 8*6+1+1+32+8*4+1+1+8+8*3+1+1) + "02", ErrBadRecord},
		{"connect requested: recovered 2", KindConnectRequested, "01000000" + "73" + "01000000" + "78" + "01000000" + "2f" + "00000000" + "00" + "02" + "00000000", ErrBadRecord},
		{"connected out: no recovered (version 2)", KindConnectedOut, "0200000073310100000078010000002f", ErrBadRecord},
		{"counts reply: huge namespace count", KindCountsReply, strings.Repeat("00", 8*3) + "ffffff0f" + strings.Repeat("00", 20), ErrBadRecord},
		{"counts reply: no volatile_dropped", KindCountsReply, strings.Repeat("00", 8*2) + "00000000", ErrBadRecord},
		{"set recovery data: data past the end", KindSetRecoveryData, "01000000" + "73" + "05000000" + "7b7d", ErrBadRecord},
		{"cluster request done: huge reply count", KindClusterRequestDone, "0100000000000000" + "00000000" + "00000000" + "ffffff0f" +
			"00" + "0000000000000000" + "0000000000000000", ErrBadRecord},
	} {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(c.kind, b); err != c.err {
			t.Errorf("%s: Decode = %v, want %v", c.name, err, c.err)
		}
	}
	if _, _, err := Append(nil, 42); err != ErrUnknownKind {
		t.Errorf("Append(42) = %v", err)
	}
	if _, _, err := Append(nil, (wire.Input)(nil)); err != ErrUnknownKind {
		t.Errorf("Append(nil) = %v", err)
	}
}

// FuzzABIRecord: decoding never panics, and whatever decodes re-encodes to
// the same bytes (one encoding per value), so a guest and a host can never
// disagree about a record both accept.
func FuzzABIRecord(f *testing.F) {
	for _, v := range loadVectors(f).Records {
		k, _ := strconv.ParseUint(v.Kind[2:], 16, 16)
		b, _ := hex.DecodeString(v.Hex)
		f.Add(uint16(k), b)
	}
	f.Fuzz(func(t *testing.T, k uint16, b []byte) {
		r, err := Decode(Kind(k), b)
		if err != nil {
			if err != ErrBadRecord && err != ErrUnknownKind {
				t.Fatalf("Decode error %v", err)
			}
			return
		}
		k2, b2, err := Append(nil, r)
		if err != nil || k2 != Kind(k) || !bytes.Equal(b2, b) {
			t.Fatalf("Decode(%s, %x) = %#v re-encodes as %s %x %v", Kind(k), b, r, k2, b2, err)
		}
	})
}

func BenchmarkAppendRecv(b *testing.B) {
	in := wire.Recv{Conn: 7, Data: []byte(`42["echo","0123456789012345678901234567890123456789012345678901234567890123456789012345"]`)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		_, buf, _ = Append(buf[:0], in)
	}
}

func BenchmarkDecodeEventReceived(b *testing.B) {
	_, rec, _ := Append(nil, wire.EventReceived{Socket: "s0000000000000000001", Name: "echo", Data: []byte(`["echo","0123456789012345678901234567890123456789012345678901234567890123456789012345"]`), Ack: 9})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(KindEventReceived, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// The typed decoders agree with Decode.
func TestTypedDecoders(t *testing.T) {
	for _, e := range table {
		k, b, _ := Append(nil, e.rec)
		var got any
		var err error
		switch k {
		case KindRecv:
			got, err = DecodeRecv(b)
		case KindHTTPRequest:
			got, err = DecodeHTTPRequest(b)
		case KindEmit:
			got, err = DecodeEmit(b)
		case KindAck:
			got, err = DecodeAck(b)
		case KindEngineSend:
			got, err = DecodeEngineSend(b)
		default:
			continue
		}
		if err != nil || !reflect.DeepEqual(got, e.rec) {
			t.Errorf("%s: %#v, %v", e.name, got, err)
		}
	}
	if _, err := DecodeRecv([]byte{1, 2}); err != ErrBadRecord {
		t.Errorf("DecodeRecv(short) = %v", err)
	}
	if _, err := DecodeEmit(nil); err != ErrBadRecord {
		t.Errorf("DecodeEmit(nil) = %v", err)
	}
	if _, err := DecodeEngineSend([]byte{1, 0, 0, 0}); err != ErrBadRecord {
		t.Errorf("DecodeEngineSend(short) = %v", err)
	}
}

// Which role takes which call: the inputs 0x0101..0x0104, Close, Stats
// and Config are the server and engine roles'; Recv, Closed and Timeout
// also the client role's, and Ack the server and client roles'; EngineSend
// only the engine role's; the client role's own kinds only its; the
// cluster inputs and the other commands only the server role's; nothing
// else is a call.
func TestRoleAccepts(t *testing.T) {
	type roles struct{ server, engine, client bool }
	for _, k := range Kinds() {
		var want roles
		switch {
		case !k.IsInput() && !k.IsCommand():
		case k == KindRecv || k == KindClosed || k == KindTimeout:
			want = roles{true, true, true}
		case k == KindHTTPRequest || k == KindClose || k == KindStats || k == KindConfig:
			want = roles{true, true, false}
		case k == KindAck:
			want = roles{true, false, true}
		case k == KindEngineSend:
			want = roles{false, true, false}
		case IsClientKind(k):
			want = roles{false, false, true}
		case k == KindSnapshot || k == KindRestore: // session snapshots (snapshot.go)
			want = roles{true, false, false}
		default:
			want = roles{true, false, false}
		}
		if got := (roles{RoleServer.Accepts(k), RoleEngine.Accepts(k), RoleClient.Accepts(k)}); got != want {
			t.Errorf("%s: accepted by (server, engine, client) %v, want %v", k, got, want)
		}
	}
	for _, k := range []Kind{0x0108, 0x0112, 0x0219, 0x021f, 0x0222, 0x030c, 0x0402, 0x1506, 0x1604, 0x7777} {
		if RoleServer.Accepts(k) || RoleEngine.Accepts(k) || RoleClient.Accepts(k) || Role(4).Accepts(k) {
			t.Errorf("undefined kind %s accepted", k)
		}
	}
	if Role(4).Accepts(KindRecv) || Role(0).Accepts(KindRecv) {
		t.Error("a role this version does not define accepts a call")
	}
}
