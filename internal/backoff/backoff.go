// Package backoff paces retries: exponential backoff with jitter, and a
// Sleep that cancellation interrupts.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields exponentially growing waits between min and max with
// "equal jitter": each wait is uniformly drawn from [d/2, d] where d doubles
// from min up to max. reset starts again from min.
type Backoff struct {
	min, max time.Duration
	n        int                 // waits returned by Next since the last Reset
	rand     func(n int64) int64 // uniform in [0, n); rand.Int64N by default
}

// New returns a Backoff whose first wait is about minWait and whose waits
// grow to at most maxWait.
func New(minWait, maxWait time.Duration) *Backoff {
	return &Backoff{min: minWait, max: maxWait, rand: rand.Int64N}
}

// Next returns the next wait and doubles the base.
func (b *Backoff) Next() time.Duration {
	b.n++
	return b.Delay(b.n)
}

// Reset makes the next wait start again from min.
func (b *Backoff) Reset() { b.n = 0 }

// Delay returns the n-th wait (n from 1) without changing b, for callers
// that count the attempts themselves: the base min doubled n-1 times, at
// most max, drawn with equal jitter from [base/2, base].
func (b *Backoff) Delay(n int) time.Duration {
	d := b.min
	for i := 1; i < n && d < b.max; i++ {
		d = min(d*2, b.max)
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(b.rand(int64(d-half)+1))
}

// Sleep waits for d or until ctx is done; it reports whether d elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
