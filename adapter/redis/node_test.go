package redis

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cw "github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func repoRoot(t *testing.T) string { return nodetest.RepoRoot(t) }

// nodeServer is tests/cluster/node/server.mjs: a socket.io server on
// @socket.io/redis-adapter with one socket.io-client connected to it.
type nodeServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  *json.Encoder
	sid    string // the client's socket id
	uid    string // the Node adapter's uid for "/"
	events chan nodeEvent

	mu      sync.Mutex
	nextID  int
	replies map[int]chan nodeReply
}

type nodeEvent struct {
	Event string            `json:"event"`
	Name  string            `json:"name"`
	Args  []json.RawMessage `json:"args"`
}

type nodeReply struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

func startNode(t *testing.T, prefix string) *nodeServer {
	t.Helper()
	return startNodeScript(t, filepath.Join("tests", "cluster", "node", "server.mjs"), "PREFIX="+prefix)
}

// startNodeScript runs script (relative to the repository root) with env
// added to the environment; it speaks server.mjs's stdin/stdout protocol.
func startNodeScript(t *testing.T, script string, env ...string) *nodeServer {
	t.Helper()
	root := repoRoot(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20+, then run `npm ci` at the repository root")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@socket.io", "redis-adapter", "package.json")); err != nil {
		t.Fatal("node_modules/@socket.io/redis-adapter missing: run `npm ci` at the repository root")
	}
	cmd := exec.Command(node, script)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "REDIS_URL="+redistest.URL()), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &nodeServer{t: t, cmd: cmd, stdin: json.NewEncoder(in), events: make(chan nodeEvent, 64),
		replies: make(map[int]chan nodeReply)}
	exited := make(chan struct{})
	t.Cleanup(func() {
		in.Close() // the script exits when stdin closes
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	ready := make(chan struct {
		Sid, UID string
	}, 1)
	go func() {
		defer close(exited)
		defer cmd.Wait()
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		first := true
		for sc.Scan() {
			line := sc.Bytes()
			if first {
				first = false
				var r struct {
					Ready    bool
					Sid, UID string
				}
				if json.Unmarshal(line, &r) == nil && r.Ready {
					ready <- struct{ Sid, UID string }{r.Sid, r.UID}
				}
				continue
			}
			var msg struct {
				ID *int `json:"id"`
				nodeReply
				nodeEvent
			}
			if err := json.Unmarshal(line, &msg); err != nil {
				t.Errorf("node said %q", line)
				continue
			}
			if msg.ID != nil {
				s.mu.Lock()
				ch := s.replies[*msg.ID]
				s.mu.Unlock()
				if ch != nil {
					ch <- msg.nodeReply
				}
				continue
			}
			select {
			case s.events <- msg.nodeEvent:
			default:
				t.Errorf("node events overflow: %s", line)
			}
		}
	}()
	select {
	case r := <-ready:
		s.sid, s.uid = r.Sid, r.UID
	case <-exited:
		t.Fatalf("%s exited before it was ready", script)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s not ready within 10s", script)
	}
	return s
}

// call runs a command and decodes its result into res.
func (s *nodeServer) call(cmd string, args map[string]any, res any) {
	s.t.Helper()
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	ch := make(chan nodeReply, 1)
	s.replies[id] = ch
	s.mu.Unlock()
	req := map[string]any{"id": id, "cmd": cmd}
	for k, v := range args {
		req[k] = v
	}
	if err := s.stdin.Encode(req); err != nil {
		s.t.Fatal(err)
	}
	select {
	case r := <-ch:
		if r.Error != "" {
			s.t.Fatalf("node %s: %s", cmd, r.Error)
		}
		if res != nil {
			if err := json.Unmarshal(r.Result, res); err != nil {
				s.t.Fatalf("node %s: %s: %v", cmd, r.Result, err)
			}
		}
	case <-time.After(wait):
		s.t.Fatalf("node %s: no answer within %v", cmd, wait)
	}
}

func (s *nodeServer) event(what string) nodeEvent {
	s.t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(wait):
		s.t.Fatalf("%s: no event from node within %v", what, wait)
		return nodeEvent{}
	}
}

// of reads messages until one of type typ (others are logged and skipped).
func (in *inbox) of(typ cw.ClusterType) cw.ClusterMessage {
	in.t.Helper()
	for {
		m := in.next(typ.String())
		if m.Type == typ {
			return m
		}
		in.t.Logf("skipped %v %s", m.Type, m.Data)
	}
}

