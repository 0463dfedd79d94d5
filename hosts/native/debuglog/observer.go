package debuglog

import (
	"context"
	"log/slog"

	"github.com/socketcore/socketcore/hosts/native"
)

// maxPayload bounds the JSON socketcore:payload adds to an event's line.
const maxPayload = 512

// subsystemOf says which subsystem logs each kind of native.Event; a kind
// missing here is not logged (the tests fail on one).
func subsystemOf(k native.EventKind) string {
	switch k {
	case native.SessionOpened, native.SessionUpgraded, native.SessionClosed, native.HandshakeRefused:
		return Engine
	case native.SocketConnected, native.SocketDisconnected:
		return Socket
	case native.RoomJoined, native.RoomLeft:
		return Room
	case native.EventReceived, native.EventSent:
		return Event
	}
	return ""
}

// Observers returns, for native.Options.Observers, the Observer New makes
// when sw turns on one of the subsystems it logs, and nothing otherwise:
// a server with no observer does not build events for nobody.
func Observers(l *slog.Logger, sw Switch) []native.Observer {
	for _, s := range []string{Engine, Socket, Room, Event} {
		if sw.Enabled(s) {
			return []native.Observer{New(l, sw)}
		}
	}
	return nil
}

// New returns the Observer that logs, at debug level through l, the events
// of the subsystems sw turns on (Observers adds it only when one is). Each line carries subsystem=NAME and the event's ids
// (sid, nsp, socket) with what the kind reports (transport, reason, room,
// event name and size).
//
// Like every Observer it runs on the server's driver goroutine, so each
// line is written before the server goes on: the handler behind l should
// write quickly (slog's handlers on stderr or a file do). That is fine for
// debugging; a production server keeps the switch off, or gives l a
// handler that buffers.
func New(l *slog.Logger, sw Switch) native.Observer {
	o := &observer{payload: sw.Enabled(Payload), loggers: make(map[string]*slog.Logger)}
	for _, s := range Subsystems() {
		if s != Payload && sw.Enabled(s) {
			o.loggers[s] = Subsystem(l, s)
		}
	}
	return o
}

type observer struct {
	loggers map[string]*slog.Logger // by subsystem; only those on
	payload bool
}

func (o *observer) Observe(e native.Event) {
	l := o.loggers[subsystemOf(e.Kind)]
	if l == nil {
		return
	}
	ctx := context.Background()
	h := l.Handler()
	if !h.Enabled(ctx, slog.LevelDebug) {
		return
	}
	r := slog.NewRecord(e.Time, slog.LevelDebug, message(e.Kind), 0)
	if e.Session != "" {
		r.AddAttrs(slog.String("sid", e.Session))
	}
	if e.Transport != "" {
		r.AddAttrs(slog.String("transport", e.Transport))
	}
	if e.Nsp != "" {
		r.AddAttrs(slog.String("nsp", e.Nsp))
	}
	if e.Socket != "" {
		r.AddAttrs(slog.String("socket", e.Socket))
	}
	if e.Room != "" {
		r.AddAttrs(slog.String("room", e.Room))
	}
	if e.Reason != "" {
		r.AddAttrs(slog.String("reason", e.Reason))
	}
	if e.Kind == native.EventReceived || e.Kind == native.EventSent {
		size := len(e.Data)
		for _, a := range e.Attachments {
			size += len(a)
		}
		r.AddAttrs(slog.String("event", e.Name), slog.Int("bytes", size))
		if len(e.Attachments) > 0 {
			r.AddAttrs(slog.Int("attachments", len(e.Attachments)))
		}
		if o.payload {
			r.AddAttrs(slog.String("data", clip(e.Data)))
		}
	}
	h.Handle(ctx, r)
}

// message is the line's text for a kind.
func message(k native.EventKind) string {
	switch k {
	case native.SessionOpened:
		return "session opened"
	case native.SessionUpgraded:
		return "session upgraded"
	case native.SessionClosed:
		return "session closed"
	case native.HandshakeRefused:
		return "handshake refused"
	case native.SocketConnected:
		return "socket connected"
	case native.SocketDisconnected:
		return "socket disconnected"
	case native.RoomJoined:
		return "room joined"
	case native.RoomLeft:
		return "room left"
	case native.EventReceived:
		return "event received"
	case native.EventSent:
		return "event sent"
	}
	return k.String()
}

// clip returns data as a string of at most maxPayload bytes (copied: the
// Observer may not keep Data).
func clip(data []byte) string {
	if len(data) <= maxPayload {
		return string(data)
	}
	return string(data[:maxPayload]) + "…"
}
