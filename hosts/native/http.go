package native

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// transport is the HTTP half of a host: it turns requests and WebSocket
// messages into machine inputs and answers with what the driver replies.
// It makes no protocol decision (STYLE.md §4).
type transport struct {
	opts     *Options
	d        *driver
	upgrader websocket.Upgrader
	nextConn atomic.Uint64
	wg       sync.WaitGroup // reader and writer goroutines
	// writeBuffers is shared by every WebSocket's writes (gorilla's
	// WriteBufferPool).
	writeBuffers sync.Pool
	// readBuffers hold the bytes of WebSocket reads while they are parsed
	// (wsread.go): an idle connection holds none.
	readBuffers sync.Pool
	// work hands connections with bytes to read to idle read workers;
	// quit, closed by stop, ends the idle ones (wsread_linux.go).
	work     chan *rawReader
	quit     chan struct{}
	quitOnce sync.Once
	// onRequest, if set, runs on the driver for every request before the
	// machine sees it (the Socket.IO layer keeps handshake data).
	onRequest func(id wire.ConnID, r *http.Request)
	// draining refuses new sessions (Server.Shutdown, drain.go).
	draining atomic.Bool
	// cookie is Options.Cookie serialized (cookie.go); nil: none.
	cookie *cookieHeader
	// deflate is Options.PerMessageDeflate (deflate.go), nil if off;
	// deflateUpgrader answers the requests that offer it acceptably, and
	// inflaters inflate their compressed messages. httpZ compresses
	// polling responses (compress.go), nil if off.
	deflate         *wsDeflate
	deflateUpgrader websocket.Upgrader
	inflaters       inflaters
	httpZ           *httpCompressor
}

func newTransport(opts *Options, d *driver) *transport {
	t := &transport{opts: opts, d: d}
	var err error
	if t.cookie, err = newCookieHeader(opts.Cookie); err != nil {
		opts.Logger.Error("socketcore: the io cookie is not valid; no cookie is sent", "err", err)
	}
	t.readBuffers.New = func() any { b := make([]byte, readBufferSize); return &b }
	t.work, t.quit = make(chan *rawReader), make(chan struct{})
	t.upgrader = websocket.Upgrader{
		// Reads do not use gorilla's buffered reader (wsread.go): the
		// smallest it allows (125 bytes) is allocated and never filled.
		ReadBufferSize:  1,
		WriteBufferSize: 1024,
		// Write buffers are taken from the pool for the length of a write:
		// an idle connection holds none.
		WriteBufferPool: &t.writeBuffers,
		// The Origin is checked before the upgrade, by CORS.
		CheckOrigin:       func(*http.Request) bool { return true },
		EnableCompression: false,
	}
	t.deflate = newWSDeflate(opts.PerMessageDeflate)
	t.deflateUpgrader = t.upgrader
	t.deflateUpgrader.EnableCompression = true // answers with deflateResponse
	t.httpZ = newHTTPCompressor(opts.HTTPCompression)
	return t
}

// stop ends the idle read workers; the reads of connections still open end
// when the connections close.
func (t *transport) stop() { t.quitOnce.Do(func() { close(t.quit) }) }

