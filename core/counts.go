package core

import "github.com/socketcore/socketcore/core/internal/order"

// Read-only counts for a host's metrics: what Stats does not say because
// it is per namespace or since the start. They are read between drains,
// like Stats, and cost nothing until asked for.

// NamespaceCount is one namespace's share of the sockets and rooms.
type NamespaceCount struct {
	Name    string
	Sockets int // connected sockets
	// Rooms are the rooms with at least one member, not counting the room
	// of each socket's own id (Node's adapter.rooms counts those too:
	// Rooms+Sockets when no socket left its own room).
	Rooms int
}

// NamespaceCounts returns the counts of every namespace, sorted by name.
func (s *Server) NamespaceCounts() []NamespaceCount {
	// Sorting the names, not the counts, reuses the string sort the core
	// links anyway: a sort of NamespaceCounts added 25 KB to core.wasm.
	names := make([]string, 0, len(s.nsps))
	for name := range s.nsps {
		names = append(names, name)
	}
	order.Sort(names)
	out := make([]NamespaceCount, len(names))
	for i, name := range names {
		n := s.nsps[name]
		rooms := 0
		for room, set := range n.rooms {
			if set.len() == 1 && string(set.items[0].id) == room {
				continue // a socket's own room
			}
			rooms++
		}
		out[i] = NamespaceCount{Name: name, Sockets: n.sockets.len(), Rooms: rooms}
	}
	return out
}

// Transports counts the open sessions (Stats.Sessions) by transport: on
// polling, and on WebSocket (upgraded ones included).
func (s *Server) Transports() (polling, websocket int) { return s.eng.Transports() }

// VolatileDropped is the number of volatile packets the machine dropped
// since it was made because their polling session had no GET parked (a
// broadcast counts once per such session); the host adds the WebSocket
// writes it drops.
func (s *Server) VolatileDropped() uint64 { return s.eng.VolatileDropped() }
