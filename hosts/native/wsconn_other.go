//go:build !linux

package native

import "net"

// rawWriter exists on Linux only (wsconn_linux.go): elsewhere every write
// goes through the connection's writer goroutine.
type rawWriter struct{}

func newRawWriter(net.Conn) *rawWriter       { return nil }
func (*rawWriter) write([]byte) (int, error) { return 0, nil }
func wouldBlock(error) bool                  { return true }
