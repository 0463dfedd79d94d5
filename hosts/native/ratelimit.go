package native

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/socketcore/socketcore/core/clock"
)

// Rate is a token bucket: PerSecond tokens are added every second, up to
// Burst; each event takes one, and an event that finds none is over the
// limit. The zero Rate is no limit.
type Rate struct {
	// PerSecond is the refill rate; fractions are allowed (0.5: one token
	// every 2 s). Zero or less: no limit.
	PerSecond float64
	// Burst is the bucket's size: how many events may come at once after
	// a quiet spell. Default: PerSecond rounded up, at least 1.
	Burst int
}

// ParseRate reads a rate as the command line writes it: "100/s", "600/m",
// "2/h", "0.5/s", or a bare number (per second); "0" or "" is no limit.
// The burst is left to its default.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Rate{}, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	per := time.Second
	switch strings.TrimSpace(unit) {
	case "", "s", "sec", "second":
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return Rate{}, errors.New("socketcore: rate " + strconv.Quote(s) + ": the unit is s, m or h (100/s)")
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return Rate{}, errors.New("socketcore: rate " + strconv.Quote(s) + ": want a number of events per s, m or h (100/s)")
	}
	return Rate{PerSecond: n / per.Seconds()}, nil
}

// String writes r as ParseRate reads it (and the burst, if set).
func (r Rate) String() string {
	if r.PerSecond <= 0 {
		return "0"
	}
	s := strconv.FormatFloat(r.PerSecond, 'g', -1, 64) + "/s"
	if r.Burst > 0 {
		s += " burst " + strconv.Itoa(r.Burst)
	}
	return s
}

// rate is a Rate compiled for tokenBucket: the time one token takes to come
// back, and how far ahead of now the bucket may be booked (Burst-1 tokens).
type rate struct {
	interval  time.Duration
	tolerance time.Duration
}

func (r Rate) compile() rate {
	if r.PerSecond <= 0 {
		return rate{}
	}
	burst := r.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(r.PerSecond)))
	}
	// saturated, not wrapped: a rate so slow that one token takes longer
	// than maxInterval, or a burst so large that booking it overflows,
	// must not turn into no limit or into a limit on everything
	const maxInterval = 100 * 365 * 24 * time.Hour
	secs := 1 / r.PerSecond
	iv := maxInterval
	if secs < maxInterval.Seconds() {
		iv = time.Duration(secs * float64(time.Second))
	}
	if iv <= 0 {
		iv = 1 // faster than one event per nanosecond: as good as none
	}
	tol := time.Duration(math.MaxInt64)
	if n := int64(burst - 1); n < int64(math.MaxInt64/iv) {
		tol = iv * time.Duration(n)
	}
	return rate{interval: iv, tolerance: tol}
}

func (r rate) on() bool { return r.interval > 0 }

// tokenBucket is a token bucket in its "virtual scheduling" form (GCRA, the
// ATM cell rate algorithm): instead of a token count and the time of the
// last refill it keeps one instant, tat, when the bucket will be full again.
// An event at now conforms if tat is at most Burst-1 intervals ahead of
// now, and then books one more interval. Same decisions as the counting
// form, in 8 bytes and integer arithmetic; the zero value is a full bucket.
// Time comes in (clock.Instant), so tests replay it exactly.
type tokenBucket struct{ tat clock.Instant }

// conforms reports whether an event at now would be within the rate.
func (b *tokenBucket) conforms(now clock.Instant, r rate) bool {
	return max(b.tat, now).Sub(now) <= r.tolerance
}

// take books an event at now; call it only after conforms said yes.
func (b *tokenBucket) take(now clock.Instant, r rate) {
	b.tat = max(b.tat, now).Add(r.interval)
}

// allow is conforms then take: whether the event at now is within the rate.
func (b *tokenBucket) allow(now clock.Instant, r rate) bool {
	if !b.conforms(now, r) {
		return false
	}
	b.take(now, r)
	return true
}

// wait is how long from now until an event would conform again.
func (b *tokenBucket) wait(now clock.Instant, r rate) time.Duration {
	return max(max(b.tat, now).Sub(now)-r.tolerance, 0)
}
