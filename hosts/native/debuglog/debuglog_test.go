package debuglog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/debuglog"
	"github.com/socketcore/socketcore/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func TestSwitch(t *testing.T) {
	all := debuglog.Subsystems()
	for _, tc := range []struct {
		patterns string
		on       []string
	}{
		{"", nil},
		{"socketcore:*", []string{debuglog.Engine, debuglog.Socket, debuglog.Room, debuglog.Event, debuglog.Cluster}},
		{"*", []string{debuglog.Engine, debuglog.Socket, debuglog.Room, debuglog.Event, debuglog.Cluster}},
		{"socketcore:socket", []string{debuglog.Socket}},
		{"socketcore:engine, socketcore:room", []string{debuglog.Engine, debuglog.Room}},
		{"socketcore:*,-socketcore:event", []string{debuglog.Engine, debuglog.Socket, debuglog.Room, debuglog.Cluster}},
		{"-socketcore:event socketcore:*", []string{debuglog.Engine, debuglog.Socket, debuglog.Room, debuglog.Cluster}}, // order does not matter
		{"socketcore:*o*", []string{debuglog.Socket, debuglog.Room}},                                                    // payload only when named
		{"socketcore:event,socketcore:payload", []string{debuglog.Event, debuglog.Payload}},
		{"socketcore:*,-socketcore:payload,socketcore:payload", []string{debuglog.Engine, debuglog.Socket, debuglog.Room, debuglog.Event, debuglog.Cluster}},
		// Node's names.
		{"socket.io:*", []string{debuglog.Socket, debuglog.Room, debuglog.Event}},
		{"engine*", []string{debuglog.Engine}},
		{"socket.io:client", []string{debuglog.Socket}},
		{"socket.io-redis", []string{debuglog.Cluster}},
		{"socket.io:*,-socket.io:socket", []string{}},
		{"express:*", nil},
	} {
		sw := debuglog.Parse(tc.patterns)
		for _, s := range all {
			want := false
			for _, o := range tc.on {
				want = want || o == s
			}
			if got := sw.Enabled(s); got != want {
				t.Errorf("Parse(%q).Enabled(%s) = %v, want %v", tc.patterns, s, got, want)
			}
		}
		if got, want := sw.Any(), len(tc.on) > 0; got != want {
			t.Errorf("Parse(%q).Any() = %v, want %v", tc.patterns, got, want)
		}
	}
}

func TestPatterns(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := debuglog.Patterns("socketcore:room", env(map[string]string{"DEBUG": "socket.io:*"})); got != "socketcore:room" {
		t.Errorf("the setting should win over DEBUG, got %q", got)
	}
	if got := debuglog.Patterns("", env(map[string]string{"DEBUG": "socket.io:*"})); got != "socket.io:*" {
		t.Errorf("without the setting DEBUG counts, got %q", got)
	}
}

// TestHandlerLevels: at info, only an enabled subsystem's debug lines pass.
func TestHandlerLevels(t *testing.T) {
	var b bytes.Buffer
	base := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})
	l := slog.New(debuglog.Handler(base, slog.LevelInfo, debuglog.Parse("socketcore:socket")))
	l.Debug("plain debug")
	l.Info("plain info")
	debuglog.Subsystem(l, debuglog.Socket).Debug("socket debug")
	debuglog.Subsystem(l, debuglog.Engine).Debug("engine debug")
	debuglog.Subsystem(l, debuglog.Engine).Warn("engine warn")
	l.WithGroup("g").With(debuglog.Key, debuglog.Socket).Debug("grouped debug") // not a subsystem logger
	out := b.String()
	for _, want := range []string{"plain info", "socket debug", "subsystem=socketcore:socket", "engine warn"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, not := range []string{"plain debug", "engine debug", "grouped debug"} {
		if strings.Contains(out, not) {
			t.Errorf("%q should be dropped:\n%s", not, out)
		}
	}
}

