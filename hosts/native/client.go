package native

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/socketcore/socketcore/core/client"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// The Go client: the client role of the core (core/client) driven like the
// server (clientDriver), with socket.io-client's API. A Manager is one
// Engine.IO connection; its ClientSockets are the namespaces multiplexed on
// it. There is no process-wide cache of managers (io()'s multiplexing by
// URL): Dial makes a new Manager every time (forceNew), and
// Manager.Socket multiplexes explicitly.

// ClientOptions configures a Manager (and, through SocketOptions, the socket
// Dial returns). Zero values take socket.io-client 4.8's defaults; the JS
// option names are given in parentheses.
type ClientOptions struct {
	SocketOptions

	// Path is the Engine.IO path (path), default "/socket.io/".
	Path string
	// Query is added to every request's query (query), after the URL's own.
	Query url.Values
	// Header is sent with every HTTP request and the WebSocket handshake
	// (extraHeaders).
	Header http.Header
	// Transports in order (transports), default polling then websocket.
	Transports []string
	// NoUpgrade stays on the first transport (upgrade: false).
	NoUpgrade bool
	// RememberUpgrade opens with WebSocket once it worked (rememberUpgrade).
	RememberUpgrade bool
	// TryAllTransports falls back to the next transport when one fails to
	// open (tryAllTransports).
	TryAllTransports bool
	// Timeout bounds each connection attempt's handshake (timeout),
	// default 20s; negative: none.
	Timeout time.Duration

	// NoReconnection disables reconnection (reconnection: false).
	NoReconnection bool
	// ReconnectionAttempts in a row before giving up (reconnectionAttempts);
	// 0 means no limit.
	ReconnectionAttempts int
	// ReconnectionDelay (default 1s), doubling up to ReconnectionDelayMax
	// (default 5s), with RandomizationFactor jitter (default 0.5; negative
	// for none).
	ReconnectionDelay    time.Duration
	ReconnectionDelayMax time.Duration
	RandomizationFactor  float64
	// NoAutoConnect leaves new sockets disconnected until Connect
	// (autoConnect: false).
	NoAutoConnect bool

	// HTTPClient performs the polling requests; default a client of its own
	// whose idle connections are closed with the Manager.
	HTTPClient *http.Client
	// Dialer opens WebSockets; default one with a 45s handshake timeout and
	// the environment's proxy.
	Dialer *websocket.Dialer
	// Seed seeds the reconnection jitter; zero draws it from crypto/rand.
	Seed [32]byte
	// Parser is the Socket.IO parser (parser), which must be the server's:
	// DefaultParser, or MsgpackParser for a server using
	// socket.io-msgpack-parser.
	Parser Parser
}

// SocketOptions configures one namespace socket.
type SocketOptions struct {
	// Auth is the CONNECT payload (auth): any value that marshals to a JSON
	// object (a map, a struct, json.RawMessage).
	Auth any
	// AuthFunc, if set, is called before every connection attempt and its
	// result sent instead of Auth (auth as a function). It runs on a
	// goroutine of its own and may block.
	AuthFunc func() any
	// AckTimeout is the default acknowledgement timeout (ackTimeout).
	AckTimeout time.Duration
	// Retries makes emits at-least-once (retries): see EmitWithAck.
	Retries int
}

// ErrSocketDisconnected is the error of an acknowledgement whose socket
// disconnected first (the JS client's text).
var ErrSocketDisconnected = errors.New("socket has been disconnected")

// Manager is one connection to a Socket.IO server, shared by the sockets of
// several namespaces (socket.io-client's Manager). Safe for concurrent use.
type Manager struct {
	opts ClientOptions
	core *client.Manager
	d    *clientDriver
	ownc *http.Client // the HTTP client Manager made (idle connections closed with it)

	createMu sync.Mutex // serializes socket creation
	mu       sync.Mutex
	sockets  map[string]*ClientSocket
	closed   bool
	events   emitter
	mbox     clientQueue    // the Manager's own events
	lis      listeners      // every listener queue of the Manager
	wg       sync.WaitGroup // auth goroutines

	// owned by the driver goroutine
	byID    map[wire.SocketID]*ClientSocket
	waiters map[wire.AckRef]chan ackResult
}

