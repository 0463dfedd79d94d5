// Command coresize prints the raw, gzip and brotli sizes of core.wasm and
// fails when one is over its budget (`make size`):
//
//	go run ./wasm/cmd/coresize [-max-raw N] [-max-gzip N] [-max-brotli N] core.wasm
//
// gzip is level 9 and brotli quality 11, what a CDN serving the file uses.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
)

func main() {
	maxRaw := flag.Int("max-raw", 0, "budget for the raw size in bytes (0: none)")
	maxGzip := flag.Int("max-gzip", 0, "budget for the gzip size in bytes (0: none)")
	maxBrotli := flag.Int("max-brotli", 0, "budget for the brotli size in bytes (0: none)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: coresize [-max-raw N] [-max-gzip N] [-max-brotli N] core.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s := Measure(b)
	over := false
	for _, r := range []struct {
		name   string
		size   int
		budget int
	}{{"raw", s.Raw, *maxRaw}, {"gzip", s.Gzip, *maxGzip}, {"brotli", s.Brotli, *maxBrotli}} {
		line := fmt.Sprintf("%-7s %9d bytes  %7.1f KiB", r.name, r.size, float64(r.size)/1024)
		if r.budget > 0 {
			if r.size > r.budget {
				line += fmt.Sprintf("  OVER budget %d by %d", r.budget, r.size-r.budget)
				over = true
			} else {
				line += fmt.Sprintf("  (budget %d)", r.budget)
			}
		}
		fmt.Println(line)
	}
	if over {
		os.Exit(1)
	}
}

// Sizes are the three sizes of one file.
type Sizes struct{ Raw, Gzip, Brotli int }

// Measure compresses b both ways.
func Measure(b []byte) Sizes {
	var gz, br bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	io.Copy(bw, bytes.NewReader(b))
	bw.Close()
	return Sizes{Raw: len(b), Gzip: gz.Len(), Brotli: br.Len()}
}
