// Package admin makes a socketcore server visible to the official
// Socket.IO Admin UI (@socket.io/admin-ui, https://admin.socket.io): it
// speaks the protocol of that package's server half, instrument(io, opts),
// on an admin namespace ("/admin") of the server, so the UI lists the
// server's sockets, rooms, clients and events, charts its connections and
// traffic, and makes sockets join, leave and disconnect.
//
//	adm, err := admin.New(admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash}})
//	srv, err := native.Start(native.Options{
//		Observers: []native.Observer{adm}, // from the start: it sees every socket and room
//		CORS: &native.CORS{Origins: []string{"https://admin.socket.io"}, Credentials: true},
//	})
//	err = adm.Attach(srv) // the admin namespace, its auth and its commands
//	defer adm.Close()
//
// What the UI sees is what instrument() sends, event for event: "config"
// (the supported features), "session" (a session id that spares the UI the
// password on reconnection), "all_sockets" (every socket of every
// namespace, on every server of a cluster: FetchSockets), then
// "socket_connected", "socket_updated" (an upgrade to WebSocket),
// "socket_disconnected", "room_joined", "room_left", "event_received" and
// "event_sent" as they happen, and "server_stats" every 2 seconds. In a
// cluster every server is instrumented and broadcasts to the admin
// namespace of the whole cluster, as Node's servers do, so one UI sees
// them all. The commands "join", "leave", "_disconnect" and "emit" act
// through the server's cluster operations (SocketsJoin, SocketsLeave,
// DisconnectSockets, broadcasts), unless Readonly.
//
// It imports hosts/native and golang.org/x/crypto/bcrypt; the protocol
// core knows nothing of it (it only reports rooms: core.Config.RoomEvents,
// which a server with observers turns on).
package admin

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketcore/socketcore/hosts/native"
)

// Mode is instrument()'s mode.
type Mode string

const (
	// Development sends everything: every socket, room and event, as it
	// happens ("ALL_EVENTS"), plus the aggregated statistics.
	Development Mode = "development"
	// Production sends only the aggregated statistics (server_stats with
	// connection and traffic counts): nothing per socket, no work per
	// event.
	Production Mode = "production"
)

// BasicAuth is instrument()'s auth {type: "basic", username, password}:
// the UI's connection form sends the username and the password, checked
// against a bcrypt hash ($2a$, $2b$ or $2y$, as `htpasswd -nbBC 10` or
// bcryptjs's hashSync make).
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// Options configures the instrumentation. Zero values take instrument()'s
// defaults, except authentication, which must be chosen (Auth or NoAuth),
// as the official `auth` option must be given or set to false.
type Options struct {
	// Namespace is the admin namespace, default "/admin" (namespaceName).
	Namespace string
	// Auth checks the UI's credentials; NoAuth lets anyone in (auth: false).
	Auth   *BasicAuth
	NoAuth bool
	// Readonly offers no command: the UI shows the server but cannot make
	// sockets join, leave or disconnect.
	Readonly bool
	// ServerID names this server in the UI's server list (serverId),
	// default the host name; give the servers of one machine distinct ids.
	ServerID string
	// Mode is Development (the default) or Production.
	Mode Mode
	// StatsInterval is how often server_stats goes out, default 2s.
	StatsInterval time.Duration
	// SessionDuration is how long a session id the UI got stays valid,
	// default 24h (the official RedisStore's; its InMemoryStore keeps
	// them forever). At most MaxSessions are kept, the oldest dropped.
	SessionDuration time.Duration
	// Logger gets the instrumentation's warnings; nil means slog.Default().
	Logger *slog.Logger
}

// MaxSessions bounds the session ids an Admin keeps.
const MaxSessions = 10_000

// maxQueue bounds the events waiting for the Admin's goroutine. Past it
// they are dropped and the UI gets a fresh "all_sockets" instead, once the
// goroutine caught up (the state it shows stays right; the events list
// misses some).
const maxQueue = 8192

