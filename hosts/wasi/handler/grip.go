package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// GRIP, as Pushpin and Fastly Fanout speak it to a backend
// (https://pushpin.org/docs/protocols/grip/ and
// .../websocket-over-http/):
//
//   - A WebSocket is a series of POSTs with Content-Type
//     application/websocket-events, one per batch of events, each naming
//     the connection in Connection-Id and carrying the meta the backend set
//     (Set-Meta-X in a response comes back as Meta-X). The response body
//     holds the events to send back.
//   - A long-poll is held by answering with Grip-Hold: response and the
//     channels to wait on; a publish of an http-response item to one of them
//     completes it.
//   - Messages for other connections, and the completion of held requests,
//     are publishes to the proxy's publish API.

// ContentTypeEvents is the media type of WebSocket-over-HTTP bodies.
const ContentTypeEvents = "application/websocket-events"

// GripExtension is the Sec-WebSocket-Extensions value that makes the proxy
// read "c:" messages of a response as control messages and pass every other
// message through unprefixed (without it Pushpin drops plain frames).
const GripExtension = `grip; message-prefix=""`

// Event is one WebSocket-over-HTTP event: OPEN, TEXT, BINARY, PING, PONG,
// CLOSE, DISCONNECT.
type Event struct {
	Type    string
	Content []byte
}

var errEvents = errors.New("grip: malformed websocket-events body")

// ParseEvents decodes a websocket-events body: "TYPE\r\n" or
// "TYPE <hex length>\r\n<content>\r\n", repeated.
func ParseEvents(b []byte) ([]Event, error) {
	var evs []Event
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return nil, errEvents
		}
		line := string(b[:i])
		b = b[i+2:]
		typ, size, hasSize := cutSpace(line)
		ev := Event{Type: typ}
		if hasSize {
			n, err := strconv.ParseUint(size, 16, 31)
			if err != nil || uint64(len(b)) < n+2 || string(b[n:n+2]) != "\r\n" {
				return nil, errEvents
			}
			ev.Content = b[:n:n]
			b = b[n+2:]
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// AppendEvent encodes one event; content nil writes the bare type.
func AppendEvent(dst []byte, typ string, content []byte) []byte {
	dst = append(dst, typ...)
	if content != nil {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(len(content)), 16)
		dst = append(dst, "\r\n"...)
		dst = append(dst, content...)
	}
	return append(dst, "\r\n"...)
}

// Control returns the "c:" text message of a GRIP control command (e.g.
// subscribe to a channel).
func Control(typ, channel string) []byte {
	b := []byte(`c:{"type":`)
	b = strconv.AppendQuote(b, typ)
	b = append(b, `,"channel":`...)
	b = strconv.AppendQuote(b, channel)
	return append(b, '}')
}

// Item is one item of a publish to the proxy's publish API
// (POST /publish/ with {"items": [...]}), in its JSON form.
type Item struct {
	Channel string  `json:"channel"`
	ID      string  `json:"id,omitempty"`      // with PrevID: the proxy's sequencing of a channel
	PrevID  string  `json:"prev-id,omitempty"` // (held long-polls, poll.go)
	Formats Formats `json:"formats"`
}

// Formats holds one of the two formats this handler publishes.
type Formats struct {
	WS   *WSMessage   `json:"ws-message,omitempty"`
	HTTP *HTTPMessage `json:"http-response,omitempty"`
}

// WSMessage is a message for the WebSocket connections of a channel
// (Content; binary when Binary), or their close (Action "close").
type WSMessage struct {
	Content []byte
	Binary  bool
	Action  string
}

// MarshalJSON writes exactly one of content, content-bin or action, as the
// publish API wants (an empty message still has its content key).
func (m WSMessage) MarshalJSON() ([]byte, error) {
	switch {
	case m.Action != "":
		return json.Marshal(map[string]string{"action": m.Action})
	case m.Binary:
		return json.Marshal(map[string][]byte{"content-bin": orEmpty(m.Content)})
	}
	return json.Marshal(map[string]string{"content": string(m.Content)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *WSMessage) UnmarshalJSON(b []byte) error {
	var v struct {
		Content    *string `json:"content"`
		ContentBin []byte  `json:"content-bin"`
		Action     string  `json:"action"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = WSMessage{Action: v.Action}
	if v.Content != nil {
		m.Content = []byte(*v.Content)
	} else if v.ContentBin != nil {
		m.Content, m.Binary = v.ContentBin, true
	}
	return nil
}

// HTTPMessage completes the requests held on a channel.
type HTTPMessage struct {
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
}
