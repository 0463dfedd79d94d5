package wire

// ---- client role ---------------------------------------------------------
//
// In the client role (core/client) the machine opens connections and names
// them: it chooses the ConnID of every Fetch and Dial. The host performs them
// and reports back with HTTPResponse, Dialed, Recv and Closed naming the same
// ConnID. A CloseConn from a client machine aborts a Fetch or closes a
// WebSocket; after it the machine ignores whatever the host still reports for
// that ConnID. Frames for a client WebSocket use Send, as in the server role.

// Fetch asks the host to perform one HTTP request (an Engine.IO long-polling
// GET or POST) and to report its outcome: HTTPResponse with the status and the
// whole body, or Closed{Error: true} when no response came (network error).
// The host adds its own headers (extra headers, cookies) and must not follow
// the request with another on the same ConnID.
type Fetch struct {
	Conn        ConnID
	Method      string // "GET" or "POST"
	URL         string // absolute http(s) URL with its query
	ContentType string // for a POST: "text/plain;charset=UTF-8"
	Body        []byte // must not be modified
}

// Dial asks the host to open a WebSocket to URL (ws or wss, with its query)
// and to report Dialed once the opening handshake completed, or Closed{Error:
// true} if it failed. Messages then arrive as Recv and the end as Closed.
type Dial struct {
	Conn ConnID
	URL  string
}

func (Fetch) isOutput() {}
func (Dial) isOutput()  {}

// HTTPResponse is the outcome of a Fetch: any status (the machine decides
// what a non-200 means) and the complete body.
type HTTPResponse struct {
	Conn   ConnID
	Status int
	Body   []byte // owned by the machine after the call
}

// Dialed reports that the WebSocket asked for by Dial is open.
type Dialed struct {
	Conn ConnID
}

func (HTTPResponse) isInput() {}
func (Dialed) isInput()       {}

// ---- client role: manager notifications (socket.io-client Manager events) --

// EngineOpened reports that an Engine.IO session is open (the Manager's
// "open" event): the handshake completed on Transport.
type EngineOpened struct {
	SID       SID
	Transport string // "polling" or "websocket"
}

// EngineUpgraded reports that the session moved to Transport (the engine's
// "upgrade" event, after the 2probe/3probe/5 exchange).
type EngineUpgraded struct {
	SID       SID
	Transport string
}

// EngineError reports a transport or handshake error (the Manager's "error"
// event). Message is the official client's: "xhr poll error", "xhr post
// error", "websocket error", "timeout", "server error", "No transports
// available". Description adds detail (an HTTP status, ...), may be empty.
type EngineError struct {
	Message     string
	Description string
}

// EngineClosed reports that the Engine.IO session ended (the Manager's
// "close" event), with one of the client Reason* strings.
type EngineClosed struct {
	Reason      string
	Description string
}

// ReconnectAttempt reports that reconnection attempt number Attempt (from 1)
// starts now ("reconnect_attempt").
type ReconnectAttempt struct {
	Attempt int
}

// Reconnected reports that the attempt numbered Attempt opened a session
// ("reconnect").
type Reconnected struct {
	Attempt int
}

// ReconnectError reports that a reconnection attempt failed
// ("reconnect_error"); another is scheduled unless the attempts ran out.
type ReconnectError struct {
	Message string
}

// ReconnectFailed reports that ReconnectionAttempts ran out
// ("reconnect_failed"); the manager stays closed.
type ReconnectFailed struct{}

func (EngineOpened) isOutput()     {}
func (EngineUpgraded) isOutput()   {}
func (EngineError) isOutput()      {}
func (EngineClosed) isOutput()     {}
func (ReconnectAttempt) isOutput() {}
func (Reconnected) isOutput()      {}
func (ReconnectError) isOutput()   {}
func (ReconnectFailed) isOutput()  {}

// ---- client role: socket notifications -------------------------------------
//
// A client socket is named by its namespace (one per namespace and manager).
// Connected (Socket = the id the server gave, SID = the Engine.IO session),
// EventReceived (Socket = that id; Ack non-zero when the server asked for an
// acknowledgement, answered with Manager.Ack) and AckResolved (one per
// acknowledgement asked for with an emit) are shared with the server role.
// Connected always comes before the events of the connection it opens.

// AuthRequested asks the host for the CONNECT payload of the socket of Nsp
// (socket.io-client's auth function, evaluated on every connection attempt).
// The host answers with Manager.SetAuth.
type AuthRequested struct {
	Nsp string
}

// ConnectError reports that the socket of Nsp could not connect
// ("connect_error"): the server refused it (Server is true; Message and Data
// from the CONNECT_ERROR packet, Data raw JSON or nil; the socket will not
// retry), or the connection failed (the EngineError message; reconnection
// may follow).
type ConnectError struct {
	Nsp     string
	Message string
	Data    []byte
	Server  bool
}

// SocketDisconnected reports that the socket of Nsp, connected as Socket,
// lost its connection ("disconnect"), with one of the client Reason* strings.
type SocketDisconnected struct {
	Nsp         string
	Socket      SocketID
	Reason      string
	Description string
}

func (AuthRequested) isOutput()      {}
func (ConnectError) isOutput()       {}
func (SocketDisconnected) isOutput() {}

// Client disconnect reasons (socket.io-client lib/socket.ts
// DisconnectReason) in addition to the shared ReasonTransportError,
// ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout and
// ReasonParseError.
const (
	ReasonIOServerDisconnect = "io server disconnect"
	ReasonIOClientDisconnect = "io client disconnect"
)
