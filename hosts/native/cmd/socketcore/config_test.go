package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socketcore/socketcore/hosts/native/debuglog"
)

// flagSetOf is the FlagSet the subcommand mode builds, every flag
// registered, nothing parsed.
func flagSetOf(t *testing.T, mode string) *flag.FlagSet {
	t.Helper()
	var fs *flag.FlagSet
	err := command(mode)(nil, func(f *flag.FlagSet, _ []string) error { fs = f; return errDescribed })
	if err != errDescribed {
		t.Fatalf("%s: %v", mode, err)
	}
	return fs
}

func environment(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "socketcore.yaml")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func value(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

// TestPrecedence: command line > environment > file > defaults.
func TestPrecedence(t *testing.T) {
	file := writeConfig(t, `# socketcore serve
addr: 127.0.0.1:4000        # the command line wins
ping-interval: 10s          # the environment wins
ping-timeout: 7s
cors-origin: [https://a.example, "https://b.example"]
transports: polling
allow-eio3: true
max-http-buffer-size: 2_000
redis:                      # null: empty
`)
	fs := flagSetOf(t, "serve")
	err := parseWith(fs, []string{"--addr", "127.0.0.1:5000"}, environment(map[string]string{
		"SOCKETCORE_CONFIG":        file,
		"SOCKETCORE_PING_INTERVAL": "11s",
		"SOCKETCORE_TRANSPORTS":    "websocket",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"addr":                 "127.0.0.1:5000",
		"ping-interval":        "11s",
		"transports":           "websocket",
		"ping-timeout":         "7s",
		"cors-origin":          "https://a.example,https://b.example",
		"allow-eio3":           "true",
		"max-http-buffer-size": "2000",
		"redis":                "",
		"connect-timeout":      "45s", // the default
		"config":               file,
	} {
		if got := value(fs, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	// --config on the command line wins over SOCKETCORE_CONFIG.
	fs = flagSetOf(t, "serve")
	err = parseWith(fs, []string{"--config", file}, environment(map[string]string{
		"SOCKETCORE_CONFIG": filepath.Join(t.TempDir(), "missing.yaml"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := value(fs, "addr"); got != "127.0.0.1:4000" {
		t.Errorf("addr = %q, want the file's", got)
	}
}

// TestEveryCommand: each subcommand reads the file with its own flags.
func TestEveryCommand(t *testing.T) {
	file := writeConfig(t, "log-level: warn\nlog-format: json\ncore: native\nrequests-timeout: 3s\n")
	for _, mode := range []string{"serve", "conformance", "bench-server"} {
		fs := flagSetOf(t, mode)
		if err := parseWith(fs, []string{"--config", file}, environment(nil)); err != nil {
			t.Errorf("%s: %v", mode, err)
			continue
		}
		if got := value(fs, "requests-timeout"); got != "3s" {
			t.Errorf("%s: requests-timeout = %q", mode, got)
		}
	}
	// A key of serve only is unknown to conformance.
	file = writeConfig(t, "client-js: ''\n")
	err := parseWith(flagSetOf(t, "conformance"), []string{"--config", file}, environment(nil))
	if err == nil || !strings.Contains(err.Error(), `unknown key "client-js"`) {
		t.Errorf("conformance with client-js: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		file string
		env  map[string]string
		want []string // in the error
	}{
		{"addr: 127.0.0.1:1\nadr: 127.0.0.1:2\n", nil, []string{":2:", `unknown key "adr"`, "help-config"}},
		{"ping-interval: 25\n", nil, []string{":1:", "ping-interval", `"25"`, `duration such as "25s"`}},
		{"allow-eio3: yes\n", nil, []string{":1:", "allow-eio3", "true or false"}},
		{"max-http-buffer-size: 1MB\n", nil, []string{":1:", "max-http-buffer-size", "integer"}},
		{"cors-origin:\n  a: b\n", nil, []string{":2:", "cors-origin", "not a mapping"}},
		{"cors-origin: [[a]]\n", nil, []string{"cors-origin", "list of plain values"}},
		{"- addr\n", nil, []string{":1:", "want a mapping"}},
		{"addr: a\naddr: b\n", nil, []string{":2:", "addr", "set twice", "line 1"}},
		{"config: other.yaml\n", nil, []string{"config", "cannot name another"}},
		{"addr: [\n", nil, []string{"yaml"}},
		{"", map[string]string{"SOCKETCORE_PING_TIMEOUT": "soon"}, []string{"SOCKETCORE_PING_TIMEOUT", `"soon"`, "duration"}},
	} {
		file := writeConfig(t, tc.file)
		err := parseWith(flagSetOf(t, "serve"), []string{"--config", file}, environment(tc.env))
		if err == nil {
			t.Errorf("%q: no error", tc.file)
			continue
		}
		want := tc.want
		if tc.env == nil {
			want = append(want, file) // the file is named
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", tc.file, err, w)
			}
		}
	}
	// An empty file, or comments only, sets nothing.
	for _, text := range []string{"", "# nothing yet\n"} {
		if err := parseWith(flagSetOf(t, "serve"), []string{"--config", writeConfig(t, text)}, environment(nil)); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
	err := parseWith(flagSetOf(t, "serve"), []string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, environment(nil))
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestLogger: levels, formats, and the debug switch lowering one
// subsystem's level.
func TestLogger(t *testing.T) {
	ops := opsFlags{logLevel: "warn", logFormat: "json", getenv: func(string) string { return "" }}
	var b bytes.Buffer
	l, err := ops.logger(&b)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped")
	l.Warn("kept", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec["msg"] != "kept" || rec["level"] != "WARN" {
		t.Errorf("want one JSON warning, got %q (%v)", b.String(), err)
	}

	ops = opsFlags{logLevel: "info", logFormat: "text", getenv: func(k string) string {
		return map[string]string{"DEBUG": "socket.io:*"}[k] // Node's habit, no --debug
	}}
	b.Reset()
	if l, err = ops.logger(&b); err != nil {
		t.Fatal(err)
	}
	l.Debug("plain debug")
	debuglog.Subsystem(l, debuglog.Socket).Debug("socket debug")
	debuglog.Subsystem(l, debuglog.Engine).Debug("engine debug")
	if out := b.String(); !strings.Contains(out, "socket debug") || strings.Contains(out, "plain debug") || strings.Contains(out, "engine debug") {
		t.Errorf("DEBUG=socket.io:* should turn on socketcore:socket only:\n%s", out)
	}
	if len(ops.observers(l)) != 1 {
		t.Error("no debug observer with the switch on")
	}
	ops.getenv = func(string) string { return "" }
	if len(ops.observers(l)) != 0 {
		t.Error("a debug observer with the switch off")
	}

	for _, bad := range []opsFlags{{logLevel: "verbose", logFormat: "text"}, {logLevel: "info", logFormat: "xml"}} {
		if _, err := bad.logger(&b); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestREADMETable fails when README.md's table of settings is not what
// help-config prints.
func TestREADMETable(t *testing.T) {
	doc, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	in, err := tableIn(doc)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	want, err := configTable("serve")
	if err != nil {
		t.Fatal(err)
	}
	if string(in) != "\n"+want {
		t.Errorf("README.md's configuration table is not socketcore serve's settings: run\n\n\tgo run ./hosts/native/cmd/socketcore help-config --readme README.md\n\n(at the repository's root) and commit the result. Want:\n%s", want)
	}
}

func TestHelpConfigReadme(t *testing.T) {
	name := filepath.Join(t.TempDir(), "README.md")
	doc := "# x\n\nbefore\n" + tableBegin + "\nold\n" + tableEnd + "\nafter\n"
	if err := os.WriteFile(name, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := helpConfig([]string{"--readme", name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(name)
	table, _ := configTable("serve")
	if want := "# x\n\nbefore\n" + tableBegin + "\n" + table + tableEnd + "\nafter\n"; string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var b bytes.Buffer
	if err := helpConfig([]string{"bench-server"}, &b); err != nil || !strings.Contains(b.String(), "| `--pprof` | `SOCKETCORE_PPROF` | `pprof` |") {
		t.Errorf("help-config bench-server: %v\n%s", err, b.String())
	}
	if err := helpConfig([]string{"nope"}, &b); err == nil {
		t.Error("help-config nope: no error")
	}
}
