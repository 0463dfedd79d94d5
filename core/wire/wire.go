// Package wire defines every record that crosses between a protocol Machine
// and its host: the IDs, the inputs the host feeds in (bytes, HTTP requests,
// closes, time), and the outputs it drains (bytes to write, responses,
// application notifications, the next deadline). Only IDs, integers, strings
// and byte slices appear here — no pointers into the machine, no closures — so
// the same records can be encoded across the WASM boundary (wasm/abi).
//
// It owns no logic and may import only the standard library's pure packages.
package wire

import "github.com/socketcore/socketcore/core/clock"

// ConnID names one transport connection, chosen by the host: one HTTP request
// (a polling GET or POST, or a WebSocket upgrade request that becomes the
// WebSocket). It must be unique among the live connections of one machine.
type ConnID uint64

// SID is an Engine.IO session id (20 characters, from the machine's seeded PRNG).
type SID string

// SocketID is a Socket.IO socket id: one namespace connection of one session.
// Every socket is also a member of the room named by its id.
type SocketID string

// AckRef names one acknowledgement in flight: either one the peer asked for
// (EventReceived.Ack, answered with Server.Ack) or one the application asked
// for (returned by Emit/Broadcast, resolved by AckResolved/BroadcastAckResolved).
type AckRef uint64

// Input is something that happened to the machine. Sealed.
type Input interface{ isInput() }

// Output is something the host must do, or a notification for the
// application. Sealed; hosts use exhaustive type switches.
type Output interface{ isOutput() }

// ---- inputs --------------------------------------------------------------

// HTTPRequest is one request on the Engine.IO path, with its body already read.
type HTTPRequest struct {
	Conn      ConnID
	Method    string // "GET", "POST", "OPTIONS", ...
	Query     string // the raw query string (without '?')
	WebSocket bool   // the request asks for a WebSocket upgrade
	Binary    bool   // Content-Type: application/octet-stream
	Body      []byte // owned by the machine after the call
	// TooLarge reports that the body was longer than the machine's MaxPayload;
	// the host stops reading at MaxPayload+1 bytes and leaves Body empty.
	TooLarge bool
}

// Recv is one WebSocket message received on Conn.
type Recv struct {
	Conn   ConnID
	Data   []byte // owned by the machine after the call
	Binary bool
}

// Closed reports that Conn is gone: a WebSocket closed or failed, or the
// client of a pending polling request went away. Error distinguishes a
// transport failure from an orderly close.
type Closed struct {
	Conn  ConnID
	Error bool
}

// Timeout reports that the deadline given by the last Wait has passed.
// Extra timeouts are harmless.
type Timeout struct{}

func (HTTPRequest) isInput() {}
func (Recv) isInput()        {}
func (Closed) isInput()      {}
func (Timeout) isInput()     {}

// ---- transport outputs ---------------------------------------------------

// Frame is one WebSocket message (one Engine.IO packet).
type Frame struct {
	Data   []byte
	Binary bool
}

// Respond completes the HTTP request Conn. Body must not be modified.
// Compress: a polling payload holding a packet sent compressible (the host
// may compress the body, Node's httpCompression); false for everything
// else (handshakes, "ok", errors, pings alone).
type Respond struct {
	Conn        ConnID
	Status      int
	ContentType string
	Body        []byte
	Compress    bool
}

// AcceptWebSocket tells the host to complete the WebSocket handshake of the
// upgrade request Conn. From then on Conn is the WebSocket: the machine sends
// Send/Broadcast/CloseConn for it and expects Recv/Closed from it. If the
// handshake fails the host reports Closed{Conn}.
type AcceptWebSocket struct {
	Conn ConnID
}

// Send writes Frames, in order, to the WebSocket Conn. The frames must not
// be modified; they may be shared with other outputs.
type Send struct {
	Conn     ConnID
	Frames   []Frame
	Volatile bool // the host may drop the frames if Conn is not writable now
	Compress bool // per-message compression is wanted (when negotiated)
}

// Broadcast writes the same Frames to every WebSocket in Conns. The machine
// encoded them once; the host should prepare each frame once too.
type Broadcast struct {
	Conns    []ConnID
	Frames   []Frame
	Volatile bool
	Compress bool
}

// CloseConn closes the WebSocket (or aborts the request) Conn after the
// frames already sent to it.
type CloseConn struct {
	Conn ConnID
}

// Wait is the last output of a drain: nothing more to do until input arrives
// or Deadline passes (then feed Timeout). Deadline 0 means no timer is armed.
type Wait struct {
	Deadline clock.Instant
}

