package engine

import (
	"strconv"

	"github.com/socketcore/socketcore/core/wire"
)

// Error codes of the official server (engine.io lib/server.ts Server.errors).
const (
	ErrUnknownTransport    = 0
	ErrUnknownSID          = 1
	ErrBadHandshakeMethod  = 2
	ErrBadRequest          = 3
	ErrForbidden           = 4
	ErrUnsupportedProtocol = 5
)

var errorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// Content types of the official server's responses.
const (
	ContentTypeJSON    = "application/json"
	ContentTypePayload = "text/plain; charset=UTF-8"
	ContentTypeOK      = "text/html"
	ContentTypeBinary  = "application/octet-stream" // a v3 binary payload
)

// errorResponse is the official abortRequest answer: 400 (403 for Forbidden)
// with {"code":N,"message":"..."}. A refused WebSocket upgrade gets the
// official abortUpgrade answer instead: 400 with the bare message as text/html.
func errorResponse(conn wire.ConnID, code int, websocket bool) wire.Respond {
	msg := errorMessages[code]
	if websocket {
		return wire.Respond{Conn: conn, Status: 400, ContentType: ContentTypeOK, Body: []byte(msg)}
	}
	status := 400
	if code == ErrForbidden {
		status = 403
	}
	b := make([]byte, 0, 48)
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, `,"message":"`...)
	b = append(b, msg...)
	b = append(b, `"}`...)
	return wire.Respond{Conn: conn, Status: status, ContentType: ContentTypeJSON, Body: b}
}
