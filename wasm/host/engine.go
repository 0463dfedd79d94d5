package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/engine"
	"github.com/socketcore/socketcore/core/wire"
	"github.com/socketcore/socketcore/wasm/abi"
)

// EngineMachine is the engine role of a core.wasm instance: a plain
// Engine.IO server, engine.NewServer(cfg, nil), like Node's engine.io
// package. Messages come out as wire.MessageReceived; Send answers them.
// It shares Machine's rules: calls are serialized, and after a trap every
// method fails fast (Poll returns wire.Wait{}, queries zero values) until
// the owner, checking Err, replaces it.
type EngineMachine struct {
	instance
}

// ErrNoEngineRole is returned by NewEngineMachine for a core.wasm built
// before the engine role (its sio_new refuses role 2 with StatusRole).
var ErrNoEngineRole = errors.New("core.wasm: this module has no engine role (rebuild it: make wasm)")

// NewEngineMachine starts an instance and creates an engine-only machine
// with cfg (zero values take the engine's defaults, as engine.NewServer
// does).
func (m *Module) NewEngineMachine(ctx context.Context, cfg engine.Config) (*EngineMachine, error) {
	inst, stderr, err := m.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	e := &EngineMachine{}
	init := abi.Init{Role: abi.RoleEngine, Config: core.Config{Config: cfg}}
	if err := e.start(inst, stderr, init, m.opts.CallTimeout); err != nil {
		inst.Close(ctx)
		var re *RejectedError
		if errors.As(err, &re) && re.Status == abi.StatusRole {
			return nil, fmt.Errorf("%w (%w)", ErrNoEngineRole, err)
		}
		return nil, err
	}
	return e, nil
}

// Err returns the error that stopped the machine (*TrapError or
// ErrReleased), or nil while it runs.
func (m *EngineMachine) Err() error { return m.failure() }

// Release closes the instance. The EngineMachine fails with ErrReleased
// after.
func (m *EngineMachine) Release(ctx context.Context) error { return m.release(ctx) }

// Handle feeds one input (engine.Server.Handle). An input type the ABI
// does not carry is core.ErrUnknownInput.
func (m *EngineMachine) Handle(now clock.Instant, in wire.Input) error { return m.input(now, in) }

// Poll returns the next output (engine.Server.Poll); wire.Wait ends a
// drain.
func (m *EngineMachine) Poll() wire.Output { return m.output() }

// Send queues Engine.IO frames (eio.AppendPacket form: "4hello" is the
// message "hello") for the session sid: engine.Server.Send with the
// session engine.Server.Session(sid) returns. They go out at the next
// Poll. An unknown sid is engine.ErrUnknownSession.
func (m *EngineMachine) Send(sid wire.SID, frames []wire.Frame, volatile, compress bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.call(0, abi.EngineSend{SID: sid, Frames: frames, Volatile: volatile, Compress: compress})
	return err
}

// CloseAll closes every session ("server shutting down"), as
// engine.Server.CloseAll; its outputs are drained as usual.
func (m *EngineMachine) CloseAll(now clock.Instant) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.call(now, abi.Close{})
}

// Stats counts the sessions: Sessions (open) and Closing (closed polling
// sessions waiting for a last request), as core.Server.Stats counts them.
// The Socket.IO counts are zero.
func (m *EngineMachine) Stats() core.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, _ := command[core.Stats](&m.instance, 0, abi.KindStats, abi.StatsQuery{})
	return st
}

// Config returns the configuration with defaults applied
// (engine.Server.Config).
func (m *EngineMachine) Config() engine.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, _ := command[core.Config](&m.instance, 0, abi.KindConfig, abi.ConfigQuery{})
	return c.Config
}