func isWebSocketRequest(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// writeCORS sets CORS headers; false when the Origin is refused.
func (t *transport) writeCORS(w http.ResponseWriter, r *http.Request) bool {
	c := t.opts.CORS
	if c == nil {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !c.allowed(origin) {
		// a page of this very server (the demo, a self-hosted admin UI)
		// needs no CORS: the browser sends its Origin on POSTs and
		// WebSockets all the same
		return sameOrigin(origin, r)
	}
	h := w.Header()
	if c.allowAll() && !c.Credentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	return true
}

// sameOrigin reports whether origin (scheme://host[:port]) is the
// request's own.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func writeJSONError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b := strconv.AppendQuote([]byte(`{"code":`+strconv.Itoa(code)+`,"message":`), msg)
	w.Write(append(b, '}'))
}

func (t *transport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !t.writeCORS(w, r) {
		t.refuse(w, http.StatusForbidden, 4, "Forbidden", isWebSocketRequest(r)) // metrics.go
		return
	}
	if r.Method == http.MethodOptions && t.opts.CORS != nil && r.Header.Get("Origin") != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if t.opts.CORS.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(t.opts.CORS.MaxAge.Seconds())))
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if t.draining.Load() && r.URL.Query().Get("sid") == "" {
		refuseDraining(w) // drain.go
		ws := isWebSocketRequest(r)
		t.d.post(func(clock.Instant) { t.d.refused(errDraining, connectionErrors[errDraining], ws) })
		return
	}
	isWS := isWebSocketRequest(r)
	if t.opts.AllowRequest != nil && r.URL.Query().Get("sid") == "" {
		if err := t.opts.AllowRequest(r); err != nil {
			t.refuse(w, http.StatusForbidden, 4, err.Error(), isWS) // metrics.go
			return
		}
	}
	in := wire.HTTPRequest{
		Conn:      wire.ConnID(t.nextConn.Add(1)),
		Method:    r.Method,
		Query:     r.URL.RawQuery,
		WebSocket: isWS,
		Binary:    r.Header.Get("Content-Type") == "application/octet-stream",
	}
	if r.Method == http.MethodPost && !isWS {
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(t.opts.MaxHTTPBufferSize)+1))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if len(body) > t.opts.MaxHTTPBufferSize {
			in.TooLarge = true
		} else {
			in.Body = body
		}
	}
	req := &httpReq{reply: make(chan reply, 1)}
	if isWS {
		req.ws = &wsConn{id: in.Conn, wg: &t.wg, writeTTL: t.opts.WriteTimeout, send: sendState{lim: &t.d.lim.send}}
		if t.deflate != nil && acceptDeflate(r.Header) {
			req.ws.deflate = t.deflate // deflate.go
		}
	}
	addr := t.clientAddr(r) // MaxConnectionsPerIP's (limits.go)
	if !t.d.post(func(now clock.Instant) {
		if t.d.failed {
			req.reply <- reply{status: http.StatusServiceUnavailable}
			return
		}
		if addr != "" && !t.d.admitAddr(in.Conn, addr, req) {
			return
		}
		t.d.reqs[in.Conn] = req
		t.d.stats.bytesIn[0] += uint64(len(in.Body))
		if t.onRequest != nil {
			t.onRequest(in.Conn, r)
		}
		t.d.m.Handle(now, in)
	}) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var rep reply
	select {
	case rep = <-req.reply:
	case <-t.d.done: // the server stopped with the task queued
		select {
		case rep = <-req.reply:
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	case <-r.Context().Done():
		// the client went away (e.g. an aborted long-poll)
		accepted := false
		select {
		case rep = <-req.reply:
			accepted = rep.upgrade // the upgrade was accepted just before
		default:
		}
		t.d.post(func(now clock.Instant) {
			if t.d.reqs[in.Conn] != nil {
				delete(t.d.reqs, in.Conn)
				t.d.m.Handle(now, wire.Closed{Conn: in.Conn, Error: true})
			} else if accepted && t.d.ws[in.Conn] == req.ws {
				delete(t.d.ws, in.Conn)
				t.d.m.Handle(now, wire.Closed{Conn: in.Conn, Error: true})
			}
		})
		return
	}
	if rep.upgrade {
		t.serveWebSocket(w, r, req.ws)
		return
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	t.setCookie(w, r, &rep) // the handshake's io cookie (cookie.go)
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.status == http.StatusOK {
		// as Node's polling answers: no cache (nor proxy) keeps a payload
		w.Header().Set("Cache-Control", "no-store")
	}
	if t.httpZ != nil && rep.compress && rep.status == http.StatusOK && r.Method == http.MethodGet {
		var enc string
		if rep.body, enc = t.httpZ.encode(r.Header, rep.body); enc != "" {
			w.Header().Set("Content-Encoding", enc) // compress.go
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	w.Write(rep.body)
}

func (t *transport) serveWebSocket(w http.ResponseWriter, r *http.Request, c *wsConn) {
	up := &t.upgrader
	if c.deflate != nil {
		up = &t.deflateUpgrader // deflate.go
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		t.d.post(func(now clock.Instant) {
			delete(t.d.ws, c.id)
			t.d.m.Handle(now, wire.Closed{Conn: c.id, Error: true})
		})
		return
	}
	// Gorilla's part ends here: frames are read (wsread.go) and written
	// (wsconn.go) on the hijacked connection itself, and its Conn is left to
	// the garbage collector.
	nc := conn.NetConn()
	if !c.attach(nc) {
		return
	}
	// Reads run on goroutines of their own (wsread_linux.go) so the
	// handler's goroutine, whose stack grew while serving HTTP, can end
	// (net/http let go of the hijacked connection).
	t.startReading(c, nc)
}

// end reports the end of the connection's reads to the machine and closes
// the connection.
func (w *wsReader) end(err error) {
	t, c := w.t, w.c
	if w.stopped {
		c.closeNow(-1)
		return
	}
	// Node's ws transport says "transport close" for any close, a dropped
	// TCP connection included, and "transport error" only for what ws
	// reports as an error: an oversized message or a protocol violation,
	// which also get their close code.
	var fe *frameError
	orderly := !errors.As(err, &fe)
	t.d.post(func(now clock.Instant) {
		if t.d.ws[c.id] == c {
			delete(t.d.ws, c.id)
		}
		t.d.connClosed(now, c, !orderly) // a slow consumer's is told apart (limits.go)
	})
	switch {
	case fe != nil:
		c.closeNow(fe.Code)
	case errors.Is(err, errPeerClosed):
		c.closeNow(w.peerCode) // RFC 6455 §5.5.1: echo the peer's code
	default:
		c.closeNow(-1) // the peer is gone
	}
}

// wsReader is the frameSink of one connection: messages go to the machine,
// pings are answered through the connection's writes (wsconn.go).
type wsReader struct {
	t        *transport
	c        *wsConn
	fr       frameReader
	stopped  bool // the driver is gone: stop without telling it
	peerCode int  // the code of the peer's close frame
}

var errStopped = errors.New("native: the server stopped")

func (w *wsReader) feed(p []byte) error {
	if err := w.fr.feed(p, w); err != nil {
		return err
	}
	if w.stopped {
		return errStopped
	}
	return nil
}

func (w *wsReader) message(binary bool, data []byte) {
	if w.stopped {
		return
	}
	id := w.c.id
	if !w.t.d.post(func(now clock.Instant) {
		w.t.d.stats.wsIn(len(data))
		w.t.d.m.Handle(now, wire.Recv{Conn: id, Data: data, Binary: binary})
	}) {
		w.stopped = true
	}
}

func (w *wsReader) ping(payload []byte) { w.c.control(0xa, payload) }

func (w *wsReader) closeFrame(code int, _ string) { w.peerCode = code }
