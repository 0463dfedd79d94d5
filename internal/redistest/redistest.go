// Package redistest gives tests the Redis they run against: REDIS_URL, or
// redis://127.0.0.1:6379. A test that needs Redis fails, saying how to
// start one, when it is not reachable; it is never skipped.
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379"

// URL is the Redis the tests use.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Options parses URL; a malformed REDIS_URL fails the test.
func Options(t testing.TB) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("REDIS_URL %q: %v", URL(), err)
	}
	return o
}

// Addr is the host:port of URL.
func Addr(t testing.TB) string { return Options(t).Addr }

// Client connects to the Redis of URL and pings it, failing the test with
// what to start when it does not answer. The client is closed at the end
// of the test.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(Options(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("Redis is not reachable at %s (%v): these tests need a real Redis 7; start one with\n"+
			"\tredis-server --port 6379 --save '' --appendonly no\n(apt-get install redis-server), or set REDIS_URL", URL(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// EnvAddr is the host:port of URL, for package-level use (a malformed
// REDIS_URL gives the default address; Options reports it in a test).
func EnvAddr() string {
	o, err := redis.ParseURL(URL())
	if err != nil {
		return "127.0.0.1:6379"
	}
	return o.Addr
}
