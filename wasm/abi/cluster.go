package abi

import (
	"time"

	"github.com/socketcore/socketcore/core/wire"
)

// The records shared by the cluster's calls and results (wasm/ABI.md
// "Cluster"): wire.ClusterMessage travels in ClusterReceived (host →
// guest) and ClusterPublish (guest → host), wire.ClusterSocket in both
// and in ClusterRequestDone, so both directions need both halves.

func appendClusterMessage(b []byte, m *wire.ClusterMessage) []byte {
	b = appendU8(b, uint8(m.Type))
	b = appendString(b, m.Nsp)
	b = appendString(b, m.RequestID)
	b = appendStrings(b, m.Rooms)
	b = appendStrings(b, m.Except)
	b = appendBool(b, m.Volatile)
	b = appendBool(b, m.Compress)
	b = appendI64(b, int64(m.Timeout))
	b = appendBytes(b, m.Data)
	b = appendBytesList(b, m.Attachments)
	b = appendStrings(b, m.JoinRooms)
	b = appendBool(b, m.Close)
	b = appendClusterSockets(b, m.Sockets)
	b = appendI64(b, int64(m.ClientCount))
	return appendString(b, m.Offset) // version 3: the recovery store
}

func decodeClusterMessage(d *dec) wire.ClusterMessage {
	return wire.ClusterMessage{
		Type:        wire.ClusterType(d.u8()),
		Nsp:         d.string(),
		RequestID:   d.string(),
		Rooms:       decodeStrings[string](d),
		Except:      decodeStrings[string](d),
		Volatile:    d.bool(),
		Compress:    d.bool(),
		Timeout:     time.Duration(d.i64()),
		Data:        d.bytes(),
		Attachments: d.bytesList(),
		JoinRooms:   decodeStrings[string](d),
		Close:       d.bool(),
		Sockets:     decodeClusterSockets(d),
		ClientCount: d.int(),
		Offset:      d.string(),
	}
}

func appendClusterSockets(b []byte, l []wire.ClusterSocket) []byte {
	b = appendLen(b, len(l))
	for i := range l {
		s := &l[i]
		b = appendString(b, string(s.ID))
		b = appendStrings(b, s.Rooms)
		b = appendBytes(b, s.Handshake)
		b = appendBytes(b, s.Data)
	}
	return b
}

func decodeClusterSockets(d *dec) []wire.ClusterSocket {
	n := d.count(16) // four empty fields
	if n == 0 {
		return nil
	}
	l := make([]wire.ClusterSocket, n)
	for i := range l {
		l[i] = wire.ClusterSocket{
			ID:        wire.SocketID(d.string()),
			Rooms:     decodeStrings[string](d),
			Handshake: d.bytes(),
			Data:      d.bytes(),
		}
	}
	return l
}

// The replies of BroadcastAckResolved and ClusterRequestDone:
// list<{socket string, args bytes, attachments list<bytes>}>.

func appendReplies(b []byte, l []wire.Reply) []byte {
	b = appendLen(b, len(l))
	for _, rep := range l {
		b = appendString(b, string(rep.Socket))
		b = appendBytes(b, rep.Args)
		b = appendBytesList(b, rep.Attachments)
	}
	return b
}

func decodeReplies(d *dec) []wire.Reply {
	n := d.count(12)
	if n == 0 {
		return nil
	}
	l := make([]wire.Reply, n)
	for i := range l {
		l[i] = wire.Reply{
			Socket:      wire.SocketID(d.string()),
			Args:        d.bytes(),
			Attachments: d.bytesList(),
		}
	}
	return l
}
