package audio

import (
	"context"
	"testing"
	"time"
)

// fakeClock is a clock that only moves when the pacer sleeps or the test
// advances it.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

func newFakePacer(c *fakeClock) *Pacer {
	p := NewPacer(20 * time.Millisecond)
	p.Now, p.Sleep = c.now, c.sleep
	return p
}

// A clockless source (every frame available at once) is paced to the frame
// clock: after the burst allowance, one frame per 20 ms, at most 0.1 % fast.
func TestPacerHoldsBackClocklessSource(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := newFakePacer(c)
	start := c.t
	const frames = 3000 // 60 s of audio
	for i := 0; i < frames; i++ {
		if err := p.Wait(context.Background(), c.t); err != nil {
			t.Fatal(err)
		}
	}
	got := c.t.Sub(start)
	audio := time.Duration(frames-1) * 20 * time.Millisecond
	lo := time.Duration(float64(audio)*0.999) - 60*time.Millisecond
	if got < lo || got > audio {
		t.Errorf("60 s of clockless audio sent in %s, want between %s and %s", got, lo, audio)
	}
}

// A real-time source is never delayed: each frame goes out as it arrives,
// also when the device delivers two frames per 40 ms period.
func TestPacerNeverDelaysRealTimeSource(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := newFakePacer(c)
	for i := 0; i < 1000; i++ {
		// frames 2k and 2k+1 both arrive at the end of period k
		arrival := time.Unix(1000, 0).Add(time.Duration(i/2+1) * 40 * time.Millisecond)
		if arrival.After(c.t) {
			c.t = arrival
		}
		before := c.t
		if err := p.Wait(context.Background(), arrival); err != nil {
			t.Fatal(err)
		}
		if c.t != before {
			t.Fatalf("frame %d held back %s", i, c.t.Sub(before))
		}
	}
}

// A source slower than the clock is never held back, and after a stall
// its backlog goes out at most MaxLag+Burst ahead of real time.
func TestPacerAfterStall(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := newFakePacer(c)
	frame := 20 * time.Millisecond
	for i := 0; i < 50; i++ {
		c.t = time.Unix(1000, 0).Add(time.Duration(i) * frame)
		_ = p.Wait(context.Background(), c.t)
	}
	// one second stall, then 50 frames at once, then real time again
	c.t = c.t.Add(time.Second)
	stallEnd := c.t
	for i := 0; i < 50; i++ {
		_ = p.Wait(context.Background(), stallEnd)
	}
	sentAhead := 50*frame - c.t.Sub(stallEnd)
	// the 0.1 % the pacer may run fast adds 0.1 % of the 2 s elapsed
	if max := p.MaxLag + p.Burst + frame + 2*time.Millisecond; sentAhead > max {
		t.Errorf("backlog sent %s ahead of real time, want at most %s", sentAhead, max)
	}
	if sentAhead < p.MaxLag {
		t.Errorf("backlog sent only %s ahead of real time, want the %s lag caught up", sentAhead, p.MaxLag)
	}
}

func TestPacerCancel(t *testing.T) {
	p := NewPacer(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	_ = p.Wait(ctx, now)
	cancel()
	if err := p.Wait(ctx, now); err != context.Canceled {
		t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
	}
}
