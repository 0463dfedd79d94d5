package wire

// Connection state recovery across the servers of a cluster
// (core.Config.RecoveryStore, core/recovery_cluster.go): the sessions of
// the sockets and the packets they may miss are kept in a store every
// server reads (Redis: adapter/redis), so that a client whose server went
// away resumes on another one. The core says what to keep and what to look
// up (RecoveryRecord, RecoverySession, RecoveryLookup out); the host does
// the I/O and answers lookups with RecoveryFound.
//
// Offsets are cluster-wide: the server where a packet originates names it
// (its node id, then a sequence number) and every server that delivers it
// appends that same offset (ClusterMessage.Offset carries it).

// RecoveryPacket is one packet as the store keeps it.
type RecoveryPacket struct {
	Offset string
	// The sockets it was for: in any of Rooms (every socket of the
	// namespace when empty) and in none of Except.
	Rooms  []string
	Except []string
	// Data is the event [name, ...args] without the offset (the server
	// that replays it appends it); binary parts are placeholders for
	// Attachments.
	Data        []byte
	Attachments [][]byte
}

// RecoveryRecord asks the host to append a packet this server originated
// to Nsp's log in the store (a socket emit, or a broadcast that is not
// published). A broadcast that is published is recorded through its
// ClusterPublish instead: a Broadcast with an Offset is also a
// RecoveryPacket (Offset, Rooms, Except, Data, Attachments of the message),
// which the host appends in the same step as the publish when its store
// can, so that every server receives broadcasts in the order of the log.
type RecoveryRecord struct {
	Nsp    string
	Packet RecoveryPacket
}

// RecoveryState says what to do with a RecoverySession.
type RecoveryState uint8

const (
	// RecoveryLive: the snapshot of a connected socket, written at its
	// connection and when its rooms change, so that it stays recoverable
	// if its server dies. Written unless the stored snapshot of that pid
	// is another server's (the socket was recovered there since).
	RecoveryLive RecoveryState = iota + 1
	// RecoveryResumed: the first snapshot of a recovered socket; it
	// replaces any copy of the session, whoever wrote it.
	RecoveryResumed
	// RecoverySaved: the socket left for a recoverable reason; its
	// snapshot becomes a saved session that expires with the window. Only
	// if the stored snapshot is still this server's (nobody recovered it
	// meanwhile).
	RecoverySaved
	// RecoveryGone: the socket left for good; its snapshot is removed if
	// it is still this server's.
	RecoveryGone
	// RecoveryUnused: a session a lookup found but could not use (its
	// client left meanwhile): stored again as a saved session.
	RecoveryUnused
)

var recoveryStateNames = [...]string{"", "Live", "Resumed", "Saved", "Gone", "Unused"}

func (s RecoveryState) String() string {
	if int(s) < len(recoveryStateNames) && s != 0 {
		return recoveryStateNames[s]
	}
	return "RecoveryState(?)"
}

// RecoverySession is a socket's session as the store keeps it: its private
// id (the key), its socket id, namespace and rooms, the server holding it
// and the application's socket.data.
type RecoverySession struct {
	State  RecoveryState
	PID    string
	Socket SocketID
	Nsp    string
	Rooms  []string
	// Node is the id of the server holding the socket: the prefix of its
	// offsets, and of the pids it makes (a pid's first six characters
	// name the server that made it, which the store uses to group the
	// snapshots of one server).
	Node string
	// Data is socket.data as JSON: the core leaves it empty, the host
	// fills it in before writing; a lookup gives it back.
	Data []byte
}

// RecoveryLookup asks the host for the session of PID and the packets of
// Nsp after Offset: a client came back with {pid, offset} in its CONNECT,
// and its socket waits for the answer (RecoveryFound with the same Ref).
// Looking a session up consumes it. When the session is held by Node (this
// server) the core has the packets in memory: the host need not read them.
// Lookups that the host performs in order with the outputs before them
// see what those wrote.
type RecoveryLookup struct {
	Ref    AckRef
	Nsp    string
	PID    string
	Offset string
	Node   string
}

// RecoveryFound answers a RecoveryLookup. Found says a session was stored
// under the pid (Session, with the state it was stored in: Live or Saved);
// OffsetFound says the offset is in the namespace's log, and Packets are
// the entries after it, oldest first. A store that failed answers with
// nothing found: the client gets a fresh socket.
type RecoveryFound struct {
	Ref         AckRef
	Found       bool
	Session     RecoverySession
	OffsetFound bool
	Packets     []RecoveryPacket
}

func (RecoveryFound) isInput() {}

func (RecoveryRecord) isOutput()  {}
func (RecoverySession) isOutput() {}
func (RecoveryLookup) isOutput()  {}
