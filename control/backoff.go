package control

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff yields exponentially growing waits between min and max with
// "equal jitter": each wait is drawn uniformly from [d/2, d] where d doubles
// from min up to max, so a fleet that lost its broker at the same moment
// does not come back at the same moment. reset starts again from min.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func newBackoff(minWait, maxWait time.Duration) *backoff {
	return &backoff{min: minWait, max: maxWait}
}

// next returns the next wait and doubles the base.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// reset makes the next wait start again from min.
func (b *backoff) reset() { b.cur = 0 }

// sleep waits for d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
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
