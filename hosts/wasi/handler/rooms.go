package handler

import (
	"slices"
	"strconv"

	"github.com/socketcore/socketcore/core/wire"
)

// Rooms and namespaces as GRIP channels, where that is exact.
//
// Every WebSocket is subscribed (GRIP control messages in its own responses)
// to one channel per namespace it has a socket in and one per room those
// sockets are in (besides their own id room). A subscription counts only
// once it is confirmed: it was sent in a response of the connection and the
// proxy has since sent the next request of that connection (Pushpin sends a
// connection's requests one at a time, and reads a response's control
// messages before it sends the next one). Until then the channel is unsure.
//
// The core plans every broadcast itself (rooms, except, one delivery per
// socket in several rooms, polling buffers); a wire.Broadcast names the
// WebSocket connections that get its frames. Such a broadcast is published
// once to a channel only when that channel is sure and its subscribers are
// exactly those connections; otherwise it is one item per connection
// channel, as before. Membership that changed in another connection's
// request (a disconnect, a join by the server) makes the sets differ until
// the connection's next request re-subscribes: the fallback covers it.

// Subs is the channel subscriptions of the WebSockets.
type Subs struct {
	Conns   map[wire.ConnID]*ConnSubs `json:"conns,omitempty"`
	members map[string]map[wire.ConnID]bool
	unsure  map[string]int // channel → connections with a change not confirmed yet
}

// ConnSubs is one WebSocket's subscriptions.
type ConnSubs struct {
	Have    []string        `json:"have,omitempty"`    // confirmed, sorted
	Pending map[string]bool `json:"pending,omitempty"` // sent in the last response: true subscribe, false unsubscribe
}

// maxRoomChannels bounds one connection's channels (Pushpin's
// connection_subscription_max counts its own channel too).
const maxRoomChannels = 100

func (s *Subs) init() {
	if s.Conns == nil {
		s.Conns = map[wire.ConnID]*ConnSubs{}
	}
	s.members = map[string]map[wire.ConnID]bool{}
	s.unsure = map[string]int{}
	for c, cs := range s.Conns {
		for _, ch := range cs.Have {
			s.add(ch, c)
		}
		for ch := range cs.Pending {
			s.unsure[ch]++
		}
	}
}

func (s *Subs) add(ch string, c wire.ConnID) {
	m := s.members[ch]
	if m == nil {
		m = map[wire.ConnID]bool{}
		s.members[ch] = m
	}
	m[c] = true
}

func (s *Subs) remove(ch string, c wire.ConnID) {
	if m := s.members[ch]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(s.members, ch)
		}
	}
}

func (s *Subs) settle(ch string) {
	if s.unsure[ch]--; s.unsure[ch] <= 0 {
		delete(s.unsure, ch)
	}
}

// confirm applies c's pending changes: the proxy has read them.
func (s *Subs) confirm(c wire.ConnID) {
	cs := s.Conns[c]
	if cs == nil || len(cs.Pending) == 0 {
		return
	}
	for ch, sub := range cs.Pending {
		i, have := slices.BinarySearch(cs.Have, ch)
		switch {
		case sub && !have:
			cs.Have = slices.Insert(cs.Have, i, ch)
			s.add(ch, c)
		case !sub && have:
			cs.Have = slices.Delete(cs.Have, i, i+1)
			s.remove(ch, c)
		}
		s.settle(ch)
	}
	cs.Pending = nil
}

// drop forgets a closed connection (the proxy unsubscribes it).
func (s *Subs) drop(c wire.ConnID) {
	cs := s.Conns[c]
	if cs == nil {
		return
	}
	for _, ch := range cs.Have {
		s.remove(ch, c)
	}
	for ch := range cs.Pending {
		s.settle(ch)
	}
	delete(s.Conns, c)
}

// reconcile returns the control messages that move c's subscriptions to
// want (sorted), and marks them pending.
func (s *Subs) reconcile(c wire.ConnID, want []string) [][]byte {
	cs := s.Conns[c]
	if cs == nil {
		if len(want) == 0 {
			return nil
		}
		cs = &ConnSubs{}
		s.Conns[c] = cs
	}
	var out [][]byte
	mark := func(ch string, sub bool) {
		if cs.Pending == nil {
			cs.Pending = map[string]bool{}
		}
		if _, ok := cs.Pending[ch]; !ok {
			s.unsure[ch]++
		}
		cs.Pending[ch] = sub
		typ := "unsubscribe"
		if sub {
			typ = "subscribe"
		}
		out = append(out, Control(typ, ch))
	}
	// pending is empty here: confirm ran at the start of the request
	i, j := 0, 0
	for i < len(cs.Have) || j < len(want) {
		switch {
		case j == len(want) || (i < len(cs.Have) && cs.Have[i] < want[j]):
			mark(cs.Have[i], false)
			i++
		case i == len(cs.Have) || want[j] < cs.Have[i]:
			mark(want[j], true)
			j++
		default:
			i++
			j++
		}
	}
	if len(cs.Have) == 0 && len(cs.Pending) == 0 {
		delete(s.Conns, c)
	}
	return out
}

// exact returns a sure channel whose subscribers are exactly conns, or "".
func (s *Subs) exact(conns []wire.ConnID) string {
	if len(conns) < 2 {
		return ""
	}
	cs := s.Conns[conns[0]]
	if cs == nil {
		return ""
	}
	for _, ch := range cs.Have {
		m := s.members[ch]
		if s.unsure[ch] > 0 || len(m) != len(conns) {
			continue
		}
		all := true
		for _, c := range conns {
			if !m[c] {
				all = false
				break
			}
		}
		if all {
			return ch
		}
	}
	return ""
}

// wantChannels is the channels WebSocket c should be subscribed to: one per
// namespace of its session's sockets and one per room they are in.
func (h *Handler) wantChannels(c wire.ConnID) []string {
	sid, ok := h.WSSID[c]
	if !ok {
		return nil
	}
	var want []string
	for id := range h.app.bySID[sid] {
		si := h.app.Sockets[id]
		if si == nil {
			continue
		}
		want = append(want, h.nspChannel(si.Nsp))
		for _, r := range h.srv.Rooms(id) {
			if r != string(id) {
				want = append(want, h.roomChannel(si.Nsp, r))
			}
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) > maxRoomChannels {
		want = want[:maxRoomChannels]
	}
	return want
}

func (h *Handler) nspChannel(nsp string) string { return "n" + h.Epoch + ":" + nsp }
func (h *Handler) roomChannel(nsp, room string) string {
	return "r" + h.Epoch + ":" + strconv.Itoa(len(nsp)) + ":" + nsp + room
}
