package handler

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// Long-polling through GRIP holds, without losing an answer.
//
// A GET the core parks is answered with a response hold on the session's
// channel ("p-" + sid) with prev-id = the id of the last item published to
// that channel; the core's later answer is published with id = prev-id+1.
// Pushpin (1.36) can lose such a publish in two ways, and retries the held
// request to us in both, with "Grip-Last: <channel>; last-id=<prev-id>":
//
//   - the publish reached it before it accepted the hold: if the channel
//     already had subscribers (a session's channel lingers between polls),
//     it recorded the id, sees that the hold's prev-id is behind and retries
//     at once; if the channel had none (a session's first hold), it drops
//     the publish and retries 1 s after the first subscription (it always
//     re-requests the holds of a channel 1 s after its first subscription);
//   - the hold was being re-requested when the publish came.
//
// So the handler keeps each session's last published answer until the
// client's next GET shows it arrived, and answers a retried GET (one with
// Grip-Last for the session's channel) itself: with that answer if there is
// one, else with the same hold again. A retried GET never reaches the core
// (a second GET on a session is a protocol error there).

// PollState is the GRIP state of one polling session.
type PollState struct {
	Seq    uint64       `json:"seq"`              // id of the last item published to the session's channel
	Held   wire.ConnID  `json:"held,omitempty"`   // the core's parked GET that the proxy holds
	Answer *HTTPMessage `json:"answer,omitempty"` // the answer published to it (id Seq), until the next GET
	At     int64        `json:"at,omitempty"`     // when Answer was published (Unix ns)
	Closed bool         `json:"closed,omitempty"` // the session is gone; kept for a retry of its last answer
}

// answerTTL bounds how long the last answer of a closed session is kept for
// a retry.
const answerTTL = 10 * time.Second

func pollChannel(sid wire.SID) string { return "p-" + string(sid) }

// gripLast reports whether a Grip-Last header names channel.
func gripLast(v, channel string) bool {
	for _, part := range strings.Split(v, ",") {
		name, _, _ := strings.Cut(part, ";")
		if strings.TrimSpace(name) == channel {
			return true
		}
	}
	return false
}

func querySID(rawQuery string) wire.SID {
	q, _ := url.ParseQuery(rawQuery)
	return wire.SID(q.Get("sid"))
}

// retry answers a GET that the proxy re-requests for a hold; false when
// the GET is the client's own and goes to the core.
func (h *Handler) retry(req Request, sid wire.SID) bool {
	ps := h.Polls[sid]
	if ps == nil || sid == "" || req.Method != "GET" || !gripLast(req.Header["Grip-Last"], pollChannel(sid)) {
		return false
	}
	switch {
	case ps.Held != 0:
		h.hold(sid, ps)
	case ps.Answer != nil:
		a := ps.Answer
		ps.Answer = nil
		hdr := map[string]string{}
		for k, v := range a.Headers {
			hdr[k] = v
		}
		h.resp = Response{Status: a.Code, Header: hdr, Body: []byte(a.Body)}
	default:
		return false
	}
	return true
}

// hold answers the current request with a hold on the session's channel.
func (h *Handler) hold(sid wire.SID, ps *PollState) {
	hdr := map[string]string{
		"Access-Control-Allow-Origin": "*",
		"Content-Type":                "text/plain; charset=UTF-8",
		"Grip-Hold":                   "response",
		"Grip-Channel":                pollChannel(sid) + "; prev-id=" + strconv.FormatUint(ps.Seq, 10),
		"Grip-Timeout":                strconv.Itoa(int((h.opts.HoldTimeout + time.Second - 1) / time.Second)),
	}
	// the proxy answers with this body if the hold times out: a noop packet
	h.resp = Response{Status: 200, Header: hdr, Body: []byte("6")}
}

func (h *Handler) pollState(sid wire.SID) *PollState {
	ps := h.Polls[sid]
	if ps == nil {
		ps = &PollState{}
		h.Polls[sid] = ps
	}
	return ps
}

// park records that the core parked GET c of session sid.
func (h *Handler) park(sid wire.SID, c wire.ConnID) *PollState {
	ps := h.pollState(sid)
	if ps.Held != 0 {
		delete(h.heldSID, ps.Held)
	}
	ps.Held, ps.Answer = c, nil
	h.heldSID[c] = sid
	return ps
}

// answerHeld publishes the answer to a held GET; false if c is not one.
func (h *Handler) answerHeld(c wire.ConnID, m *HTTPMessage) bool {
	sid, ok := h.heldSID[c]
	if !ok {
		return false
	}
	delete(h.heldSID, c)
	ps := h.pollState(sid)
	prev := ps.Seq
	ps.Seq++
	ps.Held, ps.Answer, ps.At = 0, m, h.now
	h.cur.pub = append(h.cur.pub, Item{Channel: pollChannel(sid), ID: strconv.FormatUint(ps.Seq, 10),
		PrevID: strconv.FormatUint(prev, 10), Formats: Formats{HTTP: m}})
	return true
}

// gcPolls forgets closed sessions whose last answer is old.
func (h *Handler) gcPolls() {
	for sid, ps := range h.Polls {
		if ps.Closed && ps.Held == 0 && (ps.Answer == nil || h.now-ps.At > int64(answerTTL)) {
			delete(h.Polls, sid)
		}
	}
}
