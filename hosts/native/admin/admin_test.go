package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/adapter/memory"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/admin"
	"github.com/socketcore/socketcore/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

const password = "changeit"

var hash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

func basicAuth() *admin.BasicAuth { return &admin.BasicAuth{Username: "admin", PasswordHash: hash} }

// start runs a server instrumented with opts, with a small application on
// "/": every socket joins "lobby", "hello" is answered with "hi" to the
// sender, "bin" is echoed.
func start(t *testing.T, opts admin.Options) (*native.Server, *admin.Admin, string) {
	t.Helper()
	return startWith(t, opts, native.Options{Seed: [32]byte{1}})
}

// startWith is start with the server's options (a cluster's adapter).
func startWith(t *testing.T, opts admin.Options, nopts native.Options) (*native.Server, *admin.Admin, string) {
	t.Helper()
	adm, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	nopts.Observers = append(nopts.Observers, adm)
	srv, err := native.Start(nopts)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnConnection(func(s *native.Socket) {
		s.Join("lobby")
		s.On("hello", func(text string) { s.Emit("hi", "hi "+text) })
	})
	if err := adm.Attach(srv); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		adm.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return srv, adm, hs.URL
}

// msg is one event the UI got.
type msg struct {
	name string
	args []json.RawMessage
	atts [][]byte
}

func (m msg) arg(i int, v any) error {
	if i >= len(m.args) {
		return fmt.Errorf("%s has %d arguments", m.name, len(m.args))
	}
	return json.Unmarshal(m.args[i], v)
}

func (m msg) str(i int) string {
	var s string
	m.arg(i, &s)
	return s
}

// ui is a Go client in the admin namespace, as the UI connects.
type ui struct {
	t    *testing.T
	sock *native.ClientSocket
	msgs chan msg
	errs chan error
}

func dialUI(t *testing.T, url string, auth any) *ui {
	t.Helper()
	sock, err := native.Dial(url+"/admin", native.ClientOptions{
		SocketOptions:  native.SocketOptions{Auth: auth},
		NoAutoConnect:  true,
		NoReconnection: true,
		Transports:     []string{"websocket"},
	})
	if err != nil {
		t.Fatal(err)
	}
	u := &ui{t: t, sock: sock, msgs: make(chan msg, 1024), errs: make(chan error, 4)}
	t.Cleanup(func() { sock.Close() })
	sock.OnAny(func(event string, args native.Args) {
		u.msgs <- msg{event, args.Raw, args.Attachments}
	})
	sock.OnConnectError(func(err error) { u.errs <- err })
	sock.Connect()
	return u
}

// next returns the next event named one of names, skipping others
// (server_stats, mostly); it fails after 5s.
func (u *ui) next(names ...string) msg {
	u.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-u.msgs:
			if slices.Contains(names, m.name) {
				return m
			}
		case err := <-u.errs:
			u.t.Fatalf("connect_error %v while waiting for %q", err, names)
		case <-deadline:
			u.t.Fatalf("no %q within 5s", names)
		}
	}
}

// none asserts that no event named one of names comes within d.
func (u *ui) none(d time.Duration, names ...string) {
	u.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-u.msgs:
			if slices.Contains(names, m.name) {
				u.t.Fatalf("unexpected %s %s", m.name, m.args)
			}
		case <-deadline:
			return
		}
	}
}

