package main

// Where the command's settings come from, and where its logs go.
//
// Every flag of a subcommand is also an environment variable,
// SOCKETCORE_<FLAG> (dashes as underscores), and a key of the optional YAML
// file named by --config or SOCKETCORE_CONFIG (the flag's name: addr,
// cors-origin...). The command line wins over the environment, which wins
// over the file, which wins over the flag's default: each flag takes its
// value from the first of them that sets it. The file is flat: one mapping
// of keys to scalars (strings, numbers, booleans, durations as "25s") or
// lists of scalars (joined with commas, the flags' list form). A key that
// is no flag of the subcommand is an error, as is a value the flag refuses:
// both name the file, the line and the key, so that a typo cannot go
// unnoticed.
//
// help-config prints every setting of a subcommand as a markdown table,
// built from its FlagSet itself (the README's table is its output; a test
// keeps them equal).

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/socketcore/socketcore/hosts/native"
	"github.com/socketcore/socketcore/hosts/native/debuglog"
)

// parseFunc fills a subcommand's FlagSet from its arguments (parse), or
// stands in for it (help-config's describe).
type parseFunc func(fs *flag.FlagSet, args []string) error

// envPrefix starts the environment variable of every flag.
const envPrefix = "SOCKETCORE_"

// envName is the environment variable of a flag: SOCKETCORE_CORS_ORIGIN
// for cors-origin.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse fills fs from the command line, the environment and the config
// file, in that order of precedence.
func parse(fs *flag.FlagSet, args []string) error { return parseWith(fs, args, os.LookupEnv) }

// parseWith is parse with the environment given (tests).
func parseWith(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool)) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	// The file's name may itself come from the environment.
	if f := fs.Lookup("config"); f != nil && !onCommandLine["config"] {
		if v, ok := lookupEnv(envName("config")); ok {
			if err := f.Value.Set(v); err != nil {
				return fmt.Errorf("%s=%q: %v", envName("config"), v, err)
			}
		}
	}
	var file map[string]fileValue
	name := ""
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		name = f.Value.String()
		var err error
		if file, err = readConfig(fs, name); err != nil {
			return err
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || onCommandLine[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := lookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %s", envName(f.Name), v, badValue(f, e))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if e := f.Value.Set(v.value); e != nil {
				err = fmt.Errorf("%s:%d: %s: %q: %s", name, v.line, f.Name, v.value, badValue(f, e))
			}
		}
	})
	return err
}

// fileValue is one key's value in the config file, in the flag's own
// string form, and its line.
type fileValue struct {
	value string
	line  int
}

// readConfig reads the YAML config file name for fs: every key must be one
// of fs's flags.
func readConfig(fs *flag.FlagSet, name string) (map[string]fileValue, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	out := map[string]fileValue{}
	if doc.Kind == 0 { // an empty file
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" { // comments only
		return out, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of settings (addr: 127.0.0.1:3000), one per line", name, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode || fs.Lookup(key) == nil {
			return nil, fmt.Errorf("%s:%d: unknown key %q: socketcore %s has no such setting (socketcore help-config %s lists them)", name, k.Line, key, fs.Name(), fs.Name())
		}
		if key == "config" {
			return nil, fmt.Errorf("%s:%d: config: a config file cannot name another", name, k.Line)
		}
		if prev, ok := out[key]; ok {
			return nil, fmt.Errorf("%s:%d: %s: set twice (first at line %d)", name, k.Line, key, prev.line)
		}
		s, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", name, v.Line, key, err)
		}
		out[key] = fileValue{s, v.Line}
	}
	return out, nil
}

// scalarString is a YAML value in a flag's string form: the scalar's text
// (null is empty), a list's items joined with commas.
func scalarString(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.AliasNode:
		return scalarString(v.Alias)
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", nil
		}
		return v.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind == yaml.AliasNode {
				it = it.Alias
			}
			if it.Kind != yaml.ScalarNode {
				return "", errors.New("want a list of plain values")
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	}
	return "", errors.New("want a value or a list of values, not a mapping")
}

// badValue says what a flag wants after its Set refused a value.
func badValue(f *flag.Flag, err error) string {
	g, ok := f.Value.(flag.Getter)
	if ok {
		switch g.Get().(type) {
		case bool:
			return "want true or false"
		case time.Duration:
			return `want a duration such as "25s", "1m30s" or "500ms"`
		case int, int64:
			return "want an integer"
		case uint, uint64:
			return "want a non-negative integer"
		case float64:
			return "want a number"
		}
	}
	return fmt.Sprintf("%v (%s)", err, f.Usage)
}

// opsFlags are the settings every subcommand has: the config file, and
// where the logs go.
type opsFlags struct {
	config    string
	logLevel  string
	logFormat string
	debug     string
	getenv    func(string) string // os.Getenv; tests replace it
}