// NewManager returns a Manager for the server at rawURL (http, https, ws or
// wss; the path is ignored: namespaces are chosen with Socket). It does not
// connect until a socket does.
func NewManager(rawURL string, opts ClientOptions) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var secure bool
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return nil, errors.New("socketcore: URL scheme must be http, https, ws or wss")
	}
	if u.Host == "" {
		return nil, errors.New("socketcore: URL has no host")
	}
	q := u.Query()
	for k, vs := range opts.Query {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	if opts.Seed == ([32]byte{}) {
		rand.Read(opts.Seed[:])
	}
	cfg := client.Config{
		Secure:               secure,
		Host:                 u.Host,
		Path:                 opts.Path,
		Query:                q.Encode(),
		Transports:           opts.Transports,
		NoUpgrade:            opts.NoUpgrade,
		RememberUpgrade:      opts.RememberUpgrade,
		TryAllTransports:     opts.TryAllTransports,
		NoReconnection:       opts.NoReconnection,
		ReconnectionAttempts: opts.ReconnectionAttempts,
		ReconnectionDelay:    opts.ReconnectionDelay,
		ReconnectionDelayMax: opts.ReconnectionDelayMax,
		RandomizationFactor:  opts.RandomizationFactor,
		Timeout:              opts.Timeout,
		Seed:                 opts.Seed,
		Parser:               opts.Parser,
	}
	cm, err := client.New(cfg)
	if err != nil {
		return nil, errors.New("socketcore: invalid client options (transports must be \"polling\" or \"websocket\")")
	}
	m := &Manager{
		opts:    opts,
		core:    cm,
		sockets: make(map[string]*ClientSocket),
		byID:    make(map[wire.SocketID]*ClientSocket),
		waiters: make(map[wire.AckRef]chan ackResult),
	}
	m.mbox.l = &m.lis
	m.events.manager = true
	httpc := opts.HTTPClient
	if httpc == nil {
		m.ownc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		httpc = m.ownc
	}
	dialer := opts.Dialer
	if dialer == nil {
		dialer = &websocket.Dialer{HandshakeTimeout: 45 * time.Second, Proxy: http.ProxyFromEnvironment}
	}
	m.d = newClientDriver(cm, httpc, dialer, opts.Header.Clone(), m.notify)
	return m, nil
}

// Dial connects to the namespace named by rawURL's path ("/" when empty)
// on a new Manager, like io(url, opts) with forceNew. It returns at once:
// the socket connects in the background (unless NoAutoConnect), reporting
// "connect" or "connect_error", and reconnects as configured.
func Dial(rawURL string, opts ClientOptions) (*ClientSocket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s := m.Socket(u.Path, opts.SocketOptions)
	s.owner = true
	return s, nil
}

// DialContext is Dial that waits until the socket is connected. It fails
// with the server's refusal (a *ConnectError), when reconnection gave up
// (or is disabled and the first attempt failed), or when ctx ends; then
// the Manager is closed.
func DialContext(ctx context.Context, rawURL string, opts ClientOptions) (*ClientSocket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	nsp := normalizeNsp(u.Path)
	res := make(chan error, 1)
	s := m.socket(nsp, opts.SocketOptions)
	s.owner = true
	s.mu.Lock()
	s.dialWait = res
	s.mu.Unlock()
	if err := s.Connect(); err != nil {
		m.Close()
		return nil, err
	}
	select {
	case err = <-res:
	case <-ctx.Done():
		err = ctx.Err()
	case <-m.d.done:
		err = ErrClosed
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return s, nil
}

func normalizeNsp(nsp string) string {
	if nsp == "" {
		return "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		return "/" + nsp
	}
	return nsp
}

// Socket returns the socket of namespace nsp, creating it (with opts) if
// needed; it connects it unless NoAutoConnect (manager.socket(nsp, opts)).
// An existing socket keeps its options and is connected again if it was
// disconnected by the application.
func (m *Manager) Socket(nsp string, opts SocketOptions) *ClientSocket {
	s := m.socket(normalizeNsp(nsp), opts)
	if !m.opts.NoAutoConnect {
		s.Connect()
	}
	return s
}

// socket returns the socket of nsp, registering a new one with the machine
// first. The driver is never called with m.mu held (its notifications take
// it); createMu makes concurrent callers wait for one registration.
func (m *Manager) socket(nsp string, opts SocketOptions) *ClientSocket {
	m.createMu.Lock()
	defer m.createMu.Unlock()
	m.mu.Lock()
	s := m.sockets[nsp]
	m.mu.Unlock()
	if s != nil {
		return s
	}
	s = &ClientSocket{mgr: m, nsp: nsp, opts: opts}
	s.mbox.l = &m.lis
	copts := client.SocketOptions{AckTimeout: opts.AckTimeout, Retries: opts.Retries, DynamicAuth: opts.AuthFunc != nil}
	var err error
	if opts.Auth != nil && opts.AuthFunc == nil {
		copts.Auth, err = marshal(opts.Auth)
	}
	if err == nil && !m.d.call(func(clock.Instant) { err = m.core.AddSocket(nsp, copts) }) {
		s.addErr = ErrClosed
	} else if err != nil {
		s.addErr = errors.New("socketcore: namespace " + nsp + ": " + err.Error())
	}
	m.mu.Lock()
	m.sockets[nsp] = s
	m.mu.Unlock()
	return s
}

// Open opens the connection if it is not open or opening
// (manager.open()); sockets connect on their own, so it is rarely needed.
func (m *Manager) Open() error {
	if !m.d.call(func(now clock.Instant) { m.core.Open(now) }) {
		return ErrClosed
	}
	return nil
}

// Close disconnects every socket ("forced close"), closes the connection
// (sending the close packet, waiting at most a second for it to go), and
// stops the Manager's goroutines once running listeners returned. It may
// be called from a listener. A closed Manager cannot be used again.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	if m.d.call(func(now clock.Instant) { m.core.Close(now) }) {
		m.d.waitIdle(time.Second)
	}
	m.d.stop()
	m.wg.Wait()
	m.lis.wait()
	if m.ownc != nil {
		m.ownc.CloseIdleConnections()
	}
	return nil
}

