package native

import (
	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Machine is the Socket.IO server machine a Server drives: the native core
// (*core.Server, the default) or the same core compiled to WASM and run by
// wazero (wasm/host). It is core.Server's method set; every call happens on
// the server's driver goroutine, one at a time.
type Machine interface {
	Handle(now clock.Instant, in wire.Input) error
	Poll() wire.Output
	AddNamespace(name string, gated bool) error
	AcceptConnect(now clock.Instant, id wire.SocketID) error
	RejectConnect(now clock.Instant, id wire.SocketID, message string, data []byte) error
	Emit(now clock.Instant, e core.Emit) (wire.AckRef, error)
	Ack(ref wire.AckRef, args []byte, atts [][]byte) error
	Broadcast(now clock.Instant, b core.Broadcast) (wire.AckRef, int, error)
	Join(id wire.SocketID, rooms ...string) error
	Leave(id wire.SocketID, room string) error
	Rooms(id wire.SocketID) []string
	Transport(id wire.SocketID) string
	SocketsIn(nsp string, rooms []string) []wire.SocketID
	Disconnect(now clock.Instant, id wire.SocketID, closeSession bool) error
	Close(now clock.Instant)
	Stats() core.Stats
}

var _ Machine = (*core.Server)(nil)

// NewMachine makes the Machine of a Server from the core configuration the
// options imply (Options.Machine; nil means core.NewServer).
type NewMachine func(cfg core.Config) (Machine, error)

func nativeMachine(cfg core.Config) (Machine, error) { return core.NewServer(cfg), nil }
