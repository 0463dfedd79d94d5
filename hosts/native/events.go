package native

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Event rules: what the clients of a namespace may emit (Options.EventRules)
// — an allowlist of event names and bounds on an event's size — and whether
// the namespace's catch-all handlers (Socket.OnAny) run. Node's server has
// none of this: there, a middleware of the socket (socket.use) checks each
// packet and calls next(err). Here the check is made on the driver
// goroutine, where the core hands over an event with its name and its
// encoded bytes, before the rate limits (limits.go), the observers and the
// socket's mailbox: a refused event costs a map lookup and a length, never
// a decoding of its arguments, and no handler or observer sees it.

// EventRules restrict the events the clients of a namespace may emit
// (Options.EventRules). An event refused by them never reaches a handler,
// a catch-all handler or an observer; what else happens to it is OnRefused.
// The zero value restricts nothing. The keys of Options.EventRules get a
// leading "/" if they miss it ("chat" is "/chat"; "/chat" wins if both
// are given).
type EventRules struct {
	// Allow lists the events the clients may emit; any other is refused.
	// Nil allows every event; an empty non-nil list refuses every one (a
	// namespace the server only emits to). "*" in the list allows every
	// event (the size bounds still apply): it lifts the allowlist of a
	// broader pattern for one namespace.
	Allow []string
	// MaxBytes bounds the size of single events, by name: an event larger
	// than its bound is refused. An event's size is the bytes of its JSON
	// array as the core decoded it from the packet — its name included,
	// binary attachments as their {"_placeholder":true,"num":N} — plus the
	// bytes of its binary attachments: socket.emit("chat", "hi") is
	// ["chat","hi"], 13 bytes. (A msgpack client's events are measured in
	// the same JSON form.) Zero or less: no bound for that event, even
	// with DefaultMaxBytes set.
	MaxBytes map[string]int
	// DefaultMaxBytes bounds the size of the events without a MaxBytes
	// entry. Zero: no bound.
	DefaultMaxBytes int
	// OnRefused is what happens to a refused event besides not being
	// handled: LimitDrop (the default: nothing), LimitErrorAck (its
	// acknowledgement, if it asked for one, is answered with
	// {"error":"event not allowed"} or {"error":"payload too large",
	// "limit":N}) or LimitDisconnect (the socket is disconnected from the
	// namespace, OnDisconnect sees ReasonEventNotAllowed or
	// ReasonPayloadTooLarge, and the events that followed are dropped).
	OnRefused LimitAction
	// CatchAll lets the catch-all handlers (Socket.OnAny) of a namespace
	// with an allowlist see its allowed events. Without it they are off
	// there: the events of such a namespace reach only the handlers
	// registered for their names. In a namespace without an allowlist
	// (Allow nil or holding "*"), catch-all handlers see every event that
	// is not refused, as in Node.
	CatchAll bool
}

// Reasons of the disconnections the event rules cause (LimitDisconnect),
// as OnDisconnect and the observers see them; also the "error" of the
// acknowledgement a refused event gets (LimitErrorAck). The client sees
// its namespace's disconnection ("io server disconnect").
const (
	// ReasonEventNotAllowed: the socket emitted an event its namespace's
	// EventRules.Allow does not list.
	ReasonEventNotAllowed = "event not allowed"
	// ReasonPayloadTooLarge: the socket emitted an event larger than its
	// bound (EventRules.MaxBytes, DefaultMaxBytes).
	ReasonPayloadTooLarge = "payload too large"
)

// eventRules are Options.EventRules compiled; nil when there are none.
type eventRules struct {
	exact    map[string]*nspRules
	prefixes []prefixRules // longest prefix first
}

type prefixRules struct {
	prefix string
	rules  *nspRules // nil: restricts nothing
}

// nspRules are one key's EventRules, compiled.
type nspRules struct {
	allow    map[string]struct{} // nil: every event
	maxBytes map[string]int      // by event name; 0: no bound
	defMax   int
	action   LimitAction
	catchAll bool // the sockets' OnAny handlers run
}