func (Respond) isOutput()         {}
func (AcceptWebSocket) isOutput() {}
func (Send) isOutput()            {}
func (Broadcast) isOutput()       {}
func (CloseConn) isOutput()       {}
func (Wait) isOutput()            {}

// ---- Engine.IO notifications ---------------------------------------------

// SessionOpened reports a new Engine.IO session, created by the handshake
// request Conn (whose headers, address and query the host may keep as the
// session's handshake data).
type SessionOpened struct {
	SID       SID
	Conn      ConnID
	WebSocket bool
}

// SessionUpgraded reports that SID now uses the WebSocket Conn.
type SessionUpgraded struct {
	SID  SID
	Conn ConnID
}

// SessionClosed reports that SID is gone, with one of the Reason* strings.
type SessionClosed struct {
	SID    SID
	Reason string
}

// MessageReceived is an Engine.IO message for an engine-only machine
// (no Socket.IO layer).
type MessageReceived struct {
	SID    SID
	Data   []byte
	Binary bool
}

func (SessionOpened) isOutput()   {}
func (SessionUpgraded) isOutput() {}
func (SessionClosed) isOutput()   {}
func (MessageReceived) isOutput() {}

// Engine.IO / Socket.IO close and disconnect reasons, verbatim from the
// official server (socket.io lib/socket-types.ts DisconnectReason).
const (
	ReasonTransportError            = "transport error"
	ReasonTransportClose            = "transport close"
	ReasonForcedClose               = "forced close"
	ReasonPingTimeout               = "ping timeout"
	ReasonParseError                = "parse error"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonForcedServerClose         = "forced server close"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
)

// ---- Socket.IO notifications ---------------------------------------------

// ConnectRequested asks the application to accept or reject a namespace
// connection (its middleware), answered with Server.AcceptConnect or
// Server.RejectConnect. Socket is the id the socket will have.
// Known is false for a namespace that is not registered: accepting it
// creates it (a dynamic namespace); the usual answer is RejectConnect with
// "Invalid namespace".
type ConnectRequested struct {
	Socket SocketID
	SID    SID
	Nsp    string
	Auth   []byte // raw JSON object; "{}" when the client sent none
	Known  bool
	// Recovered: the client came back within the recovery window and gets
	// its socket back (same id, rooms, missed packets). Data is what the
	// host attached with SetRecoveryData when it left (nil if nothing).
	Recovered bool
	Data      []byte
}

// Connected reports that Socket joined Nsp (after AcceptConnect).
type Connected struct {
	Socket SocketID
	SID    SID
	Nsp    string
	// Recovered and Data as in ConnectRequested.
	Recovered bool
	Data      []byte
}

// EventReceived is an event from a socket. Data is the raw JSON array
// ["name", args...] with binary arguments as {"_placeholder":true,"num":i}
// objects indexing Attachments. Ack is non-zero when the client expects an
// acknowledgement (answer with Server.Ack).
type EventReceived struct {
	Socket      SocketID
	Name        string
	Data        []byte
	Attachments [][]byte
	Ack         AckRef
}

// AckError says why an acknowledgement did not come.
type AckError uint8

const (
	AckOK           AckError = iota
	AckTimedOut              // "operation has timed out"
	AckDisconnected          // the socket disconnected first
)

// AckResolved resolves one Emit with WithAck: exactly once per AckRef.
// Args is the raw JSON array of the acknowledgement's arguments.
type AckResolved struct {
	Ref         AckRef
	Socket      SocketID
	Args        []byte
	Attachments [][]byte
	Err         AckError
}

// Reply is one socket's acknowledgement of a broadcast. Socket is empty
// for a client of another server (the cluster protocol does not name it)
// and for a server's answer to a ServerSideEmit.
type Reply struct {
	Socket      SocketID
	Args        []byte
	Attachments [][]byte
}

// BroadcastAckResolved resolves one Broadcast with WithAck: exactly once per
// AckRef, when every targeted socket answered or the timeout passed
// (TimedOut, with the replies received so far).
type BroadcastAckResolved struct {
	Ref      AckRef
	Replies  []Reply
	TimedOut bool
}

// Disconnecting reports that Socket is about to leave; Rooms are the rooms
// it was in (its own id room included).
type Disconnecting struct {
	Socket SocketID
	Reason string
	Rooms  []string
}

// Disconnected reports that Socket is gone, after Disconnecting.
type Disconnected struct {
	Socket SocketID
	Reason string
}

func (ConnectRequested) isOutput()     {}
func (Connected) isOutput()            {}
func (EventReceived) isOutput()        {}
func (AckResolved) isOutput()          {}
func (BroadcastAckResolved) isOutput() {}
func (Disconnecting) isOutput()        {}
func (Disconnected) isOutput()         {}
