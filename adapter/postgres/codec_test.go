package postgres

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/adapter/redis"
	cw "github.com/socketcore/socketcore/core/wire"
)

// nodeMessages are the NOTIFY payloads of the official Node packages
// (testdata/node-messages.json, made by tests/cluster/postgres/capture.mjs):
// two socket.io servers on @socket.io/postgres-adapter 0.5.0 doing every
// cluster operation, then @socket.io/postgres-emitter 0.1.1.
type nodeMessage struct {
	Step       string `json:"step"`
	Channel    string `json:"channel"`
	Payload    string `json:"payload"`
	Attachment string `json:"attachment"`
}

func loadNode(t *testing.T) (string, []nodeMessage) {
	t.Helper()
	b, err := os.ReadFile("testdata/node-messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Prefix   string        `json:"prefix"`
		Messages []nodeMessage `json:"messages"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Messages) < 25 {
		t.Fatalf("only %d messages", len(f.Messages))
	}
	return f.Prefix, f.Messages
}

func (m nodeMessage) body(t *testing.T) []byte {
	t.Helper()
	if m.Attachment == "" {
		return []byte(m.Payload)
	}
	b, err := base64.StdEncoding.DecodeString(m.Attachment)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every Node message decodes; re-encoded by a codec with the sender's uid,
// the adapter's messages are Node's bytes (the NOTIFY JSON, the header and
// the msgpack attachment alike).
func TestNodeMessages(t *testing.T) {
	prefix, msgs := loadNode(t)
	steps := map[string]int{}
	for i, m := range msgs {
		steps[m.Step]++
		if m.Channel != prefix+"#/" {
			t.Errorf("%d %s: channel %q", i, m.Step, m.Channel)
		}
		n, err := ParseNotification([]byte(m.Payload))
		if err != nil {
			t.Errorf("%d %s: %v", i, m.Step, err)
			continue
		}
		if (n.AttachmentID != 0) != (m.Attachment != "") {
			t.Errorf("%d %s: attachment id %d", i, m.Step, n.AttachmentID)
		}
		ours := Codec{Prefix: prefix, UID: "0123456789abcdef"}
		d, err := ours.Decode("/", m.body(t))
		if err != nil {
			t.Errorf("%d %s: decode: %v", i, m.Step, err)
			continue
		}
		if d.UID != n.UID || d.Type != n.Type {
			t.Errorf("%d %s: uid/type %q %d, header %q %d", i, m.Step, d.UID, d.Type, n.UID, n.Type)
		}
		sender := Codec{Prefix: prefix, UID: n.UID}
		switch {
		case d.Type == TypeInitialHeartbeat || d.Type == TypeHeartbeat || d.Type == TypeAdapterClose:
			if got := sender.Heartbeat(d.Type, "/"); string(got) != m.Payload {
				t.Errorf("%d %s: heartbeat\n got %s\nwant %s", i, m.Step, got, m.Payload)
			}
			continue
		case n.UID == "emitter":
			continue // TestNodeEmitter
		}
		out, err := sender.Encode(d.Msg)
		if err != nil {
			t.Errorf("%d %s: encode: %v", i, m.Step, err)
			continue
		}
		if out.Channel != m.Channel || out.Type != d.Type {
			t.Errorf("%d %s: channel %q type %d", i, m.Step, out.Channel, out.Type)
		}
		if m.Attachment != "" {
			if !bytes.Equal(out.Attachment, m.body(t)) {
				t.Errorf("%d %s: attachment\n got %x\nwant %x", i, m.Step, out.Attachment, m.body(t))
			}
			if got := sender.Header(d.Type, n.AttachmentID); string(got) != m.Payload {
				t.Errorf("%d %s: header %s, want %s", i, m.Step, got, m.Payload)
			}
			continue
		}
		if string(out.Notify) != m.Payload {
			t.Errorf("%d %s: re-encoded\n got %s\nwant %s", i, m.Step, out.Notify, m.Payload)
		}
	}
	for _, s := range []string{"broadcast", "broadcast-rooms", "broadcast-volatile", "broadcast-binary",
		"broadcast-large", "sockets-join", "sockets-leave", "fetch-sockets", "server-side-emit",
		"server-side-emit-ack", "server-side-emit-binary", "broadcast-ack", "disconnect-sockets", "close",
		"heartbeat", "emitter-broadcast", "emitter-binary", "emitter-sockets-join", "emitter-server-side-emit"} {
		if steps[s] == 0 {
			t.Errorf("no message of step %s", s)
		}
	}
}

func decodeStep(t *testing.T, msgs []nodeMessage, step string, nth int) Decoded {
	t.Helper()
	for _, m := range msgs {
		if m.Step != step {
			continue
		}
		if nth > 0 {
			nth--
			continue
		}
		d, err := Codec{UID: "0123456789abcdef"}.Decode("/", m.body(t))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return d
	}
	t.Fatalf("no step %s", step)
	return Decoded{}
}

// What the core gets from Node's messages.
func TestNodeMessagesDecoded(t *testing.T) {
	_, msgs := loadNode(t)
	m := decodeStep(t, msgs, "broadcast-rooms", 0).Msg
	if m.Type != cw.ClusterBroadcast || !reflect.DeepEqual(m.Rooms, []string{"r1", "r9"}) ||
		!reflect.DeepEqual(m.Except, []string{"r2"}) || !m.Compress || m.Volatile || string(m.Data) != `["ev","rooms"]` {
		t.Errorf("broadcast-rooms: %+v", m)
	}
	m = decodeStep(t, msgs, "broadcast-volatile", 0).Msg
	if !m.Volatile || m.Compress {
		t.Errorf("volatile: %+v", m)
	}
	m = decodeStep(t, msgs, "broadcast-binary", 0).Msg
	if len(m.Attachments) != 2 || !bytes.Equal(m.Attachments[0], []byte{1, 2, 3}) || !bytes.Equal(m.Attachments[1], []byte{4}) {
		t.Errorf("binary: %+v", m)
	}
	m = decodeStep(t, msgs, "broadcast-large", 0).Msg
	if len(m.Data) < 9000 || !strings.HasPrefix(string(m.Data), `["big","xxx`) {
		t.Errorf("large: %.40s", m.Data)
	}
	m = decodeStep(t, msgs, "fetch-sockets", 1).Msg
	if m.Type != cw.ClusterFetchSocketsResponse || len(m.Sockets) != 1 || string(m.Sockets[0].Data) != `{"server":"B"}` ||
		!bytes.Contains(m.Sockets[0].Handshake, []byte(`"auth":{}`)) {
		t.Errorf("fetch response: %+v", m)
	}
	m = decodeStep(t, msgs, "broadcast-ack", 0).Msg
	if m.RequestID == "" || m.Timeout.Milliseconds() != 2000 {
		t.Errorf("broadcast with ack: %+v", m)
	}
	m = decodeStep(t, msgs, "broadcast-ack", 2).Msg
	if m.Type != cw.ClusterBroadcastAck || string(m.Data) != `[{"answer":"q","from":"B"}]` {
		t.Errorf("ack: %+v %s", m, m.Data)
	}
	m = decodeStep(t, msgs, "server-side-emit-binary", 0).Msg
	if m.Type != cw.ClusterServerSideEmit || len(m.Attachments) != 1 {
		t.Errorf("server-side emit with binary: %+v", m)
	}
}

// The Node emitter's messages (no nsp at the top, opts without flags) reach
// the core, and our emitter's messages mean the same.
func TestNodeEmitter(t *testing.T) {
	_, msgs := loadNode(t)
	want := map[string]cw.ClusterMessage{
		"emitter-broadcast": {Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{}, Except: []string{},
			Compress: true, Data: []byte(`["ev",1,"two"]`)},
		"emitter-rooms": {Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"r1"}, Except: []string{"r2"},
			Volatile: true, Data: []byte(`["ev","rooms"]`)},
		"emitter-binary": {Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{}, Except: []string{}, Compress: true,
			Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{5, 6}}},
		"emitter-sockets-join": {Type: cw.ClusterSocketsJoin, Nsp: "/", Rooms: []string{"r1"}, Except: []string{},
			JoinRooms: []string{"r5"}},
		"emitter-sockets-leave": {Type: cw.ClusterSocketsLeave, Nsp: "/", Rooms: []string{}, Except: []string{},
			JoinRooms: []string{"r5"}},
		"emitter-disconnect-sockets": {Type: cw.ClusterDisconnectSockets, Nsp: "/", Rooms: []string{"nobody"},
			Except: []string{}, Close: true},
		"emitter-server-side-emit": {Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["note","x",1]`)},
	}
	for step, w := range want {
		d := decodeStep(t, msgs, step, 0)
		if d.UID != "emitter" || !reflect.DeepEqual(d.Msg, w) {
			t.Errorf("%s: %q\n got %+v\nwant %+v", step, d.UID, d.Msg, w)
			continue
		}
		// Ours: the same message, which decodes the same.
		out, err := Codec{UID: "emitter"}.Encode(w)
		if err != nil {
			t.Fatal(err)
		}
		body := out.Notify
		if body == nil {
			body = out.Attachment
		}
		d2, err := Codec{UID: "x"}.Decode("/", body)
		if err != nil || !reflect.DeepEqual(d2.Msg, w) {
			t.Errorf("%s: ours decoded %+v, %v", step, d2.Msg, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	c := Codec{UID: "me"}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"type":3,"data":{"packet":{"type":2,"data":["a"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"u","nsp":"/other"}`, redis.ErrOtherNamespace},
		{`{"type":99,"data":{},"uid":"u","nsp":"/"}`, ErrUnsupported},
		{`{"type":3,"data":{"packet":{"type":0,"data":["a"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"u","nsp":"/"}`, ErrUnsupported},
		{`{"type":3,"uid":"u","nsp":"/"}`, errMalformed},
		{`{"uid":"u"}`, errMalformed},
		{`[1]`, errMalformed},
		{`{"type":"3"}`, errMalformed},
	} {
		_, err := c.Decode("/", []byte(tc.in))
		if tc.want == errMalformed {
			// malformed: an error, but none of those dropped quietly
			if err == nil || errors.Is(err, ErrUnsupported) || errors.Is(err, redis.ErrOtherNamespace) {
				t.Errorf("%s: %v, want malformed", tc.in, err)
			}
		} else if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.in, err, tc.want)
		}
	}
	for _, in := range []string{`{"uid":"u","type":3,"attachmentId":"x"}`, `{"uid":"u","type":3,"attachmentId":-1}`, `nope`} {
		if _, err := ParseNotification([]byte(in)); !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v", in, err)
		}
	}
	if n, err := ParseNotification([]byte(`{"uid":"u","type":3,"attachmentId":12}`)); err != nil || n.AttachmentID != 12 {
		t.Errorf("numeric attachmentId: %+v %v", n, err)
	}
}

