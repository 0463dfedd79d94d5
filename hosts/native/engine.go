package native

import (
	"net/http"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
)

// EngineServer is a plain Engine.IO server (no Socket.IO layer), like
// Node's engine.io package. Mount it at its Path (default "/engine.io/").
type EngineServer struct {
	opts Options
	eng  *engine.Server
	d    *driver
	t    *transport
	// OnMessage is called on the server's driver goroutine for every
	// message; it must not block. Set it before serving.
	OnMessage func(e *EngineServer, sid string, data []byte, binary bool)
}

// NewEngineServer returns a running Engine.IO server.
func NewEngineServer(opts Options) *EngineServer {
	if opts.Path == "" {
		opts.Path = "/engine.io/"
	}
	opts.init()
	e := &EngineServer{opts: opts}
	e.eng = engine.NewServer(opts.engineConfig(), nil)
	e.d = newDriver(e.eng, func(now clock.Instant, o wire.Output) {
		if m, ok := o.(wire.MessageReceived); ok && e.OnMessage != nil {
			e.OnMessage(e, string(m.SID), m.Data, m.Binary)
		}
	})
	e.t = newTransport(&e.opts, e.d)
	return e
}

// Path is the request path served.
func (e *EngineServer) Path() string { return e.opts.Path }

// ServeHTTP serves the Engine.IO endpoint.
func (e *EngineServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.t.ServeHTTP(w, r) }

// SendLocked sends a message to session sid; call it only from OnMessage
// (on the driver goroutine).
func (e *EngineServer) SendLocked(sid string, data []byte, binary bool) {
	s := e.eng.Session(wire.SID(sid))
	if s == nil {
		return
	}
	var f wire.Frame
	if binary {
		f = wire.Frame{Data: data, Binary: true}
	} else {
		f = wire.Frame{Data: append([]byte{'4'}, data...)}
	}
	e.eng.Send(s, []wire.Frame{f}, false, false)
}

// Close stops the server and its goroutines.
func (e *EngineServer) Close() error {
	e.d.call(func(now clock.Instant) { e.eng.CloseAll(now) })
	e.d.call(func(clock.Instant) {})
	e.d.stop()
	e.t.wg.Wait()
	return nil
}