type serialized struct {
	ID        string         `json:"id"`
	ClientID  string         `json:"clientId"`
	Transport string         `json:"transport"`
	Nsp       string         `json:"nsp"`
	Data      map[string]any `json:"data"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Query   map[string]string `json:"query"`
		Issued  int64             `json:"issued"`
		Secure  bool              `json:"secure"`
		Time    string            `json:"time"`
		URL     string            `json:"url"`
		XDomain bool              `json:"xdomain"`
	} `json:"handshake"`
	Rooms []string `json:"rooms"`
}

var isoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// dialApp connects a client to "/" and returns it with its id.
func dialApp(t *testing.T, url string, transports ...string) (*native.ClientSocket, string) {
	t.Helper()
	sock, err := native.Dial(url, native.ClientOptions{NoReconnection: true, Transports: transports, NoUpgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for !sock.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the app client did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return sock, sock.ID()
}

// The official refusal: connect_error "invalid credentials" for a wrong
// password, an unknown user, no credentials or an unknown session id; the
// right ones earn a session id, which then suffices.
func TestAuth(t *testing.T) {
	_, _, url := start(t, admin.Options{Auth: basicAuth()})
	for _, auth := range []any{
		map[string]any{"username": "admin", "password": "wrong"},
		map[string]any{"username": "root", "password": password},
		map[string]any{},
		map[string]any{"username": "admin"},
		map[string]any{"sessionId": "0123456789abcdef"},
	} {
		u := dialUI(t, url, auth)
		select {
		case err := <-u.errs:
			var ce *native.ConnectError
			if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
				t.Fatalf("auth %v: connect_error %#v, want invalid credentials", auth, err)
			}
		case m := <-u.msgs:
			t.Fatalf("auth %v: got %s, want a refusal", auth, m.name)
		case <-time.After(5 * time.Second):
			t.Fatalf("auth %v: no refusal", auth)
		}
	}
	u := dialUI(t, url, map[string]any{"username": "admin", "password": password})
	session := u.next("session").str(0)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(session) {
		t.Fatalf("session id %q", session)
	}
	u.next("config")
	again := dialUI(t, url, map[string]any{"sessionId": session})
	again.next("config")
}

// instrument()'s option checks.
func TestOptions(t *testing.T) {
	if _, err := admin.New(admin.Options{}); err == nil {
		t.Fatal("no Auth and no NoAuth accepted")
	}
	if _, err := admin.New(admin.Options{Auth: &admin.BasicAuth{Username: "a", PasswordHash: "changeit"}}); err == nil ||
		!strings.Contains(err.Error(), "valid bcrypt hash") {
		t.Fatalf("a clear password accepted as a hash: %v", err)
	}
	if _, err := admin.New(admin.Options{NoAuth: true, Mode: "staging"}); err == nil {
		t.Fatal("an unknown mode accepted")
	}
	adm, err := admin.New(admin.Options{NoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	if o := adm.Options(); o.Namespace != "/admin" || o.Mode != admin.Development || o.StatsInterval != 2*time.Second {
		t.Fatalf("defaults %+v", o)
	}
	adm.Close()
}

// In development mode the UI gets its config, every socket with its rooms,
// then each connection, membership, event and disconnection as it happens,
// in the order and the shapes instrument() sends them.
func TestDevelopmentEvents(t *testing.T) {
	_, _, url := start(t, admin.Options{Auth: basicAuth()})
	_, aid := dialApp(t, url, "polling")
	u := dialUI(t, url, map[string]any{"username": "admin", "password": password})
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	u.next("config").arg(0, &cfg)
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	if !slices.Equal(cfg.SupportedFeatures, want) {
		t.Fatalf("features %q, want %q", cfg.SupportedFeatures, want)
	}
	var all []serialized
	if err := u.next("all_sockets").arg(0, &all); err != nil {
		t.Fatal(err)
	}
	var app, self *serialized
	for i := range all {
		switch all[i].Nsp {
		case "/":
			app = &all[i]
		case "/admin":
			self = &all[i]
		}
	}
	if len(all) != 2 || app == nil || self == nil {
		t.Fatalf("all_sockets %+v: want the app's socket and the UI's", all)
	}
	if app.ID != aid || !slices.Equal(app.Rooms, []string{aid, "lobby"}) || len(app.ClientID) != 12 || app.Transport != "polling" ||
		app.Handshake.Query["EIO"] != "4" || app.Handshake.Query["transport"] != "polling" || app.Handshake.Address != "127.0.0.1" ||
		app.Handshake.Issued == 0 || !strings.HasSuffix(app.Handshake.Time, "GMT+0000 (Coordinated Universal Time)") ||
		!strings.HasPrefix(app.Handshake.URL, "/socket.io/?") || app.Handshake.Headers["host"] == "" || app.Data == nil {
		t.Fatalf("the app's socket %+v", *app)
	}
	if self.Transport != "websocket" || len(self.Data) != 0 {
		t.Fatalf("the UI's socket %+v", *self)
	}

	// a new socket: its own room, then socket_connected, then what the
	// application's connection handler does
	b, bid := dialApp(t, url, "websocket")
	m := u.next("room_joined")
	if m.str(0) != "/" || m.str(1) != bid || m.str(2) != bid || !isoTime.MatchString(m.str(3)) {
		t.Fatalf("room_joined %s", m.args)
	}
	m = u.next("socket_connected")
	var s serialized
	if err := m.arg(0, &s); err != nil || s.ID != bid || s.Nsp != "/" || !slices.Equal(s.Rooms, []string{bid}) ||
		s.Transport != "websocket" || len(s.ClientID) != 12 || !isoTime.MatchString(m.str(1)) {
		t.Fatalf("socket_connected %s", m.args)
	}
	if m = u.next("room_joined"); m.str(1) != "lobby" || m.str(2) != bid {
		t.Fatalf("room_joined %s", m.args)
	}

	// its events, both ways
	b.Emit("hello", "gopher")
	m = u.next("event_received")
	if m.str(0) != "/" || m.str(1) != bid || string(m.args[2]) != `["hello","gopher"]` || !isoTime.MatchString(m.str(3)) {
		t.Fatalf("event_received %s", m.args)
	}
	if m = u.next("event_sent"); m.str(1) != bid || string(m.args[2]) != `["hi","hi gopher"]` {
		t.Fatalf("event_sent %s", m.args)
	}

	// and its departure: every room, then socket_disconnected
	b.Disconnect()
	var left []string
	for len(left) < 2 {
		m = u.next("room_left", "socket_disconnected")
		if m.name != "room_left" || m.str(0) != "/" || m.str(2) != bid {
			t.Fatalf("got %s %s, want room_left", m.name, m.args)
		}
		left = append(left, m.str(1))
	}
	if slices.Sort(left); !slices.Equal(left, slices.Sorted(slices.Values([]string{bid, "lobby"}))) {
		t.Fatalf("rooms left %q", left)
	}
	if m = u.next("socket_disconnected"); m.str(0) != "/" || m.str(1) != bid || m.str(2) != "client namespace disconnect" || !isoTime.MatchString(m.str(3)) {
		t.Fatalf("socket_disconnected %s", m.args)
	}
}

// A polling socket that upgrades is updated in the UI (socket_updated).
func TestUpgrade(t *testing.T) {
	_, _, url := start(t, admin.Options{NoAuth: true})
	u := dialUI(t, url, nil)
	u.next("all_sockets")
	sock, err := native.Dial(url, native.ClientOptions{NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	var s serialized
	u.next("socket_connected").arg(0, &s)
	if s.Transport != "polling" {
		t.Fatalf("connected on %q", s.Transport)
	}
	var upd map[string]string
	u.next("socket_updated").arg(0, &upd)
	if upd["id"] != s.ID || upd["nsp"] != "/" || upd["transport"] != "websocket" {
		t.Fatalf("socket_updated %v", upd)
	}
}

// Binary arguments reach the UI as binary attachments.
func TestBinaryEvent(t *testing.T) {
	_, _, url := start(t, admin.Options{NoAuth: true})
	u := dialUI(t, url, nil)
	u.next("all_sockets")
	b, _ := dialApp(t, url, "websocket")
	b.Emit("file", "a.bin", []byte{1, 2, 3})
	m := u.next("event_received")
	var nsp, id string
	var args []any
	if err := (native.Args{Raw: m.args, Attachments: m.atts}).Decode(&nsp, &id, &args); err != nil {
		t.Fatal(err)
	}
	if len(args) != 3 || args[0] != "file" || args[1] != "a.bin" || fmt.Sprint(args[2]) != "[1 2 3]" {
		t.Fatalf("event_received args %#v", args)
	}
}

// The UI's commands, as its pages send them: a socket joins a room, leaves
// it, is disconnected; then a whole room is.
func TestCommands(t *testing.T) {
	srv, _, url := start(t, admin.Options{Auth: basicAuth()})
	b, bid := dialApp(t, url, "websocket")
	c, cid := dialApp(t, url, "polling")
	gone := make(chan string, 2)
	b.OnDisconnect(func(reason string) { gone <- "b " + reason })
	c.OnDisconnect(func(reason string) { gone <- "c " + reason })
	u := dialUI(t, url, map[string]any{"username": "admin", "password": password})
	u.next("all_sockets")

	u.sock.Emit("join", "/", "vip", bid) // SocketRooms.vue onSubmit
	if m := u.next("room_joined"); m.str(1) != "vip" || m.str(2) != bid {
		t.Fatalf("room_joined %s", m.args)
	}
	if ids := srv.Of("/").SocketIDs("vip"); !slices.Equal(ids, []string{bid}) {
		t.Fatalf("vip: %q", ids)
	}
	u.sock.Emit("join", "/", "all", nil) // no filter: the whole namespace
	for range 2 {
		u.next("room_joined")
	}
	if ids := srv.Of("/").SocketIDs("all"); len(ids) != 2 {
		t.Fatalf("all: %q", ids)
	}
	u.sock.Emit("leave", "/", "vip", bid) // SocketRooms.vue leave
	if m := u.next("room_left"); m.str(1) != "vip" || m.str(2) != bid {
		t.Fatalf("room_left %s", m.args)
	}
	if ids := srv.Of("/").SocketIDs("vip"); len(ids) != 0 {
		t.Fatalf("vip after leave: %q", ids)
	}
	u.sock.Emit("_disconnect", "/", false, bid) // Sockets.vue disconnect
	if m := u.next("socket_disconnected"); m.str(1) != bid || m.str(2) != "server namespace disconnect" {
		t.Fatalf("socket_disconnected %s", m.args)
	}
	select {
	case r := <-gone:
		if r != "b io server disconnect" {
			t.Fatalf("disconnect %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b was not disconnected")
	}
	u.sock.Emit("_disconnect", "/", true, "lobby") // Rooms.vue disconnect, whole connections
	if m := u.next("socket_disconnected"); m.str(1) != cid {
		t.Fatalf("socket_disconnected %s", m.args)
	}
	select {
	case r := <-gone:
		if r != "c io server disconnect" {
			t.Fatalf("disconnect %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("c was not disconnected")
	}
}

// Readonly: no command is offered, and none is obeyed.
func TestReadonly(t *testing.T) {
	srv, _, url := start(t, admin.Options{NoAuth: true, Readonly: true})
	_, bid := dialApp(t, url, "websocket")
	u := dialUI(t, url, nil)
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	u.next("config").arg(0, &cfg)
	if !slices.Equal(cfg.SupportedFeatures, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}) {
		t.Fatalf("features %q", cfg.SupportedFeatures)
	}
	u.next("all_sockets")
	u.sock.Emit("join", "/", "vip", bid)
	u.sock.Emit("_disconnect", "/", false, bid)
	u.none(300*time.Millisecond, "room_joined", "socket_disconnected")
	if ids := srv.Of("/").SocketIDs("vip"); len(ids) != 0 {
		t.Fatalf("a readonly admin made %q join", ids)
	}
}

// server_stats: this server's counts, and the connections of the last
// seconds in aggregatedEvents. In production mode nothing else: no
// sockets, no events.
func TestProductionStats(t *testing.T) {
	_, _, url := start(t, admin.Options{NoAuth: true, Mode: admin.Production, StatsInterval: 50 * time.Millisecond, ServerID: "go-1"})
	u := dialUI(t, url, nil)
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	u.next("config").arg(0, &cfg)
	if !slices.Equal(cfg.SupportedFeatures, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}) {
		t.Fatalf("features %q", cfg.SupportedFeatures)
	}
	b, _ := dialApp(t, url, "polling")
	b.Emit("hello", "x")
	type stats struct {
		ServerID            string  `json:"serverId"`
		Hostname            string  `json:"hostname"`
		PID                 int     `json:"pid"`
		Uptime              float64 `json:"uptime"`
		ClientsCount        int     `json:"clientsCount"`
		PollingClientsCount int     `json:"pollingClientsCount"`
		AggregatedEvents    []struct {
			Timestamp int64  `json:"timestamp"`
			Type      string `json:"type"`
			SubType   string `json:"subType"`
			Count     int    `json:"count"`
		} `json:"aggregatedEvents"`
		Namespaces []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
	}
	seen := map[string]int{}
	deadline := time.After(5 * time.Second)
	for seen["rawConnection"] < 2 || seen["bytesIn"] == 0 {
		select {
		case <-deadline:
			t.Fatalf("aggregated events so far: %v", seen)
		default:
		}
		m := u.next("server_stats", "all_sockets", "socket_connected", "event_received")
		if m.name != "server_stats" {
			t.Fatalf("%s in production mode", m.name)
		}
		var st stats
		if err := m.arg(0, &st); err != nil {
			t.Fatal(err)
		}
		if st.ServerID != "go-1" || st.PID == 0 || st.Hostname == "" || st.Uptime <= 0 {
			t.Fatalf("server_stats %+v", st)
		}
		for _, e := range st.AggregatedEvents {
			if e.Timestamp%1000 != 0 || e.Count <= 0 {
				t.Fatalf("aggregated event %+v", e)
			}
			seen[e.Type] += e.Count
		}
		if seen["rawConnection"] == 2 { // the UI and b, both connected: check the gauges
			if st.ClientsCount != 2 || st.PollingClientsCount != 1 {
				t.Fatalf("clients %d, polling %d", st.ClientsCount, st.PollingClientsCount)
			}
			counts := map[string]int{}
			for _, n := range st.Namespaces {
				counts[n.Name] = n.SocketsCount
			}
			if counts["/"] != 1 || counts["/admin"] != 1 {
				t.Fatalf("namespaces %+v", st.Namespaces)
			}
		}
	}
}

// In a cluster every server is instrumented and tells the admin namespace
// of the whole cluster, as Node's do: a UI connected to one server sees
// the other's sockets (all_sockets through FetchSockets, and its events)
// and both servers' statistics, and its commands reach the other's sockets.
func TestCluster(t *testing.T) {
	bus := memory.NewBus()
	var urls []string
	var srvs []*native.Server
	for i := range 2 {
		nopts := native.Options{
			Adapter:         func(r adapter.Receive) (adapter.Adapter, error) { return bus.Attach(r), nil },
			RequestsTimeout: time.Second,
		}
		nopts.Seed[0] = byte(10 + i)
		srv, _, url := startWith(t, admin.Options{NoAuth: true, ServerID: fmt.Sprint("go-", i), StatsInterval: 100 * time.Millisecond}, nopts)
		srvs, urls = append(srvs, srv), append(urls, url)
	}
	_, early := dialApp(t, urls[1], "websocket")
	u := dialUI(t, urls[0], nil)
	var all []serialized
	u.next("all_sockets").arg(0, &all)
	var found *serialized
	for i := range all {
		if all[i].ID == early {
			found = &all[i]
		}
	}
	if found == nil || !slices.Equal(found.Rooms, []string{early, "lobby"}) || found.Handshake.Query["EIO"] != "4" {
		t.Fatalf("all_sockets %+v: want server 1's socket %s", all, early)
	}
	b, bid := dialApp(t, urls[1], "websocket")
	var s serialized
	if u.next("socket_connected").arg(0, &s); s.ID != bid || s.Transport != "websocket" {
		t.Fatalf("socket_connected %+v", s)
	}
	gone := make(chan string, 1)
	b.OnDisconnect(func(reason string) { gone <- reason })
	if m := u.next("room_joined"); m.str(1) != "lobby" || m.str(2) != bid { // its connection handler's
		t.Fatalf("room_joined %s", m.args)
	}
	u.sock.Emit("join", "/", "vip", bid)
	if m := u.next("room_joined"); m.str(1) != "vip" || m.str(2) != bid {
		t.Fatalf("room_joined %s", m.args)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(srvs[1].Of("/").SocketIDs("vip"), bid) {
		if time.Now().After(deadline) {
			t.Fatal("the other server's socket did not join")
		}
		time.Sleep(10 * time.Millisecond)
	}
	u.sock.Emit("_disconnect", "/", false, bid)
	select {
	case r := <-gone:
		if r != "io server disconnect" {
			t.Fatalf("disconnect %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other server's socket was not disconnected")
	}
	servers := map[string]bool{}
	for len(servers) < 2 {
		var st struct {
			ServerID string `json:"serverId"`
		}
		u.next("server_stats").arg(0, &st)
		servers[st.ServerID] = true
	}
	if !servers["go-0"] || !servers["go-1"] {
		t.Fatalf("server_stats from %v", servers)
	}
}

// An Admin that is not among the server's observers cannot tell the UI
// anything: it says so in the log when a UI connects.
func TestNotObserving(t *testing.T) {
	logs := make(chan string, 4)
	adm, err := admin.New(admin.Options{NoAuth: true, Logger: slog.New(logHandler(logs))})
	if err != nil {
		t.Fatal(err)
	}
	srv := native.NewServer(native.Options{})
	if err := adm.Attach(srv); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer func() { hs.CloseClientConnections(); hs.Close(); adm.Close(); srv.Close() }()
	dialUI(t, hs.URL, nil)
	select {
	case msg := <-logs:
		if !strings.Contains(msg, "Options.Observers") {
			t.Fatalf("log %q", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing logged")
	}
}

// logHandler sends every record's message to ch.
type logHandler chan string

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Message:
	default:
	}
	return nil
}
func (h logHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logHandler) WithGroup(string) slog.Handler      { return h }
