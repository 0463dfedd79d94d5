package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tinylib/msgp/msgp"

	"github.com/socketcore/socketcore/adapter"
	cw "github.com/socketcore/socketcore/core/wire"
)

// Connection state recovery across the servers of a cluster
// (adapter.RecoveryStore): the sessions and the packets they may miss are
// kept in Redis, so that a client whose server died resumes on another.
//
// Layout (P is Options.Prefix, N a namespace, node the first six
// characters of a pid: the id of the server that made it):
//
//	P-recovery#N#                  stream: one entry per packet a server
//	                               originated (XADD * MAXLEN ~ max), fields
//	                               offset, rooms, except (JSON arrays), data
//	                               (the event's JSON), atts (msgpack array of
//	                               bin, "" when none)
//	P-recovery-live#{node}         hash: pid -> snapshot of a connected socket
//	P-recovery-session#{node}#pid  string: a saved session, PX = the window
//
// A session is JSON {"node","sid","nsp","rooms","data"}, node first (the
// scripts compare it by prefix): the server holding the socket. The hash
// tag {node} keeps one server's snapshots and sessions in one slot, so
// that the scripts below work on a Redis Cluster too.
//
// Per broadcast a server originates: one XADD, in one MULTI with its
// PUBLISH (one round trip, the cost of the PUBLISH alone before).
// Per socket: one HSET at its connection and per batch of room changes,
// one script at its departure. Every window/3 each server refreshes the
// TTL of the hashes it writes and trims its streams older than the window
// (XTRIM MINID ~).
//
// The scripts make a session exist in exactly one place (the holder's
// snapshot, or a saved session) and make lookups consume it: a snapshot is
// replaced only by its holder (or by a recovery: RecoveryResumed), saved
// only if it is still its holder's, so the late writes of a server whose
// socket was recovered elsewhere change nothing.

type recoveryStore struct {
	client     redis.UniversalClient
	prefix     string
	window     time.Duration
	ttl        time.Duration // of the hashes and streams: window + the refresh period
	maxPackets int
	quit       chan struct{}
	done       chan struct{}

	mu      sync.Mutex
	holding map[string]string   // pid -> its hash, for the sockets this server holds
	streams map[string]struct{} // streams this server wrote to
}

var _ adapter.RecoveryStore = (*Adapter)(nil)

// ErrRecoveryOff is returned by the recovery store's methods before
// EnableRecovery.
var ErrRecoveryOff = errors.New("redis adapter: recovery store not enabled")

// EnableRecovery prepares the recovery store (adapter.RecoveryStore) and
// starts its maintenance: every window/3 it refreshes the TTL of what this
// server holds and trims its streams past the window.
func (a *Adapter) EnableRecovery(window time.Duration, maxPackets int) error {
	if window <= 0 {
		return errors.New("redis adapter: EnableRecovery needs a window")
	}
	if maxPackets <= 0 {
		maxPackets = 100_000
	}
	client, prefix := a.client, a.codec.Prefix
	if a.sh != nil {
		client, prefix = a.sh.client, a.sh.codec.Prefix
	}
	period := window / 3
	r := &recoveryStore{client: client, prefix: prefix, window: window, ttl: window + period, maxPackets: maxPackets,
		quit: make(chan struct{}), done: make(chan struct{}),
		holding: make(map[string]string), streams: make(map[string]struct{})}
	if !a.rec.CompareAndSwap(nil, r) {
		return errors.New("redis adapter: EnableRecovery called twice")
	}
	go r.maintain(period)
	return nil
}

func (a *Adapter) stopRecovery() {
	if r := a.rec.Load(); r != nil {
		select {
		case <-r.quit:
		default:
			close(r.quit)
			<-r.done
		}
	}
}

func (a *Adapter) recovery() (*recoveryStore, error) {
	r := a.rec.Load()
	if r == nil {
		return nil, ErrRecoveryOff
	}
	if a.closedNow() {
		return nil, ErrClosed
	}
	return r, nil
}

func (a *Adapter) closedNow() bool {
	if a.sh != nil {
		return a.sh.closed.Load()
	}
	return a.closed.Load()
}

// StreamKey is the stream of nsp's packets: <prefix>-recovery#<nsp>#.
func StreamKey(prefix, nsp string) string { return prefix + "-recovery#" + nsp + "#" }

