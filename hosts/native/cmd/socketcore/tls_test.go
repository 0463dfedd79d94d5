package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/proctest"
)

// testPKI is a CA, a server certificate for the loopback addresses and a
// client certificate, all made by the test (crypto/x509), as PEM files.
type testPKI struct {
	dir                       string
	caPool                    *x509.CertPool
	client                    tls.Certificate
	caFile, certFile, keyFile string
	otherCAFile               string // a CA that signed nothing here
	clientCert, clientKey     string // the client's, as PEM files
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	ca, caKey := makeCert(t, "test CA", nil, nil, true)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(ca)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", ca.Raw)
	srv, srvKey := makeCert(t, "socketcore test server", ca, caKey, false)
	p.certFile = p.write(t, "server.pem", "CERTIFICATE", srv.Raw)
	p.keyFile = p.write(t, "server.key", "EC PRIVATE KEY", marshalKey(t, srvKey))
	cl, clKey := makeCert(t, "a client", ca, caKey, false)
	p.client = tls.Certificate{Certificate: [][]byte{cl.Raw}, PrivateKey: clKey}
	p.clientCert = p.write(t, "client.pem", "CERTIFICATE", cl.Raw)
	p.clientKey = p.write(t, "client.key", "EC PRIVATE KEY", marshalKey(t, clKey))
	other, _ := makeCert(t, "another CA", nil, nil, true)
	p.otherCAFile = p.write(t, "other-ca.pem", "CERTIFICATE", other.Raw)
	return p
}

func makeCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.IPAddresses = nil
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func marshalKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveTLS runs a native server through tf.listen on addr; it returns the
// base URL.
func serveTLS(t *testing.T, tf *tlsFlags, addr string) string {
	t.Helper()
	srv := native.NewServer(native.Options{})
	t.Cleanup(func() { srv.Close() })
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	hs, ln, scheme, err := tf.listen(addr, mux)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hs.Close() })
	return scheme + "://" + ln.Addr().String()
}

func httpsClient(tc *tls.Config) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
}

// handshake opens a polling session; it returns the response and body.
func handshake(t *testing.T, c *http.Client, base string) (*http.Response, string, error) {
	t.Helper()
	res, err := c.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b), nil
}

// wssConnect opens a WebSocket session over TLS and joins "/".
func wssConnect(t *testing.T, base string, tc *tls.Config) error {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: tc, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("wss"+strings.TrimPrefix(base, "https")+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, open, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(open), `0{"sid":`) {
		t.Fatalf("wss open packet %q: %v", open, err)
	}
	c.WriteMessage(websocket.TextMessage, []byte("40"))
	if _, reply, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(reply), `40{"sid":`) {
		t.Fatalf("wss connect reply %q: %v", reply, err)
	}
	return nil
}

// --tls-cert/--tls-key serve https polling and wss, with HSTS; a client
// that does not trust the certificate fails its handshake.
func TestTLS(t *testing.T) {
	p := newTestPKI(t)
	tf := &tlsFlags{cert: p.certFile, key: p.keyFile, hsts: 24 * time.Hour}
	base := serveTLS(t, tf, "127.0.0.1:0")
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("scheme of %s", base)
	}
	trusting := &tls.Config{RootCAs: p.caPool}
	res, body, err := handshake(t, httpsClient(trusting), base)
	if err != nil || res.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":`) {
		t.Fatalf("https polling handshake: %v %q", err, body)
	}
	if h := res.Header.Get("Strict-Transport-Security"); h != "max-age=86400" {
		t.Fatalf("HSTS %q", h)
	}
	if err := wssConnect(t, base, trusting); err != nil {
		t.Fatalf("wss: %v", err)
	}
	if _, _, err := handshake(t, httpsClient(&tls.Config{}), base); err == nil {
		t.Fatal("a client that does not trust the certificate connected")
	}
}

// --tls-client-ca requires a client certificate its CA signed: one without
// a certificate (or with another CA's) is refused at the TLS handshake,
// over polling and WebSocket alike.
func TestMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	base := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile, clientCA: p.caFile}, "127.0.0.1:0")
	withCert := &tls.Config{RootCAs: p.caPool, Certificates: []tls.Certificate{p.client}}
	if res, body, err := handshake(t, httpsClient(withCert), base); err != nil || res.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":`) {
		t.Fatalf("with a client certificate: %v %q", err, body)
	}
	if err := wssConnect(t, base, withCert); err != nil {
		t.Fatalf("wss with a client certificate: %v", err)
	}
	without := &tls.Config{RootCAs: p.caPool}
	if _, _, err := handshake(t, httpsClient(without), base); err == nil {
		t.Fatal("polling without a client certificate was served")
	}
	d := websocket.Dialer{TLSClientConfig: without, HandshakeTimeout: 5 * time.Second}
	if c, _, err := d.Dial("wss"+strings.TrimPrefix(base, "https")+"/socket.io/?EIO=4&transport=websocket", nil); err == nil {
		c.Close()
		t.Fatal("wss without a client certificate was served")
	}

	// a client certificate of another CA is refused too
	strangerBase := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile, clientCA: p.otherCAFile}, "127.0.0.1:0")
	if _, _, err := handshake(t, httpsClient(withCert), strangerBase); err == nil {
		t.Fatal("a client certificate of another CA was accepted")
	}
}

