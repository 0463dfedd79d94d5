package native

import (
	"runtime"
	"sync"
)

// listeners runs a Manager's listeners: one queue per socket (and one for
// the Manager's own events), each drained in order by a goroutine that
// exists only while work is queued, as the server's mailboxes are. It also
// knows which goroutines are running listeners, so that Close called from a
// listener does not wait for that very listener to return.
type listeners struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[uint64]bool // goroutine ids of running queues
}

// clientQueue is one ordered queue of listener calls.
type clientQueue struct {
	l       *listeners
	mu      sync.Mutex
	q       []func()
	running bool
}

// post queues fn; past mailboxLimit calls the oldest waiting ones are
// dropped (a listener that blocks for good must not grow memory forever).
func (c *clientQueue) post(fn func()) {
	c.mu.Lock()
	if len(c.q) >= mailboxLimit {
		c.q = c.q[1:]
	}
	c.q = append(c.q, fn)
	if c.running {
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	c.l.wg.Add(1)
	go c.run()
}

func (c *clientQueue) run() {
	defer c.l.wg.Done()
	id := goid()
	c.l.mu.Lock()
	if c.l.running == nil {
		c.l.running = make(map[uint64]bool)
	}
	c.l.running[id] = true
	c.l.mu.Unlock()
	defer func() {
		c.l.mu.Lock()
		delete(c.l.running, id)
		c.l.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		if len(c.q) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		fn := c.q[0]
		c.q[0] = nil
		c.q = c.q[1:]
		c.mu.Unlock()
		fn()
	}
}

// inListener reports whether the calling goroutine is running a listener.
func (l *listeners) inListener() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running[goid()]
}

// wait waits for every listener queue to drain, unless called from a
// listener (then its own queue ends right after it returns).
func (l *listeners) wait() {
	if !l.inListener() {
		l.wg.Wait()
	}
}

// goid is the calling goroutine's id, from the first line of its stack
// ("goroutine 42 [running]:").
func goid() uint64 {
	var buf [40]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	for _, c := range buf[len("goroutine "):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