func jsonEq(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: %s: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

func rawJSON(args []json.RawMessage) string {
	b, _ := json.Marshal(args)
	return string(b)
}

// TestNodeInterop runs a Go adapter and Node's @socket.io/redis-adapter on
// one Redis: broadcasts and requests each way, answered by the other side.
func TestNodeInterop(t *testing.T) {
	c := newClient(t, "")
	prefix := randomPrefix(t)
	in := newInbox(t)
	goAdapter := newAdapter(t, c, prefix, in, false, "/")
	answer := func(m cw.ClusterMessage) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var answers []cw.ClusterMessage
		switch {
		case m.Type == cw.ClusterFetchSockets:
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterFetchSocketsResponse, Sockets: []cw.ClusterSocket{{
				ID: "go-sock-1", Rooms: []string{"go-sock-1", "go-room"},
				Handshake: []byte(`{"headers":{"x-go":"1"},"time":"now","address":"::1","xdomain":false,"secure":false,"issued":1795786378918,"url":"/socket.io/","query":{"EIO":"4"},"auth":{"token":"go"}}`),
				Data:      []byte(`{"user":"gopher"}`)}}})
		case m.Type == cw.ClusterAllRooms:
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterAllRoomsResponse, JoinRooms: []string{"go-room"}})
		case m.Type == cw.ClusterServerSideEmit && m.RequestID != "":
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterServerSideEmitResponse, Data: []byte(`[{"pong":"from-go"}]`)})
		case m.Type == cw.ClusterBroadcast && m.RequestID != "":
			answers = append(answers, cw.ClusterMessage{Type: cw.ClusterBroadcastClientCount, ClientCount: 1},
				cw.ClusterMessage{Type: cw.ClusterBroadcastAck, Data: []byte(`[{"ack":"from-go","bin":{"_placeholder":true,"num":0}}]`),
					Attachments: [][]byte{{0xbe, 0xef}}})
		}
		for _, a := range answers {
			a.Nsp, a.RequestID = m.Nsp, m.RequestID
			if err := goAdapter.Publish(ctx, a); err != nil {
				t.Errorf("answer %v: %v", a.Type, err)
			}
		}
	}
	in.mu.Lock()
	in.on = answer
	in.mu.Unlock()

	n := startNode(t, prefix)
	var count int
	n.call("serverCount", nil, &count)
	if count != 2 {
		t.Fatalf("Node's serverCount = %d, want 2", count)
	}

	// go broadcast reaches the node client
	{
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"no-such-room"},
			Compress: true, Data: []byte(`["not-for-you"]`)})
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Compress: true,
			Data:        []byte(`["from-go","x",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}},1.5]`),
			Attachments: [][]byte{{0xca, 0xfe}, {1}}})
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{n.sid}, Except: []string{"nobody"},
			Data: []byte(`["to-sid"]`)})
		e := n.event("broadcast")
		jsonEq(t, "client got", []byte(rawJSON(e.Args)), `["from-go","x",{"$bin":"cafe"},{"n":{"$bin":"01"}},1.5]`)
		e = n.event("broadcast to sid")
		jsonEq(t, "client got", []byte(rawJSON(e.Args)), `["to-sid"]`)
	}

	// node broadcast decodes
	{
		n.call("emit", map[string]any{"rooms": []string{"go-room"}, "except": []string{"x"}, "volatile": true,
			"args": []any{"from-node", "hi", map[string]string{"$bin": "010203"}, map[string]any{"nested": map[string]string{"$bin": "04"}}}}, nil)
		m := in.of(cw.ClusterBroadcast)
		want := cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", Rooms: []string{"go-room"}, Except: []string{"x"},
			Volatile: true, Compress: true,
			Data:        []byte(`["from-node","hi",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`),
			Attachments: [][]byte{{1, 2, 3}, {4}}}
		if !reflect.DeepEqual(m, want) {
			t.Errorf("\n got %+v\nwant %+v", m, want)
		}
		n.call("emit", map[string]any{"compress": false, "args": []any{"plain"}}, nil)
		m = in.of(cw.ClusterBroadcast)
		if m.Compress || m.Volatile || string(m.Data) != `["plain"]` || len(m.Rooms) != 0 {
			t.Errorf("got %+v", m)
		}
		if e := n.event("node's own broadcast"); rawJSON(e.Args) != `["plain"]` {
			t.Errorf("client got %s", rawJSON(e.Args))
		}
	}

	// node fetchSockets and allRooms, answered by go
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
		in.of(cw.ClusterFetchSockets)
		var rooms []string
		n.call("allRooms", nil, &rooms)
		want := []string{n.sid, "go-room", "node-room"}
		slices.Sort(want)
		if !reflect.DeepEqual(rooms, want) {
			t.Errorf("allRooms %q, want %q", rooms, want)
		}
		in.of(cw.ClusterAllRooms)
	}

	// node serverSideEmitWithAck and emitWithAck, answered by go
	{
		var replies []json.RawMessage
		n.call("serverSideEmitWithAck", map[string]any{"args": []any{"ping-go", 1, map[string]any{"a": []int{2}}}}, &replies)
		jsonEq(t, "serverSideEmit replies", []byte(rawJSON(replies)), `[{"pong":"from-go"}]`)
		m := in.of(cw.ClusterServerSideEmit)
		if m.RequestID == "" || string(m.Data) != `["ping-go",1,{"a":[2]}]` {
			t.Errorf("got %+v", m)
		}

		n.call("emitWithAck", map[string]any{"timeout": 3000, "args": []any{"ackme", map[string]string{"$bin": "ff"}}}, &replies)
		if len(replies) != 2 {
			t.Fatalf("replies %s", rawJSON(replies))
		}
		slices.SortFunc(replies, func(a, b json.RawMessage) int { return strings.Compare(string(a), string(b)) })
		jsonEq(t, "acks", []byte(rawJSON(replies)), `[{"ack":"from-go","bin":{"$bin":"beef"}},{"ack":"from-node-client","event":"ackme"}]`)
		m = in.of(cw.ClusterBroadcast)
		if m.RequestID == "" || m.Timeout != 3*time.Second || string(m.Data) != `["ackme",{"_placeholder":true,"num":0}]` ||
			len(m.Attachments) != 1 || string(m.Attachments[0]) != "\xff" {
			t.Errorf("got %+v", m)
		}
		if e := n.event("node client ack event"); rawJSON(e.Args) != `["ackme",{"$bin":"ff"}]` {
			t.Errorf("client got %s", rawJSON(e.Args))
		}
	}

	// node socketsJoin and disconnectSockets reach go
	{
		n.call("socketsJoin", map[string]any{"rooms": []string{"a"}, "except": []string{"b"}, "join": "joined"}, nil)
		m := in.of(cw.ClusterSocketsJoin)
		if !reflect.DeepEqual(m.Rooms, []string{"a"}) || !reflect.DeepEqual(m.Except, []string{"b"}) ||
			!reflect.DeepEqual(m.JoinRooms, []string{"joined"}) {
			t.Errorf("got %+v", m)
		}
		n.call("disconnectSockets", map[string]any{"rooms": []string{"nobody"}, "close": true}, nil)
		m = in.of(cw.ClusterDisconnectSockets)
		if !m.Close || !reflect.DeepEqual(m.Rooms, []string{"nobody"}) {
			t.Errorf("got %+v", m)
		}
	}

	// go requests, answered by node
	{
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterFetchSockets, Nsp: "/", RequestID: "go-f1", Rooms: []string{"node-room"}})
		m := in.of(cw.ClusterFetchSocketsResponse)
		if m.RequestID != "go-f1" || len(m.Sockets) != 1 || string(m.Sockets[0].ID) != n.sid {
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

		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterAllRooms, Nsp: "/", RequestID: "go-r1"})
		m = in.of(cw.ClusterAllRoomsResponse)
		if m.RequestID != "go-r1" || !slices.Contains(m.JoinRooms, "node-room") {
			t.Errorf("got %+v", m)
		}

		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", RequestID: "go-s1",
			Data: []byte(`["ping-node","a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{7}}})
		m = in.of(cw.ClusterServerSideEmitResponse)
		jsonEq(t, "node's answer", m.Data, `[{"pong":"from-node","got":["a",{"type":"Buffer","data":[7]}]}]`)
		if e := n.event("server-side emit"); e.Event != "server" || e.Name != "ping-node" {
			t.Errorf("node got %+v", e)
		}
		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterServerSideEmit, Nsp: "/", Data: []byte(`["no-ack",{"x":1}]`)})
		if e := n.event("server-side emit without ack"); e.Name != "no-ack" || rawJSON(e.Args) != `[{"x":1}]` {
			t.Errorf("node got %+v %s", e, rawJSON(e.Args))
		}

		publish(t, goAdapter, cw.ClusterMessage{Type: cw.ClusterBroadcast, Nsp: "/", RequestID: "go-b1", Timeout: 2 * time.Second,
			Compress: true, Data: []byte(`["go-ackme",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0xab}}})
		m = in.of(cw.ClusterBroadcastClientCount)
		if m.RequestID != "go-b1" || m.ClientCount != 1 {
			t.Errorf("got %+v", m)
		}
		m = in.of(cw.ClusterBroadcastAck)
		if m.RequestID != "go-b1" {
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
	}
}
