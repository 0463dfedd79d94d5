package client

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is socket.io-client's reconnection delay generator
// (contrib/backo2.js): attempt n (from 0) waits
//
//	ms = Min · 2^n
//	ms = ms ∓ floor(r · Jitter · ms)    (one draw r in [0,1); minus when floor(10r) is even)
//	delay = min(ms, Max), truncated to whole milliseconds
//
// computed in float64 milliseconds as JavaScript does, so a given sequence of
// draws gives the JS client's delays to the millisecond. The draws come from
// the seeded generator, never from a global source.
type Backoff struct {
	Min, Max time.Duration
	Jitter   float64 // in (0, 1]; anything else means none
	Attempts int
	rng      *rand.Rand
}

// NewBackoff returns a Backoff drawing its jitter from a ChaCha8 stream seeded with seed.
func NewBackoff(lo, hi time.Duration, jitter float64, seed [32]byte) *Backoff {
	return &Backoff{Min: lo, Max: hi, Jitter: jitter, rng: rand.New(rand.NewChaCha8(seed))}
}

// Duration returns the delay of the next attempt and counts it.
func (b *Backoff) Duration() time.Duration {
	const msec = float64(time.Millisecond)
	n := min(b.Attempts, 1000) // 2^1000 is far past any Max; avoids Inf·0 = NaN
	b.Attempts++
	ms := float64(b.Min) / msec * math.Pow(2, float64(n))
	if b.Jitter > 0 && b.Jitter <= 1 {
		r := b.rng.Float64()
		deviation := math.Floor(r * b.Jitter * ms)
		if int64(math.Floor(r*10))&1 == 0 {
			ms -= deviation
		} else {
			ms += deviation
		}
	}
	ms = math.Min(ms, float64(b.Max)/msec)
	return time.Duration(math.Trunc(ms)) * time.Millisecond
}

// Reset forgets the attempts (after a successful connection, or when the
// manager closes).
func (b *Backoff) Reset() { b.Attempts = 0 }
