package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// fetchTimeout bounds the FetchSockets of all_sockets (a cluster request
// ends at the server's RequestsTimeout anyway) and of a socket's data.
const fetchTimeout = 10 * time.Second

// process tells the UIs about one item (on the Admin's goroutine).
func (a *Admin) process(it *item) {
	switch it.kind {
	case itemConnected:
		a.broadcast("socket_connected", a.serializeLocal(&it.one, a.socketData(&it.one)), timestamp(it.at))
	case itemUpdated:
		a.broadcast("socket_updated", struct {
			ID        string `json:"id"`
			Nsp       string `json:"nsp"`
			Transport string `json:"transport"`
		}{it.id, it.nsp, it.extra})
	case itemDisconnected:
		a.broadcast("socket_disconnected", it.nsp, it.id, it.extra, timestamp(it.at))
	case itemJoined:
		a.broadcast("room_joined", it.nsp, it.room, it.id, timestamp(it.at))
	case itemLeft:
		a.broadcast("room_left", it.nsp, it.room, it.id, timestamp(it.at))
	case itemReceived, itemSent:
		name := "event_received"
		if it.kind == itemSent {
			name = "event_sent"
		}
		a.broadcast(name, it.nsp, it.id, eventArgs(it.data, it.atts), timestamp(it.at))
	case itemHello:
		s := it.admin
		if c, ok := s.Data.(*adminConn); ok && c.session != "" {
			s.Emit("session", c.session)
		}
		s.Emit("config", struct {
			SupportedFeatures []string `json:"supportedFeatures"`
		}{a.features})
		if a.opts.Mode == Development {
			s.Emit("all_sockets", a.allSockets(it.snap))
		}
	case itemResync:
		a.logger().Warn("socketcore/admin: the UIs fell behind; events dropped, sending all_sockets again", "dropped", it.dropped)
		a.broadcast("all_sockets", a.allSockets(it.snap))
	}
}

// broadcast emits to every UI, on every server of a cluster (Node's
// adminNamespace.emit).
func (a *Admin) broadcast(event string, args ...any) {
	a.nsp.Emit(event, args...) // fails only once the server closed
}

