package main

import (
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

func limitsFrom(t *testing.T, args ...string) (native.Limits, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var l limitsFlags
	l.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var o native.Options
	err := l.apply(&o)
	return o.Limits, err
}

func TestLimitsFlags(t *testing.T) {
	got, err := limitsFrom(t)
	if err != nil || !reflect.DeepEqual(got, native.Limits{SlowConsumerGrace: 5 * time.Second}) {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	got, err = limitsFrom(t, "--rate-limit", "600/m", "--rate-burst", "20", "--rate-limit-events", "chat=5/s:10, typing=2/s",
		"--rate-limit-action", "error-ack", "--max-rooms-per-socket", "50", "--max-namespaces-per-connection", "3",
		"--max-conns-per-ip", "20", "--trust-proxy", "--max-send-queue", "1048576", "--slow-consumer-grace", "2s")
	want := native.Limits{
		EventRate:                  native.Rate{PerSecond: 10, Burst: 20},
		EventRates:                 map[string]native.Rate{"chat": {PerSecond: 5, Burst: 10}, "typing": {PerSecond: 2}},
		OnLimit:                    native.LimitErrorAck,
		MaxRoomsPerSocket:          50,
		MaxNamespacesPerConnection: 3,
		MaxConnectionsPerIP:        20,
		TrustProxy:                 true,
		MaxSendQueue:               1 << 20,
		SlowConsumerGrace:          2 * time.Second,
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v (%v)\nwant %+v", got, err, want)
	}
	for _, bad := range [][]string{
		{"--rate-limit", "fast"},
		{"--rate-limit-action", "ban"},
		{"--rate-limit-events", "chat"},
		{"--rate-limit-events", "chat=5/s:0"},
		{"--rate-limit-events", "chat=5/d"},
		{"--max-conns-per-ip", "-1"},
	} {
		if _, err := limitsFrom(t, bad...); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: error %v", bad, err)
		}
	}
}
