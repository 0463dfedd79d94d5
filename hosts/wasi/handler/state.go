package handler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// Per-request instances: the whole state of a Handler as bytes, for a
// platform that creates an instance per request (Save after Serve, Load
// before the next). The core's sessions travel as core.Server snapshots
// (core/snapshot.go); the connections, the application's tables and the
// open sessions' list travel as JSON beside them.

type savedState struct {
	Version  int                      `json:"v"`
	NextConn wire.ConnID              `json:"nextConn"`
	WS       map[string]wire.ConnID   `json:"ws"`
	Epoch    string                   `json:"epoch"`
	Polls    map[wire.SID]*PollState  `json:"polls,omitempty"`
	WSSID    map[wire.ConnID]wire.SID `json:"wssid,omitempty"`
	Subs     *Subs                    `json:"subs,omitempty"`
	App      *app                     `json:"app"`
	Rec      *RecStore                `json:"rec,omitempty"` // with recovery (recovery.go)
	Sessions map[wire.SID][]byte      `json:"sessions"`      // core.Server.Snapshot of each open session
}

const stateVersion = 2

// Save returns the handler's state (after Serve). Sessions that cannot be
// snapshotted (closing) are left out: their connections are closed.
func (h *Handler) Save() ([]byte, error) {
	st := savedState{Version: stateVersion, NextConn: h.NextConn, WS: h.WS, Epoch: h.Epoch,
		Polls: h.Polls, WSSID: h.WSSID, Subs: &h.Subs, App: h.app, Rec: h.Rec, Sessions: map[wire.SID][]byte{}}
	for _, sid := range h.sessionIDs() {
		snap, err := h.srv.Snapshot(sid)
		if err != nil {
			continue
		}
		st.Sessions[sid] = snap
	}
	if h.Rec != nil {
		h.Rec.gc(func(id wire.SocketID) bool {
			si := h.app.Sockets[id]
			if si == nil {
				si = h.app.Pending[id]
			}
			return si != nil && st.Sessions[si.SID] != nil
		})
	}
	// without HTML escaping: packets and socket.data are kept as the
	// client's JSON, counted in bytes as they are (recovery.go), and '<',
	// '>', '&' would take six bytes each
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (h *Handler) sessionIDs() []wire.SID {
	ids := make([]wire.SID, 0, len(h.app.Open))
	for sid := range h.app.Open {
		ids = append(ids, sid)
	}
	slices.Sort(ids)
	return ids
}

// Load recreates a handler from Save's bytes (nil or empty: a fresh one) in
// a new machine seeded with opts.Seed, restoring every saved session. With
// recovery, every instance needs a seed of its own: it names the offsets
// and pids the instance makes (recovery.go).
func Load(opts Options, now int64, state []byte) (*Handler, error) {
	h := newHandler(opts, true)
	h.now = now
	if len(state) == 0 {
		return h, nil
	}
	var st savedState
	st.App = h.app
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, fmt.Errorf("handler: bad state: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("handler: state version %d, want %d", st.Version, stateVersion)
	}
	h.NextConn = st.NextConn
	if st.WS != nil {
		h.WS = st.WS
	}
	if st.Epoch != "" {
		h.Epoch = st.Epoch
	}
	if st.Polls != nil {
		h.Polls = st.Polls
	}
	for sid, ps := range h.Polls {
		if ps.Held != 0 {
			h.heldSID[ps.Held] = sid
		}
	}
	if st.WSSID != nil {
		h.WSSID = st.WSSID
	}
	if st.Subs != nil {
		h.Subs = *st.Subs
	}
	h.Subs.init()
	if h.Rec != nil && st.Rec != nil {
		h.Rec = st.Rec
		h.Rec.init()
	}
	h.app.fill()
	h.app.Open = map[wire.SID]bool{}
	for _, sid := range slices.Sorted(mapKeys(st.Sessions)) {
		if _, err := h.srv.Restore(clock.Instant(now), st.Sessions[sid]); err != nil {
			return nil, fmt.Errorf("handler: restore %s: %w", sid, err)
		}
		h.app.Open[sid] = true
	}
	h.drain(clock.Instant(now)) // Restore emits nothing; this reads the deadline
	return h, nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
