package admin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/admin"
)

// A server the Admin UI can watch: the Admin observes the server from its
// start, then serves the admin namespace. The UI (https://admin.socket.io,
// or the npm package's ui/dist) connects to the server's URL with the
// username and the password; here a Go client stands in for it.
func Example() {
	adm, err := admin.New(admin.Options{
		Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash}, // bcrypt, as instrument()'s
	})
	if err != nil {
		panic(err)
	}
	srv, err := native.Start(native.Options{
		Observers: []native.Observer{adm},
		// the hosted UI is another origin, and connects with credentials
		CORS: &native.CORS{Origins: []string{"https://admin.socket.io"}, Credentials: true},
	})
	if err != nil {
		panic(err)
	}
	if err := adm.Attach(srv); err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		adm.Close()
		srv.Close()
		http.DefaultClient.CloseIdleConnections()
	}()

	ui, err := native.Dial(hs.URL+"/admin", native.ClientOptions{
		SocketOptions: native.SocketOptions{Auth: map[string]any{"username": "admin", "password": "changeit"}},
		NoAutoConnect: true,
	})
	if err != nil {
		panic(err)
	}
	defer ui.Close()
	got := make(chan string, 1)
	ui.On("config", func(cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}) {
		got <- fmt.Sprint(cfg.SupportedFeatures)
	})
	ui.Connect()
	select {
	case features := <-got:
		fmt.Println(features)
	case <-time.After(5 * time.Second):
		fmt.Println("no config")
	}
	// Output:
	// [EMIT JOIN LEAVE DISCONNECT MJOIN MLEAVE MDISCONNECT AGGREGATED_EVENTS ALL_EVENTS]
}