// nodeOf is the server id at the start of a pid ("" for a pid too short
// to have one: such a pid was never made by a server with a store).
func nodeOf(pid string) string {
	if len(pid) < 7 {
		return ""
	}
	return pid[:6]
}

// LiveKey is the hash of the snapshots of the sockets whose pid node made.
func LiveKey(prefix, node string) string { return prefix + "-recovery-live#{" + node + "}" }

// SessionKey is the saved session of pid.
func SessionKey(prefix, pid string) string {
	return prefix + "-recovery-session#{" + nodeOf(pid) + "}#" + pid
}

// Record appends p to nsp's stream and, with publish, publishes the
// broadcast in the same MULTI (a pipeline on a Redis Cluster, and in
// sharded mode: SPUBLISH goes to the channel's shard).
func (a *Adapter) Record(ctx context.Context, nsp string, p cw.RecoveryPacket, publish *cw.ClusterMessage) error {
	r, err := a.recovery()
	if err != nil {
		return err
	}
	key := StreamKey(r.prefix, nsp)
	fields, err := entryFields(&p)
	if err != nil {
		return err
	}
	var msg Message
	if publish != nil {
		if a.sh != nil {
			msg, err = a.sh.codec.Encode(*publish, "")
		} else {
			msg, err = a.codec.Encode(*publish, "")
		}
		if err != nil {
			return err
		}
	}
	first := r.firstWrite(key)
	do := func(pipe redis.Pipeliner) error {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: int64(r.maxPackets), Approx: true, Values: fields})
		if first {
			pipe.PExpire(ctx, key, r.ttl)
		}
		switch {
		case publish == nil:
		case a.sh != nil:
			pipe.SPublish(ctx, msg.Channel, msg.Payload)
		default:
			pipe.Publish(ctx, msg.Channel, msg.Payload)
		}
		return nil
	}
	_, isCluster := r.client.(*redis.ClusterClient)
	if a.sh != nil || isCluster {
		_, err = r.client.Pipelined(ctx, do)
	} else {
		_, err = r.client.TxPipelined(ctx, do)
	}
	return err
}

func (r *recoveryStore) firstWrite(stream string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.streams[stream]; ok {
		return false
	}
	r.streams[stream] = struct{}{}
	return true
}

// entryFields are a packet's stream fields.
func entryFields(p *cw.RecoveryPacket) ([]any, error) {
	rooms, err := json.Marshal(nonNil(p.Rooms))
	if err != nil {
		return nil, err
	}
	except, err := json.Marshal(nonNil(p.Except))
	if err != nil {
		return nil, err
	}
	var atts []byte
	if len(p.Attachments) > 0 {
		atts = msgp.AppendArrayHeader(nil, uint32(len(p.Attachments)))
		for _, b := range p.Attachments {
			atts = msgp.AppendBytes(atts, b)
		}
	}
	return []any{"offset", p.Offset, "rooms", rooms, "except", except, "data", p.Data, "atts", atts}, nil
}

// entryPacket reads a stream entry back.
func entryPacket(v map[string]any) (cw.RecoveryPacket, error) {
	str := func(k string) string { s, _ := v[k].(string); return s }
	var p cw.RecoveryPacket
	p.Offset = str("offset")
	if p.Offset == "" {
		return p, errors.New("entry without an offset")
	}
	if err := json.Unmarshal([]byte(str("rooms")), &p.Rooms); err != nil {
		return p, fmt.Errorf("entry rooms: %w", err)
	}
	if err := json.Unmarshal([]byte(str("except")), &p.Except); err != nil {
		return p, fmt.Errorf("entry except: %w", err)
	}
	if len(p.Rooms) == 0 {
		p.Rooms = nil
	}
	if len(p.Except) == 0 {
		p.Except = nil
	}
	p.Data = []byte(str("data"))
	if atts := []byte(str("atts")); len(atts) > 0 {
		n, rest, err := msgp.ReadArrayHeaderBytes(atts)
		if err != nil {
			return p, fmt.Errorf("entry atts: %w", err)
		}
		p.Attachments = make([][]byte, n)
		for i := range p.Attachments {
			if p.Attachments[i], rest, err = msgp.ReadBytesBytes(rest, nil); err != nil {
				return p, fmt.Errorf("entry atts: %w", err)
			}
		}
	}
	return p, nil
}

