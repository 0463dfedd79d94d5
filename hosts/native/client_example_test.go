package native_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// A Go client talking to a server: connect with auth, answer the server's
// question, call an event with an acknowledgement, multiplex a second
// namespace on the same connection.
func ExampleDial() {
	srv := native.NewServer(native.Options{})
	srv.OnConnection(func(s *native.Socket) {
		s.On("add", func(a, b int, ack native.Ack) { ack(a + b) })
		go func() {
			res, err := s.Timeout(time.Second).EmitWithAck(context.Background(), "name?")
			if err == nil {
				var name string
				res.Decode(&name)
				s.Emit("hello", "hello "+name)
			}
		}()
	})
	srv.Of("/chat").OnConnection(func(s *native.Socket) { s.Emit("topic", "gophers") })
	hs := httptest.NewServer(srv)
	defer func() { hs.CloseClientConnections(); hs.Close(); srv.Close() }()

	done := make(chan string, 2)
	sock, err := native.Dial(hs.URL, native.ClientOptions{
		SocketOptions: native.SocketOptions{Auth: map[string]any{"token": "t0k3n"}},
		NoAutoConnect: true, // register listeners first
	})
	if err != nil {
		panic(err)
	}
	defer sock.Close() // closes the Manager Dial made, and its goroutines
	sock.On("name?", func(ack native.Ack) { ack("gopher") })
	sock.On("hello", func(greeting string) { done <- greeting })
	sock.OnDisconnect(func(reason string) { fmt.Println("disconnect:", reason) })
	sock.Connect()
	fmt.Println(next(done))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := sock.EmitWithAck(ctx, "add", 2, 3)
	if err != nil {
		panic(err)
	}
	var sum int
	res.Decode(&sum)
	fmt.Println("2 + 3 =", sum)

	chat := sock.Manager().Socket("/chat", native.SocketOptions{}) // same connection
	chat.On("topic", func(topic string) { done <- "topic: " + topic })
	chat.Connect()
	fmt.Println(next(done))
	sock.Disconnect()
	time.Sleep(50 * time.Millisecond) // let the disconnect listener print
	// Output:
	// hello gopher
	// 2 + 3 = 5
	// topic: gophers
	// disconnect: io client disconnect
}

// next waits (boundedly) for the next message.
func next(ch <-chan string) string {
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		return "timed out"
	}
}
