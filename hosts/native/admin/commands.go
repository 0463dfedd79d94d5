package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/socketcore/socketcore/hosts/native"
)

// errInvalidCredentials is instrument()'s refusal: the UI's connect_error
// "invalid credentials", which reopens its connection form.
var errInvalidCredentials = errors.New("invalid credentials")

// adminConn is a UI socket's Data: the session id its credentials earned,
// told to it with "session" once it is connected. It marshals to {}, so
// all_sockets shows the UI's own sockets with empty data.
type adminConn struct{ session string }

// authenticate is the admin namespace's middleware (instrument()'s basic
// auth): a known session id, or the username and the password. A
// password that matches earns a new session id, which the UI keeps and
// sends instead of the credentials when it reconnects.
func (a *Admin) authenticate(s *native.Socket) error {
	if a.opts.NoAuth {
		return nil
	}
	var auth map[string]any
	json.Unmarshal(s.Handshake().Auth, &auth)
	if id, _ := auth["sessionId"].(string); id != "" && a.sessions.valid(id) {
		return nil
	}
	user, ok := auth["username"].(string)
	pass, _ := auth["password"].(string)
	want := a.opts.Auth
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(want.Username)) != 1 ||
		bcrypt.CompareHashAndPassword([]byte(want.PasswordHash), []byte(pass)) != nil {
		return errInvalidCredentials
	}
	id := newSessionID()
	a.sessions.save(id)
	s.Data = &adminConn{session: id}
	return nil
}

func newSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// onConnection registers a UI socket's commands (unless Readonly). They
// run on that socket's handler goroutine and act through the server's
// operations, which reach every server of a cluster; the namespace is
// made if it does not exist, as io.of(nsp) does.
func (a *Admin) onConnection(s *native.Socket) {
	a.mu.Lock()
	observed := a.observed
	a.mu.Unlock()
	if !observed { // its own session was not observed: the UI gets nothing
		a.logger().Error("socketcore/admin: the Admin is not one of the server's observers: put it in native.Options.Observers")
	}
	if a.opts.Readonly {
		return
	}
	// emit(nsp, filter, event, ...args): a broadcast to the namespace, or
	// to the room filter
	s.On("emit", func(args native.Args) {
		var nsp, event string
		if len(args.Raw) < 3 || json.Unmarshal(args.Raw[0], &nsp) != nil || json.Unmarshal(args.Raw[2], &event) != nil || nsp == "" {
			return
		}
		rest := native.Args{Raw: args.Raw[3:], Attachments: args.Attachments}
		a.target(nsp, args, 1).Emit(event, rest.Values()...)
	})
	// join(nsp, room, filter?): the namespace's sockets, or those in the
	// room filter (the UI's socket page sends the socket's id), join room
	s.On("join", func(args native.Args) {
		var nsp, room string
		if args.Decode(&nsp, &room) != nil || nsp == "" || room == "" {
			return
		}
		a.target(nsp, args, 2).SocketsJoin(room)
	})
	// leave(nsp, room, filter?)
	s.On("leave", func(args native.Args) {
		var nsp, room string
		if args.Decode(&nsp, &room) != nil || nsp == "" || room == "" {
			return
		}
		a.target(nsp, args, 2).SocketsLeave(room)
	})
	// _disconnect(nsp, close, filter?): close also ends the sockets'
	// connections (every namespace of those clients)
	s.On("_disconnect", func(args native.Args) {
		var nsp string
		var closeConn bool
		if args.Decode(&nsp, &closeConn) != nil || nsp == "" {
			return
		}
		a.target(nsp, args, 2).DisconnectSockets(closeConn)
	})
}

// target is namespace nsp's sockets, or those in the room of argument i
// when it is a non-empty string (undefined arrives as null).
func (a *Admin) target(nsp string, args native.Args, i int) *native.BroadcastOperator {
	n := a.srv.Of(nsp)
	var filter string
	if i < len(args.Raw) {
		json.Unmarshal(args.Raw[i], &filter)
	}
	if filter != "" {
		return n.In(filter)
	}
	return n.In()
}

// sessionStore keeps the session ids the UIs earned (instrument()'s
// store), each for a while, at most MaxSessions.
type sessionStore struct {
	mu  sync.Mutex
	ttl time.Duration
	exp map[string]time.Time
}

func (st *sessionStore) init(ttl time.Duration) {
	st.ttl = ttl
	st.exp = make(map[string]time.Time)
}

func (st *sessionStore) save(id string) {
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.exp) >= MaxSessions {
		oldest, at := "", time.Time{}
		for k, t := range st.exp {
			if now.After(t) {
				delete(st.exp, k)
			} else if oldest == "" || t.Before(at) {
				oldest, at = k, t
			}
		}
		if len(st.exp) >= MaxSessions {
			delete(st.exp, oldest)
		}
	}
	st.exp[id] = now.Add(st.ttl)
}

func (st *sessionStore) valid(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	t, ok := st.exp[id]
	if ok && time.Now().After(t) {
		delete(st.exp, id)
		return false
	}
	return ok
}
