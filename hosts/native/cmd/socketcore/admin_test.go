package main

import (
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketcore/socketcore/hosts/native"
)

func adminFlagsOf(t *testing.T, args ...string) *adminFlags {
	t.Helper()
	var a adminFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	a.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &a
}

// --admin needs a password hash (or --admin-no-auth), a valid bcrypt one;
// it adds the Admin to the observers and opens CORS to the UI's origin,
// with credentials, while the server's own pages still pass; the UI's page
// is served at /admin/ with --admin-ui-dir.
func TestAdminFlags(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var o native.Options
	if err := adminFlagsOf(t).apply(&o, log); err != nil || o.CORS != nil || len(o.Observers) != 0 {
		t.Fatalf("without --admin: %v %+v", err, o)
	}
	if err := adminFlagsOf(t, "--admin").apply(&o, log); err == nil || !strings.Contains(err.Error(), "--admin-password-hash") {
		t.Fatalf("no hash: %v", err)
	}
	if err := adminFlagsOf(t, "--admin", "--admin-password-hash", "changeit").apply(&o, log); err == nil || !strings.Contains(err.Error(), "bcrypt") {
		t.Fatalf("a clear password: %v", err)
	}
	if err := adminFlagsOf(t, "--admin", "--admin-no-auth", "--admin-mode", "staging").apply(&o, log); err == nil {
		t.Fatal("an unknown mode accepted")
	}

	hash, _ := bcrypt.GenerateFromPassword([]byte("changeit"), bcrypt.MinCost)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<title>Socket.IO Admin UI</title>"), 0o644)
	a := adminFlagsOf(t, "--admin", "--admin-password-hash", string(hash), "--admin-ui-dir", dir)
	o = native.Options{}
	if err := a.apply(&o, log); err != nil {
		t.Fatal(err)
	}
	if len(o.Observers) != 1 || o.CORS == nil || !o.CORS.Credentials || len(o.CORS.Origins) != 1 || o.CORS.Origins[0] != "https://admin.socket.io" {
		t.Fatalf("options %+v, CORS %+v", o, o.CORS)
	}
	srv, err := native.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	stop, err := a.start(log, srv, mux)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	hs := httptest.NewServer(mux)
	defer func() { hs.CloseClientConnections(); hs.Close() }()

	handshake := func(origin string) *http.Response {
		req, _ := http.NewRequest("GET", hs.URL+"/socket.io/?EIO=4&transport=polling", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := handshake("https://admin.socket.io"); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://admin.socket.io" ||
		res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("the UI's origin: %d %v", res.StatusCode, res.Header)
	}
	if res := handshake(hs.URL); res.StatusCode != 200 {
		t.Fatalf("the server's own origin: %d", res.StatusCode)
	}
	if res := handshake("https://evil.example"); res.StatusCode != 403 {
		t.Fatalf("another origin: %d", res.StatusCode)
	}
	if res := handshake(""); res.StatusCode != 200 {
		t.Fatalf("no origin: %d", res.StatusCode)
	}
	res, err := http.Get(hs.URL + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/admin/: %d", res.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()

	// a policy of the user's own: the UI's origin is added to it
	o = native.Options{CORS: &native.CORS{Origins: []string{"https://app.example"}}}
	if err := adminFlagsOf(t, "--admin", "--admin-no-auth").apply(&o, log); err != nil {
		t.Fatal(err)
	}
	if !o.CORS.Credentials || strings.Join(o.CORS.Origins, ",") != "https://app.example,https://admin.socket.io" {
		t.Fatalf("CORS %+v", o.CORS)
	}
}
