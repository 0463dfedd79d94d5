//go:build nginx

// Two `socketcore bench-server` nodes joined through Redis (--redis, with
// the io cookie: --cookie io) behind a real nginx started by the test
// (a generated config in a temporary directory, free loopback ports).
// Official socket.io-client sockets connect through nginx, each from its
// own loopback source address (127.0.0.N):
//
//   - round robin (no stickiness): a polling session's requests are
//     spread over the nodes, and the node that did not make the session
//     answers 400 {"code":1,"message":"Session ID unknown"}, as Node's
//     server does: the clients fail. This is what stickiness is for.
//   - hash $remote_addr consistent (nginx OSS's stickiness by client
//     address): every request of a session reaches the node that made it;
//     the clients connect over polling, some upgrade to WebSocket through
//     nginx, exchange events with acks, and a broadcast from a client on
//     either node reaches every client on both. Both nodes serve some.
//
// The io cookie is checked as the clients see it through nginx: the
// handshake's Set-Cookie, and the official client (withCredentials: its
// cookie jar) sending it back on its later requests (nginx's $cookie_io).
// Which node served what is read from nginx's access log
// ($upstream_addr) and the nodes' debug lines ("session opened").
//
// Run by `make test-nginx` (installs nginx, runs npm ci):
// go test -tags nginx ./tests/cluster/nginx/
package nginx

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/proctest"
	"github.com/socketcore/socketcore/internal/redistest"
)

func TestMain(m *testing.M) {
	code := leaktest.Check(m)
	proctest.Cleanup()
	os.Exit(code)
}

// wait bounds every single wait.
const wait = 20 * time.Second

// unknownSID is Node's answer to a request for a session the server does
// not have (engine.io's Server.errors.UNKNOWN_SID).
const unknownSID = `{"code":1,"message":"Session ID unknown"}`

// Without stickiness, polling through nginx across two nodes fails with
// the official server's error; the io cookie is set all the same.
func TestPollingFailsWithoutStickiness(t *testing.T) {
	c := startCluster(t)
	px := startNginx(t, "", c.a.addr, c.b.addr) // round robin

	// the raw protocol: the handshake reaches one node, the next request
	// (nginx alternates) the other, which does not know the session
	hc := clientFrom(t, "127.0.0.1")
	sid, cookie := handshake(t, hc, px.url)
	if want := "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"; cookie != want {
		t.Errorf("Set-Cookie through nginx %q, want %q", cookie, want)
	}
	var statuses []int
	refused := false
	for i := 0; i < 2; i++ {
		status, ctype, body := post(t, hc, px.url, sid, "40")
		statuses = append(statuses, status)
		if status == 400 {
			refused = true
			if body != unknownSID || ctype != "application/json" {
				t.Errorf("refused request: %q (%s), want %s (application/json)", body, ctype, unknownSID)
			}
		} else if status != 200 || body != "ok" {
			t.Errorf("POST to the session's node: %d %q", status, body)
		}
	}
	if !refused {
		t.Fatalf("no request of the session reached the other node (statuses %v): is nginx round robin?", statuses)
	}

	// the official client, polling only, fails; one at a time (two in
	// lockstep could each keep meeting its own node in the alternation)
	node := nodetest.Node(t, c.root, "socket.io-client")
	for i, addr := range []string{"127.0.0.2", "127.0.0.3"} {
		cl := startClients(t, node, c.root, px.url, []clientSpec{{Addr: addr, Mode: "polling"}})
		// before its connect (connect_error) or after (disconnect
		// "transport error"): round robin may deliver the CONNECT's reply
		// first
		cl.waitAll("the client to fail", func(s *clientState) bool {
			return len(s.connectErrors) > 0 || len(s.disconnects) > 0
		})
		s := cl.snapshot()[0]
		f := slices.Concat(s.connectErrors, s.disconnects)[0]
		if f.Status != 400 || f.Body != unknownSID || (len(s.connectErrors) == 0 && f.Reason != "transport error") {
			t.Errorf("client %d failed with %+v, want a transport error: 400 %s", i, f, unknownSID)
		}
		t.Logf("client %d: connects %d, failed with %+v", i, s.connects, f)
		cl.close() // its reconnections must not interleave with the next one's
	}
	// nginx saw the nodes refuse the sessions' requests
	n400 := 0
	for _, e := range px.accessLog(t) {
		if e.status == "400" && e.sid != "" {
			n400++
		}
	}
	if n400 == 0 {
		t.Error("nginx's access log has no 400 for a session's request")
	}
}

