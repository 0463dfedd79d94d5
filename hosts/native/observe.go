package native

import (
	"encoding/json"
	"time"

	"github.com/socketcore/socketcore/core/clock"
)

// Observer sees what a server's sessions and sockets do, as it happens: the
// admin UI (hosts/native/admin), debug logs and application hooks build on
// it (Options.Observers).
//
// Observe runs on the server's own goroutines — most often its driver, the
// one goroutine that owns the protocol machine — so it must return quickly,
// must not block, and must not call back into the Server or a Socket
// synchronously (Rooms, Transport, Join, Emit... wait for the driver): an
// observer that needs to act hands the Event to a goroutine of its own.
// The Event and what it points to are the observer's to keep, except
// Data and Attachments, which it must copy to keep past the call.
type Observer interface {
	Observe(e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(e Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// EventKind says what an Event reports.
type EventKind uint8

const (
	// SessionOpened: an Engine.IO session began (Session, Transport).
	SessionOpened EventKind = iota + 1
	// SessionUpgraded: a session moved to WebSocket (Session, Transport).
	SessionUpgraded
	// SessionClosed: a session ended (Session, Reason: Engine.IO's close
	// reason, "transport close", "ping timeout"...).
	SessionClosed
	// HandshakeRefused: a request was refused with an Engine.IO error
	// (Reason: its message, "Transport unknown", "Session ID unknown",
	// "Bad request", "Forbidden"...; Transport when known).
	HandshakeRefused
	// SocketConnected: a socket joined a namespace (Nsp, Socket, Sock,
	// Session).
	SocketConnected
	// SocketDisconnected: a socket left (Nsp, Socket, Sock, Reason: the
	// official reason).
	SocketDisconnected
	// RoomJoined and RoomLeft: a socket of this server joined or left a
	// room, whoever asked (Nsp, Room, Socket). A socket is in the room of
	// its own id from its connection on.
	RoomJoined
	RoomLeft
	// EventReceived: an event from a client (Nsp, Socket, Sock, Name,
	// Data, Attachments).
	EventReceived
	// EventSent: an event emitted to one socket (Socket.Emit and
	// EmitWithAck; broadcasts are encoded once in the core and not
	// reported per socket) (Nsp, Socket, Sock, Name, Data, Attachments).
	EventSent
)

var eventKindNames = [...]string{"", "session_opened", "session_upgraded", "session_closed", "handshake_refused",
	"socket_connected", "socket_disconnected", "room_joined", "room_left", "event_received", "event_sent"}

// String is the kind's snake_case name ("socket_connected").
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && k != 0 {
		return eventKindNames[k]
	}
	return "unknown"
}

// Event is one thing an Observer sees; which fields are set depends on
// Kind (see the kinds).
type Event struct {
	Kind      EventKind
	Time      time.Time
	Session   string // Engine.IO session id
	Transport string // "polling" or "websocket"
	Nsp       string
	Socket    string  // socket id
	Sock      *Socket // the socket, when this server has it
	Room      string
	Reason    string
	Name      string // an event's name
	// Data is an event's JSON array, name first, as on the wire
	// (attachments as {"_placeholder":true,"num":N}); only valid during
	// the call.
	Data        json.RawMessage
	Attachments [][]byte
}

// Observe adds an observer to a running server; it sees what happens from
// then on (Options.Observers see everything).
func (s *Server) Observe(o Observer) error {
	if !s.d.call(func(clock.Instant) { s.observers = append(s.observers, o) }) {
		return ErrClosed
	}
	return nil
}

// observing reports whether an observer would see an event: callers skip
// building events nobody sees (on the driver goroutine).
func (s *Server) observing() bool { return len(s.observers) != 0 }

// observe hands e to every observer (on the driver goroutine), time-stamped
// if it is not. An observer that panics does not take the server down.
func (s *Server) observe(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	for _, o := range s.observers {
		s.safely(func() { o.Observe(e) })
	}
}