// TestEveryKindHasASubsystem fails when an Event kind is added to
// hosts/native without a subsystem here.
func TestEveryKindHasASubsystem(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := debuglog.New(l, debuglog.Parse("*"))
	for k := native.EventKind(1); k.String() != "unknown"; k++ {
		b.Reset()
		o.Observe(native.Event{Kind: k, Time: time.Now(), Socket: "s1"})
		if !strings.Contains(b.String(), "subsystem=socketcore:") {
			t.Errorf("kind %s is not logged by any subsystem (debuglog's subsystemOf)", k)
		}
	}
}

// TestPayload: events are logged with their size, and with their JSON only
// when socketcore:payload is named.
func TestPayload(t *testing.T) {
	e := native.Event{Kind: native.EventReceived, Time: time.Now(), Nsp: "/", Socket: "s1", Name: "chat",
		Data: []byte(`["chat","secret"]`), Attachments: [][]byte{{1, 2, 3}}}
	for _, tc := range []struct {
		patterns string
		data     bool
	}{{"socketcore:*", false}, {"*", false}, {"socketcore:event,socketcore:payload", true}} {
		var b bytes.Buffer
		l := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
		debuglog.New(l, debuglog.Parse(tc.patterns)).Observe(e)
		out := b.String()
		if !strings.Contains(out, "event=chat bytes=20 attachments=1") {
			t.Errorf("%s: want the event's name and size:\n%s", tc.patterns, out)
		}
		if got := strings.Contains(out, "secret"); got != tc.data {
			t.Errorf("%s: payload logged = %v, want %v:\n%s", tc.patterns, got, tc.data, out)
		}
	}
}

// logBuffer collects log lines from the server's goroutines; waitFor
// blocks until one contains every string.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{written: make(chan struct{}, 1)} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	select {
	case l.written <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) line(subs ...string) string {
next:
	for _, ln := range strings.Split(l.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(ln, s) {
				continue next
			}
		}
		return ln
	}
	return ""
}

func (l *logBuffer) waitFor(t *testing.T, subs ...string) string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if ln := l.line(subs...); ln != "" {
			return ln
		}
		select {
		case <-l.written:
		case <-deadline:
			t.Fatalf("no log line with %q in:\n%s", subs, l.String())
		}
	}
}

// script runs one client session against a server logging with patterns,
// the process at level info: a refused handshake, a connection that
// upgrades to WebSocket, joins a room, sends an event with an
// acknowledgement, gets one, and closes. It returns the log once the
// server saw the socket and the session go.
func script(t *testing.T, patterns string) *logBuffer {
	t.Helper()
	logs := newLogBuffer()
	h := slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	sw := debuglog.Parse(patterns)
	log := slog.New(debuglog.Handler(h, slog.LevelInfo, sw))
	opts := native.Options{Logger: log, Observers: debuglog.Observers(log, sw)}
	opts.Seed[0] = 1
	srv := native.NewServer(opts)
	srv.OnConnection(func(s *native.Socket) {
		s.Join("lobby")
		s.On("hi", func(name string, ack native.Ack) {
			s.Emit("welcome", "hello "+name)
			ack("ok")
		})
	})
	hs := httptest.NewServer(srv)
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	}()

	res, err := http.Get(hs.URL + "/socket.io/?EIO=4&transport=bogus")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	sock, err := native.Dial(hs.URL, native.ClientOptions{NoAutoConnect: true})
	if err != nil {
		t.Fatal(err)
	}
	welcome := make(chan string, 1)
	sock.On("welcome", func(s string) { welcome <- s })
	sock.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sock.EmitWithAck(ctx, "hi", "gopher"); err != nil {
		sock.Close()
		t.Fatal(err)
	}
	select {
	case <-welcome:
	case <-ctx.Done():
		t.Fatal("no welcome")
	}
	if sw.Enabled(debuglog.Engine) { // the upgrade may come after the first event
		logs.waitFor(t, "session upgraded")
	}
	sock.Close()
	if sw.Enabled(debuglog.Socket) {
		logs.waitFor(t, "socket disconnected")
	}
	if sw.Enabled(debuglog.Engine) {
		logs.waitFor(t, "session closed")
	}
	return logs
}

