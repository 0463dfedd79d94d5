package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	jwtauth "github.com/socketcore/socketcore/examples/jwt"
	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

var key = []byte("a key shared with the token issuer")

// sign makes a token for subject that expires after ttl (JWT times are in
// whole seconds), signed with k and method.
func sign(t *testing.T, subject string, ttl time.Duration, k []byte, method jwt.SigningMethod) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, jwtauth.Claims{
		Subject:   subject,
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl)),
	}).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// server runs a Socket.IO server whose "/" is behind the middleware;
// "whoami" answers the token's subject, and disconnections are reported.
func server(t *testing.T) (string, <-chan string) {
	t.Helper()
	srv := native.NewServer(native.Options{Seed: [32]byte{'j'}})
	reasons := make(chan string, 8)
	(&jwtauth.Auth{Key: key}).Install(srv.Of("/"))
	srv.OnConnection(func(s *native.Socket) {
		s.On("whoami", func(ack native.Ack) { ack(s.Data.(*jwtauth.Claims).Subject) })
		s.OnDisconnect(func(reason string) { reasons <- reason })
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return hs.URL, reasons
}

type outcome struct {
	err error // nil: connected
}

// dial connects a client to "/" and reports the first connect or
// connect_error; the client is closed with the test.
func dial(t *testing.T, url string, opts native.ClientOptions) (*native.ClientSocket, <-chan outcome, <-chan string) {
	t.Helper()
	opts.NoAutoConnect = true
	opts.NoReconnection = true
	opts.Transports = []string{"websocket"}
	c, err := native.Dial(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan outcome, 4)
	left := make(chan string, 4)
	c.OnConnect(func() { out <- outcome{} })
	c.OnConnectError(func(err error) { out <- outcome{err} })
	c.OnDisconnect(func(reason string) { left <- reason })
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	return c, out, left
}

func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func whoami(t *testing.T, c *native.ClientSocket) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.EmitWithAck(ctx, "whoami")
	if err != nil {
		t.Fatal(err)
	}
	var sub string
	res.Decode(&sub)
	return sub
}

func TestValidTokenConnects(t *testing.T) {
	url, _ := server(t)
	c, out, _ := dial(t, url, native.ClientOptions{SocketOptions: native.SocketOptions{
		Auth: map[string]any{"token": sign(t, "alice", time.Hour, key, jwt.SigningMethodHS256)}}})
	if o := within(t, out, "the connection"); o.err != nil {
		t.Fatalf("refused: %v", o.err)
	}
	if sub := whoami(t, c); sub != "alice" {
		t.Fatalf("subject %q", sub)
	}
	// the Authorization header works as well
	c2, out2, _ := dial(t, url, native.ClientOptions{Header: http.Header{
		"Authorization": {"Bearer " + sign(t, "bob", time.Hour, key, jwt.SigningMethodHS256)}}})
	if o := within(t, out2, "the connection"); o.err != nil {
		t.Fatalf("refused: %v", o.err)
	}
	if sub := whoami(t, c2); sub != "bob" {
		t.Fatalf("subject %q", sub)
	}
}

func TestBadTokensRefused(t *testing.T) {
	url, _ := server(t)
	for _, c := range []struct {
		name, token, reason string
	}{
		{"none", "", ""},
		{"garbage", "not.a.token", ""},
		{"other key", sign(t, "eve", time.Hour, []byte("another key"), jwt.SigningMethodHS256), ""},
		{"other algorithm", sign(t, "eve", time.Hour, key, jwt.SigningMethodHS512), ""},
		{"expired", sign(t, "alice", -time.Minute, key, jwt.SigningMethodHS256), "expired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			auth := map[string]any{}
			if c.token != "" {
				auth["token"] = c.token
			}
			_, out, _ := dial(t, url, native.ClientOptions{SocketOptions: native.SocketOptions{Auth: auth}})
			o := within(t, out, "the refusal")
			var ce *native.ConnectError
			if !errors.As(o.err, &ce) || ce.Message != "invalid token" {
				t.Fatalf("outcome %v, want connect_error \"invalid token\"", o.err)
			}
			var data struct{ Reason string }
			if raw, ok := ce.Data.(json.RawMessage); ok { // the client's data is the raw JSON
				json.Unmarshal(raw, &data)
			}
			if data.Reason != c.reason {
				t.Fatalf("data %v, want reason %q", ce.Data, c.reason)
			}
		})
	}
}

// A short-lived token's socket is disconnected when it expires; the client
// gets a new token and connects again.
func TestExpiryDisconnectsAndReauthenticates(t *testing.T) {
	url, reasons := server(t)
	var current atomic.Value
	current.Store(sign(t, "alice", 2*time.Second, key, jwt.SigningMethodHS256)) // expires within 1-2 s
	c, out, left := dial(t, url, native.ClientOptions{SocketOptions: native.SocketOptions{
		AuthFunc: func() any { return map[string]any{"token": current.Load()} }, // sent on every attempt
	}})
	if o := within(t, out, "the connection"); o.err != nil {
		t.Fatalf("refused: %v", o.err)
	}
	t0 := time.Now()
	if r := within(t, left, "the disconnection at expiry"); r != "io server disconnect" {
		t.Fatalf("client's reason %q", r)
	}
	if r := within(t, reasons, "the server's disconnection"); r != "server namespace disconnect" {
		t.Fatalf("server's reason %q", r)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("disconnected %v after connecting", d)
	}
	// re-authentication: a new token, and connect again
	current.Store(sign(t, "alice", time.Hour, key, jwt.SigningMethodHS256))
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	if o := within(t, out, "the second connection"); o.err != nil {
		t.Fatalf("refused with a new token: %v", o.err)
	}
	if sub := whoami(t, c); sub != "alice" {
		t.Fatalf("subject %q", sub)
	}
	// the long-lived token's timer is stopped when the socket leaves
	c.Disconnect()
	if r := within(t, reasons, "the client's disconnection"); r != "client namespace disconnect" {
		t.Fatalf("server's reason %q", r)
	}
}