// Threshold: a message of Threshold bytes or more goes through the table.
func TestThreshold(t *testing.T) {
	m := cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["e","` + strings.Repeat("y", 100) + `"]`)}
	out, err := Codec{UID: "u", Threshold: 1000}.Encode(m)
	if err != nil || out.Notify == nil || out.Attachment != nil {
		t.Fatalf("small: %+v %v", out, err)
	}
	n := len(out.Notify)
	out, err = Codec{UID: "u", Threshold: n}.Encode(m)
	if err != nil || out.Notify != nil || out.Attachment == nil {
		t.Fatalf("at the threshold: %+v %v", out, err)
	}
	d, err := Codec{UID: "x"}.Decode("/", out.Attachment)
	if err != nil || string(d.Msg.Data) != string(m.Data) {
		t.Fatalf("attachment: %+v %v", d, err)
	}
	out, err = Codec{UID: "u", Threshold: n + 1}.Encode(m)
	if err != nil || out.Notify == nil {
		t.Fatalf("below: %+v %v", out, err)
	}
}

func TestThresholdCapped(t *testing.T) {
	m := cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["e","` + strings.Repeat("y", 8100) + `"]`)}
	if out, err := (Codec{UID: "u", Threshold: 100000}).Encode(m); err != nil || out.Attachment == nil {
		t.Fatalf("a payload over PostgreSQL's limit was not put in the table: %v", err)
	}
}

// Garbage never panics the decoder; what decodes re-encodes.
func FuzzDecode(f *testing.F) {
	b, err := os.ReadFile("testdata/node-messages.json")
	if err != nil {
		f.Fatal(err)
	}
	var file struct {
		Messages []nodeMessage `json:"messages"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		f.Fatal(err)
	}
	for _, m := range file.Messages {
		f.Add([]byte(m.Payload))
		if m.Attachment != "" {
			att, _ := base64.StdEncoding.DecodeString(m.Attachment)
			f.Add(att)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ParseNotification(body)
		d, err := Codec{UID: "me"}.Decode("/", body)
		if err != nil || d.Msg.Type == 0 {
			return
		}
		if d.Msg.Type == cw.ClusterFetchSocketsResponse {
			return // handshakes and data pass through as JSON
		}
		if _, err := (Codec{UID: d.UID}).Encode(d.Msg); err != nil {
			t.Fatalf("decoded %+v does not encode: %v", d.Msg, err)
		}
	})
}
