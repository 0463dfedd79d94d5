package wire

// RoomJoined and RoomLeft report one membership change of a socket of this
// server: Socket joined or left Room of Nsp, whoever asked (Server.Join
// and Leave, SocketsJoin and SocketsLeave from the application or another
// server of the cluster, a recovered socket getting its rooms back), as
// Node's adapter emits "join-room" and "leave-room". A socket joins the
// room of its own id when it connects (before Connected) and leaves every
// room when it goes (between Disconnecting and Disconnected). Only with
// Config.RoomEvents: an admin UI (@socket.io/admin-ui's room_joined and
// room_left) or a host's observers want them, the protocol does not.
type RoomJoined struct {
	Nsp    string
	Room   string
	Socket SocketID
}

// RoomLeft: see RoomJoined.
type RoomLeft struct {
	Nsp    string
	Room   string
	Socket SocketID
}

func (RoomJoined) isOutput() {}
func (RoomLeft) isOutput()   {}
