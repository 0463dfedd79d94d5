package sio

// Partial returns the binary packet waiting for attachments and the
// attachments received so far (ok is false when none is pending). It is
// for session snapshots (core/snapshot.go): a polling client may post a
// binary packet and its attachments in separate requests, which may meet
// different machines. A machine rebuilds the state by feeding
// Append(nil, p) to Text and each attachment to Binary.
//
// The results alias the Reassembler's state: they are valid until its next
// Text, Binary or Reset, and must not be modified.
func (r *Reassembler) Partial() (p Packet, atts [][]byte, ok bool) {
	if !r.pending {
		return Packet{}, nil, false
	}
	return r.pkt, r.atts, true
}
