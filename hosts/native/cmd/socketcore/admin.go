package main

// The official Socket.IO Admin UI (@socket.io/admin-ui) for `serve`:
// --admin instruments the server (hosts/native/admin) on the namespace
// --admin-namespace, with basic auth (--admin-user and a bcrypt
// --admin-password-hash, as instrument()'s auth option) unless
// --admin-no-auth. The hosted UI, https://admin.socket.io, is another
// origin that connects with credentials (withCredentials), so its origin
// (--admin-ui-origin) is added to the CORS origins with credentials on.
// --admin-ui-dir serves the UI's own files (the npm package's ui/dist) at
// /admin/ instead, same origin.
//
// The server's own pages (the demo, --admin-ui-dir) are same-origin, which
// the Socket.IO endpoint accepts whatever the CORS policy (native.CORS).

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/admin"
)

type adminFlags struct {
	enabled   bool
	user      string
	hash      string
	noAuth    bool
	mode      string
	readonly  bool
	namespace string
	serverID  string
	uiOrigin  string
	uiDir     string

	adm *admin.Admin
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.enabled, "admin", false, "serve the Socket.IO Admin UI's protocol (@socket.io/admin-ui, https://admin.socket.io) on --admin-namespace")
	fs.StringVar(&a.user, "admin-user", "admin", "the Admin UI's username")
	fs.StringVar(&a.hash, "admin-password-hash", "", "bcrypt hash of the Admin UI's password ($2a$/$2b$/$2y$; e.g. htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':\\n'); required with --admin unless --admin-no-auth")
	fs.BoolVar(&a.noAuth, "admin-no-auth", false, "let the Admin UI in without credentials (instrument()'s auth: false): only behind a trusted network")
	fs.StringVar(&a.mode, "admin-mode", "development", "development (every socket, room and event) or production (aggregated statistics only)")
	fs.BoolVar(&a.readonly, "admin-readonly", false, "the Admin UI shows the server but cannot make sockets join, leave or disconnect")
	fs.StringVar(&a.namespace, "admin-namespace", "/admin", "the Admin UI's namespace (namespaceName)")
	fs.StringVar(&a.serverID, "admin-server-id", "", "this server's name in the Admin UI (serverId; empty: the host name)")
	fs.StringVar(&a.uiOrigin, "admin-ui-origin", "https://admin.socket.io", "origins of the Admin UI's page, comma-separated: added to the CORS origins, with credentials (empty: none)")
	fs.StringVar(&a.uiDir, "admin-ui-dir", "", "serve the Admin UI's page from this directory at /admin/ (node_modules/@socket.io/admin-ui/ui/dist; empty: none)")
}

// apply makes the Admin and adds it to the server's observers (before
// Start: so it sees every socket and room), and opens CORS to the UI.
func (a *adminFlags) apply(o *native.Options, log *slog.Logger) error {
	if !a.enabled {
		return nil
	}
	opts := admin.Options{Namespace: a.namespace, NoAuth: a.noAuth, Readonly: a.readonly,
		ServerID: a.serverID, Mode: admin.Mode(a.mode), Logger: log}
	if !a.noAuth {
		if a.hash == "" {
			return fmt.Errorf("--admin: set --admin-password-hash (a bcrypt hash of the password), or --admin-no-auth")
		}
		opts.Auth = &admin.BasicAuth{Username: a.user, PasswordHash: a.hash}
	}
	adm, err := admin.New(opts)
	if err != nil {
		return fmt.Errorf("--admin: %w", err)
	}
	a.adm = adm
	o.Observers = append(o.Observers, adm)
	if origins := splitList(a.uiOrigin); len(origins) > 0 {
		if o.CORS == nil {
			o.CORS = &native.CORS{}
			log.Info("socketcore: --admin-ui-origin sets the CORS policy: browser pages of other origins than it and this server's own are refused (list them in --cors-origin)", "origins", origins)
		}
		for _, org := range origins {
			if !slices.Contains(o.CORS.Origins, org) && !slices.Contains(o.CORS.Origins, "*") {
				o.CORS.Origins = append(o.CORS.Origins, org)
			}
		}
		o.CORS.Credentials = true // the UI connects withCredentials (cookie-based sticky sessions)
		if slices.Contains(o.CORS.Origins, "*") {
			log.Warn("socketcore: --cors-origin '*' with the Admin UI's credentials lets any site make credentialed requests to this server; list the origins instead")
		}
	}
	return nil
}

// start attaches the Admin to the running server and mounts the UI's page;
// the function it returns stops the Admin.
func (a *adminFlags) start(log *slog.Logger, srv *native.Server, mux *http.ServeMux) (func(), error) {
	if a.adm == nil {
		return func() {}, nil
	}
	if err := a.adm.Attach(srv); err != nil {
		return nil, err
	}
	stop := func() { a.adm.Close() }
	o := a.adm.Options()
	if a.uiDir != "" {
		h, err := admin.UIHandler(a.uiDir)
		if err != nil {
			stop()
			return nil, fmt.Errorf("--admin-ui-dir: %w", err)
		}
		mux.Handle("/admin/", http.StripPrefix("/admin/", h))
	}
	log.Info("socketcore: Admin UI instrumentation on", "namespace", o.Namespace, "mode", string(o.Mode),
		"readonly", o.Readonly, "auth", !o.NoAuth, "ui-origin", a.uiOrigin, "ui-dir", a.uiDir)
	return stop, nil
}