// newFlagSet makes a subcommand's FlagSet with the settings every
// subcommand has.
func newFlagSet(name string) (*flag.FlagSet, *opsFlags) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of socketcore %s (every flag is also the environment variable SOCKETCORE_<FLAG> and a key of\nthe --config file; `socketcore help-config %s` prints them as a table):\n", name, name)
		fs.PrintDefaults()
	}
	ops := &opsFlags{getenv: os.Getenv}
	ops.register(fs)
	return fs, ops
}

func (o *opsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.config, "config", "", "YAML file of settings: flag names as keys (addr: 127.0.0.1:3000); the environment and the command line win over it")
	fs.StringVar(&o.logLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log lines on stderr: text (key=value) or json")
	fs.StringVar(&o.debug, "debug", "", "debug lines of these subsystems, as Node's DEBUG: socketcore:* or socketcore:engine, socket, room, event, cluster, payload; -NAME excludes (empty: DEBUG's value)")
}

// logger makes the command's logger on w, and checks the log settings.
func (o *opsFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	ho := &slog.HandlerOptions{Level: slog.LevelDebug} // debuglog.Handler filters
	var h slog.Handler
	switch o.logFormat {
	case "text", "":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	return slog.New(debuglog.Handler(h, level, o.debugSwitch())), nil
}

// debugSwitch is --debug's switch (SOCKETCORE_DEBUG), or DEBUG's.
func (o *opsFlags) debugSwitch() debuglog.Switch {
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return debuglog.Parse(debuglog.Patterns(o.debug, getenv))
}

// observers are the server's observers for the debug switch (none when
// it is off).
func (o *opsFlags) observers(log *slog.Logger) []native.Observer {
	return debuglog.Observers(log, o.debugSwitch())
}

// errDescribed stops a subcommand after help-config described its flags.
var errDescribed = errors.New("described")

// helpConfig is `socketcore help-config [serve|conformance|bench-server]
// [--readme FILE]`: the markdown table of a subcommand's settings on w, or
// with --readme written into FILE between the config-table markers.
func helpConfig(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("help-config", flag.ExitOnError)
	readme := fs.String("readme", "", "write the table into this markdown file, between <!-- config-table:begin --> and <!-- config-table:end -->")
	mode := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	table, err := configTable(mode)
	if err != nil {
		return err
	}
	if *readme == "" {
		_, err := io.WriteString(w, table)
		return err
	}
	doc, err := os.ReadFile(*readme)
	if err != nil {
		return err
	}
	out, err := spliceTable(doc, table)
	if err != nil {
		return fmt.Errorf("%s: %v", *readme, err)
	}
	st, err := os.Stat(*readme)
	if err != nil {
		return err
	}
	return os.WriteFile(*readme, out, st.Mode().Perm())
}

// configTable is the markdown table of the settings of the subcommand mode,
// read from the FlagSet it builds.
func configTable(mode string) (string, error) {
	cmd := command(mode)
	if cmd == nil {
		return "", fmt.Errorf("help-config: unknown mode %q (serve, conformance, bench-server)", mode)
	}
	var table string
	err := cmd(nil, func(fs *flag.FlagSet, _ []string) error {
		table = markdownTable(fs)
		return errDescribed
	})
	if err != errDescribed {
		return "", fmt.Errorf("help-config: socketcore %s did not describe its flags: %v", mode, err)
	}
	return table, nil
}

// markdownTable lists fs's flags (sorted by name, as --help does).
func markdownTable(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString("| flag | environment | file key | default | meaning |\n| --- | --- | --- | --- | --- |\n")
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		key := "`" + f.Name + "`"
		if f.Name == "config" { // the file cannot name another
			key = ""
		}
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s | %s |\n", f.Name, envName(f.Name), key, def, cell(f.Usage))
	})
	return b.String()
}

// cell makes text safe in a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

const (
	tableBegin = "<!-- config-table:begin -->"
	tableEnd   = "<!-- config-table:end -->"
)

// tableIn returns what doc holds between the config-table markers.
func tableIn(doc []byte) ([]byte, error) {
	_, after, ok := bytes.Cut(doc, []byte(tableBegin))
	if !ok {
		return nil, errors.New("no " + tableBegin + " marker")
	}
	in, _, ok := bytes.Cut(after, []byte(tableEnd))
	if !ok {
		return nil, errors.New("no " + tableEnd + " marker after " + tableBegin)
	}
	return in, nil
}

// spliceTable puts table between doc's markers, each on a line of its own.
func spliceTable(doc []byte, table string) ([]byte, error) {
	old, err := tableIn(doc)
	if err != nil {
		return nil, err
	}
	begin := bytes.Index(doc, []byte(tableBegin)) + len(tableBegin)
	end := begin + len(old)
	return slices.Concat(doc[:begin], []byte("\n"+table), doc[end:]), nil
}
