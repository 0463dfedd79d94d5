package main

import (
	"bytes"
	"testing"
)

func TestMeasure(t *testing.T) {
	b := bytes.Repeat([]byte("socketcore "), 1000)
	s := Measure(b)
	if s.Raw != len(b) || s.Gzip <= 0 || s.Gzip >= s.Raw || s.Brotli <= 0 || s.Brotli >= s.Raw {
		t.Fatalf("%+v", s)
	}
}
