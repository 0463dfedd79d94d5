package main

// What the clients of `serve` may emit (native.Options.EventRules): the
// events allowed and their sizes, by namespace, and what a refused event
// gets. No rule is set by default, as in Node: every event reaches the
// handlers (the demo chat's "chat").
//
// Both lists are sections separated by ";", each [NSP=]ITEMS. A section
// without NSP (or with NSP "*") is for every namespace; NSP is a namespace
// ("/admin", the "/" is added if missing) or, ending in "*", a prefix of
// namespaces ("/room-*"). A namespace's own sections add to those for
// every namespace and replace what both set (its allowlist; the bound of
// an event named in both). Event names holding "," ";" or "=" are out of
// the flags' reach (the library takes any). EventRules.CatchAll has no
// flag: the command registers no catch-all handler (Socket.OnAny) it
// would turn on.

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/socketcore/socketcore/hosts/native"
)

// eventsFlags are native.Options.EventRules as flags.
type eventsFlags struct {
	allow    string
	maxBytes string
	policy   string
}

func (e *eventsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.allow, "allow-events", "", `events clients may emit, others are refused: [NSP=]EVENT,EVENT;... ("chat,typing", "/=chat,typing;/admin=*"; no NSP: every namespace; NSP "/room-*": a prefix; "NSP=*": any event, "NSP=": none) (empty: every event)`)
	fs.StringVar(&e.maxBytes, "event-max-bytes", "", `bytes one event may have (its JSON array, name included, plus binary attachments), larger ones are refused: [NSP=]EVENT:BYTES,...;... ("chat:2000,*:65536"; EVENT "*": the namespace's default; 0: no bound) (empty: no bound)`)
	fs.StringVar(&e.policy, "event-policy", "drop", `what an event refused by --allow-events or --event-max-bytes gets: drop, error-ack (its ack answered {"error":"event not allowed"} or {"error":"payload too large","limit":N}) or disconnect (the socket leaves: "event not allowed", "payload too large")`)
}

// apply sets the options' EventRules (nil when no rule is given).
func (e *eventsFlags) apply(o *native.Options) error {
	action, err := native.ParseLimitAction(e.policy)
	if err != nil {
		return fmt.Errorf("--event-policy: %w", err)
	}
	rules := map[string]*native.EventRules{}
	defaultSet := map[string]bool{} // the sections that gave "*:BYTES" (0 included)
	rule := func(nsp string) *native.EventRules {
		r := rules[nsp]
		if r == nil {
			r = &native.EventRules{}
			rules[nsp] = r
		}
		return r
	}
	err = eachSection(e.allow, func(nsp string, items []string) error {
		r := rule(nsp)
		if r.Allow == nil {
			r.Allow = []string{}
		}
		r.Allow = append(r.Allow, items...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("--allow-events: %w", err)
	}
	err = eachSection(e.maxBytes, func(nsp string, items []string) error {
		r := rule(nsp)
		for _, item := range items {
			i := strings.LastIndexByte(item, ':')
			if i < 0 || strings.TrimSpace(item[:i]) == "" {
				return fmt.Errorf("%q: want EVENT:BYTES", item)
			}
			name := strings.TrimSpace(item[:i])
			n, err := strconv.Atoi(strings.TrimSpace(item[i+1:]))
			if err != nil || n < 0 {
				return fmt.Errorf("%q: the bytes are a number, 0 (no bound) or more", item)
			}
			if name == "*" {
				r.DefaultMaxBytes, defaultSet[nsp] = n, true
				continue
			}
			if r.MaxBytes == nil {
				r.MaxBytes = make(map[string]int)
			}
			r.MaxBytes[name] = n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("--event-max-bytes: %w", err)
	}
	if len(rules) == 0 {
		o.EventRules = nil
		return nil
	}
	base := rules["*"]
	o.EventRules = make(map[string]native.EventRules, len(rules))
	for nsp, r := range rules {
		if base != nil && nsp != "*" {
			r = inherit(base, r, defaultSet[nsp])
		}
		r.OnRefused = action
		o.EventRules[nsp] = *r
	}
	return nil
}

// inherit is a namespace's rules r on top of those for every namespace:
// what r sets replaces what base sets (ownDefault: r gave its "*:BYTES",
// even "*:0", no bound).
func inherit(base, r *native.EventRules, ownDefault bool) *native.EventRules {
	out := *r
	if out.Allow == nil {
		out.Allow = base.Allow
	}
	if !ownDefault {
		out.DefaultMaxBytes = base.DefaultMaxBytes
	}
	if len(base.MaxBytes) > 0 {
		out.MaxBytes = make(map[string]int, len(base.MaxBytes)+len(r.MaxBytes))
		for name, n := range base.MaxBytes {
			out.MaxBytes[name] = n
		}
		for name, n := range r.MaxBytes {
			out.MaxBytes[name] = n
		}
	}
	return &out
}

// eachSection calls fn with the namespace key ("*", "/admin", "/room-*")
// and the items of every ";"-separated section of s.
func eachSection(s string, fn func(nsp string, items []string) error) error {
	for _, section := range strings.Split(s, ";") {
		section = strings.TrimSpace(section)
		if section == "" {
			continue
		}
		nsp, list := "*", section
		if k, v, ok := strings.Cut(section, "="); ok {
			if nsp = strings.TrimSpace(k); nsp == "" {
				return fmt.Errorf("%q: the namespace before \"=\" is missing", section)
			}
			if nsp != "*" && !strings.HasPrefix(nsp, "/") {
				nsp = "/" + nsp
			}
			list = v
		}
		items := []string{}
		for _, item := range strings.Split(list, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		if err := fn(nsp, items); err != nil {
			return err
		}
	}
	return nil
}
