package native

import (
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// machine is what a loop needs of a protocol machine: the server's
// core.Server and engine.Server, core.wasm through wazero, and the client's
// client.Manager all fit.
type machine interface {
	Handle(now clock.Instant, in wire.Input) error
	Poll() wire.Output
}

// task is work for a loop's goroutine, the only one that touches its machine.
type task func(now clock.Instant)

// loop is the six-step loop of every host driver (STYLE.md §4), shared by
// the server's driver and the client's: wait for a task or the deadline,
// Handle, drain Poll, perform the outputs, re-arm the one timer. The
// embedding driver sets the hooks before start.
type loop struct {
	m     machine
	inbox chan task
	quit  chan struct{}
	done  chan struct{}
	start time.Time
	timer *time.Timer
	armed clock.Instant

	perform    func(o wire.Output) // every output but Wait
	afterDrain func()              // optional: at the end of every drain
	// flush, optional, runs when Poll says Wait; true when it fed the
	// machine, whose new outputs are then drained too.
	flush    func() bool
	shutdown func() // on the loop's goroutine, when it stops
}

func (l *loop) init(m machine) {
	l.m = m
	l.inbox = make(chan task, 1024)
	l.quit = make(chan struct{})
	l.done = make(chan struct{})
	l.start = time.Now()
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
}

// startLoop runs the loop on its own goroutine (stop ends it).
func (l *loop) startLoop() { go l.run() }

func (l *loop) now() clock.Instant { return clock.Instant(time.Since(l.start)) + 1 }

// post hands a task to the loop. It reports false once the loop stopped.
func (l *loop) post(t task) bool {
	select {
	case <-l.quit: // checked first: after stop, the inbox may still have room
		return false
	default:
	}
	select {
	case l.inbox <- t:
		return true
	case <-l.quit:
		return false
	}
}

// call runs t on the loop and waits for it; false if the loop stopped first.
func (l *loop) call(t task) bool {
	ch := make(chan struct{})
	if !l.post(func(now clock.Instant) { t(now); close(ch) }) {
		return false
	}
	select {
	case <-ch:
		return true
	case <-l.done:
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

func (l *loop) run() {
	defer close(l.done)
	for {
		select {
		case t := <-l.inbox:
			t(l.now())
			// batch what is already queued before draining
			for i := 0; i < 64; i++ {
				select {
				case t := <-l.inbox:
					t(l.now())
					continue
				default:
				}
				break
			}
		case <-l.timer.C:
			l.armed = 0
			l.m.Handle(l.now(), wire.Timeout{})
		case <-l.quit:
			l.timer.Stop()
			if l.shutdown != nil {
				l.shutdown()
			}
			return
		}
		l.drain()
	}
}

// drain performs every output until Wait, then re-arms the timer.
func (l *loop) drain() {
	for {
		o := l.m.Poll()
		if w, ok := o.(wire.Wait); ok {
			if l.flush != nil && l.flush() {
				continue
			}
			l.arm(w.Deadline)
			if l.afterDrain != nil {
				l.afterDrain()
			}
			return
		}
		l.perform(o)
	}
}

func (l *loop) arm(at clock.Instant) {
	if at == l.armed {
		return
	}
	l.timer.Stop()
	l.armed = at
	if at == 0 {
		return
	}
	l.timer.Reset(max(at.Sub(l.now()), 0))
}

// stopLoop ends the loop (running shutdown on it) and waits for it.
func (l *loop) stopLoop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	<-l.done
}
