package native

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// The event rules (events.go) are tested with raw clients, whose packets
// are exact (sizes to the byte), next to well-behaved Go clients in the
// same namespace and in a namespace without rules. Every refused event is
// followed by an acknowledged "ping": its answer proves that what came
// before it was dealt with (a socket's events are handled in order), so
// that the absence of a handler's call is a result, not a race.

// eventLog records what a server's handlers, catch-all handlers and
// observers saw, as "NSP EVENT" strings.
type eventLog struct {
	mu                     sync.Mutex
	handled, any, observed []string
	disconnects            chan string
}

func newEventLog() *eventLog { return &eventLog{disconnects: make(chan string, 16)} }

func (l *eventLog) add(list *[]string, s string) {
	l.mu.Lock()
	*list = append(*list, s)
	l.mu.Unlock()
}

func (l *eventLog) get(list *[]string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(*list)
}

func (l *eventLog) Observe(e Event) {
	if e.Kind == EventReceived {
		l.add(&l.observed, e.Nsp+" "+e.Name)
	}
}

// handle registers, on every namespace of nsps, handlers of "ping"
// (answered), "chat" and "secret" (answered "ok"), "up" (a binary
// argument, answered "ok"), a catch-all handler and a disconnection
// handler, all logging to l.
func (l *eventLog) handle(s *Server, nsps ...*Namespace) {
	for _, n := range nsps {
		nsp := n.Name()
		n.OnConnection(func(so *Socket) {
			answerPings(so)
			so.On("chat", func(text string, ack Ack) {
				l.add(&l.handled, fmt.Sprintf("%s chat %d", nsp, len(text)))
				ack("ok")
			})
			so.On("secret", func(ack Ack) {
				l.add(&l.handled, nsp+" secret")
				ack("ok")
			})
			so.On("up", func(b []byte, ack Ack) {
				l.add(&l.handled, fmt.Sprintf("%s up %d", nsp, len(b)))
				ack("ok")
			})
			so.OnAny(func(event string, _ Args) { l.add(&l.any, nsp+" "+event) })
			so.OnDisconnect(func(r string) { l.disconnects <- so.ID() + " " + r })
		})
	}
}

// dynamicNsp names the children of a dynamic namespace in events tests.
func dynamicNsp(name string) bool { return strings.HasPrefix(name, "/room-") }

// rawIn connects the raw client w to nsp ("/..."); it returns its socket
// id.
func rawIn(t *testing.T, w *wsClient, nsp string) string {
	t.Helper()
	if nsp == "/" {
		return w.connect("")
	}
	if open := w.read(); !strings.HasPrefix(open, `0{"sid":`) {
		t.Fatalf("open packet: %q", open)
	}
	w.send("40" + nsp + ",")
	reply := w.read()
	if !strings.HasPrefix(reply, "40"+nsp+`,{"sid":"`) {
		t.Fatalf("connect reply: %q", reply)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(reply, "40"+nsp+`,{"sid":"`), `"`)
	return id
}

// chatOf is a "chat" event's JSON array of exactly size bytes.
func chatOf(size int) string {
	const overhead = len(`["chat",""]`)
	return `["chat","` + strings.Repeat("x", size-overhead) + `"]`
}

// barrier sends an acknowledged ping (ack id ack) on nsp's prefix ("" or
// "/x,") and expects its answer as the next packet.
func (w *wsClient) barrier(prefix string, ack int) {
	w.t.Helper()
	w.send(fmt.Sprintf(`42%s%d["ping",%d]`, prefix, ack, ack))
	if got, want := w.read(), fmt.Sprintf(`43%s%d[%d]`, prefix, ack, ack); got != want {
		w.t.Fatalf("got %q, want the ping's answer %q", got, want)
	}
}

