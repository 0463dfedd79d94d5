package emitter

import "github.com/socketcore/socketcore/adapter/wire"

// Values converts an event and its arguments to wire values as Emit does
// ([event, args...]; a []byte at any depth is binary), for other emitters
// (adapter/postgres/emitter) that build their messages differently.
func Values(event string, args ...any) ([]wire.Value, error) { return toValues(event, args) }
