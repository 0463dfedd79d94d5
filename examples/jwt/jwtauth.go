// Package jwtauth is an example of authentication for a socketcore server:
// a namespace middleware that admits a client with a valid JSON Web Token
// and disconnects it when the token expires.
//
// The client sends its token in the handshake's auth, {token: "..."} (the
// official client's auth option; make it a function so that a reconnection
// sends a fresh token), or in an Authorization: Bearer header (extraHeaders,
// for clients outside a browser). A missing, malformed, badly signed or
// expired token is refused as Node applications refuse it, next(new
// Error("invalid token")): the client's connect_error event gets
// {"message":"invalid token"} (with data {"reason":"expired"} for an
// expired one), and it does not retry by itself.
//
// When the token of a connected socket expires, the socket is disconnected
// from its namespace: the server's OnDisconnect handlers see "server
// namespace disconnect", the client sees "io server disconnect" and does
// not reconnect by itself — it gets a new token and connects again, which
// runs the middleware again.
//
// With connection state recovery, set Recovery.RunMiddlewares: a recovered
// socket otherwise skips the middleware, and its token is not checked.
package jwtauth

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/socketcore/socketcore/hosts/native"
)

// Auth verifies tokens signed with HMAC-SHA256 (HS256) and a shared key.
type Auth struct {
	// Key is the HS256 key the tokens are signed with.
	Key []byte
	// Leeway tolerates clock skew between the token's issuer and this
	// server when checking exp and nbf; default none.
	Leeway time.Duration
}

// Claims are a verified token's claims; Install puts them in the socket's
// Data.
type Claims = jwt.RegisteredClaims

// Install adds the middleware to nsp, and a connection handler that
// disconnects each socket when its token expires.
func (a *Auth) Install(nsp *native.Namespace) {
	nsp.Use(a.Middleware)
	nsp.OnConnection(a.DisconnectAtExpiry)
}

// errInvalid is the refusal of every bad token: the client learns no more
// than that (and that it expired, which it can fix by getting a new one).
var errInvalid = &native.ConnectError{Message: "invalid token"}

// Middleware admits a socket whose handshake carries a valid token, and
// sets its Data to the token's *Claims.
func (a *Auth) Middleware(s *native.Socket) error {
	tok := token(s.Handshake())
	if tok == "" {
		return errInvalid
	}
	claims := new(Claims)
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), // never "none", nor another key type
		jwt.WithExpirationRequired(),                                 // a token that never expires would outlive every revocation
	}
	if a.Leeway > 0 {
		opts = append(opts, jwt.WithLeeway(a.Leeway))
	}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return a.Key, nil }, opts...)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return &native.ConnectError{Message: errInvalid.Message, Data: map[string]any{"reason": "expired"}}
	}
	if err != nil {
		return errInvalid
	}
	s.Data = claims
	return nil
}

// token is the handshake's token: auth.token, or the Authorization header's
// Bearer credentials.
func token(h native.Handshake) string {
	var auth struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(h.Auth, &auth) == nil && auth.Token != "" {
		return auth.Token
	}
	scheme, cred, ok := strings.Cut(h.Headers.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(cred)
	}
	return ""
}

// DisconnectAtExpiry is the connection handler that disconnects s when the
// token the middleware admitted it with expires. Its timer belongs to the
// socket: the socket's disconnection, for whatever reason, stops it.
func (a *Auth) DisconnectAtExpiry(s *native.Socket) {
	claims, ok := s.Data.(*Claims)
	if !ok || claims.ExpiresAt == nil {
		return // not admitted by this middleware (a recovered socket, say)
	}
	t := time.AfterFunc(time.Until(claims.ExpiresAt.Time.Add(a.Leeway)), func() { s.Disconnect(false) })
	s.OnDisconnect(func(string) { t.Stop() })
}
