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
	cur      time.Duration
	rand     func(n int64) int64 // uniform in [0, n); rand.Int64N by default
}

func New(minWait, maxWait time.Duration) *Backoff {
	return &Backoff{min: minWait, max: maxWait, rand: rand.Int64N}
}

// Next returns the next wait and doubles the base.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(b.rand(int64(d-half)+1))
}

// Reset makes the next wait start again from min.
func (b *Backoff) Reset() { b.cur = 0 }

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