// --addr [::1]:PORT listens on IPv6 (plain and TLS).
func TestIPv6(t *testing.T) {
	base := serveTLS(t, &tlsFlags{}, "[::1]:0")
	if !strings.HasPrefix(base, "http://[::1]:") {
		t.Fatalf("base %s", base)
	}
	if res, body, err := handshake(t, httpsClient(nil), base); err != nil || res.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid":`) {
		t.Fatalf("IPv6 handshake: %v %q", err, body)
	}
	if res, _, _ := handshake(t, httpsClient(nil), base); res.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over plain http")
	}
	p := newTestPKI(t)
	tbase := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile}, "[::1]:0")
	if res, _, err := handshake(t, httpsClient(&tls.Config{RootCAs: p.caPool}), tbase); err != nil || res.StatusCode != 200 {
		t.Fatalf("IPv6 over TLS: %v", err)
	}
}

// Misconfigurations are refused before serving.
func TestTLSFlagErrors(t *testing.T) {
	p := newTestPKI(t)
	for _, c := range []struct {
		name string
		tf   tlsFlags
		want string
	}{
		{"cert without key", tlsFlags{cert: p.certFile}, "go together"},
		{"client CA without TLS", tlsFlags{clientCA: p.caFile}, "needs --tls-cert"},
		{"missing file", tlsFlags{cert: p.certFile, key: filepath.Join(p.dir, "none")}, "--tls-cert/--tls-key"},
		{"no PEM in the CA file", tlsFlags{cert: p.certFile, key: p.keyFile, clientCA: p.keyFile}, "no PEM certificate"},
	} {
		if _, err := c.tf.config(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// The official client (Node's socket.io-client) over TLS: wss only, and
// https polling upgraded to wss, trusting the test's CA; under mTLS with
// its client certificate, and refused without one.
func TestOfficialClientOverTLS(t *testing.T) {
	root := nodetest.RepoRoot(t)
	node := nodetest.Node(t, root, "socket.io-client")
	script := filepath.Join(root, "hosts/native/cmd/socketcore/testdata/tlsclient.mjs")
	p := newTestPKI(t)
	run := func(base string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, node, append([]string{script, base}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	base := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile}, "127.0.0.1:0")
	if got := run(base, p.caFile, "websocket"); got != "connected websocket" {
		t.Fatalf("wss: %q", got)
	}
	if got := run(base, p.caFile, "upgrade"); got != "connected upgraded" {
		t.Fatalf("https polling then wss: %q", got)
	}
	mtls := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile, clientCA: p.caFile}, "127.0.0.1:0")
	if got := run(mtls, p.caFile, "upgrade", p.clientCert, p.clientKey); got != "connected upgraded" {
		t.Fatalf("mTLS with the client certificate: %q", got)
	}
	if got := run(mtls, p.caFile, "websocket"); !strings.HasPrefix(got, "connect_error") {
		t.Fatalf("mTLS without a client certificate: %q", got)
	}
}

// The HTTP server's own errors go to the command's slog logger: a refused
// TLS handshake (here: no client certificate under mTLS) at debug level,
// not to the standard logger's stderr.
func TestTLSErrorsToSlog(t *testing.T) {
	p := newTestPKI(t)
	var logs proctest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile, clientCA: p.caFile, log: log}, "127.0.0.1:0")
	if _, _, err := handshake(t, httpsClient(&tls.Config{RootCAs: p.caPool}), base); err == nil {
		t.Fatal("polling without a client certificate was served")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "TLS handshake error") {
		if time.Now().After(deadline) {
			t.Fatalf("no TLS handshake error in the logs: %q", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := logs.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, `msg="socketcore: http server"`) {
		t.Fatalf("handshake error logged as %q", got)
	}
}

// A renewed certificate (the files replaced) is served without a restart;
// one that does not load leaves the previous one in use.
func TestTLSReload(t *testing.T) {
	p := newTestPKI(t)
	var logs proctest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	base := serveTLS(t, &tlsFlags{cert: p.certFile, key: p.keyFile, log: log, reloadEvery: time.Nanosecond}, "127.0.0.1:0")
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	first := served()
	renewed := newTestPKI(t) // another pair, as a renewal brings
	later := time.Now().Add(time.Minute)
	for _, f := range [][2]string{{renewed.certFile, p.certFile}, {renewed.keyFile, p.keyFile}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(f[1], later, later) // a modification time that surely differs
	}
	second := served()
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the renewed certificate is not served")
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Fatalf("logs: %q", logs.String())
	}
	// a half-written renewal: the previous pair stays
	if err := os.WriteFile(p.certFile, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	later = later.Add(time.Minute)
	os.Chtimes(p.certFile, later, later)
	if got := served(); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Fatal("a certificate that does not load replaced the one in use")
	}
	if !strings.Contains(logs.String(), "does not load") {
		t.Fatalf("logs: %q", logs.String())
	}
}