// On registers a listener for a Manager event and returns a function that
// removes it. Events and listener types: "open" func(); "close"
// func(reason string); "error" func(error); "reconnect_attempt"
// func(attempt int); "reconnect" func(attempt int); "reconnect_error"
// func(error); "reconnect_failed" func(); "upgrade" func(transport string).
// Listeners run in order on a goroutine of the Manager, never concurrently.
func (m *Manager) On(event string, fn any) (off func()) { return m.events.on(event, fn, false) }

// Once is On for the next occurrence only.
func (m *Manager) Once(event string, fn any) (off func()) { return m.events.on(event, fn, true) }

// Off removes every listener of event.
func (m *Manager) Off(event string) { m.events.off(event) }

// Reconnecting reports whether the Manager is waiting for or running a
// reconnection attempt.
func (m *Manager) Reconnecting() bool {
	var r bool
	m.d.call(func(clock.Instant) { r = m.core.Reconnecting() })
	return r
}

// Stats returns the protocol machine's counts.
func (m *Manager) Stats() client.Stats {
	var st client.Stats
	m.d.call(func(clock.Instant) { st = m.core.Stats() })
	return st
}

// ---- notifications from the machine (on the driver goroutine) ------------

func (m *Manager) socketByNsp(nsp string) *ClientSocket {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sockets[nsp]
}

func (m *Manager) notify(now clock.Instant, o wire.Output) {
	switch o := o.(type) {
	case wire.EngineOpened:
		m.managerEvent("open")
	case wire.EngineUpgraded:
		m.managerEvent("upgrade", o.Transport)
	case wire.EngineError:
		m.managerEvent("error", transportError(o.Message, o.Description))
	case wire.EngineClosed:
		m.managerEvent("close", o.Reason)
	case wire.ReconnectAttempt:
		m.managerEvent("reconnect_attempt", o.Attempt)
	case wire.Reconnected:
		m.managerEvent("reconnect", o.Attempt)
	case wire.ReconnectError:
		m.managerEvent("reconnect_error", errors.New(o.Message))
	case wire.ReconnectFailed:
		m.managerEvent("reconnect_failed")
		m.mu.Lock()
		for _, s := range m.sockets {
			s.dialDone(errors.New("socketcore: reconnection failed"))
		}
		m.mu.Unlock()
	case wire.AuthRequested:
		if s := m.socketByNsp(o.Nsp); s != nil && s.opts.AuthFunc != nil {
			m.evalAuth(s)
		}
	case wire.Connected:
		if s := m.socketByNsp(o.Nsp); s != nil {
			m.byID[o.Socket] = s
			s.mu.Lock()
			s.recovered = o.Recovered
			s.mu.Unlock()
			s.setState(string(o.Socket), true)
			s.dialDone(nil)
			s.lifecycle("connect")
		}
	case wire.ConnectError:
		if s := m.socketByNsp(o.Nsp); s != nil {
			ce := &ConnectError{Message: o.Message}
			if o.Data != nil {
				ce.Data = json.RawMessage(o.Data)
			}
			if o.Server || m.opts.NoReconnection {
				s.dialDone(ce)
			}
			s.lifecycle("connect_error", error(ce))
		}
	case wire.SocketDisconnected:
		if s := m.socketByNsp(o.Nsp); s != nil {
			delete(m.byID, o.Socket)
			s.setState("", false)
			s.lifecycle("disconnect", o.Reason, o.Description)
		}
	case wire.EventReceived:
		if s := m.byID[o.Socket]; s != nil {
			s.deliver(o)
		}
	case wire.AckResolved:
		if ch := m.waiters[o.Ref]; ch != nil {
			delete(m.waiters, o.Ref)
			var r ackResult
			switch o.Err {
			case wire.AckTimedOut:
				r.err = ErrAckTimeout
			case wire.AckDisconnected:
				r.err = ErrSocketDisconnected
			default:
				r.args.Raw, r.err = splitArgs(o.Args, 0)
				r.args.Attachments = o.Attachments
			}
			ch <- r
		}
	}
}

func transportError(msg, desc string) error {
	if desc != "" && desc != msg {
		return errors.New(msg + " (" + desc + ")")
	}
	return errors.New(msg)
}

func (m *Manager) managerEvent(event string, vals ...any) {
	ls := m.events.take(event)
	if len(ls) == 0 {
		return
	}
	m.mbox.post(func() {
		for _, l := range ls {
			safely(func() { l.life(vals) })
		}
	})
}

// evalAuth runs the socket's AuthFunc off the driver and answers the machine.
func (m *Manager) evalAuth(s *ClientSocket) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		var b []byte
		safely(func() {
			if v := s.opts.AuthFunc(); v != nil {
				b, _ = marshal(v)
			}
		})
		m.d.post(func(now clock.Instant) { m.core.SetAuth(now, s.nsp, b) })
	}()
}
