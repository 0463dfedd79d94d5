package core

import "github.com/socketcore/socketcore/core/wire"

// socketSet is an insertion-ordered set of sockets with O(1) add/remove
// (swap-remove). Its iteration order depends only on the sequence of
// operations, never on map randomness, so broadcasts and simulations replay
// exactly (STYLE.md §1 core/internal/rooms). A small set (a socket's own
// room, most application rooms) has no index: a linear scan of a few
// pointers is as fast as a map and costs an idle socket no map.
type socketSet struct {
	items []*socket
	index map[*socket]int // nil while len(items) <= smallSet
}

// smallSet is the size up to which a socketSet has no index.
const smallSet = 16

func (s *socketSet) find(k *socket) int {
	if s.index != nil {
		if i, ok := s.index[k]; ok {
			return i
		}
		return -1
	}
	for i, x := range s.items {
		if x == k {
			return i
		}
	}
	return -1
}

func (s *socketSet) add(k *socket) bool {
	if s.find(k) >= 0 {
		return false
	}
	s.items = append(s.items, k)
	switch {
	case s.index != nil:
		s.index[k] = len(s.items) - 1
	case len(s.items) > smallSet:
		s.index = make(map[*socket]int, len(s.items))
		for i, x := range s.items {
			s.index[x] = i
		}
	}
	return true
}

func (s *socketSet) remove(k *socket) bool {
	i := s.find(k)
	if i < 0 {
		return false
	}
	last := len(s.items) - 1
	if i != last {
		s.items[i] = s.items[last]
		if s.index != nil {
			s.index[s.items[i]] = i
		}
	}
	s.items[last] = nil
	s.items = s.items[:last]
	if s.index != nil {
		delete(s.index, k)
	}
	return true
}

func (s *socketSet) has(k *socket) bool { return s.find(k) >= 0 }
func (s *socketSet) len() int           { return len(s.items) }

// namespace is one Socket.IO namespace: its sockets and room index.
type namespace struct {
	name    string
	gated   bool // connections wait for the application's decision (middleware)
	sockets socketSet
	rooms   map[string]*socketSet
	ids     uint64 // ack id counter shared by emits and broadcasts (namespace.ts _ids)
	srv     *Server
}

// roomEvent reports a room that came to be or went away, for a cluster
// adapter that subscribes per room (Redis's sharded dynamic modes).
func (n *namespace) roomEvent(created bool, room string) {
	if n.srv == nil || !n.srv.cfg.Cluster {
		return
	}
	if created {
		n.srv.eng.Push(wire.RoomCreated{Nsp: n.name, Room: room})
	} else {
		n.srv.eng.Push(wire.RoomDeleted{Nsp: n.name, Room: room})
	}
}

func (n *namespace) join(s *socket, room string) {
	for _, r := range s.rooms {
		if r == room {
			return
		}
	}
	s.rooms = append(s.rooms, room)
	if n.srv != nil {
		n.srv.roomsChanged(s) // recovery_cluster.go
	}
	set := n.rooms[room]
	if set == nil {
		set = &socketSet{}
		n.rooms[room] = set
		n.roomEvent(true, room)
	}
	set.add(s)
	n.memberEvent(true, s, room)
}

// memberEvent reports one socket joining or leaving a room
// (Config.RoomEvents), after "create-room" and before "delete-room" as
// Node's adapter orders "join-room" and "leave-room".
func (n *namespace) memberEvent(joined bool, s *socket, room string) {
	if n.srv == nil || !n.srv.cfg.RoomEvents {
		return
	}
	if joined {
		n.srv.eng.Push(wire.RoomJoined{Nsp: n.name, Room: room, Socket: s.id})
	} else {
		n.srv.eng.Push(wire.RoomLeft{Nsp: n.name, Room: room, Socket: s.id})
	}
}

func (n *namespace) leave(s *socket, room string) {
	for i, r := range s.rooms {
		if r == room {
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			if n.srv != nil {
				n.srv.roomsChanged(s) // recovery_cluster.go
			}
			break
		}
	}
	if set := n.rooms[room]; set != nil && set.remove(s) {
		n.memberEvent(false, s, room)
		if set.len() == 0 {
			delete(n.rooms, room)
			n.roomEvent(false, room)
		}
	}
}

func (n *namespace) leaveAll(s *socket) {
	for _, room := range s.rooms {
		if set := n.rooms[room]; set != nil && set.remove(s) {
			n.memberEvent(false, s, room)
			if set.len() == 0 {
				delete(n.rooms, room)
				n.roomEvent(false, room)
			}
		}
	}
	s.rooms = nil
}
