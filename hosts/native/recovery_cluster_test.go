package native

import (
	"errors"
	"testing"
	"time"

	"github.com/socketcore/socketcore/adapter"
	"github.com/socketcore/socketcore/adapter/memory"
)

// Recovery.Shared needs an adapter with a recovery store: without one the
// server does not start (rather than recover on this server only, quietly).
// The cross-server behaviour is tested with Redis in tests/cluster/recovery.
func TestSharedRecoveryNeedsAStore(t *testing.T) {
	rec := &Recovery{MaxDisconnectionDuration: time.Minute, Shared: true}
	if _, err := Start(Options{Recovery: rec}); !errors.Is(err, ErrNoRecoveryStore) {
		t.Fatalf("no adapter: %v", err)
	}
	bus := memory.NewBus()
	_, err := Start(Options{Recovery: rec, Adapter: func(r adapter.Receive) (adapter.Adapter, error) { return bus.Attach(r), nil }})
	if !errors.Is(err, ErrNoRecoveryStore) {
		t.Fatalf("an adapter without a store: %v", err)
	}
	if c := (&Options{Recovery: rec}).coreConfig(); c.RecoveryStore {
		t.Fatal("a store without an adapter")
	}
}