// With nginx's hash $remote_addr consistent, every client's session
// stays on the node that made it: polling and upgraded clients on both
// nodes exchange events with acks and get each other's broadcasts.
func TestStickyByClientAddress(t *testing.T) {
	c := startCluster(t)
	px := startNginx(t, "hash $remote_addr consistent;", c.a.addr, c.b.addr)

	// which node each source address reaches (the hash of its address):
	// probe addresses until each node has three
	byNode := map[*socketcore][]string{}
	for n := 2; n < 64 && (len(byNode[c.a]) < 3 || len(byNode[c.b]) < 3); n++ {
		addr := "127.0.0." + strconv.Itoa(n)
		hc := clientFrom(t, addr)
		sid, cookie := handshake(t, hc, px.url)
		if want := "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"; cookie != want {
			t.Fatalf("Set-Cookie through nginx %q, want %q", cookie, want)
		}
		owner := c.owner(t, sid)
		// the session's next request reaches the same node
		if status, _, body := post(t, hc, px.url, sid, "1"); status != 200 || body != "ok" {
			t.Fatalf("%s: closing probe session %s on %s: %d %q", addr, sid, owner.name, status, body)
		}
		if len(byNode[owner]) < 3 {
			byNode[owner] = append(byNode[owner], addr)
		}
	}
	if len(byNode[c.a]) < 3 || len(byNode[c.b]) < 3 {
		t.Fatalf("nginx's hash sent 62 source addresses to one node: A %v, B %v", byNode[c.a], byNode[c.b])
	}

	// per node: two polling-only clients and one that upgrades
	var specs []clientSpec
	var want []*socketcore // the node each client must be on
	for _, n := range []*socketcore{c.a, c.b} {
		for i, addr := range byNode[n] {
			mode := "polling"
			if i == 2 {
				mode = "upgrade"
			}
			specs = append(specs, clientSpec{Addr: addr, Mode: mode})
			want = append(want, n)
		}
	}
	node := nodetest.Node(t, c.root, "socket.io-client")
	cl := startClients(t, node, c.root, px.url, specs)
	cl.waitAll("every client to connect, get its acks and be on its transport", func(s *clientState) bool { return s.ready != "" })

	states := cl.snapshot()
	for i, s := range states {
		if got := c.owner(t, s.sid); got != want[i] {
			t.Errorf("client %d (%s from %s): session %s on %s, want %s (the node its address hashes to)", i, specs[i].Mode, specs[i].Addr, s.sid, got.name, want[i].name)
		}
		if wantEcho := map[string]any{"c": float64(i), "text": "through nginx"}; !reflect.DeepEqual(s.echo, wantEcho) {
			t.Errorf("client %d: echo ack %v, want %v", i, s.echo, wantEcho)
		}
		if s.joined != "ok" {
			t.Errorf("client %d: join ack %v", i, s.joined)
		}
		wantTransport := map[string]string{"polling": "polling", "upgrade": "websocket"}[specs[i].Mode]
		if s.ready != wantTransport {
			t.Errorf("client %d (%s): on %s", i, specs[i].Mode, s.ready)
		}
	}

	// a broadcast from a client on A, then one from a client on B, reach
	// every client on both nodes (through Redis)
	for _, from := range []int{0, 3} {
		payload := fmt.Sprintf("from client %d on %s", from, want[from].name)
		cl.send(map[string]any{"broadcast": from, "payload": payload})
		cl.waitAll("every client to get "+payload, func(s *clientState) bool { return s.hasTick(payload) })
		cl.waitOne(from, "the broadcast's ack", func(s *clientState) bool { return s.broadcastAcks > 0 })
	}
	for i, s := range cl.snapshot() {
		if len(s.disconnects) > 0 || len(s.connectErrors) > 0 || s.errors != nil {
			t.Errorf("client %d: disconnects %+v, connect errors %+v, errors %q", i, s.disconnects, s.connectErrors, s.errors)
		}
		if specs[i].Mode == "upgrade" && !c.upgraded(want[i], s.sid) {
			t.Errorf("client %d: %s's log does not say session %s upgraded", i, want[i].name, s.sid)
		}
	}

	// nginx's view: every request of a client's session went to the
	// session's node and carried the io cookie (the client's cookie jar
	// took it from the handshake's answer through nginx). A request is
	// logged when it ends: the WebSockets', once the clients closed.
	cl.close()
	sessions := map[string]*socketcore{}
	for i, s := range states {
		sessions[s.sid] = want[i]
	}
	var entries []logEntry
	eventually(t, "nginx to log the clients' WebSockets", func() (bool, string) {
		entries = px.accessLog(t)
		n := 0
		for _, e := range entries {
			if sessions[e.sid] != nil && e.status == "101" {
				n++
			}
		}
		return n == 2, fmt.Sprint(n, " logged")
	})
	seen := map[string]int{}
	upgrades := 0
	for _, e := range entries {
		n := sessions[e.sid]
		if n == nil {
			continue
		}
		seen[e.sid]++
		if e.upstream != n.addr {
			t.Errorf("nginx sent %s %s (session on %s) to %s", e.method, e.uri, n.name, e.upstream)
		}
		if e.cookie != e.sid {
			t.Errorf("%s %s came with cookie io=%q, want the session's", e.method, e.uri, e.cookie)
		}
		// 499: nginx's "client closed the request", the long-poll GET
		// parked when the clients closed
		if e.status != "200" && e.status != "101" && (e.status != "499" || e.method != "GET") {
			t.Errorf("%s %s: status %s", e.method, e.uri, e.status)
		}
		if e.upgrade == "websocket" && e.status == "101" {
			upgrades++
		}
	}
	for i, s := range states {
		if seen[s.sid] < 2 {
			t.Errorf("client %d: nginx logged %d requests of session %s", i, seen[s.sid], s.sid)
		}
	}
	if upgrades != 2 {
		t.Errorf("nginx logged %d WebSocket upgrades of the clients' sessions, want 2", upgrades)
	}
	t.Logf("A (%s) served %v, B (%s) served %v", c.a.addr, byNode[c.a], c.b.addr, byNode[c.b])
}

