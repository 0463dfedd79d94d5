package native

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"sync"
	"time"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
)

// EngineMachine is the Engine.IO machine an EngineServer drives: the
// native engine.NewServer(cfg, nil) (NativeEngineMachine, the default) or
// the engine role of core.wasm run by wazero (wasm/host.EngineMachine).
// Every call happens on the server's driver goroutine, one at a time.
type EngineMachine interface {
	Handle(now clock.Instant, in wire.Input) error
	Poll() wire.Output
	// Send queues Engine.IO frames (eio.AppendPacket form) for the session
	// sid, as engine.Server.Send does; engine.ErrUnknownSession if there
	// is no such session.
	Send(sid wire.SID, frames []wire.Frame, volatile, compress bool) error
	// CloseAll closes every session ("server shutting down").
	CloseAll(now clock.Instant)
}

// NewEngineMachine makes the machine of an EngineServer from the engine
// configuration the options imply (see StartEngine).
type NewEngineMachine func(cfg engine.Config) (EngineMachine, error)

// NativeEngineMachine is the native engine machine: engine.NewServer(cfg,
// nil) with Send by session id. Its dynamic type also has Stats and
// Config, as core.wasm's engine role has.
func NativeEngineMachine(cfg engine.Config) (EngineMachine, error) {
	return nativeEngine{engine.NewServer(cfg, nil)}, nil
}

// nativeEngine adapts *engine.Server to EngineMachine.
type nativeEngine struct{ eng *engine.Server }

func (n nativeEngine) Handle(now clock.Instant, in wire.Input) error { return n.eng.Handle(now, in) }
func (n nativeEngine) Poll() wire.Output                             { return n.eng.Poll() }
func (n nativeEngine) CloseAll(now clock.Instant)                    { n.eng.CloseAll(now) }
func (n nativeEngine) Config() engine.Config                         { return n.eng.Config() }

func (n nativeEngine) Send(sid wire.SID, frames []wire.Frame, volatile, compress bool) error {
	s := n.eng.Session(sid)
	if s == nil {
		return engine.ErrUnknownSession
	}
	n.eng.Send(s, frames, volatile, compress)
	return nil
}

// Stats counts the sessions as core.Server.Stats does (Sessions open,
// Closing); the Socket.IO counts are zero.
func (n nativeEngine) Stats() core.Stats {
	return core.Stats{Sessions: n.eng.Len() - n.eng.Closing(), Closing: n.eng.Closing()}
}

// EngineServer is a plain Engine.IO server (no Socket.IO layer), like
// Node's engine.io package. Mount it at its Path (default "/engine.io/").
type EngineServer struct {
	opts Options
	d    *driver
	t    *transport
	// OnMessage is called on the server's driver goroutine for every
	// message; it must not block. Set it before serving.
	OnMessage func(e *EngineServer, sid string, data []byte, binary bool)

	// owned by the driver goroutine
	m          EngineMachine
	newMachine NewEngineMachine
	restarts   int // machines replaced after they failed
	storm      restartGuard

	closeOnce sync.Once
}

// NewEngineServer returns a running Engine.IO server on the native engine
// machine.
func NewEngineServer(opts Options) *EngineServer {
	e, _ := StartEngine(opts, nil) // the native machine never fails to start
	return e
}

// StartEngine returns a running Engine.IO server on the machine newMachine
// makes (nil: NativeEngineMachine), or its error (e.g. a core.wasm that
// does not load). Options.Machine does not apply. A machine that fails
// (its Err method, if it has one, reports a core.wasm trap) is replaced as
// the Socket.IO Server replaces its own: every pending request gets 500,
// every WebSocket closes, and the clients reconnect to a new machine whose
// seed differs from the old one's; if none can be made, every request gets
// 503 from then on.
func StartEngine(opts Options, newMachine NewEngineMachine) (*EngineServer, error) {
	if opts.Path == "" {
		opts.Path = "/engine.io/"
	}
	opts.init()
	if newMachine == nil {
		newMachine = NativeEngineMachine
	}
	m, err := newMachine(opts.engineConfig())
	if err != nil {
		return nil, err
	}
	e := &EngineServer{opts: opts, m: m, newMachine: newMachine}
	e.d = newDriver(m, func(now clock.Instant, o wire.Output) {
		if m, ok := o.(wire.MessageReceived); ok && e.OnMessage != nil {
			e.OnMessage(e, string(m.SID), m.Data, m.Binary)
		}
	})
	e.d.setLimits(&e.opts.Limits, e.d.start) // the connections' (limits.go)
	e.d.afterDrain = func() {
		if f, ok := e.m.(interface{ Err() error }); ok && !e.d.failed {
			if err := f.Err(); err != nil {
				e.restartMachine(err)
			}
		}
	}
	e.t = newTransport(&e.opts, e.d)
	return e, nil
}

// restartMachine replaces a machine that failed (on the driver goroutine).
func (e *EngineServer) restartMachine(cause error) {
	e.opts.Logger.Error("socketcore: the Engine.IO machine failed; its sessions are lost, restarting it", "err", cause)
	e.d.dropConnections(http.StatusInternalServerError)
	releaseMachine(e.m)
	if !e.storm.allow(time.Now()) {
		e.opts.Logger.Error("socketcore: the Engine.IO machine keeps failing; refusing every request")
		e.d.failed = true
		return
	}
	e.restarts++
	cfg := e.opts.engineConfig()
	cfg.Seed = sha256.Sum256(binary.BigEndian.AppendUint64(cfg.Seed[:], uint64(e.restarts)))
	m, err := e.newMachine(cfg)
	if err != nil {
		e.opts.Logger.Error("socketcore: no new Engine.IO machine; refusing every request", "err", err)
		e.d.failed = true
		return
	}
	e.m = m
	e.d.m = m
	e.opts.Logger.Info("socketcore: Engine.IO machine restarted", "restarts", e.restarts)
}

// releaseMachine frees a machine holding resources beyond the Go heap (a
// WASM instance).
func releaseMachine(m any) {
	if r, ok := m.(interface{ Release(context.Context) error }); ok {
		r.Release(context.Background())
	}
}

// Path is the request path served.
func (e *EngineServer) Path() string { return e.opts.Path }

// ServeHTTP serves the Engine.IO endpoint.
func (e *EngineServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.t.ServeHTTP(w, r) }

// SendLocked sends a message to session sid; call it only from OnMessage
// (on the driver goroutine). A session that is gone is ignored.
func (e *EngineServer) SendLocked(sid string, data []byte, binary bool) {
	var f wire.Frame
	if binary {
		f = wire.Frame{Data: data, Binary: true}
	} else {
		f = wire.Frame{Data: append([]byte{'4'}, data...)}
	}
	e.m.Send(wire.SID(sid), []wire.Frame{f}, false, false)
}

// Close stops the server and its goroutines: every session is closed
// ("server shutting down"), pending requests are answered, the machine is
// released. Calling it again does nothing.
func (e *EngineServer) Close() error {
	e.closeOnce.Do(func() {
		e.d.call(func(now clock.Instant) { e.m.CloseAll(now) })
		e.d.call(func(clock.Instant) {}) // the drain after CloseAll performed its outputs
		e.d.stop()
		releaseMachine(e.m) // the driver has stopped: e.m is ours now
		e.t.stop()
		e.t.wg.Wait()
	})
	return nil
}