// storedSession is a session's value in Redis; node comes first.
type storedSession struct {
	Node  string          `json:"node"`
	Sid   string          `json:"sid"`
	Nsp   string          `json:"nsp"`
	Rooms []string        `json:"rooms"`
	Data  json.RawMessage `json:"data"`
}

func encodeSession(s *cw.RecoverySession) ([]byte, error) {
	data := json.RawMessage(s.Data)
	if len(data) == 0 || !json.Valid(data) {
		data = json.RawMessage("null")
	}
	return json.Marshal(storedSession{Node: s.Node, Sid: string(s.Socket), Nsp: s.Nsp, Rooms: nonNil(s.Rooms), Data: data})
}

// mine is the prefix of the sessions node holds.
func mine(node string) string { return `{"node":"` + node + `"` }

var (
	// KEYS live, session; ARGV pid, value, prefix of the holder's values,
	// ttl ms, "1" to take the snapshot whoever held it (a recovery).
	liveScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[5] ~= '1' and cur and string.sub(cur, 1, #ARGV[3]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '1' then redis.call('DEL', KEYS[2]) end
return 1`)
	// KEYS live, session; ARGV pid, value, prefix, window ms.
	saveScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or string.sub(cur, 1, #ARGV[3]) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
return 1`)
	// KEYS live; ARGV pid, prefix.
	goneScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, 1, #ARGV[2]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) return 1 end
return 0`)
	// KEYS session, live; ARGV pid. The session, consumed: {"saved"|"live", value}.
	takeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) return {'saved', v} end
v = redis.call('HGET', KEYS[2], ARGV[1])
if v then redis.call('HDEL', KEYS[2], ARGV[1]) return {'live', v} end
return false`)
)

// SaveSession writes s as its State says (wire.RecoveryState).
func (a *Adapter) SaveSession(ctx context.Context, s cw.RecoverySession) error {
	r, err := a.recovery()
	if err != nil {
		return err
	}
	node := nodeOf(s.PID)
	if node == "" || s.Node == "" {
		return fmt.Errorf("redis adapter: session %q of node %q", s.PID, s.Node)
	}
	live, key := LiveKey(r.prefix, node), SessionKey(r.prefix, s.PID)
	value, err := encodeSession(&s)
	if err != nil {
		return err
	}
	keys := []string{live, key}
	switch s.State {
	case cw.RecoveryLive, cw.RecoveryResumed:
		r.hold(s.PID, live)
		resumed := "0"
		if s.State == cw.RecoveryResumed {
			resumed = "1"
		}
		err = liveScript.Run(ctx, r.client, keys, s.PID, value, mine(s.Node), r.ttl.Milliseconds(), resumed).Err()
	case cw.RecoverySaved:
		r.release(s.PID)
		err = saveScript.Run(ctx, r.client, keys, s.PID, value, mine(s.Node), r.window.Milliseconds()).Err()
	case cw.RecoveryGone:
		r.release(s.PID)
		err = goneScript.Run(ctx, r.client, []string{live}, s.PID, mine(s.Node)).Err()
	case cw.RecoveryUnused:
		err = r.client.Set(ctx, key, value, r.window).Err()
	default:
		return fmt.Errorf("redis adapter: session state %v", s.State)
	}
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return err
}

func (r *recoveryStore) hold(pid, live string) {
	r.mu.Lock()
	r.holding[pid] = live
	r.mu.Unlock()
}

func (r *recoveryStore) release(pid string) {
	r.mu.Lock()
	delete(r.holding, pid)
	r.mu.Unlock()
}

// lookupBatch is how many stream entries one XREVRANGE reads.
const lookupBatch = 512

