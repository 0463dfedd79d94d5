package native

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Graceful shutdown (a rolling deploy behind a load balancer). Close ends
// everything at once: whatever is in flight — an acknowledgement the
// application awaits, an event whose handler has not answered the client
// yet — is cut. Shutdown first drains:
//
//  1. New sessions are refused: a handshake (a request without sid) gets
//     503 with Engine.IO's error body and "Connection: close", so that a
//     load balancer that retries on 503 (nginx proxy_next_upstream http_503,
//     HAProxy retry-on 503) or checks readiness (Draining) sends it to
//     another server, and a client that sees it retries through a new
//     connection. The requests of existing sessions (polls, posts, the
//     WebSocket upgrade) are served as before, and so is the cluster.
//  2. It waits, until ctx ends, for what was in flight when it began: the
//     acknowledgements the application awaited (EmitWithAck, broadcast
//     acks, cluster requests), those clients asked for whose handlers got
//     them and have not answered yet, the handlers running or queued, and
//     the sockets waiting to be admitted (Pending). Then it waits once
//     more for what came in meanwhile (the events existing clients sent
//     during the wait), and no further: under steady traffic the server
//     still closes, cutting only what arrived during that second wait.
//     An acknowledgement no handler holds (an event without a handler, an
//     event a rate limit dropped) does not hold it; one a handler keeps
//     without ever answering holds it until ctx ends. Shutdown called from
//     a handler waits for that very handler: call it from a goroutine.
//  3. At that moment — on the driver, so nothing new comes in between —
//     or at ctx's end, every socket leaves with "server shutting down" and
//     every session closes, as Close does (Node's io.close()): the clients
//     see "transport close" and reconnect, through the load balancer, to
//     another server. With Recovery the departure saves each session; with
//     Recovery.Shared the saves reach the store before the server leaves
//     the cluster (Close's order), so the clients recover there, with
//     every broadcast they missed.
//     A polling client whose parked GET took the last events gets the
//     close packet in its next response: Shutdown waits for it (at most
//     closingGrace), as the official client would take those events after
//     "disconnect" if they shared a response with the close packet.
//  4. The adapter closes, which is how a server leaves the cluster: the
//     Redis adapter unsubscribes (as Node's adapter.close()), and the
//     other servers' counts (PUBSUB NUMSUB) stop including this one, so
//     their later requests do not wait for it.

// drainState is Shutdown's part of a Server.
type drainState struct {
	// coreClosed is set (on the driver) when Shutdown closed the machine
	// at a quiet moment: Close then does not close it again.
	coreClosed bool
	// gen is the drain generation events arrive in (driver goroutine): 0
	// before Shutdown, 1 during its first wait, 2 during its second.
	gen int
	// held counts, by generation, the client acknowledgements handlers
	// hold and have not answered (socket.go ackFunc).
	held [3]atomic.Int64
	// waiters are the application's awaited acknowledgements that were
	// pending at the last mark (driver goroutine).
	waiters map[wire.AckRef]struct{}
}

// drainPoll is how often Shutdown looks for a quiet moment.
const drainPoll = 10 * time.Millisecond

// Shutdown closes the server gracefully: it refuses new sessions, waits
// until nothing is in flight (or ctx ends), then closes every socket with
// "server shutting down" and leaves the cluster, as Close. It returns
// ctx's error when ctx ended first (the server is closed all the same),
// nil otherwise. ctx bounds the wait only: the close that follows takes
// what Close takes (the handlers' disconnect handlers, the adapter's last
// writes; a few seconds at most).
func (s *Server) Shutdown(ctx context.Context) error {
	s.t.draining.Store(true)
	err := s.awaitQuiet(ctx)
	if err == nil {
		s.awaitClosing(ctx)
	}
	s.Close()
	return err
}

// Draining reports whether Shutdown has begun: a readiness check
// (/readyz) answers "not ready" from then on.
func (s *Server) Draining() bool { return s.t.draining.Load() }

// awaitQuiet polls the driver for a quiet moment and closes the machine
// there; it returns when it did, when the server closed meanwhile, or
// with ctx's error.
func (s *Server) awaitQuiet(ctx context.Context) error {
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		quiet := false
		if !s.d.call(func(now clock.Instant) {
			if s.d.failed { // no machine: nothing can finish
				quiet = true
				return
			}
			if s.drain.gen == 0 {
				s.mark() // what is in flight now
			}
			if !s.settled() {
				return
			}
			if s.drain.gen == 1 {
				s.mark() // what came in during the first wait
				if !s.settled() {
					return
				}
			}
			quiet = true
			s.drain.coreClosed = true
			s.core.Close(now)
		}) || quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closingGrace bounds how long Shutdown waits, after the close, for
// polling clients to fetch their close packet.
const closingGrace = 2 * time.Second

// awaitClosing waits, for at most closingGrace or until ctx ends, until no
// closed polling session waits for its last request (core.Stats.Closing):
// a session whose parked GET took the events the shutdown found queued
// gets the close packet in its next response (core/engine), and the
// client then leaves with "transport close" rather than a failed poll.
func (s *Server) awaitClosing(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, closingGrace)
	defer cancel()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		closing := 0
		if !s.d.call(func(clock.Instant) { closing = s.core.Stats().Closing }) || closing == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// mark starts a drain generation: what is in flight now is what settled
// waits for (on the driver goroutine).
func (s *Server) mark() {
	s.drain.gen++
	s.drain.waiters = make(map[wire.AckRef]struct{}, len(s.waiters))
	for ref := range s.waiters {
		s.drain.waiters[ref] = struct{}{}
	}
	s.serverBox.setMark()
	for _, so := range s.sockets {
		so.mbox.setMark()
	}
}

// settled reports whether what was in flight at the last mark is done (on
// the driver goroutine).
func (s *Server) settled() bool {
	// the handlers first: one that ran since the last look may have taken
	// an acknowledgement (held) before it returned, so held is read after
	// the marks (the mailbox's lock orders the two)
	if s.serverBox.marked() {
		return false
	}
	for _, so := range s.sockets {
		if so.mbox.marked() {
			return false
		}
	}
	if s.core.Stats().Pending > 0 {
		return false
	}
	for ref := range s.drain.waiters {
		if _, ok := s.waiters[ref]; ok {
			return false
		}
		delete(s.drain.waiters, ref)
	}
	for g := 0; g < s.drain.gen; g++ {
		if s.drain.held[g].Load() > 0 {
			return false
		}
	}
	return true
}

// setMark marks the functions queued or running now.
func (m *mailbox) setMark() {
	m.mu.Lock()
	m.mark = int32(len(m.q))
	if m.executing {
		m.mark++
	}
	m.mu.Unlock()
}

// marked reports whether a function marked by setMark has not returned.
func (m *mailbox) marked() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mark > 0
}

// refuseDraining answers a handshake while the server drains: 503, with
// the body of Node's allowRequest refusals (code 4 and a message), and
// "Connection: close" so that the client's retry opens a new connection,
// which a load balancer may send elsewhere. The official client reports
// it as a connect_error ("xhr poll error", "websocket error") and
// reconnects with its backoff.
func refuseDraining(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	writeJSONError(w, http.StatusServiceUnavailable, 4, "Server is shutting down")
}
