// Package wiretest formats wire records for test failure messages, shared by
// the engine's and the core's test harnesses.
package wiretest

import (
	"fmt"
	"strings"

	"github.com/socketcore/socketcore/core/wire"
)

// Frames formats frames as text ("%q") and binary ("bin%x") frames.
func Frames(fs []wire.Frame) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(" ")
		}
		if f.Binary {
			fmt.Fprintf(&b, "bin%x", f.Data)
		} else {
			fmt.Fprintf(&b, "%q", f.Data)
		}
	}
	return b.String()
}

// Dump lists outputs one per line, each formatted by describe.
func Dump(outs []wire.Output, describe func(wire.Output) string) string {
	var b strings.Builder
	for _, o := range outs {
		b.WriteString("\n\t")
		b.WriteString(describe(o))
	}
	return b.String()
}
