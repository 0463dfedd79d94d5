//go:build !linux

package native

import "net"

// rawReader exists on Linux only (wsread_linux.go).
type rawReader struct{}

// startReading reads the connection on a goroutine with blocking reads
// (wsread_linux.go has the buffer-free wait used on Linux).
func (t *transport) startReading(c *wsConn, nc net.Conn) { t.readBlocking(c, nc) }
