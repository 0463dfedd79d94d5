package conformance

import (
	"strings"

	"github.com/socketcore/socketcore/core"
	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Client-side helpers of the scenarios: each feeds one input the way a
// socket.io-client would and drains.

// WSOpen opens a WebSocket session on conn and returns its sid.
func (d *D) WSOpen(conn wire.ConnID) wire.SID {
	d.t.Helper()
	d.In(wire.HTTPRequest{Conn: conn, Method: "GET", Query: "EIO=4&transport=websocket", WebSocket: true})
	return Must[wire.SessionOpened](d).SID
}

// PollOpen opens a polling session with the GET conn and returns its sid.
func (d *D) PollOpen(conn wire.ConnID) wire.SID {
	d.t.Helper()
	d.In(wire.HTTPRequest{Conn: conn, Method: "GET", Query: "EIO=4&transport=polling"})
	return Must[wire.SessionOpened](d).SID
}

// WS sends a text message on the WebSocket conn.
func (d *D) WS(conn wire.ConnID, text string) { d.In(wire.Recv{Conn: conn, Data: []byte(text)}) }

// WSBin sends a binary message on the WebSocket conn.
func (d *D) WSBin(conn wire.ConnID, data []byte) {
	d.In(wire.Recv{Conn: conn, Data: data, Binary: true})
}

// Get sends a polling GET for sid on conn.
func (d *D) Get(conn wire.ConnID, sid wire.SID) {
	d.In(wire.HTTPRequest{Conn: conn, Method: "GET", Query: "EIO=4&transport=polling&sid=" + string(sid)})
}

// Post sends a polling POST of body for sid on conn.
func (d *D) Post(conn wire.ConnID, sid wire.SID, body string) {
	d.In(wire.HTTPRequest{Conn: conn, Method: "POST", Query: "EIO=4&transport=polling&sid=" + string(sid), Body: []byte(body)})
}

// WSConnect opens a WebSocket session on conn and joins nsp ("/" with an
// empty CONNECT), returning the socket id the machine accepted at once.
func (d *D) WSConnect(conn wire.ConnID, nsp string) wire.SocketID {
	d.t.Helper()
	d.WSOpen(conn)
	if nsp == "/" {
		d.WS(conn, "40")
	} else {
		d.WS(conn, "40"+nsp+",")
	}
	return Must[wire.Connected](d).Socket
}

// Find returns the first output of type T in the last drain.
func Find[T wire.Output](d *D) (T, bool) {
	for _, o := range d.Out {
		if v, ok := o.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// Must is Find that stops the scenario when there is none.
func Must[T wire.Output](d *D) T {
	d.t.Helper()
	v, ok := Find[T](d)
	if !ok {
		var zero T
		d.Fatalf("no %T in the last drain", zero)
	}
	return v
}

// WantBody checks that the last drain answered conn with a body containing s.
func (d *D) WantBody(conn wire.ConnID, s string) {
	d.t.Helper()
	for _, o := range d.Out {
		if r, ok := o.(wire.Respond); ok && r.Conn == conn {
			if !strings.Contains(string(r.Body), s) {
				d.Fatalf("response to %d is %q, want it to contain %q", conn, r.Body, s)
			}
			return
		}
	}
	d.Fatalf("no response to %d", conn)
}

// WantSent checks that the last drain wrote a frame containing s to conn
// (a Send, or a Broadcast including conn).
func (d *D) WantSent(conn wire.ConnID, s string) {
	d.t.Helper()
	for _, o := range d.Out {
		var fs []wire.Frame
		switch o := o.(type) {
		case wire.Send:
			if o.Conn == conn {
				fs = o.Frames
			}
		case wire.Broadcast:
			for _, c := range o.Conns {
				if c == conn {
					fs = o.Frames
				}
			}
		}
		for _, f := range fs {
			if strings.Contains(string(f.Data), s) {
				return
			}
		}
	}
	d.Fatalf("nothing containing %q sent to %d", s, conn)
}

// Emit runs Machine.Emit and returns the ref.
func (d *D) Emit(e core.Emit) wire.AckRef {
	var ref wire.AckRef
	d.Do("Emit "+string(e.Socket)+" "+string(e.Data), func(now clock.Instant) any {
		r, err := d.M.Emit(now, e)
		ref = r
		if err != nil {
			return err
		}
		return r
	})
	return ref
}

// Broadcast runs Machine.Broadcast and returns the ref and target count.
func (d *D) Broadcast(b core.Broadcast) (wire.AckRef, int) {
	var ref wire.AckRef
	var n int
	d.Do("Broadcast "+b.Nsp+" "+string(b.Data), func(now clock.Instant) any {
		r, k, err := d.M.Broadcast(now, b)
		ref, n = r, k
		if err != nil {
			return err
		}
		return []any{r, k}
	})
	return ref, n
}

// Ack runs Machine.Ack.
func (d *D) Ack(ref wire.AckRef, args string, atts ...[]byte) {
	var a []byte
	if args != "" {
		a = []byte(args)
	}
	d.Do("Ack "+args, func(clock.Instant) any { return d.M.Ack(ref, a, atts) })
}

// Query logs a read-only query's answer (Rooms, SocketsIn, Connected, ...).
func (d *D) Query(what string, f func() any) any {
	r := f()
	d.logf("%s query %s -> %s", d.rel(d.now), what, describeAny(r))
	return r
}