func (o *Options) init() error {
	if o.Namespace == "" {
		o.Namespace = "/admin"
	}
	if !strings.HasPrefix(o.Namespace, "/") {
		o.Namespace = "/" + o.Namespace
	}
	switch o.Mode {
	case "":
		o.Mode = Development
	case Development, Production:
	default:
		return errors.New(`admin: Mode must be "development" or "production"`)
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 2 * time.Second
	}
	if o.SessionDuration <= 0 {
		o.SessionDuration = 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ServerID == "" {
		o.ServerID, _ = os.Hostname()
	}
	switch {
	case o.Auth == nil && !o.NoAuth:
		return errors.New("admin: the Auth option must be specified, or NoAuth set")
	case o.Auth != nil && o.NoAuth:
		return errors.New("admin: Auth and NoAuth both set")
	case o.Auth != nil:
		if _, err := bcrypt.Cost([]byte(o.Auth.PasswordHash)); err != nil {
			return errors.New("admin: the password field must be a valid bcrypt hash")
		}
	}
	return nil
}

// Admin instruments one server. It is a native.Observer: put it in
// native.Options.Observers, then Attach it to the server.
type Admin struct {
	opts     Options
	start    time.Time
	features []string
	hostname string

	// set by Attach, read by the goroutine it starts
	srv  *native.Server
	nsp  *native.Namespace // the admin namespace
	root *native.Namespace // "/"
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	mu       sync.Mutex // guards the state below, shared with Observe
	closed   bool
	attached bool
	observed bool    // Observe was called: the Admin is one of the server's observers
	track    tracker // what the server's sockets are (track.go)
	queue    []item  // what the UI must be told, in order
	raw      rawBuffer

	sessions sessionStore

	// the Admin's goroutine's (stats.go)
	last      traffic
	statsSent bool
}

// New checks the options and returns an Admin, to be put in the server's
// Options.Observers and attached to it once it runs.
func New(opts Options) (*Admin, error) {
	if err := opts.init(); err != nil {
		return nil, err
	}
	a := &Admin{opts: opts, start: time.Now(), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	a.hostname, _ = os.Hostname()
	a.track.init()
	a.sessions.init(opts.SessionDuration)
	if !opts.Readonly {
		a.features = []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"}
	}
	a.features = append(a.features, "AGGREGATED_EVENTS")
	if opts.Mode == Development {
		a.features = append(a.features, "ALL_EVENTS")
	}
	return a, nil
}

// Options returns the options in effect (defaults applied).
func (a *Admin) Options() Options { return a.opts }

// Attach registers the admin namespace on srv, with its authentication
// and commands, and starts the goroutine that talks to the UI (Close
// stops it). srv must have the Admin among its Options.Observers: a server
// started without observers reports no rooms.
func (a *Admin) Attach(srv *native.Server) error {
	a.mu.Lock()
	switch {
	case a.closed:
		a.mu.Unlock()
		return native.ErrClosed
	case a.attached:
		a.mu.Unlock()
		return errors.New("admin: already attached")
	}
	a.attached = true
	a.mu.Unlock()
	a.srv = srv
	a.root = srv.Of("/")
	a.nsp = srv.Of(a.opts.Namespace)
	a.nsp.Use(a.authenticate)
	a.nsp.OnConnection(a.onConnection)
	go a.run()
	return nil
}

// Close stops the Admin's goroutine; from then on it ignores what it
// observes. The admin namespace stays (a server cannot drop a namespace):
// close the server too, or expect UIs to stay connected but silent.
func (a *Admin) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	attached := a.attached
	a.queue = nil
	a.mu.Unlock()
	close(a.quit)
	if attached {
		<-a.done
	}
	return nil
}

// run is the Admin's goroutine: it tells the UIs what the queue holds, in
// order, and the statistics on a timer. It is the only one that calls the
// server on the Admin's behalf (Observe must not).
func (a *Admin) run() {
	defer close(a.done)
	t := time.NewTicker(a.opts.StatsInterval)
	defer t.Stop()
	a.emitStats()
	for {
		select {
		case <-a.quit:
			return
		case <-t.C:
			a.emitStats()
		case <-a.wake:
			for {
				a.mu.Lock()
				q := a.queue
				a.queue = nil
				a.mu.Unlock()
				if len(q) == 0 {
					break
				}
				for i := range q {
					select {
					case <-a.quit:
						return
					default:
					}
					a.process(&q[i])
					q[i] = item{}
				}
			}
		}
	}
}

// push queues an item (a.mu held): past maxQueue the queue is replaced by
// one resync, a snapshot of the state that includes everything dropped.
func (a *Admin) push(it item) {
	if len(a.queue) >= maxQueue {
		dropped := len(a.queue) + 1 // the queue and it
		if a.queue[0].kind == itemResync {
			dropped += a.queue[0].dropped - 1
		}
		clear(a.queue)
		a.queue = append(a.queue[:0], item{kind: itemResync, snap: a.track.snapshot(), dropped: dropped})
	} else {
		a.queue = append(a.queue, it)
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *Admin) logger() *slog.Logger { return a.opts.Logger }
