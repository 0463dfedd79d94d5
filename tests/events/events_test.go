// Package events checks what the official socket.io-client (npm, pinned in
// the root package-lock.json) sees of native.EventRules: refused events
// answered as a Node handler answers a refusal (callback({error})), or its
// namespace's disconnection, while allowed events and other namespaces are
// served as before.
package events

import (
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
	"github.com/socketcore/socketcore/internal/nodetest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

func TestOfficialClientEventRules(t *testing.T) {
	root := nodetest.RepoRoot(t)
	node := nodetest.Node(t, root, "socket.io-client")
	var mu sync.Mutex
	var handled []string
	reasons := make(chan string, 8)
	note := func(list *[]string, s string) { mu.Lock(); *list = append(*list, s); mu.Unlock() }
	placeholder := len(`["up",{"_placeholder":true,"num":0}]`)
	srv := native.NewServer(native.Options{Seed: [32]byte{'E'}, EventRules: map[string]native.EventRules{
		"/": {Allow: []string{"chat", "ping", "up"}, MaxBytes: map[string]int{"chat": 40, "up": placeholder + 10},
			OnRefused: native.LimitErrorAck},
		"/strict": {Allow: []string{"chat"}, OnRefused: native.LimitDisconnect},
	}})
	for _, nsp := range []string{"/", "/free", "/strict"} {
		srv.Of(nsp).OnConnection(func(so *native.Socket) {
			so.On("ping", func(n int, ack native.Ack) { ack(n) })
			for _, ev := range []string{"chat", "secret", "up"} {
				so.On(ev, func(args native.Args, ack native.Ack) {
					note(&handled, nsp+" "+ev)
					ack("ok")
				})
			}
			so.OnDisconnect(func(r string) { reasons <- nsp + " " + r })
		})
	}
	hs := httptest.NewServer(srv)
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
	}()
	var got map[string]any
	nodetest.RunJSON(t, node, root, "tests/events/official.mjs", &got, hs.URL)
	notAllowed := map[string]any{"error": "event not allowed"}
	tooLarge := func(n int) map[string]any { return map[string]any{"error": "payload too large", "limit": float64(n)} }
	want := map[string]any{
		"chatAtLimit": "ok", "chatOver": tooLarge(40), "notAllowed": notAllowed,
		"upAtLimit": "ok", "upOver": tooLarge(placeholder + 10), "pingAfter": float64(7),
		"free": "ok", "strictReason": "io server disconnect", "stillServed": float64(8),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("official client saw %v\nwant %v", got, want)
	}
	mu.Lock()
	if w := []string{"/ chat", "/ up", "/free secret"}; !slices.Equal(handled, w) {
		t.Fatalf("handled %q, want %q", handled, w)
	}
	mu.Unlock()
	// the strict socket's disconnection handler runs on its own mailbox
	// (the other sockets' may come first: the client closed them)
	for strict := false; !strict; {
		select {
		case r := <-reasons:
			if strings.HasPrefix(r, "/strict ") {
				if r != "/strict "+native.ReasonEventNotAllowed {
					t.Fatalf("server-side disconnection %q, want %q", r, "/strict "+native.ReasonEventNotAllowed)
				}
				strict = true
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the strict socket's disconnection was not reported")
		}
	}
	if st := srv.LimitStats(); st.EventsNotAllowed != 3 || st.EventsTooLarge != 2 || st.RuleDisconnects != 1 {
		t.Fatalf("stats %+v", st)
	}
}
