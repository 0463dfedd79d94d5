//go:build postgresnode

package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pgemitter "github.com/socketcore/socketcore/adapter/postgres/emitter"
	"github.com/socketcore/socketcore/internal/nodetest"
	"github.com/socketcore/socketcore/internal/pgtest"
)

// TestMixedCluster: a Go server (this process) and a Node server on the
// official @socket.io/postgres-adapter share a cluster; mixed.mjs drives
// every operation from both, with official clients on both, the official
// @socket.io/postgres-emitter, and adapter/postgres/emitter here on its
// request. It needs `npm ci` in tests/cluster/postgres (make test-postgres).
func TestMixedCluster(t *testing.T) {
	root := nodetest.RepoRoot(t)
	dir := filepath.Join(root, "tests", "cluster", "postgres")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20+ (apt-get install nodejs npm), then `make test-postgres`")
	}
	for _, pkg := range []string{"socket.io", "socket.io-client", "@socket.io/postgres-adapter", "@socket.io/postgres-emitter", "pg"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("tests/cluster/postgres/node_modules/%s missing: run `npm ci` in tests/cluster/postgres (`make test-postgres` does)", pkg)
		}
	}
	pool := pgtest.Pool(t)
	prefix, table := pgtest.Unique(t)
	url, _ := startGo(t, pool, prefix, table, "go")

	cmd := exec.Command(node, filepath.Join(dir, "mixed.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PG_URL="+pgtest.URL(), "SIO_PREFIX="+prefix, "SIO_TABLE="+table, "SIO_GO_URL="+url)
	cmd.WaitDelay = 2 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, stdout := nodetest.Start(t, cmd)
	timer := time.AfterFunc(3*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	defer stdin.Close()
	e := pgemitter.New(pool, pgemitter.Options{ChannelPrefix: prefix, TableName: table})
	var finished bool
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		var l struct {
			Type, Step, Message, Note, Target string
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Logf("mixed.mjs: %s", sc.Text())
			continue
		}
		switch l.Type {
		case "step":
			t.Logf("step %s %s", l.Step, l.Note)
		case "log":
			t.Logf("mixed.mjs: %s", l.Message)
		case "fail":
			t.Errorf("mixed.mjs: %s", l.Message)
		case "done":
			finished = true
		case "go-emit":
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			err := e.Emit(ctx, "news", payload{From: "go-emitter", Bin: []byte{7, 8}})
			if err == nil {
				err = e.In(l.Target).SocketsJoin(ctx, "ge")
			}
			if err == nil {
				err = e.ServerSideEmit(ctx, "note", "go-emitter")
			}
			cancel()
			answer := "ok\n"
			if err != nil {
				t.Errorf("the Go emitter: %v", err)
				answer = "failed\n"
			}
			io.WriteString(stdin, answer)
		}
	}
	err = cmd.Wait()
	if err != nil || !finished {
		t.Errorf("mixed.mjs exited (%v) before it was done; stderr:\n%s", err, stderr.String())
	}
}
