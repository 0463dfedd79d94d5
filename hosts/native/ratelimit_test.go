package native

import (
	"math"
	"testing"
	"time"

	"github.com/socketcore/socketcore/core/clock"
)

func at(d time.Duration) clock.Instant { return clock.Instant(1).Add(d) }

// A full bucket lets Burst events through at once, then one per interval.
func TestTokenBucketBurstThenRate(t *testing.T) {
	r := Rate{PerSecond: 10, Burst: 3}.compile() // one token per 100 ms
	var b tokenBucket
	t0 := 5 * time.Second
	for i := 0; i < 3; i++ {
		if !b.allow(at(t0), r) {
			t.Fatalf("event %d of the burst refused", i)
		}
	}
	if b.allow(at(t0), r) {
		t.Fatal("a 4th event at the same instant went through a burst of 3")
	}
	if w := b.wait(at(t0), r); w != 100*time.Millisecond {
		t.Fatalf("wait = %v, want 100ms", w)
	}
	if b.allow(at(t0+99*time.Millisecond), r) {
		t.Fatal("a token came back before its interval")
	}
	if !b.allow(at(t0+100*time.Millisecond), r) {
		t.Fatal("the token did not come back after its interval")
	}
	if b.allow(at(t0+100*time.Millisecond), r) {
		t.Fatal("one interval gave two tokens")
	}
	// A long quiet spell fills the bucket, but never beyond Burst.
	later := t0 + time.Hour
	n := 0
	for b.allow(at(later), r) {
		n++
	}
	if n != 3 {
		t.Fatalf("after an hour of quiet %d events went through, want the burst (3)", n)
	}
}

// A steady flow at the rate is never refused; faster, the excess is.
func TestTokenBucketSteadyFlow(t *testing.T) {
	r := Rate{PerSecond: 100}.compile() // burst defaults to 100
	var b tokenBucket
	ok := 0
	for i := 0; i < 1000; i++ { // 1000 events over 10 s: exactly the rate
		if b.allow(at(time.Duration(i)*10*time.Millisecond), r) {
			ok++
		}
	}
	if ok != 1000 {
		t.Fatalf("%d of 1000 events at the rate went through", ok)
	}
	var f tokenBucket
	ok = 0
	for i := 0; i < 1000; i++ { // 1000 events in 1 s: 10 times the rate
		if f.allow(at(time.Duration(i)*time.Millisecond), r) {
			ok++
		}
	}
	// the burst (100) plus one token per 10 ms over 999 ms (99)
	if ok != 199 {
		t.Fatalf("%d of 1000 events at 10× the rate went through, want 199", ok)
	}
}

func TestTokenBucketZeroValueAndConforms(t *testing.T) {
	r := Rate{PerSecond: 1, Burst: 1}.compile()
	var b tokenBucket
	if !b.conforms(at(0), r) {
		t.Fatal("the zero bucket is not full")
	}
	if !b.conforms(at(0), r) || !b.conforms(at(0), r) {
		t.Fatal("conforms took a token")
	}
	b.take(at(0), r)
	if b.conforms(at(500*time.Millisecond), r) {
		t.Fatal("a second event half an interval later conforms")
	}
	if (Rate{}).compile().on() || (Rate{PerSecond: -1}).compile().on() {
		t.Fatal("a zero or negative rate is a limit")
	}
}

func TestParseRate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"100/s", 100}, {"100", 100}, {"600/m", 10}, {"7200/h", 2}, {"0.5/s", 0.5}, {" 3 / s ", 3}, {"", 0}, {"0", 0}} {
		r, err := ParseRate(c.in)
		if err != nil || r.PerSecond != c.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v/s", c.in, r, err, c.want)
		}
	}
	for _, bad := range []string{"x/s", "10/d", "-1/s", "/s", "Inf"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	if s := (Rate{PerSecond: 2.5, Burst: 4}).String(); s != "2.5/s burst 4" {
		t.Errorf("String = %q", s)
	}
}

// Extreme rates saturate instead of wrapping: a rate slower than a token a
// century still limits (not "no limit"), a huge burst still admits (not
// "limit everything").
func TestRateCompileSaturates(t *testing.T) {
	slow := Rate{PerSecond: 1e-12, Burst: 1}.compile()
	if !slow.on() || slow.interval <= 0 || slow.tolerance != 0 {
		t.Fatalf("a very slow rate compiled to %+v", slow)
	}
	var b tokenBucket
	if !b.allow(1, slow) || b.allow(2, slow) {
		t.Fatal("a very slow rate: want the first event in, the second out")
	}
	huge := Rate{PerSecond: 0.001, Burst: math.MaxInt}.compile()
	if huge.tolerance <= 0 {
		t.Fatalf("a huge burst compiled to %+v", huge)
	}
	var h tokenBucket
	for i := 0; i < 1000; i++ {
		if !h.allow(clock.Instant(i+1), huge) {
			t.Fatalf("a huge burst refused event %d", i)
		}
	}
}