// Lookup takes the session of l.PID and, unless it is held by l.Node,
// the entries of the stream after l.Offset that targeted the session's
// rooms (read newest first, in batches, until the offset; at most the
// stream's bound).
func (a *Adapter) Lookup(ctx context.Context, l cw.RecoveryLookup) (cw.RecoveryFound, error) {
	f := cw.RecoveryFound{Ref: l.Ref}
	r, err := a.recovery()
	if err != nil {
		return f, err
	}
	node := nodeOf(l.PID)
	if node == "" {
		return f, nil
	}
	res, err := takeScript.Run(ctx, r.client, []string{SessionKey(r.prefix, l.PID), LiveKey(r.prefix, node)}, l.PID).Slice()
	if errors.Is(err, redis.Nil) {
		return f, nil
	}
	if err != nil {
		return f, err
	}
	if len(res) != 2 {
		return f, fmt.Errorf("redis adapter: lookup answered %v", res)
	}
	state, _ := res[0].(string)
	value, _ := res[1].(string)
	var ss storedSession
	if err := json.Unmarshal([]byte(value), &ss); err != nil {
		return f, fmt.Errorf("redis adapter: session %s: %w", l.PID, err)
	}
	f.Found = true
	f.Session = cw.RecoverySession{State: cw.RecoveryLive, PID: l.PID, Socket: cw.SocketID(ss.Sid), Nsp: ss.Nsp,
		Rooms: ss.Rooms, Node: ss.Node}
	if state == "saved" {
		f.Session.State = cw.RecoverySaved
	}
	if len(ss.Data) > 0 && string(ss.Data) != "null" {
		f.Session.Data = ss.Data
	}
	if ss.Node == l.Node || ss.Nsp != l.Nsp {
		return f, nil // the holder has the packets; another namespace recovers nothing
	}
	f.Packets, f.OffsetFound, err = r.after(ctx, StreamKey(r.prefix, l.Nsp), l.Offset, ss.Rooms)
	if err != nil {
		// the session is consumed: give it back before failing
		back := f.Session
		back.State = cw.RecoveryUnused
		if value, e := encodeSession(&back); e == nil {
			r.client.Set(context.WithoutCancel(ctx), SessionKey(r.prefix, l.PID), value, r.window)
		}
		return cw.RecoveryFound{Ref: l.Ref}, err
	}
	return f, nil
}

// after reads the entries of stream after the one whose offset is offset,
// oldest first, leaving out those that did not target a socket in rooms;
// found is false when no entry has it (within the bound).
func (r *recoveryStore) after(ctx context.Context, stream, offset string, rooms []string) ([]cw.RecoveryPacket, bool, error) {
	var newest []cw.RecoveryPacket // newest first
	read := 0
	end := "+"
	for read <= r.maxPackets {
		batch, err := r.client.XRevRangeN(ctx, stream, end, "-", lookupBatch).Result()
		if err != nil {
			return nil, false, err
		}
		for _, e := range batch {
			if o, _ := e.Values["offset"].(string); o == offset {
				slices.Reverse(newest)
				return newest, true, nil
			}
			p, err := entryPacket(e.Values)
			if err != nil {
				return nil, false, fmt.Errorf("redis adapter: stream %s entry %s: %w", stream, e.ID, err)
			}
			read++
			if targets(rooms, p.Rooms, p.Except) {
				newest = append(newest, p)
			}
		}
		if len(batch) < lookupBatch {
			break
		}
		end = "(" + batch[len(batch)-1].ID
	}
	return nil, false, nil
}

// targets reports whether a packet for to (any of, all when empty) and
// not except reached a socket in rooms (the adapter's shouldIncludePacket;
// the core checks it again).
func targets(rooms, to, except []string) bool {
	in := len(to) == 0
	for _, r := range rooms {
		if slices.Contains(except, r) {
			return false
		}
		if !in && slices.Contains(to, r) {
			in = true
		}
	}
	return in
}

// maintain refreshes, every period, the TTL of the hashes holding this
// server's sockets and of its streams, and trims the streams past the
// window, until the adapter closes.
func (r *recoveryStore) maintain(period time.Duration) {
	defer close(r.done)
	t := time.NewTicker(max(period, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(period, time.Second))
			r.refresh(ctx)
			cancel()
		}
	}
}

func (r *recoveryStore) refresh(ctx context.Context) error {
	r.mu.Lock()
	hashes := make(map[string]struct{})
	for _, h := range r.holding {
		hashes[h] = struct{}{}
	}
	streams := make([]string, 0, len(r.streams))
	for s := range r.streams {
		streams = append(streams, s)
	}
	r.mu.Unlock()
	now, err := r.client.Time(ctx).Result()
	if err != nil {
		return err
	}
	minID := strconv.FormatInt(now.Add(-r.window).UnixMilli(), 10)
	_, err = r.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for h := range hashes {
			pipe.PExpire(ctx, h, r.ttl)
		}
		for _, s := range streams {
			pipe.XTrimMinIDApprox(ctx, s, minID, 0)
			pipe.PExpire(ctx, s, r.ttl)
		}
		return nil
	})
	return err
}
