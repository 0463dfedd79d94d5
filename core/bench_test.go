package core

import (
	"strconv"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// benchServer connects n WebSocket clients to "/" and returns their conns
// and socket ids; outputs are drained and dropped.
func benchServer(b *testing.B, n int) (*Server, []wire.ConnID, []wire.SocketID) {
	b.Helper()
	s := NewServer(Config{})
	now := clock.Instant(1)
	conns := make([]wire.ConnID, n)
	ids := make([]wire.SocketID, 0, n)
	drain := func() {
		for {
			o := s.Poll()
			if _, ok := o.(wire.Wait); ok {
				return
			}
			if c, ok := o.(wire.Connected); ok {
				ids = append(ids, c.Socket)
			}
		}
	}
	for i := range conns {
		conns[i] = wire.ConnID(i + 1)
		s.Handle(now, wire.HTTPRequest{Conn: conns[i], Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
		s.Handle(now, wire.Recv{Conn: conns[i], Data: []byte("40")})
		drain()
	}
	if len(ids) != n {
		b.Fatalf("%d sockets connected, want %d", len(ids), n)
	}
	return s, conns, ids
}

func drainAll(s *Server) (outputs int) {
	for {
		if _, ok := s.Poll().(wire.Wait); ok {
			return outputs
		}
		outputs++
	}
}

// BenchmarkEchoAck is the bench scenario's hot path in the core: an event
// with an ack id arrives, the application acknowledges it, the ack frame goes out.
func BenchmarkEchoAck(b *testing.B) {
	s, conns, _ := benchServer(b, 1)
	now := clock.Instant(2)
	msg := []byte(`4212["echo",{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
	args := []byte(`[{"i":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data := append([]byte(nil), msg...) // the host hands over a fresh buffer per message
		s.Handle(now, wire.Recv{Conn: conns[0], Data: data})
		var ref wire.AckRef
		for {
			o := s.Poll()
			if ev, ok := o.(wire.EventReceived); ok {
				ref = ev.Ack
			}
			if _, ok := o.(wire.Wait); ok {
				break
			}
		}
		s.Ack(ref, args, nil)
		drainAll(s)
	}
}

// BenchmarkBroadcastRoom plans and encodes one broadcast to a room of n
// WebSocket members: one Broadcast output, frames encoded once.
func BenchmarkBroadcastRoom(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, _, ids := benchServer(b, n)
			for _, id := range ids {
				s.Join(id, "bench")
			}
			now := clock.Instant(time.Second)
			data := []byte(`["tick",{"seq":1,"ts":1,"t":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, got, _ := s.Broadcast(now, Broadcast{Nsp: "/", Rooms: []string{"bench"}, Data: data}); got != n {
					b.Fatalf("%d targets", got)
				}
				if outs := drainAll(s); outs != 1 {
					b.Fatalf("%d outputs, want one Broadcast", outs)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}
