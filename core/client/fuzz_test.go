package client

import (
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
	"github.com/socketcore/socketcore/core/wire"
)

// FuzzClientInputs plays a hostile server: the fuzz input is cut into steps
// (polling responses, WebSocket frames, closes, time jumps, client
// commands) fed to a client in every transport mode. The machine must never
// panic, and the harness checks the host contract on every drain (fresh
// ConnIDs, outputs only for open connections, deadlines in the future).
// Afterwards Close must leave no connection or timer behind once the host
// reported the last requests.
func FuzzClientInputs(f *testing.F) {
	for _, s := range []string{
		"0" + openJSON + "\n" + `40{"sid":"a"}` + "\n" + `42["x",1]` + "\n2\n41",
		"0" + openJSON + "\n3probe\n6\n" + `451-["b",{"_placeholder":true,"num":0}]` + "\n\x00bin",
		"0{}\n1\n~\n!",
		"0" + openJSON + "\n" + `44{"message":"no","data":[1]}` + "\n" + `430["late"]` + "\n~\n~\n~",
		"0" + openJSON + "\n" + `40{"sid":"a"}` + "\n" + `427["q"]` + "\n!ack\n!emit\n!disc\n!conn",
		"x\n\x1e\x1e\nb!!!\n" + `461-[{"_placeholder":true,"num":9}]`,
	} {
		f.Add(byte(0), []byte(s))
		f.Add(byte(1), []byte(s))
		f.Add(byte(2), []byte(s))
	}
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		cfg := testConfig()
		switch mode % 3 {
		case 0:
			cfg.Transports = []string{WebSocket}
		case 1:
			cfg.Transports = []string{Polling}
		}
		h := newHarness(t, cfg)
		h.connectRoot(SocketOptions{Retries: int(mode % 2), AckTimeout: time.Duration(mode%4) * 100 * time.Millisecond})
		steps := 0
		for len(data) > 0 && steps < 200 {
			steps++
			var step []byte
			step, data = cut(data)
			fuzzStep(h, step)
		}
		h.do(func(now clock.Instant) error { h.m.Close(now); return nil })
		// the host completes what is still in flight
		for i := 0; i < 10 && (len(h.fetches) > 0 || len(h.dials) > 0 || len(h.ws) > 0); i++ {
			for _, f := range h.fetches {
				h.respond(f, 200, "ok")
				break
			}
			for c := range h.dials {
				delete(h.dials, c)
				h.in(wire.Closed{Conn: c, Error: true})
				break
			}
			for c := range h.ws {
				h.closeWS(c, false)
				break
			}
		}
		// the offline buffer and its acknowledgements (with their timers)
		// survive manager.disconnect() in JS too; nothing else does
		if st := h.m.Stats(); st.Conns != 0 || st.Timers > st.Acks || st.InAcks != 0 {
			t.Fatalf("after Close: %+v", st)
		}
	})
}

func cut(b []byte) (step, rest []byte) {
	for i, c := range b {
		if c == '\n' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// fuzzStep performs one step: "~" advances time, "!..." runs a command,
// "\x00..." is a binary frame, anything else is a response or text frame to
// whatever the client has open.
func fuzzStep(h *harness, step []byte) {
	h.out = h.out[:0]
	switch {
	case len(step) > 0 && step[0] == '~':
		if h.deadline != 0 {
			h.advanceTo(h.deadline)
		} else {
			h.advance(time.Second)
		}
		return
	case len(step) > 0 && step[0] == '!':
		cmd := string(step[1:])
		h.do(func(now clock.Instant) error {
			switch cmd {
			case "emit":
				h.m.Emit(now, "/", Emit{Data: []byte(`["e",1]`), WithAck: true})
			case "vol":
				h.m.Emit(now, "/", Emit{Data: []byte(`["v"]`), Volatile: true})
			case "disc":
				h.m.Disconnect(now, "/")
			case "conn":
				h.m.Connect(now, "/")
			case "ack":
				for ref := range h.m.inAcks {
					h.m.Ack(now, ref, nil, nil)
					break
				}
			case "close":
				h.m.Close(now)
			default:
				h.m.Open(now)
			}
			return nil
		})
		return
	}
	binary := len(step) > 0 && step[0] == 0
	for c := range h.dials {
		if len(step)%2 == 0 {
			h.accept(h.dials[c])
		} else {
			h.refuse(h.dials[c])
		}
		return
	}
	for c := range h.ws {
		if len(step) == 1 && step[0] == '!' {
			h.closeWS(c, true)
			return
		}
		h.in(wire.Recv{Conn: c, Data: step, Binary: binary})
		return
	}
	for _, f := range h.fetches {
		if f.Method == "POST" {
			h.respond(f, 200, "ok")
			return
		}
	}
	for _, f := range h.fetches {
		status := 200
		if len(step) == 1 && step[0] == '!' {
			status = 500
		}
		h.respond(f, status, string(step))
		return
	}
	h.advance(time.Second)
}
