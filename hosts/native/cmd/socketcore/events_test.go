package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/hosts/native"
)

func eventRulesFrom(t *testing.T, args ...string) (map[string]native.EventRules, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var e eventsFlags
	e.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var o native.Options
	err := e.apply(&o)
	return o.EventRules, err
}

func TestEventsFlags(t *testing.T) {
	got, err := eventRulesFrom(t)
	if err != nil || got != nil {
		t.Fatalf("defaults: %+v %v (want no rules: Node's behaviour)", got, err)
	}
	// every namespace, without NSP
	got, err = eventRulesFrom(t, "--allow-events", "chat, typing", "--event-max-bytes", "chat:2000,*:65536")
	want := map[string]native.EventRules{"*": {Allow: []string{"chat", "typing"}, MaxBytes: map[string]int{"chat": 2000}, DefaultMaxBytes: 65536}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v (%v)\nwant %+v", got, err, want)
	}
	// namespaces' sections on top of every namespace's; prefixes; policy
	got, err = eventRulesFrom(t,
		"--allow-events", "chat,typing; /admin=* ;news=;/room-*=ping,user:join",
		"--event-max-bytes", "chat:2000,*:65536;/admin=upload:1048576,chat:0;/=user:join:10",
		"--event-policy", "error-ack")
	base := native.EventRules{Allow: []string{"chat", "typing"}, MaxBytes: map[string]int{"chat": 2000}, DefaultMaxBytes: 65536,
		OnRefused: native.LimitErrorAck}
	want = map[string]native.EventRules{
		"*": base,
		"/admin": {Allow: []string{"*"}, MaxBytes: map[string]int{"chat": 0, "upload": 1 << 20}, DefaultMaxBytes: 65536,
			OnRefused: native.LimitErrorAck},
		"/news": {Allow: []string{}, MaxBytes: map[string]int{"chat": 2000}, DefaultMaxBytes: 65536,
			OnRefused: native.LimitErrorAck},
		"/room-*": {Allow: []string{"ping", "user:join"}, MaxBytes: map[string]int{"chat": 2000}, DefaultMaxBytes: 65536,
			OnRefused: native.LimitErrorAck},
		"/": {Allow: []string{"chat", "typing"}, MaxBytes: map[string]int{"chat": 2000, "user:join": 10}, DefaultMaxBytes: 65536,
			OnRefused: native.LimitErrorAck},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v (%v)\nwant %+v", got, err, want)
	}
	// "*:0" in a namespace's section lifts the default bound of every
	// namespace there (0: no bound)
	got, err = eventRulesFrom(t, "--event-max-bytes", "*:1000;/admin=*:0;/chat=typing:10")
	want = map[string]native.EventRules{"*": {DefaultMaxBytes: 1000}, "/admin": {},
		"/chat": {MaxBytes: map[string]int{"typing": 10}, DefaultMaxBytes: 1000}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v (%v)\nwant %+v", got, err, want)
	}
	// a namespace without rules for every namespace keeps its own alone
	got, err = eventRulesFrom(t, "--allow-events", "/=chat", "--event-policy", "disconnect")
	want = map[string]native.EventRules{"/": {Allow: []string{"chat"}, OnRefused: native.LimitDisconnect}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v (%v)\nwant %+v", got, err, want)
	}
	for _, bad := range [][]string{
		{"--event-policy", "ban"},
		{"--allow-events", "=chat"},
		{"--event-max-bytes", "chat=2000"},
		{"--event-max-bytes", "chat:lots"},
		{"--event-max-bytes", "chat:-1"},
		{"--event-max-bytes", ":10"},
	} {
		if _, err := eventRulesFrom(t, bad...); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: error %v", bad, err)
		}
	}
}

// The flags from the YAML file: a list of events is a YAML list, sections
// with namespaces a string.
func TestEventsFlagsFromConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "socketcore.yaml")
	os.WriteFile(file, []byte("allow-events: [chat, typing]\nevent-max-bytes: \"chat:2000;/admin=*:4096\"\nevent-policy: disconnect\n"), 0o600)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.String("config", "", "")
	var e eventsFlags
	e.register(fs)
	if err := parseWith(fs, []string{"--config", file}, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	var o native.Options
	if err := e.apply(&o); err != nil {
		t.Fatal(err)
	}
	want := map[string]native.EventRules{
		"*":      {Allow: []string{"chat", "typing"}, MaxBytes: map[string]int{"chat": 2000}, OnRefused: native.LimitDisconnect},
		"/admin": {Allow: []string{"chat", "typing"}, MaxBytes: map[string]int{"chat": 2000}, DefaultMaxBytes: 4096, OnRefused: native.LimitDisconnect},
	}
	if !reflect.DeepEqual(o.EventRules, want) {
		t.Fatalf("got %+v\nwant %+v", o.EventRules, want)
	}
}
