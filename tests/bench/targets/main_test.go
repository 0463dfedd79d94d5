package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// node 20k acks/s at 60% CPU (30 µs/ack); ours 35k at 70% (20 µs/ack):
	// 1.75x and 0.67x; p99 ours 2 ms vs raw 1 ms: 2x.
	write("echo.jsonl", `{"server":"node","c":100,"acks_per_s":20000,"p99_ms":9,"server_cpu_pct":60}
{"server":"ours","c":100,"acks_per_s":35000,"p99_ms":2,"server_cpu_pct":70}
{"server":"raw","c":100,"acks_per_s":50000,"p99_ms":1,"server_cpu_pct":80}
{"server":"ours","error":"no output"}
`)
	write("fanout.jsonl", `{"server":"raw","n":1000,"rate":100,"deliveries_per_s":100000,"p99_ms":40,"server_cpu_pct":70,"missing":0}
{"server":"ours","n":1000,"rate":100,"deliveries_per_s":100000,"p99_ms":8,"server_cpu_pct":45,"missing":0}
{"server":"ours","n":1000,"rate":100,"deliveries_per_s":100000,"p99_ms":12,"server_cpu_pct":47,"missing":0}
{"server":"raw","n":5000,"rate":10,"deliveries_per_s":50000,"p99_ms":80,"server_cpu_pct":68,"missing":0}
{"server":"ours","n":5000,"rate":10,"deliveries_per_s":49000,"p99_ms":50,"server_cpu_pct":42,"missing":3}
`)
	write("connect.jsonl", `{"server":"ours","n":19500,"ok":19500,"bytes_per_conn":9100,"alive_after_hold":19500}
{"server":"ours","n":5000,"ok":5000,"bytes_per_conn":20000,"alive_after_hold":5000}
`)
	echo, _ := readRuns(filepath.Join(dir, "echo.jsonl"))
	fan, _ := readRuns(filepath.Join(dir, "fanout.jsonl"))
	con, _ := readRuns(filepath.Join(dir, "connect.jsonl"))
	got := map[string]string{}
	for _, v := range evaluate(echo, fan, con) {
		got[v.Name] = v.Status + " " + v.Figure
	}
	want := map[string]string{
		"echo: acks/s ours/node >= 1.5":                                             "holds 1.75",
		"echo: server CPU per ack ours/node <= 0.6":                                 "MISSED 0.67",
		"echo: p99 ours/raw <= 1.2":                                                 "MISSED 2.00",
		"fanout 1000 x 100/s: server CPU per delivery ours/raw <= 1":                "holds 0.66",
		"fanout 5000 x 10/s: server CPU per delivery ours/raw <= 1":                 "holds 0.63",
		"fanout 1000 x 100/s: every delivery arrives, p99 <= 100 ms":                "holds 0 missing over 2 runs, p99 10.0 ms",
		"fanout 5000 x 10/s: every delivery arrives, p99 ours/raw <= 2":             "MISSED 3 missing",
		"idle WebSocket at 19,500 connections <= 10,000 B of server RSS, all alive": "holds 9100 B",
	}
	for name, prefix := range want {
		if !strings.HasPrefix(got[name], prefix) {
			t.Errorf("%s: %q, want it to start with %q", name, got[name], prefix)
		}
	}
	if len(got) != len(want) {
		t.Errorf("verdicts %v", got)
	}
	// Nothing measured: every target says so.
	for _, v := range evaluate(nil, nil, nil) {
		if v.Status != "not measured" {
			t.Errorf("%s: %s without figures", v.Name, v.Status)
		}
	}
}