// ---- the cluster ------------------------------------------------------------------

type cluster struct {
	root string
	a, b *socketcore
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	redistest.Client(t) // fails, saying what to start, without Redis
	bin := proctest.Socketcore(t)
	prefix := randomPrefix()
	return &cluster{
		root: nodetest.RepoRoot(t),
		a:    startNode(t, bin, "A", prefix),
		b:    startNode(t, bin, "B", prefix),
	}
}

// owner is the node whose log says it opened the session sid.
func (c *cluster) owner(t *testing.T, sid string) *socketcore {
	t.Helper()
	var found *socketcore
	eventually(t, "a node to log session "+sid, func() (bool, string) {
		for _, n := range []*socketcore{c.a, c.b} {
			if n.logged("session opened", sid) {
				if found != nil && found != n {
					t.Fatalf("both nodes opened session %s", sid)
				}
				found = n
			}
		}
		return found != nil, "no such line"
	})
	return found
}

func (c *cluster) upgraded(n *socketcore, sid string) bool { return n.logged("session upgraded", sid) }

// socketcore is a `socketcore bench-server` node.
type socketcore struct {
	name, addr string
	cmd        *exec.Cmd
	out        *proctest.SyncBuffer
	exited     chan struct{}
}

func startNode(t *testing.T, bin, name, prefix string) *socketcore {
	t.Helper()
	n := &socketcore{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(proctest.FreePort(t))), out: &proctest.SyncBuffer{}}
	n.cmd = exec.Command(bin, "bench-server", "--addr", n.addr, "--redis", redistest.URL(), "--redis-key", prefix,
		"--cookie", "io", "--debug", "socketcore:engine")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
		if t.Failed() {
			t.Logf("%s's output:\n%s", n.name, n.out.String())
		}
	})
	eventually(t, name+" to serve on "+n.addr, func() (bool, string) {
		select {
		case <-n.exited:
			t.Fatalf("%s exited: %s\n%s", name, n.cmd.ProcessState, n.out.String())
		default:
		}
		return strings.Contains(n.out.String(), `msg="socketcore: bench server" url=http://`+n.addr+"/socket.io/"), "no startup line yet"
	})
	return n
}

// logged reports whether the node logged msg for the session sid (its
// --debug socketcore:engine lines: msg="session opened" ... sid=...).
func (n *socketcore) logged(msg, sid string) bool {
	re := regexp.MustCompile(`(?m)^.*msg="` + regexp.QuoteMeta(msg) + `".* sid=` + regexp.QuoteMeta(sid) + `( |$)`)
	return re.MatchString(n.out.String())
}

func randomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "scnginx-" + hex.EncodeToString(b[:])
}

// ---- nginx ------------------------------------------------------------------------

// nginxBinary is Debian's nginx; a missing one fails the test with the
// command that installs it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Fatal("nginx is not installed: run `make nginx-install` (apt-get install -y nginx-light, as root), or `make test-nginx`, which does")
	return ""
}

