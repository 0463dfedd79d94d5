//go:build wasip1

package main

import (
	"unsafe"

	"github.com/socketcore/socketcore/wasm/abi"
)

// The exports of wasm/ABI.md. Pointers are addresses in linear memory and
// must lie in the exchange area sio_buffer returned; they are turned into
// offsets into it here and nowhere else.

var g guest

func base() uint32 {
	if len(g.xbuf) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(g.xbuf))))
}

// offset converts an address to an offset into the exchange area; an
// address before it becomes an offset past any area (refused as bounds).
func offset(ptr uint32) uint32 {
	b := base()
	if ptr < b || b == 0 {
		return 1<<32 - 1
	}
	return ptr - b
}

//go:wasmexport sio_abi_version
func sioABIVersion() uint32 { return abi.Version }

//go:wasmexport sio_buffer
func sioBuffer(size uint32) uint32 {
	if !g.buffer(size) {
		return 0
	}
	return base()
}

//go:wasmexport sio_new
func sioNew(ptr, n uint32) int32 { return int32(g.newMachine(offset(ptr), n)) }

//go:wasmexport sio_handle
func sioHandle(nowNs int64, kind, ptr, n, limit uint32) int64 {
	return g.handle(nowNs, kind, offset(ptr), n, limit)
}

//go:wasmexport sio_reply
func sioReply(ptr, limit uint32) int64 { return g.replyAt(offset(ptr), limit) }

//go:wasmexport sio_poll
func sioPoll(ptr, limit uint32) int64 { return g.poll(offset(ptr), limit) }