func TestScriptSocketOnly(t *testing.T) {
	logs := script(t, "socketcore:socket")
	if ln := logs.line("level=DEBUG", "socket connected", "subsystem=socketcore:socket", "nsp=/", "socket="); ln == "" {
		t.Errorf("no connect line:\n%s", logs)
	}
	if ln := logs.line("level=DEBUG", "socket disconnected", "subsystem=socketcore:socket", "reason="); ln == "" {
		t.Errorf("no disconnect line with its reason:\n%s", logs)
	}
	for _, not := range []string{"socketcore:engine", "socketcore:event", "socketcore:room", "session ", "event "} {
		if strings.Contains(logs.String(), not) {
			t.Errorf("%q logged with socketcore:socket only:\n%s", not, logs)
		}
	}
}

func TestScriptEverything(t *testing.T) {
	logs := script(t, "socketcore:*")
	for _, want := range [][]string{
		{"handshake refused", "subsystem=socketcore:engine", "Transport unknown"},
		{"session opened", "subsystem=socketcore:engine", "sid=", "transport=polling"},
		{"session upgraded", "transport=websocket"},
		{"session closed", "reason="},
		{"socket connected", "subsystem=socketcore:socket"},
		{"socket disconnected", "reason="},
		{"room joined", "subsystem=socketcore:room", "room=lobby"},
		{"event received", "subsystem=socketcore:event", "event=hi", "bytes=15"},
		{"event sent", "event=welcome"},
	} {
		if logs.line(want...) == "" {
			t.Errorf("no line with %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs.String(), "gopher") {
		t.Errorf("payloads logged without socketcore:payload:\n%s", logs)
	}
}

func TestScriptExclusion(t *testing.T) {
	logs := script(t, "socketcore:*,-socketcore:event")
	for _, want := range []string{"session opened", "socket connected", "room joined"} {
		if logs.line(want) == "" {
			t.Errorf("no %q line:\n%s", want, logs)
		}
	}
	if strings.Contains(logs.String(), "socketcore:event") {
		t.Errorf("socketcore:event logged though excluded:\n%s", logs)
	}
}

// TestCluster: cluster messages are logged both ways with socketcore:cluster
// only, and Receive is left alone without it.
func TestCluster(t *testing.T) {
	m := wire.ClusterMessage{Type: wire.ClusterBroadcast, Nsp: "/", Rooms: []string{"lobby"}, Data: []byte(`["news",1]`)}
	for _, tc := range []struct {
		patterns string
		logged   bool
	}{{"socketcore:cluster", true}, {"socket.io-redis", true}, {"socketcore:*,-socketcore:cluster", false}, {"", false}} {
		var b bytes.Buffer
		base := slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})
		l := debuglog.Subsystem(slog.New(debuglog.Handler(base, slog.LevelInfo, debuglog.Parse(tc.patterns))), debuglog.Cluster)
		got := 0
		debuglog.ClusterReceive(l, func(wire.ClusterMessage) { got++ })(m)
		debuglog.ClusterPublished(l, m, errors.New("no Redis"))
		if got != 1 {
			t.Errorf("%s: receive called %d times", tc.patterns, got)
		}
		out := b.String()
		logged := strings.Contains(out, `msg="cluster message received" subsystem=socketcore:cluster type=`) &&
			strings.Contains(out, `msg="cluster message published"`) && strings.Contains(out, "rooms=[lobby] bytes=10") &&
			strings.Contains(out, `err="no Redis"`)
		if logged != tc.logged || (!tc.logged && out != "") {
			t.Errorf("%s: logged %v, want %v:\n%s", tc.patterns, logged, tc.logged, out)
		}
	}
}