type proxy struct {
	url, dir string
}

// The nginx of the tests: one worker (round robin then alternates
// exactly), the access log in the log format parsed below, the WebSocket
// headers, timeouts above the nodes' pingInterval + pingTimeout.
const nginxConf = `{{user}}
worker_processes 1;
events { worker_connections 256; }
http {
    client_body_temp_path {{dir}}/tmp/body;
    proxy_temp_path {{dir}}/tmp/proxy;
    fastcgi_temp_path {{dir}}/tmp/fastcgi;
    uwsgi_temp_path {{dir}}/tmp/uwsgi;
    scgi_temp_path {{dir}}/tmp/scgi;
    log_format sticky '$remote_addr\t$request_method\t$request_uri\t$arg_sid\t$status\t$upstream_addr\t$cookie_io\t$http_upgrade';
    access_log {{dir}}/access.log sticky;

    upstream socketcore {
        {{balance}}
        server {{a}};
        server {{b}};
    }
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen {{listen}};
        location /socket.io/ {
            proxy_pass http://socketcore;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 60s;
            proxy_send_timeout 60s;
            proxy_next_upstream off;
        }
    }
}
`

// startNginx runs nginx in front of the backends with the given balancing
// directive ("": round robin).
func startNginx(t *testing.T, balance string, backends ...string) *proxy {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(proctest.FreePort(t)))
	usr := ""
	if os.Geteuid() == 0 {
		// the workers need the temporary directory, which is root's
		usr = "user root;"
	}
	conf := strings.NewReplacer("{{user}}", usr, "{{dir}}", dir, "{{balance}}", balance,
		"{{a}}", backends[0], "{{b}}", backends[1], "{{listen}}", listen).Replace(nginxConf)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", "nginx.conf", "-e", filepath.Join(dir, "error.log"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+";")
	out := &proctest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	px := &proxy{url: "http://" + listen, dir: dir}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // nginx's fast shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			errs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx config:\n%s\nnginx output:\n%s\nerror.log:\n%s", conf, out.String(), errs)
		}
	})
	eventually(t, "nginx to listen on "+listen, func() (bool, string) {
		select {
		case <-exited:
			errs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %s\n%s\n%s", cmd.ProcessState, out.String(), errs)
		default:
		}
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return px
}

// logEntry is a line of the access log (log_format sticky).
type logEntry struct {
	remote, method, uri, sid, status, upstream, cookie, upgrade string
}

// accessLog reads the access log; nginx writes a line when a request
// ends (a WebSocket's when it closes: the clients are closed first).
func (p *proxy) accessLog(t *testing.T) []logEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []logEntry
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			t.Fatalf("access log line %q", line)
		}
		for i := range f {
			if f[i] == "-" {
				f[i] = ""
			}
		}
		entries = append(entries, logEntry{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]})
	}
	return entries
}

// ---- raw HTTP through nginx ---------------------------------------------------------

// clientFrom is an HTTP client whose connections come from the loopback
// address addr.
func clientFrom(t *testing.T, addr string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: wait}
}

// handshake opens a polling session; it returns the sid and the
// Set-Cookie header.
func handshake(t *testing.T, hc *http.Client, base string) (sid, cookie string) {
	t.Helper()
	res, err := hc.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var open struct{ Sid string }
	if res.StatusCode != 200 || !strings.HasPrefix(string(b), "0{") || json.Unmarshal(b[1:], &open) != nil || open.Sid == "" {
		t.Fatalf("handshake through nginx: %d %q", res.StatusCode, b)
	}
	if n := len(res.Header.Values("Set-Cookie")); n != 1 {
		t.Fatalf("handshake through nginx: %d Set-Cookie headers", n)
	}
	return open.Sid, res.Header.Get("Set-Cookie")
}