// timestamp is a JavaScript Date as JSON (toISOString).
func timestamp(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// eventArgs is an event's arguments, name first, ready to emit: the raw
// JSON when it has no binary parts, else the values with the attachments
// back in place (they travel as the UI's own binary attachments).
func eventArgs(data []byte, atts [][]byte) any {
	if len(data) == 0 {
		return []any{}
	}
	if len(atts) == 0 {
		return json.RawMessage(data)
	}
	var raw []json.RawMessage
	if json.Unmarshal(data, &raw) != nil {
		return []any{}
	}
	return native.Args{Raw: raw, Attachments: atts}.Values()
}

// serializedSocket is instrument()'s SerializedSocket.
type serializedSocket struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId,omitempty"`
	Transport string          `json:"transport,omitempty"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Handshake handshake       `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

// handshake is the part of socket.handshake instrument() sends (not auth).
type handshake struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// handshakeOf is Node's socket.handshake: headers by lower-case name
// (repeated ones joined with ", ", as Node's IncomingMessage), the query's
// first values, time as Date.toString() in UTC, issued in ms. The address
// is the one a proxy reported, when it did (cf-connecting-ip,
// x-forwarded-for), as instrument() shows it.
func handshakeOf(h native.Handshake) handshake {
	out := handshake{
		Headers: make(map[string]string, len(h.Headers)),
		Query:   make(map[string]string, len(h.Query)),
		Address: h.Address,
		Secure:  h.Secure,
		URL:     h.URL,
		XDomain: h.Headers.Get("Origin") != "",
	}
	for k, v := range h.Headers {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	for k, v := range h.Query {
		if len(v) > 0 {
			out.Query[k] = v[0]
		}
	}
	if v := h.Headers.Get("Cf-Connecting-Ip"); v != "" {
		out.Address = v
	} else if v := h.Headers.Get("X-Forwarded-For"); v != "" {
		out.Address = v
	}
	if !h.Time.IsZero() {
		t := h.Time.UTC()
		out.Issued = t.UnixMilli()
		out.Time = t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (Coordinated Universal Time)"
	}
	return out
}

// socketData is a socket's data (socket.data) as JSON, read through
// FetchSockets, which reads it under the socket's lock; {} if it is gone.
func (a *Admin) socketData(s *sockSnap) json.RawMessage {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	socks, err := s.sock.Namespace().Local().In(s.id).FetchSockets(ctx)
	if err == nil {
		for _, r := range socks {
			if r.ID == s.id {
				return r.Data
			}
		}
	}
	return nil
}

// serializeLocal serializes a socket of this server.
func (a *Admin) serializeLocal(s *sockSnap, data json.RawMessage) serializedSocket {
	out := serializedSocket{ID: s.id, ClientID: s.clientID, Transport: s.transport, Nsp: s.nsp,
		Handshake: handshakeOf(s.sock.Handshake()), Rooms: s.rooms}
	out.Data, _, _ = cleanData(data)
	if out.Rooms == nil {
		out.Rooms = []string{}
	}
	return out
}

// serializeRemote serializes a socket FetchSockets returned from another
// server: a Node server's instrument() keeps its clientId and transport in
// socket.data._admin.
func serializeRemote(r *native.RemoteSocket, nsp string) serializedSocket {
	out := serializedSocket{ID: r.ID, Nsp: nsp, Handshake: handshakeOf(r.Handshake), Rooms: r.Rooms}
	out.Data, out.ClientID, out.Transport = cleanData(r.Data)
	if out.Rooms == nil {
		out.Rooms = []string{}
	}
	return out
}

// cleanData is socket.data without _admin (instrument()'s serializeData),
// {} when there is none, and what _admin said.
func cleanData(data json.RawMessage) (json.RawMessage, string, string) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return json.RawMessage(`{}`), "", ""
	}
	if data[0] != '{' || !bytes.Contains(data, []byte(`"_admin"`)) {
		return data, "", ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return data, "", ""
	}
	var adm struct {
		ClientID  string `json:"clientId"`
		Transport string `json:"transport"`
	}
	json.Unmarshal(m["_admin"], &adm)
	delete(m, "_admin")
	b, err := json.Marshal(m)
	if err != nil {
		return data, "", ""
	}
	return b, adm.ClientID, adm.Transport
}

// allSockets is instrument()'s fetchAllSockets: every namespace's sockets
// on every server. This server's are the ones of snap (the state at the
// point of the event stream where the UI is told), with their data read
// now; the others' are what FetchSockets returns.
func (a *Admin) allSockets(snap []sockSnap) []serializedSocket {
	local := make(map[string]*sockSnap, len(snap))
	for i := range snap {
		local[snap[i].id] = &snap[i]
	}
	a.mu.Lock()
	nsps := make(map[string]*native.Namespace, len(a.track.nsps)+2)
	for name, n := range a.track.nsps {
		nsps[name] = n
	}
	a.mu.Unlock()
	nsps[a.opts.Namespace] = a.nsp
	if nsps["/"] == nil {
		nsps["/"] = a.root
	}
	names := make([]string, 0, len(nsps))
	for name := range nsps {
		names = append(names, name)
	}
	slices.Sort(names)

	out := make([]serializedSocket, 0, len(snap))
	told := make(map[string]bool, len(snap))
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	for _, name := range names {
		socks, _ := nsps[name].FetchSockets(ctx) // on error: this server's from snap, below
		for i := range socks {
			r := &socks[i]
			if s := local[r.ID]; s != nil {
				out = append(out, a.serializeLocal(s, r.Data))
				told[r.ID] = true
			} else if !a.isLocal(r.ID) { // a socket that connected here since: its own event follows
				out = append(out, serializeRemote(r, name))
			}
		}
	}
	for i := range snap {
		if s := &snap[i]; !told[s.id] {
			out = append(out, a.serializeLocal(s, nil)) // gone since: its socket_disconnected follows
		}
	}
	return out
}

func (a *Admin) isLocal(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.track.sockets[id]
	return ok
}
