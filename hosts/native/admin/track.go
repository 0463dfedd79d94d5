package admin

import (
	"slices"
	"strings"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// The Admin keeps its own picture of the server's sockets — their
// namespace, session, transport and rooms — from what it observes, on the
// server's driver goroutine (Observe), so that what it later tells the UI
// is exact at the point of the event stream where it is told: the rooms of
// a socket_connected are those it had when it connected, and the
// all_sockets a new UI gets is the state right after its own connection,
// which the events queued after it then update, each once. The UI's own
// store (ui/src/store/modules/main.js) adds a socket to a room's list on
// every room_joined, so a membership told twice would count twice.

// sockInfo is one socket of this server.
type sockInfo struct {
	id, nsp, sid string
	sock         *native.Socket // nil until it connected (its id room comes first)
	rooms        []string
}

// sessInfo is one Engine.IO session of this server.
type sessInfo struct {
	transport string
	sockets   []string // its connected sockets' ids
}

type tracker struct {
	sockets  map[string]*sockInfo
	sessions map[string]*sessInfo
	nsps     map[string]*native.Namespace // every namespace that had a socket here
	noRooms  bool                         // warned: the server reports no rooms
}

func (t *tracker) init() {
	t.sockets = make(map[string]*sockInfo)
	t.sessions = make(map[string]*sessInfo)
	t.nsps = make(map[string]*native.Namespace)
}

// sockSnap is a socket as the UI is told of it (SerializedSocket without
// its handshake and data, which the goroutine adds).
type sockSnap struct {
	id, nsp, clientID, transport string
	sock                         *native.Socket
	rooms                        []string
}

func (t *tracker) snap(s *sockInfo) sockSnap {
	sn := sockSnap{id: s.id, nsp: s.nsp, sock: s.sock, rooms: slices.Clone(s.rooms)}
	sn.clientID = s.sid
	if len(sn.clientID) > 12 {
		sn.clientID = sn.clientID[:12] // as instrument(): "this information is quite sensitive"
	}
	if ss := t.sessions[s.sid]; ss != nil {
		sn.transport = ss.transport
	}
	return sn
}

// snapshot is every connected socket, by namespace and id.
func (t *tracker) snapshot() []sockSnap {
	out := make([]sockSnap, 0, len(t.sockets))
	for _, s := range t.sockets {
		if s.sock != nil {
			out = append(out, t.snap(s))
		}
	}
	slices.SortFunc(out, func(a, b sockSnap) int {
		if c := strings.Compare(a.nsp, b.nsp); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// item is one thing to tell the UIs, queued by Observe.
type item struct {
	kind  itemKind
	at    time.Time
	nsp   string
	id    string // the socket's
	room  string
	extra string         // socket_disconnected: the reason; socket_updated: the transport
	one   sockSnap       // socket_connected
	admin *native.Socket // itemHello: the UI's socket
	snap  []sockSnap     // itemHello (development), itemResync
	data  []byte         // an event's JSON array, name first
	atts  [][]byte
	// dropped: how many items a resync replaces
	dropped int
}

type itemKind uint8

const (
	itemConnected    itemKind = iota + 1 // socket_connected
	itemUpdated                          // socket_updated {id, nsp, transport}
	itemDisconnected                     // socket_disconnected
	itemJoined                           // room_joined
	itemLeft                             // room_left
	itemReceived                         // event_received
	itemSent                             // event_sent
	itemHello                            // a UI connected: session, config, all_sockets
	itemResync                           // all_sockets to every UI, after the queue overflowed
)

// Observe implements native.Observer. It runs on the server's driver: it
// only updates the Admin's picture of the server and queues what to tell
// the UIs, for the Admin's goroutine.
func (a *Admin) Observe(e native.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.observed = true
	dev := a.opts.Mode == Development
	t := &a.track
	switch e.Kind {
	case native.SessionOpened:
		a.raw.add(e.Time, "rawConnection", "")
		if dev {
			t.sessions[e.Session] = &sessInfo{transport: e.Transport}
		}
	case native.SessionUpgraded:
		ss := t.sessions[e.Session]
		if !dev || ss == nil {
			return
		}
		ss.transport = e.Transport
		for _, id := range ss.sockets {
			if s := t.sockets[id]; s != nil {
				a.push(item{kind: itemUpdated, nsp: s.nsp, id: id, extra: ss.transport})
			}
		}
	case native.SessionClosed:
		a.raw.add(e.Time, "rawDisconnection", e.Reason)
		delete(t.sessions, e.Session)
	case native.SocketConnected:
		if e.Sock == nil {
			return
		}
		if dev {
			s := t.sockets[e.Socket]
			if s == nil {
				// no RoomJoined for its own room came first: the server
				// was started without the Admin among its Observers
				s = &sockInfo{id: e.Socket, rooms: []string{e.Socket}}
				t.sockets[e.Socket] = s
				if !t.noRooms {
					t.noRooms = true
					a.logger().Warn("socketcore/admin: the server reports no rooms; put the Admin in native.Options.Observers")
				}
			}
			s.nsp, s.sid, s.sock = e.Nsp, e.Session, e.Sock
			if ss := t.sessions[e.Session]; ss != nil {
				ss.sockets = append(ss.sockets, e.Socket)
			}
			if t.nsps[e.Nsp] == nil {
				t.nsps[e.Nsp] = e.Sock.Namespace()
			}
			a.push(item{kind: itemConnected, at: e.Time, one: t.snap(s)})
		}
		if e.Nsp == a.opts.Namespace {
			it := item{kind: itemHello, admin: e.Sock}
			if dev {
				it.snap = t.snapshot()
			}
			a.push(it)
		}
	case native.SocketDisconnected:
		if !dev {
			return
		}
		nsp := e.Nsp
		if s := t.sockets[e.Socket]; s != nil {
			nsp = s.nsp
			delete(t.sockets, e.Socket)
			if ss := t.sessions[s.sid]; ss != nil {
				if i := slices.Index(ss.sockets, e.Socket); i >= 0 {
					ss.sockets = slices.Delete(ss.sockets, i, i+1)
				}
			}
		}
		if nsp != "" {
			a.push(item{kind: itemDisconnected, at: e.Time, nsp: nsp, id: e.Socket, extra: e.Reason})
		}
	case native.RoomJoined:
		if !dev {
			return
		}
		s := t.sockets[e.Socket]
		if s == nil {
			s = &sockInfo{id: e.Socket, nsp: e.Nsp}
			t.sockets[e.Socket] = s
		}
		if !slices.Contains(s.rooms, e.Room) {
			s.rooms = append(s.rooms, e.Room)
		}
		a.push(item{kind: itemJoined, at: e.Time, nsp: e.Nsp, id: e.Socket, room: e.Room})
	case native.RoomLeft:
		if !dev {
			return
		}
		if s := t.sockets[e.Socket]; s != nil {
			if i := slices.Index(s.rooms, e.Room); i >= 0 {
				s.rooms = slices.Delete(s.rooms, i, i+1)
			}
			if s.sock == nil && len(s.rooms) == 0 {
				delete(t.sockets, e.Socket) // never connected here (a restored snapshot's)
			}
		}
		a.push(item{kind: itemLeft, at: e.Time, nsp: e.Nsp, id: e.Socket, room: e.Room})
	case native.EventReceived, native.EventSent:
		if !dev || e.Nsp == a.opts.Namespace { // the UI's own traffic is not shown (as instrument())
			return
		}
		it := item{kind: itemReceived, at: e.Time, nsp: e.Nsp, id: e.Socket, data: slices.Clone(e.Data)}
		if e.Kind == native.EventSent {
			it.kind = itemSent
		}
		if len(e.Attachments) > 0 {
			it.atts = make([][]byte, len(e.Attachments))
			for i, b := range e.Attachments {
				it.atts[i] = slices.Clone(b)
			}
		}
		a.push(it)
	}
}

// rawBuffer is instrument()'s EventBuffer for the events it counts itself:
// counts per second, type and subtype, taken by each server_stats.
type rawBuffer struct {
	counts []aggregated
}

// aggregated is one entry of server_stats.aggregatedEvents.
type aggregated struct {
	Timestamp int64  `json:"timestamp"` // ms, at a whole second
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     uint64 `json:"count"`
}

func (r *rawBuffer) add(at time.Time, typ, sub string) {
	if at.IsZero() {
		at = time.Now()
	}
	ts := at.Truncate(time.Second).UnixMilli()
	for i := len(r.counts) - 1; i >= 0; i-- {
		c := &r.counts[i]
		if c.Timestamp == ts && c.Type == typ && c.SubType == sub {
			c.Count++
			return
		}
		if c.Timestamp < ts {
			break // entries are in time order
		}
	}
	if len(r.counts) < 10_000 { // bounded even if server_stats stalls
		r.counts = append(r.counts, aggregated{Timestamp: ts, Type: typ, SubType: sub, Count: 1})
	}
}

func (r *rawBuffer) take() []aggregated {
	out := r.counts
	r.counts = nil
	return out
}
