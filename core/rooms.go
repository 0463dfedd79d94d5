package core

import "github.com/socketcore/socketcore/core/wire"

// socketSet is an insertion-ordered set of sockets with O(1) add/remove
// (swap-remove). Its iteration order depends only on the sequence of
// operations, never on map randomness, so broadcasts and simulations replay
// exactly (STYLE.md §1 core/internal/rooms).
type socketSet struct {
	items []*socket
	index map[*socket]int
}

func (s *socketSet) add(k *socket) bool {
	if s.index == nil {
		s.index = make(map[*socket]int)
	}
	if _, ok := s.index[k]; ok {
		return false
	}
	s.index[k] = len(s.items)
	s.items = append(s.items, k)
	return true
}

func (s *socketSet) remove(k *socket) bool {
	i, ok := s.index[k]
	if !ok {
		return false
	}
	last := len(s.items) - 1
	if i != last {
		s.items[i] = s.items[last]
		s.index[s.items[i]] = i
	}
	s.items[last] = nil
	s.items = s.items[:last]
	delete(s.index, k)
	return true
}

func (s *socketSet) has(k *socket) bool { _, ok := s.index[k]; return ok }
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
	if set := n.rooms[room]; set != nil {
		set.remove(s)
		if set.len() == 0 {
			delete(n.rooms, room)
			n.roomEvent(false, room)
		}
	}
}

func (n *namespace) leaveAll(s *socket) {
	for _, room := range s.rooms {
		if set := n.rooms[room]; set != nil {
			set.remove(s)
			if set.len() == 0 {
				delete(n.rooms, room)
				n.roomEvent(false, room)
			}
		}
	}
	s.rooms = nil
}
