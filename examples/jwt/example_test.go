package jwtauth_test

import (
	"net/http"

	jwtauth "github.com/socketcore/socketcore/examples/jwt"
	"github.com/socketcore/socketcore/hosts/native"
)

// A server whose "/chat" admits holders of a valid token, and whose
// handlers know who they are. The client side, with the official client:
//
//	const socket = io("/chat", { auth: (cb) => cb({ token: getToken() }) });
//	socket.on("connect_error", (err) => { if (err.message === "invalid token") login(); });
//	socket.on("disconnect", (reason) => { if (reason === "io server disconnect") refreshThenConnect(); });
func ExampleAuth_Install() {
	srv := native.NewServer(native.Options{})
	defer srv.Close()
	chat := srv.Of("/chat")
	(&jwtauth.Auth{Key: []byte("the issuer's HS256 key")}).Install(chat)
	chat.OnConnection(func(s *native.Socket) {
		user := s.Data.(*jwtauth.Claims).Subject
		s.On("say", func(text string) { s.Broadcast().Emit("said", user, text) })
	})
	http.Handle(srv.Path(), srv)
}