// post sends a polling POST of the session sid.
func post(t *testing.T, hc *http.Client, base, sid, body string) (status int, ctype, answer string) {
	t.Helper()
	res, err := hc.Post(base+"/socket.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("a session's POST set a cookie: %q", res.Header.Get("Set-Cookie"))
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// ---- the official clients -----------------------------------------------------------

type clientSpec struct {
	Addr string `json:"addr"`
	Mode string `json:"mode"` // polling, upgrade
}

// failure is a connect_error or a disconnect: its message or reason,
// and for a transport error the failed request's status and body.
type failure struct {
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Status  int    `json:"status"`
	Body    string `json:"body"`
}

// clientState is what one client socket saw.
type clientState struct {
	sid, id       string
	connects      int
	echo          any
	joined        any
	ready         string // the transport when ready
	ticks         []any
	broadcastAcks int
	disconnects   []failure
	connectErrors []failure
	errors        []string
}

func (s *clientState) hasTick(p any) bool {
	for _, x := range s.ticks {
		if x == p {
			return true
		}
	}
	return false
}

// clients is clients.mjs in a node process.
type clients struct {
	t     *testing.T
	stdin io.WriteCloser
	close func() // closes the sockets, ends the script
	mu    sync.Mutex
	all   []*clientState
	fatal string
	lines []string // the last lines, for failures
}

func startClients(t *testing.T, node, root, url string, specs []clientSpec) *clients {
	t.Helper()
	spec, _ := json.Marshal(specs)
	cl := &clients{t: t}
	for range specs {
		cl.all = append(cl.all, &clientState{})
	}
	cmd := exec.Command(node, filepath.Join(root, "tests", "cluster", "nginx", "clients.mjs"), url, string(spec))
	cmd.Dir = root
	stderr := &proctest.SyncBuffer{}
	cmd.Stderr = stderr
	var stdout io.ReadCloser
	cl.stdin, stdout = nodetest.Start(t, cmd)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			cl.line(sc.Bytes())
		}
	}()
	cl.close = sync.OnceFunc(func() {
		cl.stdin.Close() // the script closes its sockets and exits
		select {
		case <-read:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-read
		}
		cmd.Wait()
	})
	t.Cleanup(func() {
		cl.close()
		if t.Failed() {
			cl.mu.Lock()
			t.Logf("clients.mjs's last lines:\n%s\nstderr:\n%s", strings.Join(cl.lines, "\n"), stderr.String())
			cl.mu.Unlock()
		}
	})
	return cl
}

func (cl *clients) line(b []byte) {
	var l struct {
		C         int    `json:"c"`
		Type      string `json:"type"`
		ID        string `json:"id"`
		SID       string `json:"sid"`
		Transport string `json:"transport"`
		Value     any    `json:"value"`
		Payload   any    `json:"payload"`
		Reason    string `json:"reason"`
		Message   string `json:"message"`
	}
	err := json.Unmarshal(b, &l)
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.lines = append(cl.lines, string(b))
	if len(cl.lines) > 100 {
		cl.lines = cl.lines[50:]
	}
	if err != nil || l.C < 0 || l.C >= len(cl.all) {
		cl.fatal = "clients.mjs printed " + string(b)
		return
	}
	s := cl.all[l.C]
	switch l.Type {
	case "connect":
		s.connects++
		s.sid, s.id = l.SID, l.ID
	case "echo":
		s.echo = l.Value
	case "joined":
		s.joined = l.Value
	case "upgrade":
	case "ready":
		s.ready = l.Transport
	case "tick":
		s.ticks = append(s.ticks, l.Payload)
	case "broadcast-acked":
		s.broadcastAcks++
	case "disconnect", "connect_error":
		var f failure
		json.Unmarshal(b, &f)
		if l.Type == "disconnect" {
			s.disconnects = append(s.disconnects, f)
		} else {
			s.connectErrors = append(s.connectErrors, f)
		}
	case "error":
		s.errors = append(s.errors, l.Message)
	default:
		cl.fatal = "clients.mjs printed " + string(b)
	}
}

// send writes a command line to clients.mjs.
func (cl *clients) send(cmd any) {
	cl.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := cl.stdin.Write(append(b, '\n')); err != nil {
		cl.t.Fatal(err)
	}
}

// snapshot copies the clients' states.
func (cl *clients) snapshot() []clientState {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := make([]clientState, len(cl.all))
	for i, s := range cl.all {
		out[i] = *s
	}
	return out
}

// waitAll waits until cond holds for every client.
func (cl *clients) waitAll(what string, cond func(s *clientState) bool) {
	cl.t.Helper()
	for i := range cl.all {
		cl.waitOne(i, what, cond)
	}
}

func (cl *clients) waitOne(i int, what string, cond func(s *clientState) bool) {
	cl.t.Helper()
	eventually(cl.t, fmt.Sprintf("%s (client %d)", what, i), func() (bool, string) {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if cl.fatal != "" {
			cl.t.Fatal(cl.fatal)
		}
		s := cl.all[i]
		return cond(s), fmt.Sprintf("%+v", *s)
	})
}

func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	proctest.Eventually(t, wait, what, cond)
}
