package host

import (
	"context"
	"testing"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/wire"
)

// The cost of the boundary itself: an export that does nothing, a Poll
// that finds nothing, an input that does nothing.

func BenchmarkCallVersion(b *testing.B) {
	m := newBenchMachine(b)
	f := m.inst.ExportedFunction("sio_abi_version")
	stack := make([]uint64, 1)
	ctx := context.Background()
	for b.Loop() {
		if err := f.CallWithStack(ctx, stack); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPollIdle(b *testing.B) {
	m := newBenchMachine(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Poll().(wire.Wait); !ok {
			b.Fatal("not idle")
		}
	}
}

func BenchmarkHandleTimeout(b *testing.B) {
	m := newBenchMachine(b)
	b.ReportAllocs()
	for b.Loop() {
		m.Handle(1, wire.Timeout{})
	}
}

func BenchmarkHandleRecvUnknownConn(b *testing.B) {
	m := newBenchMachine(b)
	data := make([]byte, 100)
	b.ReportAllocs()
	for b.Loop() {
		m.Handle(1, wire.Recv{Conn: 99, Data: data})
	}
}

func newBenchMachine(b *testing.B) *Machine {
	m, err := testModule.NewMachine(context.Background(), core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Release(context.Background()) })
	return m
}
