package recovery

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/internal/redistest"
)

// jsLine is one line official_client.mjs prints.
type jsLine struct {
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	Recovered bool              `json:"recovered"`
	Event     string            `json:"event"`
	Args      []json.RawMessage `json:"args"`
	Res       []any             `json:"res"`
	Reason    string            `json:"reason"`
	Message   string            `json:"message"`
	raw       string
}

// jsClient is the official socket.io-client in a node process.
type jsClient struct {
	t     *testing.T
	lines chan jsLine
	seen  []string // every line, for failure messages
}

// startJSClient runs official_client.mjs against url with transport; it
// joins room through the server's "join" event.
func startJSClient(t *testing.T, url, transport, room string) *jsClient {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20+ (apt-get install nodejs npm), then run `npm ci` at the repository root")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "socket.io-client", "package.json")); err != nil {
		t.Fatal("node_modules/socket.io-client missing: run `npm ci` at the repository root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "tests", "cluster", "recovery", "official_client.mjs"), url, transport, room)
	cmd.Dir = root
	cmd.Stderr = &prefixWriter{t: t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	cl := &jsClient{t: t, lines: make(chan jsLine, 256)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(cl.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l jsLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = jsLine{Type: "garbage"}
			}
			l.raw = sc.Text()
			cl.lines <- l
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // the script closes its socket and exits
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			go func() {
				for range cl.lines {
				}
			}()
			<-done
		}
		cmd.Wait()
		cancel()
	})
	return cl
}

// prefixWriter logs node's stderr.
type prefixWriter struct{ t *testing.T }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Logf("node stderr: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// next returns the next line of one of the types (skipping connect_error
// lines: the client retries while the proxy refuses); an "error" line
// fails the test.
func (cl *jsClient) next(what string, types ...string) jsLine {
	cl.t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-cl.lines:
			if !ok {
				cl.t.Fatalf("the node client exited while waiting for %s; it printed:\n%s", what, strings.Join(cl.seen, "\n"))
			}
			cl.seen = append(cl.seen, l.raw)
			if l.Type == "error" || l.Type == "garbage" {
				cl.t.Fatalf("the node client, waiting for %s: %s", what, l.raw)
			}
			for _, ty := range types {
				if l.Type == ty {
					return l
				}
			}
			if l.Type != "connect_error" {
				cl.t.Fatalf("waiting for %s, the node client printed %s; before:\n%s", what, l.raw, strings.Join(cl.seen, "\n"))
			}
		case <-timer.C:
			cl.t.Fatalf("timed out after %v waiting for %s; the node client printed:\n%s", wait, what, strings.Join(cl.seen, "\n"))
		}
	}
}

// A socketcore process is SIGKILLed under the official socket.io-client
// 4.8.4: the client reconnects by itself through the proxy to another
// server of the cluster and gets socket.recovered, its id, its room, and
// every event that server sent meanwhile, once each, in order.
func TestOfficialClientRecoveryAfterServerKilled(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) { testOfficialKilled(t, transport) })
	}
}

func testOfficialKilled(t *testing.T, transport string) {
	prefix := randomPrefix(t)
	const window = 10 * time.Second
	a := startProcess(t, prefix, window)
	conns := make(chan connection, 8)
	b := newServer(t, 1, prefix, window, conns)
	waitCluster(t, 2, b)
	px := newProxy(t, a.addr)

	cl := startJSClient(t, px.url(), transport, "team")
	first := cl.next("the first connection", "connect")
	if first.Recovered || first.ID == "" {
		t.Fatalf("first connection %s", first.raw)
	}
	id := first.ID
	if j := cl.next("the join ack", "joined"); !reflect.DeepEqual(j.Res, []any{"ok"}) {
		t.Fatalf("join: %s", j.raw)
	}
	// a wrote the snapshot with the room (its pump is asynchronous)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rdb := redistest.Client(t)
	eventually(t, "the snapshot in Redis", func() (bool, string) {
		keys, _ := rdb.Keys(ctx, prefix+"-recovery-live#*").Result()
		for _, k := range keys {
			for _, v := range rdb.HGetAll(ctx, k).Val() {
				if strings.Contains(v, id) && strings.Contains(v, `"team"`) {
					return true, ""
				}
			}
		}
		return false, strings.Join(keys, ",")
	})
	// one broadcast, across servers, to its room: the client has an offset
	if err := b.srv.To("team").Emit("seen", 0); err != nil {
		t.Fatal(err)
	}
	seen := cl.next("seen", "event")
	var firstOffset string
	if seen.Event != "seen" || len(seen.Args) != 2 || json.Unmarshal(seen.Args[1], &firstOffset) != nil || firstOffset == "" {
		t.Fatalf("got %s, want seen with an offset", seen.raw)
	}

	px.set(b.addr, true) // refused until the missed events are sent
	a.kill()
	px.cut()
	left := cl.next("the disconnection", "disconnect")
	if left.Reason != "transport close" && left.Reason != "transport error" {
		t.Fatalf("left with %s", left.raw)
	}
	emitMissed(t, b.srv, id)
	px.set(b.addr, false)

	// The official client emits the events it buffered before the CONNECT
	// packet (the replayed ones: the server sends them first, as the
	// official server does) before its "connect" event, with socket.id and
	// socket.recovered already set: so they come before "connect" here.
	var events []string
	offsets := map[string]bool{firstOffset: true}
	connects := 0
	checkEvent := func(l jsLine) {
		t.Helper()
		events = append(events, l.Event)
		if len(l.Args) == 0 {
			t.Fatalf("%s without an offset", l.raw)
		}
		var off string
		if json.Unmarshal(l.Args[len(l.Args)-1], &off); off == "" || offsets[off] {
			t.Fatalf("%s: missing or repeated offset", l.raw)
		}
		offsets[off] = true
		var payload any
		json.Unmarshal(l.Args[0], &payload)
		want := map[string]any{
			"m1": float64(1),
			"m2": map[string]any{"bin": []any{float64(1), float64(2), float64(3)}},
			"m3": map[string]any{"n": float64(3)},
		}[l.Event]
		if len(l.Args) != 2 || !reflect.DeepEqual(payload, want) {
			t.Fatalf("%s: want payload %v and an offset", l.raw, want)
		}
	}
	for connects == 0 {
		l := cl.next("the reconnection", "connect", "event")
		if l.Type == "event" {
			checkEvent(l)
			continue
		}
		connects++
		if !l.Recovered || l.ID != id {
			t.Fatalf("reconnected %s, want recovered with id %s", l.raw, id)
		}
	}
	if c := within(t, conns, "the connection on b"); !c.recovered || c.id != id || c.server != 1 {
		t.Fatalf("connection on b %+v", c)
	}
	// the room came back too: "team" reaches it, after every replayed event
	if err := b.srv.To("team").Emit("end"); err != nil {
		t.Fatal(err)
	}
	for {
		l := cl.next("end", "event")
		if l.Event == "end" {
			break
		}
		checkEvent(l)
	}
	if !reflect.DeepEqual(events, []string{"m1", "m2", "m3"}) {
		t.Fatalf("after recovery the official client got %q, want m1 m2 m3 once each, in order; it printed:\n%s",
			events, strings.Join(cl.seen, "\n"))
	}
}
