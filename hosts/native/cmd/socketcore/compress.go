package main

// Compression for `serve`: permessage-deflate on WebSocket connections
// (off by default, as Node's perMessageDeflate) and gzip/deflate polling
// responses (on by default, as Node's httpCompression).

import (
	"flag"
	"fmt"

	"github.com/socketcore/socketcore/hosts/native"
)

// compressFlags are Options.PerMessageDeflate and Options.HTTPCompression
// as flags.
type compressFlags struct {
	deflate, http                   bool
	deflateThreshold, httpThreshold int
	level                           int
}

func (c *compressFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.deflate, "per-message-deflate", false, "compress WebSocket messages (permessage-deflate, RFC 7692) with the clients that offer it, as Node's perMessageDeflate (off by default, as in Node)")
	fs.IntVar(&c.deflateThreshold, "per-message-deflate-threshold", 1024, "with --per-message-deflate, messages smaller than this many bytes are sent uncompressed (0: every message)")
	fs.IntVar(&c.level, "compression-level", 6, "zlib level of both compressions, 1 (fastest) to 9 (smallest); 6 is zlib's and Node's default")
	fs.BoolVar(&c.http, "http-compression", true, "compress polling responses with gzip or deflate by Accept-Encoding, as Node's httpCompression (on by default, as in Node; --http-compression=false: off)")
	fs.IntVar(&c.httpThreshold, "http-compression-threshold", 1024, "with --http-compression, responses smaller than this many bytes are sent uncompressed (0: every response)")
}

// apply sets the options' PerMessageDeflate and HTTPCompression.
func (c *compressFlags) apply(o *native.Options) error {
	if c.deflateThreshold < 0 {
		return fmt.Errorf("--per-message-deflate-threshold: %d is negative", c.deflateThreshold)
	}
	if c.httpThreshold < 0 {
		return fmt.Errorf("--http-compression-threshold: %d is negative", c.httpThreshold)
	}
	if c.level < 1 || c.level > 9 {
		return fmt.Errorf("--compression-level: %d is not 1 to 9", c.level)
	}
	if c.deflate {
		o.PerMessageDeflate = &native.Deflate{Threshold: threshold(c.deflateThreshold), Level: c.level}
	}
	o.HTTPCompression = &native.HTTPCompression{Disable: !c.http, Threshold: threshold(c.httpThreshold), Level: c.level}
	return nil
}

// threshold is a flag's byte count as an option's: 0 there means Node's
// default (1024), negative means every message.
func threshold(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
