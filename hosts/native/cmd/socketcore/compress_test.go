package main

import (
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/hosts/native"
)

func compressFrom(t *testing.T, args ...string) (native.Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c compressFlags
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var o native.Options
	err := c.apply(&o)
	return o, err
}

func TestCompressFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		z    *native.Deflate
		h    *native.HTTPCompression
	}{
		{nil, nil, &native.HTTPCompression{Threshold: 1024, Level: 6}},
		{[]string{"--per-message-deflate"}, &native.Deflate{Threshold: 1024, Level: 6}, &native.HTTPCompression{Threshold: 1024, Level: 6}},
		{[]string{"--per-message-deflate", "--per-message-deflate-threshold", "0", "--http-compression-threshold", "0"},
			&native.Deflate{Threshold: -1, Level: 6}, &native.HTTPCompression{Threshold: -1, Level: 6}},
		{[]string{"--per-message-deflate-threshold", "10", "--http-compression=false"}, nil, &native.HTTPCompression{Disable: true, Threshold: 1024, Level: 6}},
		{[]string{"--http-compression-threshold", "4096"}, nil, &native.HTTPCompression{Threshold: 4096, Level: 6}},
		{[]string{"--per-message-deflate", "--compression-level", "1"}, &native.Deflate{Threshold: 1024, Level: 1}, &native.HTTPCompression{Threshold: 1024, Level: 1}},
	} {
		o, err := compressFrom(t, c.args...)
		if err != nil || !reflect.DeepEqual(o.PerMessageDeflate, c.z) || !reflect.DeepEqual(o.HTTPCompression, c.h) {
			t.Errorf("%q: %+v %+v %v", c.args, o.PerMessageDeflate, o.HTTPCompression, err)
		}
	}
	for _, bad := range [][]string{
		{"--per-message-deflate-threshold", "-1"},
		{"--http-compression-threshold", "-5"},
		{"--compression-level", "0"},
		{"--compression-level", "10"},
	} {
		if _, err := compressFrom(t, bad...); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: error %v", bad, err)
		}
	}
}