// newEventRules compiles rules; nil when there are none. A key is a
// namespace's name ("/" prepended if missing) or, ending in "*", a prefix
// of names ("/room-*"; "*" alone: every namespace).
func newEventRules(rules map[string]EventRules) *eventRules {
	if len(rules) == 0 {
		return nil
	}
	r := &eventRules{exact: make(map[string]*nspRules)}
	prefixes := map[string]bool{}
	// in key order: of "/chat" and "chat", the first ("/" sorts before
	// letters and digits) is the one that counts
	for _, key := range slices.Sorted(maps.Keys(rules)) {
		c := compileRules(rules[key])
		if prefix, ok := strings.CutSuffix(key, "*"); ok {
			if prefix != "" && !strings.HasPrefix(prefix, "/") {
				prefix = "/" + prefix
			}
			if !prefixes[prefix] {
				prefixes[prefix] = true
				r.prefixes = append(r.prefixes, prefixRules{prefix, c})
			}
			continue
		}
		if !strings.HasPrefix(key, "/") {
			key = "/" + key
		}
		if _, ok := r.exact[key]; !ok {
			r.exact[key] = c
		}
	}
	slices.SortStableFunc(r.prefixes, func(a, b prefixRules) int { return len(b.prefix) - len(a.prefix) })
	return r
}

// compileRules compiles one namespace's rules; nil when they restrict
// nothing.
func compileRules(er EventRules) *nspRules {
	c := &nspRules{defMax: max(er.DefaultMaxBytes, 0), action: er.OnRefused, catchAll: true}
	if er.Allow != nil && !slices.Contains(er.Allow, "*") {
		c.allow = make(map[string]struct{}, len(er.Allow))
		for _, name := range er.Allow {
			c.allow[name] = struct{}{}
		}
		c.catchAll = er.CatchAll
	}
	bounded := c.defMax > 0
	for name, n := range er.MaxBytes {
		if c.maxBytes == nil {
			c.maxBytes = make(map[string]int, len(er.MaxBytes))
		}
		c.maxBytes[name] = max(n, 0)
		bounded = bounded || n > 0
	}
	if c.allow == nil && !bounded {
		return nil
	}
	return c
}

// forNamespace returns the rules of the namespace name: its exact key's,
// else its longest matching prefix's; nil when none restricts it.
func (r *eventRules) forNamespace(name string) *nspRules {
	if r == nil {
		return nil
	}
	if c, ok := r.exact[name]; ok {
		return c
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.rules
		}
	}
	return nil
}

// anyHandlers reports whether a socket with rules r runs its catch-all
// handlers (nil rules: it does).
func (r *nspRules) anyHandlers() bool { return r == nil || r.catchAll }

// limit is the size bound of the event name (0: none).
func (r *nspRules) limit(name string) int {
	if n, ok := r.maxBytes[name]; ok {
		return n
	}
	return r.defMax
}

// eventSize is the size EventRules bound: the event's JSON array and its
// binary attachments.
func eventSize(o wire.EventReceived) int {
	n := len(o.Data)
	for _, a := range o.Attachments {
		n += len(a)
	}
	return n
}

// refuseEvent applies so's namespace rules (so.rules, not nil) to an event
// of so: false lets it through; true means it was refused and has been
// dealt with (OnRefused). On the driver goroutine.
func (s *Server) refuseEvent(now clock.Instant, so *Socket, o wire.EventReceived) bool {
	if so.ruleCut || so.lim != nil && so.lim.cut { // already disconnected (by a rule or a rate)
		return true
	}
	r := so.rules
	reason, limit := "", 0
	if _, ok := r.allow[o.Name]; r.allow != nil && !ok {
		reason = ReasonEventNotAllowed
		s.d.lim.stats.eventsNotAllowed.Add(1)
	} else if limit = r.limit(o.Name); limit > 0 && eventSize(o) > limit {
		reason = ReasonPayloadTooLarge
		s.d.lim.stats.eventsTooLarge.Add(1)
	} else {
		return false
	}
	switch r.action {
	case LimitErrorAck:
		if o.Ack != 0 {
			s.core.Ack(o.Ack, refusedAck(reason, limit), nil)
		}
	case LimitDisconnect:
		so.ruleCut = true
		s.d.lim.stats.ruleDisconnects.Add(1)
		s.d.renameSocket(so.id, reason)
		if s.core.Disconnect(now, so.id, false) != nil {
			delete(s.d.lim.renames, so.id)
		}
	}
	return true
}

// refusedAck is the acknowledgement of a refused event (LimitErrorAck):
// [{"error":"event not allowed"}] or [{"error":"payload too large","limit":N}].
func refusedAck(reason string, limit int) []byte {
	b := append(make([]byte, 0, 48), `[{"error":"`+reason+`"`...)
	if reason == ReasonPayloadTooLarge {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
	}
	return append(b, "}]"...)
}