// Allowed and refused events under each policy, with a size bound at its
// exact boundary, next to a well-behaved client of the same namespace and
// a namespace without rules.
func TestEventRulesPolicies(t *testing.T) {
	const limit = 40
	for _, action := range []LimitAction{LimitDrop, LimitErrorAck, LimitDisconnect} {
		t.Run(action.String(), func(t *testing.T) {
			log := newEventLog()
			srv, hs := newTestServer(t, Options{
				EventRules: map[string]EventRules{"/": {Allow: []string{"chat", "ping"},
					MaxBytes: map[string]int{"chat": limit}, OnRefused: action, CatchAll: true}},
				Observers: []Observer{log},
			}, func(s *Server) { log.handle(s, s.Of("/"), s.Of("/free")) })

			// the exact bound passes, under every policy
			w, _, err := dialWS(t, hs, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			id := w.connect("")
			w.send("421" + chatOf(limit))
			if got := w.read(); got != `431["ok"]` {
				t.Fatalf("chat of %d bytes: %q, want its handler's answer", limit, got)
			}

			switch action {
			case LimitDrop:
				w.send(`42["secret"]`)
				w.send(`422["secret"]`)
				w.send(`423` + chatOf(limit+1))
				w.barrier("", 4) // no answer to 2 or 3 came first
			case LimitErrorAck:
				w.send(`42["secret"]`) // without an ack: dropped
				w.send(`422["secret"]`)
				if got := w.read(); got != `432[{"error":"event not allowed"}]` {
					t.Fatalf("refused event's ack %q", got)
				}
				w.send(`423` + chatOf(limit+1))
				if got, want := w.read(), fmt.Sprintf(`433[{"error":"payload too large","limit":%d}]`, limit); got != want {
					t.Fatalf("too large event's ack %q, want %q", got, want)
				}
				w.barrier("", 4)
			case LimitDisconnect:
				w.send(`422["secret"]`)
				if got := w.read(); got != "41" {
					t.Fatalf("got %q, want the namespace's DISCONNECT", got)
				}
				if r := within(t, log.disconnects, "the disconnection"); r != id+" "+ReasonEventNotAllowed {
					t.Fatalf("disconnection %q, want %q", r, id+" "+ReasonEventNotAllowed)
				}
				w2, _, err := dialWS(t, hs, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				id2 := w2.connect("")
				w2.send(`42` + chatOf(limit+1))
				if got := w2.read(); got != "41" {
					t.Fatalf("got %q, want the namespace's DISCONNECT", got)
				}
				if r := within(t, log.disconnects, "the disconnection"); r != id2+" "+ReasonPayloadTooLarge {
					t.Fatalf("disconnection %q, want %q", r, id2+" "+ReasonPayloadTooLarge)
				}
			}

			// a well-behaved client of the same namespace, and one of a
			// namespace without rules, which may emit anything
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			good := goodClient(t, hs.URL, nil)
			for i := 0; i < 3; i++ {
				if res, err := good.EmitWithAck(ctx, "chat", "hi"); err != nil || string(res.Raw[0]) != `"ok"` {
					t.Fatalf("well-behaved chat: %v %v", res, err)
				}
			}
			free := goodClient(t, hs.URL+"/free", nil)
			for _, ev := range []struct {
				name string
				args []any
			}{{"secret", nil}, {"chat", []any{strings.Repeat("y", 10*limit)}}} {
				if res, err := free.EmitWithAck(ctx, ev.name, ev.args...); err != nil || string(res.Raw[0]) != `"ok"` {
					t.Fatalf("/free %s: %v %v", ev.name, res, err)
				}
			}

			handled := log.get(&log.handled)
			want := []string{fmt.Sprintf("/ chat %d", limit-len(`["chat",""]`)), "/ chat 2", "/ chat 2", "/ chat 2", "/free secret", fmt.Sprintf("/free chat %d", 10*limit)}
			if !slices.Equal(handled, want) {
				t.Fatalf("handled %q, want %q", handled, want)
			}
			for _, seen := range [][]string{log.get(&log.any), log.get(&log.observed)} {
				if slices.Contains(seen, "/ secret") || !slices.Contains(seen, "/free secret") || !slices.Contains(seen, "/ chat") {
					t.Fatalf("catch-all or observer saw %q", seen)
				}
			}
			st := srv.LimitStats()
			wantStats := map[LimitAction][3]uint64{LimitDrop: {2, 1, 0}, LimitErrorAck: {2, 1, 0}, LimitDisconnect: {1, 1, 2}}[action]
			if got := [3]uint64{st.EventsNotAllowed, st.EventsTooLarge, st.RuleDisconnects}; got != wantStats {
				t.Fatalf("stats %+v, want not allowed/too large/disconnects %v", st, wantStats)
			}
			if m := srv.Metrics(); action == LimitDisconnect && countReason(m.Disconnects, ReasonEventNotAllowed) != 1 {
				t.Fatalf("disconnects %v", m.Disconnects)
			}
			select {
			case r := <-log.disconnects:
				t.Fatalf("unexpected disconnection %q", r)
			default:
			}
		})
	}
}

func countReason(rc []ReasonCount, reason string) uint64 {
	for _, r := range rc {
		if r.Reason == reason {
			return r.Count
		}
	}
	return 0
}

// An event's size counts its binary attachments' bytes.
func TestEventRulesBinarySize(t *testing.T) {
	const head = `["up",{"_placeholder":true,"num":0}]`
	limit := len(head) + 10
	log := newEventLog()
	srv, hs := newTestServer(t, Options{EventRules: map[string]EventRules{
		"/": {MaxBytes: map[string]int{"up": limit}, OnRefused: LimitErrorAck}}},
		func(s *Server) { log.handle(s, s.Of("/")) })
	w, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.connect("")
	send := func(ack, n int) string {
		w.send(fmt.Sprintf("451-%d%s", ack, head))
		if err := w.c.WriteMessage(websocket.BinaryMessage, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		return w.read()
	}
	if got := send(1, 10); got != `431["ok"]` {
		t.Fatalf("%d bytes with the attachment: %q", limit, got)
	}
	if got, want := send(2, 11), fmt.Sprintf(`432[{"error":"payload too large","limit":%d}]`, limit); got != want {
		t.Fatalf("%d bytes with the attachment: %q, want %q", limit+1, got, want)
	}
	w.barrier("", 3)
	if got := log.get(&log.handled); !slices.Equal(got, []string{"/ up 10"}) {
		t.Fatalf("handled %q", got)
	}
	if st := srv.LimitStats(); st.EventsTooLarge != 1 || st.EventsNotAllowed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Catch-all handlers are off in a namespace with an allowlist unless its
// rules say CatchAll; elsewhere they see every event that is let through.
func TestEventRulesCatchAll(t *testing.T) {
	allow := []string{"chat", "ping"}
	log := newEventLog()
	_, hs := newTestServer(t, Options{EventRules: map[string]EventRules{
		"/strict": {Allow: allow},
		"/open":   {Allow: allow, CatchAll: true},
		"/sized":  {DefaultMaxBytes: 1000},
		"/star":   {Allow: []string{"*"}},
	}}, func(s *Server) {
		log.handle(s, s.Of("/strict"), s.Of("/open"), s.Of("/sized"), s.Of("/star"), s.Of("/plain"))
	})
	for _, nsp := range []string{"/strict", "/open", "/sized", "/star", "/plain"} {
		w, _, err := dialWS(t, hs, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		rawIn(t, w, nsp)
		w.send(`42` + nsp + `,["chat","a"]`)
		w.send(`42` + nsp + `,["secret"]`)
		w.barrier(nsp+",", 1)
	}
	want := []string{
		"/open chat", "/open ping",
		"/sized chat", "/sized secret", "/sized ping",
		"/star chat", "/star secret", "/star ping",
		"/plain chat", "/plain secret", "/plain ping",
	}
	if got := log.get(&log.any); !slices.Equal(got, want) {
		t.Fatalf("catch-all handlers saw %q\nwant %q", got, want)
	}
	wantHandled := []string{"/strict chat 1", "/open chat 1", "/sized chat 1", "/sized secret", "/star chat 1", "/star secret", "/plain chat 1", "/plain secret"}
	if got := log.get(&log.handled); !slices.Equal(got, wantHandled) {
		t.Fatalf("handled %q\nwant %q", got, wantHandled)
	}
}

// Rules keyed by a prefix apply to the children of a dynamic namespace;
// an exact key wins over prefixes, and the longest prefix over shorter
// ones ("*" matching every namespace).
func TestEventRulesDynamicNamespaces(t *testing.T) {
	log := newEventLog()
	_, hs := newTestServer(t, Options{EventRules: map[string]EventRules{
		"*":         {Allow: []string{"ping"}, OnRefused: LimitErrorAck},
		"/room-*":   {Allow: []string{"ping", "chat"}, OnRefused: LimitErrorAck},
		"/room-vip": {},
	}}, func(s *Server) {
		log.handle(s, s.Of("/"), s.OfDynamic(dynamicNsp))
	})
	cases := []struct{ nsp, secret, chat string }{
		{"/", `[{"error":"event not allowed"}]`, `[{"error":"event not allowed"}]`},
		{"/room-1", `[{"error":"event not allowed"}]`, `["ok"]`},
		{"/room-vip", `["ok"]`, `["ok"]`},
	}
	for _, c := range cases {
		w, _, err := dialWS(t, hs, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		rawIn(t, w, c.nsp)
		prefix := ""
		if c.nsp != "/" {
			prefix = c.nsp + ","
		}
		w.send(`42` + prefix + `1["secret"]`)
		if got := w.read(); got != `43`+prefix+`1`+c.secret {
			t.Errorf("%s secret: %q, want %q", c.nsp, got, c.secret)
		}
		w.send(`42` + prefix + `2["chat","x"]`)
		if got := w.read(); got != `43`+prefix+`2`+c.chat {
			t.Errorf("%s chat: %q, want %q", c.nsp, got, c.chat)
		}
	}
}

// The rules' compilation: which key a namespace follows, rules that
// restrict nothing cost nothing, and the acknowledgements' shape.
func TestEventRulesCompile(t *testing.T) {
	if newEventRules(nil) != nil {
		t.Fatal("no rules compiled to something")
	}
	r := newEventRules(map[string]EventRules{
		"*":       {DefaultMaxBytes: 1},
		"/a*":     {DefaultMaxBytes: 2},
		"/ab*":    {DefaultMaxBytes: 3},
		"abc":     {DefaultMaxBytes: 4}, // "/" prepended
		"/free":   {},                   // restricts nothing: overrides "*"
		"/sized0": {MaxBytes: map[string]int{"x": 0}},
		"/dup":    {DefaultMaxBytes: 5}, // wins over "dup"
		"dup":     {DefaultMaxBytes: 6},
		"/dup-*":  {DefaultMaxBytes: 7}, // wins over "dup-*"
		"dup-*":   {DefaultMaxBytes: 8},
	})
	for name, want := range map[string]int{"/": 1, "/a": 2, "/ax": 2, "/ab": 3, "/abd": 3, "/abc": 4, "/free": -1, "/sized0": -1, "/b": 1, "/dup": 5, "/dup-1": 7} {
		got := -1
		if c := r.forNamespace(name); c != nil {
			got = c.defMax
		}
		if got != want {
			t.Errorf("%s: rules of default %d, want %d", name, got, want)
		}
	}
	c := compileRules(EventRules{Allow: []string{}, MaxBytes: map[string]int{"a": 5, "b": 0}, DefaultMaxBytes: 9})
	if c == nil || c.allow == nil || len(c.allow) != 0 || c.limit("a") != 5 || c.limit("b") != 0 || c.limit("z") != 9 || c.anyHandlers() {
		t.Fatalf("compiled %+v", c)
	}
	if c := compileRules(EventRules{Allow: []string{"a", "*"}}); c != nil {
		t.Fatalf(`"*" in Allow still restricts: %+v`, c)
	}
	if !(*nspRules)(nil).anyHandlers() {
		t.Fatal("no rules turned catch-all handlers off")
	}
	for _, tc := range []struct {
		reason string
		limit  int
		want   string
	}{
		{ReasonEventNotAllowed, 0, `[{"error":"event not allowed"}]`},
		{ReasonPayloadTooLarge, 65536, `[{"error":"payload too large","limit":65536}]`},
	} {
		if got := string(refusedAck(tc.reason, tc.limit)); got != tc.want {
			t.Errorf("refusedAck = %s, want %s", got, tc.want)
		}
	}
}

// A server without rules gives its sockets none; a socket of a namespace
// with rules gets them at its connection.
func TestEventRulesOffCostNothing(t *testing.T) {
	for _, opts := range []Options{{}, {EventRules: map[string]EventRules{"/other": {Allow: []string{"x"}}}}} {
		srv, hs := newTestServer(t, opts, func(s *Server) { s.OnConnection(answerPings) })
		if (srv.rules == nil) != (opts.EventRules == nil) {
			t.Fatalf("rules %+v for %+v", srv.rules, opts.EventRules)
		}
		good := goodClient(t, hs.URL, nil)
		ctx, cancel := context.WithTimeout(context.Background(), clientWait)
		_, err := good.EmitWithAck(ctx, "ping", 1)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		srv.d.call(func(clock.Instant) {
			if so := srv.sockets[wire.SocketID(good.ID())]; so == nil || so.rules != nil {
				t.Errorf("socket of / with rules %+v", so)
			}
		})
	}
}

// Under LimitDisconnect, the events that arrived with the refused one
// (one polling payload, decoded at once) are dropped with it: the socket
// was cut off at the refused event.
func TestEventRulesDisconnectDropsWhatFollows(t *testing.T) {
	log := newEventLog()
	srv, hs := newTestServer(t, Options{EventRules: map[string]EventRules{
		"/": {Allow: []string{"chat", "ping"}, OnRefused: LimitDisconnect}}},
		func(s *Server) { log.handle(s, s.Of("/")) })
	res, open := get(t, hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
	var hsk struct{ Sid string }
	if res.StatusCode != 200 || json.Unmarshal([]byte(open[1:]), &hsk) != nil {
		t.Fatalf("handshake %d %q", res.StatusCode, open)
	}
	q := hs.URL + "/socket.io/?EIO=4&transport=polling&sid=" + hsk.Sid
	post := func(body string) {
		t.Helper()
		pres, err := http.Post(q, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		pres.Body.Close()
		if pres.StatusCode != 200 {
			t.Fatalf("POST %q: %d", body, pres.StatusCode)
		}
	}
	post("40")
	if _, connect := get(t, q, nil); !strings.HasPrefix(connect, "40{") {
		t.Fatalf("CONNECT answer %q", connect)
	}
	post("42[\"chat\",\"a\"]\x1e42[\"secret\"]\x1e42[\"chat\",\"b\"]\x1e421[\"ping\",1]")
	if _, got := get(t, q, nil); got != "41" {
		t.Fatalf("got %q, want the namespace's DISCONNECT alone", got)
	}
	if r := within(t, log.disconnects, "the disconnection"); !strings.HasSuffix(r, " "+ReasonEventNotAllowed) {
		t.Fatalf("disconnection %q", r)
	}
	if got := log.get(&log.handled); !slices.Equal(got, []string{"/ chat 1"}) {
		t.Fatalf("handled %q, want the chat before the refused event only", got)
	}
	if st := srv.LimitStats(); st.EventsNotAllowed != 1 || st.RuleDisconnects != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Refused events count against the socket's rate: a client that floods
// events its namespace does not allow (dropped silently) is still cut off
// by the rate limit's disconnect.
func TestEventRulesFloodHitsRateLimit(t *testing.T) {
	log := newEventLog()
	srv, hs := newTestServer(t, Options{
		EventRules: map[string]EventRules{"/": {Allow: []string{"chat", "ping"}}},
		Limits:     Limits{EventRate: Rate{PerSecond: 1, Burst: 5}, OnLimit: LimitDisconnect},
	}, func(s *Server) { log.handle(s, s.Of("/")) })
	w, _, err := dialWS(t, hs, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	rawIn(t, w, "/")
	for i := 0; i < 20; i++ { // the connection may close before the last ones
		if w.c.WriteMessage(websocket.TextMessage, []byte(`42["secret"]`)) != nil {
			break
		}
	}
	if r := within(t, log.disconnects, "the disconnection"); !strings.HasSuffix(r, " "+ReasonRateLimited) {
		t.Fatalf("disconnection %q, want the rate limit's", r)
	}
	if got := log.get(&log.handled); len(got) != 0 {
		t.Fatalf("handled %q", got)
	}
	if st := srv.LimitStats(); st.EventsNotAllowed != 5 || st.RateDisconnects != 1 {
		t.Fatalf("stats %+v, want the burst's 5 refused by the rules, then the rate's disconnect", st)
	}
}
