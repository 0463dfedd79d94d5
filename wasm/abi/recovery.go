package abi

import "github.com/socketcore/socketcore/core/wire"

// The records shared by the recovery store's input and outputs (wasm/ABI.md
// "Recovery store"): wire.RecoverySession travels in RecoverySession
// (guest → host) and inside RecoveryFound (host → guest),
// wire.RecoveryPacket in RecoveryRecord and RecoveryFound, so both
// directions need both halves.

func appendRecoveryPacket(b []byte, p *wire.RecoveryPacket) []byte {
	b = appendString(b, p.Offset)
	b = appendStrings(b, p.Rooms)
	b = appendStrings(b, p.Except)
	b = appendBytes(b, p.Data)
	return appendBytesList(b, p.Attachments)
}

func decodeRecoveryPacket(d *dec) wire.RecoveryPacket {
	return wire.RecoveryPacket{
		Offset:      d.string(),
		Rooms:       decodeStrings[string](d),
		Except:      decodeStrings[string](d),
		Data:        d.bytes(),
		Attachments: d.bytesList(),
	}
}

func appendRecoveryPackets(b []byte, l []wire.RecoveryPacket) []byte {
	b = appendLen(b, len(l))
	for i := range l {
		b = appendRecoveryPacket(b, &l[i])
	}
	return b
}

func decodeRecoveryPackets(d *dec) []wire.RecoveryPacket {
	n := d.count(20) // five empty fields
	if n == 0 {
		return nil
	}
	l := make([]wire.RecoveryPacket, n)
	for i := range l {
		l[i] = decodeRecoveryPacket(d)
	}
	return l
}

func appendRecoverySession(b []byte, s *wire.RecoverySession) []byte {
	b = appendU8(b, uint8(s.State))
	b = appendString(b, s.PID)
	b = appendString(b, string(s.Socket))
	b = appendString(b, s.Nsp)
	b = appendStrings(b, s.Rooms)
	b = appendString(b, s.Node)
	return appendBytes(b, s.Data)
}

func decodeRecoverySession(d *dec) wire.RecoverySession {
	return wire.RecoverySession{
		State:  wire.RecoveryState(d.u8()),
		PID:    d.string(),
		Socket: wire.SocketID(d.string()),
		Nsp:    d.string(),
		Rooms:  decodeStrings[string](d),
		Node:   d.string(),
		Data:   d.bytes(),
	}
}
