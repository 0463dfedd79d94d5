package main

// TLS for `serve`: with --tls-cert and --tls-key the command serves https
// and wss itself (no proxy needed), with optional client-certificate
// verification (--tls-client-ca: mTLS, for private networks) and HSTS on
// every answer (--hsts-max-age). Without them it serves plain http, as
// before.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type tlsFlags struct {
	cert, key, clientCA string
	hsts                time.Duration
	// log gets the HTTP server's own errors (failed TLS handshakes at
	// debug level: scanners and clients without a certificate under mTLS
	// would flood warnings); nil: the standard logger.
	log *slog.Logger
	// reloadEvery is how often a handshake looks whether the certificate
	// files changed (0: every minute; tests make it shorter).
	reloadEvery time.Duration
}

// certFiles serves the certificate of --tls-cert/--tls-key and takes a new
// one when either file changes (a renewal by certbot, a rotated secret
// volume), without a restart: a handshake looks at the files'
// modification times at most every `every`; a pair that does not load
// (half written, mismatched) leaves the previous one in use, and is tried
// again at the next look.
type certFiles struct {
	cert, key string
	log       *slog.Logger
	every     time.Duration

	mu              sync.Mutex
	pair            *tls.Certificate
	certMod, keyMod time.Time
	checked         time.Time
}

// load reads the pair and remembers the files' modification times.
func (c *certFiles) load() error {
	cs, err1 := os.Stat(c.cert)
	ks, err2 := os.Stat(c.key)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return err
	}
	c.pair, c.certMod, c.keyMod = &pair, cs.ModTime(), ks.ModTime()
	return nil
}

// get is the tls.Config's GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= c.every {
		c.checked = now
		cs, err1 := os.Stat(c.cert)
		ks, err2 := os.Stat(c.key)
		if err1 == nil && err2 == nil && (!cs.ModTime().Equal(c.certMod) || !ks.ModTime().Equal(c.keyMod)) {
			if err := c.load(); err != nil {
				if c.log != nil {
					c.log.Warn("socketcore: the TLS certificate changed but does not load; serving the previous one", "cert", c.cert, "err", err)
				}
			} else if c.log != nil {
				c.log.Info("socketcore: TLS certificate reloaded", "cert", c.cert)
			}
		}
	}
	return c.pair, nil
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "PEM certificate (chain) to serve https and wss with; needs --tls-key (empty: plain http)")
	fs.StringVar(&f.key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.clientCA, "tls-client-ca", "", "PEM CA certificates: require and verify client certificates signed by them (mTLS; empty: no client certificates)")
	fs.DurationVar(&f.hsts, "hsts-max-age", 180*24*time.Hour, "with TLS, the Strict-Transport-Security max-age sent on every answer (0: no HSTS header)")
}

// on reports whether TLS is configured.
func (f *tlsFlags) on() bool { return f.cert != "" || f.key != "" }

// config loads the certificates: nil without TLS.
func (f *tlsFlags) config() (*tls.Config, error) {
	if !f.on() {
		if f.clientCA != "" {
			return nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	if f.cert == "" || f.key == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	files := &certFiles{cert: f.cert, key: f.key, log: f.log, every: f.reloadEvery}
	if files.every == 0 {
		files.every = time.Minute
	}
	if err := files.load(); err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{GetCertificate: files.get, MinVersion: tls.VersionTLS12}
	if f.clientCA != "" {
		pem, err := os.ReadFile(f.clientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca: no PEM certificate in %s", f.clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// handler adds the HSTS header when TLS is on.
func (f *tlsFlags) handler(h http.Handler) http.Handler {
	if !f.on() || f.hsts <= 0 {
		return h
	}
	v := "max-age=" + strconv.FormatInt(int64(f.hsts/time.Second), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", v)
		h.ServeHTTP(w, r)
	})
}

// listen serves h on addr (IPv4 or IPv6: "[::1]:3000"), over TLS when
// configured; scheme is "https" or "http".
func (f *tlsFlags) listen(addr string, h http.Handler) (hs *http.Server, ln net.Listener, scheme string, err error) {
	cfg, err := f.config()
	if err != nil {
		return nil, nil, "", err
	}
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, "", err
	}
	hs = &http.Server{
		Handler:           f.handler(h),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       120 * time.Second,
	}
	if f.log != nil {
		hs.ErrorLog = log.New(serverErrors{f.log}, "", 0)
	}
	if cfg == nil {
		go hs.Serve(raw)
		return hs, raw, "http", nil
	}
	hs.TLSConfig = cfg
	// WebSockets are upgraded over HTTP/1.1 (RFC 8441 is not spoken)
	hs.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	ln = tls.NewListener(raw, cfg)
	go hs.Serve(ln)
	return hs, ln, "https", nil
}

// serverErrors carries net/http's error log lines to slog: failed TLS
// handshakes at debug level, anything else as a warning.
type serverErrors struct{ log *slog.Logger }

func (w serverErrors) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.Contains(msg, "TLS handshake error") {
		level = slog.LevelDebug
	}
	w.log.Log(context.Background(), level, "socketcore: http server", "error", msg)
	return len(p), nil
}
