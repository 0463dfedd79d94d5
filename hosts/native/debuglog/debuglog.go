// Package debuglog is the debug switch of a socketcore server, in the spirit
// of Node's DEBUG=socket.io:*: a list of glob patterns over named
// subsystems turns on debug-level log lines for just those, whatever the
// logger's level is for everything else.
//
//	socketcore:engine   Engine.IO sessions: opened, upgraded, closed (reason), refused handshakes
//	socketcore:socket   sockets: connected, disconnected (the official reason)
//	socketcore:room     rooms joined and left
//	socketcore:event    events received and sent: name and size, not the payload
//	socketcore:cluster  cluster messages published and received (type, namespace, rooms)
//	socketcore:payload  adds the events' JSON (up to 512 bytes) to socketcore:event's lines
//
// Patterns are separated by commas or spaces; "*" matches any run of
// characters, and a pattern starting with "-" excludes what it matches,
// whatever the order (socketcore:*,-socketcore:event). Node's names turn on
// what they log in Node: engine* the engine, socket.io:socket sockets, rooms
// and events, socket.io:client and socket.io:namespace sockets,
// socket.io-redis and socket.io-adapter the cluster — so a DEBUG=socket.io:*
// typed out of habit does what it says. socketcore:payload is on only when
// named exactly, never through a wildcard: payloads may carry secrets.
//
// The switch works at two places: New makes the native.Observer that logs
// the sessions', sockets', rooms' and events' lines, and Handler wraps a
// slog.Handler so that loggers made by Subsystem for an enabled subsystem
// log at debug level even when the rest of the process logs at info.
//
// debuglog imports hosts/native (the Observer), adapter and core/wire (the
// cluster messages' types) and the standard library; it logs what those
// report and never reaches into the protocol machine.
package debuglog

import (
	"context"
	"log/slog"
	"strings"
)

// The subsystems.
const (
	Engine  = "socketcore:engine"
	Socket  = "socketcore:socket"
	Room    = "socketcore:room"
	Event   = "socketcore:event"
	Cluster = "socketcore:cluster"
	Payload = "socketcore:payload"
)

// Key is the attribute naming a logger's subsystem (Subsystem adds it):
// Handler lowers the level of the loggers that carry it for an enabled
// subsystem.
const Key = "subsystem"

// Subsystems lists the subsystems, in the order of the package doc.
func Subsystems() []string { return []string{Engine, Socket, Room, Event, Cluster, Payload} }

// nodeNames are the names Node's socket.io and engine.io give to their own
// debug output, by the subsystem of ours that logs the same things.
func nodeNames(subsystem string) []string {
	switch subsystem {
	case Engine:
		return []string{"engine", "engine:socket", "engine:polling", "engine:ws", "engine:transport"}
	case Socket:
		return []string{"socket.io:socket", "socket.io:client", "socket.io:namespace"}
	case Room, Event:
		return []string{"socket.io:socket"}
	case Cluster:
		return []string{"socket.io-redis", "socket.io-adapter"}
	}
	return nil
}

// Switch is a parsed list of patterns: which subsystems are on. The zero
// Switch turns nothing on.
type Switch struct {
	include, exclude []string
}

// Parse reads a pattern list ("socketcore:*,-socketcore:event"). Empty
// items are skipped; any string is a valid list, as for Node's debug.
func Parse(patterns string) Switch {
	var sw Switch
	for _, p := range strings.FieldsFunc(patterns, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if ex, ok := strings.CutPrefix(p, "-"); ok {
			if ex != "" {
				sw.exclude = append(sw.exclude, ex)
			}
			continue
		}
		sw.include = append(sw.include, p)
	}
	return sw
}

// Patterns returns the patterns of the SOCKETCORE_DEBUG setting, or, when
// that one is empty, of DEBUG (the variable Node users set): getenv is
// os.Getenv in a command.
func Patterns(setting string, getenv func(string) string) string {
	if strings.TrimSpace(setting) != "" {
		return setting
	}
	return getenv("DEBUG")
}

// Enabled reports whether subsystem's debug lines are on.
func (sw Switch) Enabled(subsystem string) bool {
	names := append([]string{subsystem}, nodeNames(subsystem)...)
	for _, n := range names {
		for _, p := range sw.exclude {
			if match(p, n) {
				return false
			}
		}
	}
	if subsystem == Payload {
		for _, p := range sw.include {
			if p == Payload {
				return true
			}
		}
		return false
	}
	for _, n := range names {
		for _, p := range sw.include {
			if match(p, n) {
				return true
			}
		}
	}
	return false
}

// Any reports whether one of the subsystems is on.
func (sw Switch) Any() bool {
	for _, s := range Subsystems() {
		if sw.Enabled(s) {
			return true
		}
	}
	return false
}

// match reports whether name matches the glob pattern, whose only
// metacharacter is "*" (any run of characters), as in Node's debug.
func match(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	name, pattern = name[star:], pattern[star+1:]
	for i := 0; i <= len(name); i++ {
		if match(pattern, name[i:]) {
			return true
		}
	}
	return false
}

// Subsystem returns l's logger for a subsystem: its lines carry the
// subsystem=name attribute, and a Handler with the subsystem on lets its
// debug lines through.
func Subsystem(l *slog.Logger, name string) *slog.Logger { return l.With(Key, name) }

// Handler wraps h, which must let debug records through (its level at
// slog.LevelDebug or lower): records below level are dropped, except from
// loggers made with Subsystem (With(Key, name)) for a subsystem sw turns on,
// which keep everything from debug up.
func Handler(h slog.Handler, level slog.Leveler, sw Switch) slog.Handler {
	return &handler{h: h, level: level, sw: sw}
}

type handler struct {
	h       slog.Handler
	level   slog.Leveler
	sw      Switch
	debug   bool // a logger of an enabled subsystem
	grouped bool // attributes now land in a group: they no longer name a subsystem
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	if !h.debug && l < h.level.Level() {
		return false
	}
	return h.h.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error { return h.h.Handle(ctx, r) }

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.h = h.h.WithAttrs(attrs)
	if !h.grouped {
		for _, a := range attrs {
			if a.Key == Key && a.Value.Kind() == slog.KindString {
				n.debug = h.sw.Enabled(a.Value.String())
			}
		}
	}
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	n := *h
	n.h = h.h.WithGroup(name)
	n.grouped = n.grouped || name != ""
	return &n
}
