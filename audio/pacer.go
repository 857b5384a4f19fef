package audio

import (
	"context"
	"time"
)

// Pacer releases frames on the frame clock so that a source without a clock
// of its own (a WAV file, a tone, ALSA's file device), or a device that
// delivers in bursts, never sends faster than real time, while a real
// microphone, which paces itself, is never held back. No frame is dropped
// or duplicated: the pacer only decides when a frame goes out.
//
// Frame n is due at anchor + n·frame·(1−MaxFast) − Burst: a source may run
// up to MaxFast ahead of the nominal rate (a sound card clock a little
// faster than the system's) and deliver Burst early. A source that falls
// more than MaxLag behind the frame clock (a stall, a replugged
// microphone) moves the anchor, so that its backlog afterwards goes out at
// most MaxLag ahead of real time.
type Pacer struct {
	Frame   time.Duration // one frame
	MaxFast float64       // fraction the source may run fast, e.g. 0.001
	Burst   time.Duration // how early a frame may go out
	MaxLag  time.Duration // how far behind the clock a source may fall

	// Now and Sleep default to the real clock; tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	anchor time.Time
	n      int64
}

// NewPacer returns a Pacer for frames of the given duration with the
// defaults onair uses: 0.1 % fast, a 60 ms burst, 200 ms lag.
func NewPacer(frame time.Duration) *Pacer {
	return &Pacer{Frame: frame, MaxFast: 0.001, Burst: 60 * time.Millisecond, MaxLag: 200 * time.Millisecond}
}

// Wait blocks until the next frame, which arrived from the source at
// arrival, may be sent. It returns ctx's error if ctx ends first.
func (p *Pacer) Wait(ctx context.Context, arrival time.Time) error {
	now, sleep := p.Now, p.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	elapsed := time.Duration(p.n) * p.Frame
	if p.n == 0 || arrival.After(p.anchor.Add(elapsed+p.MaxLag)) {
		p.anchor = arrival.Add(-elapsed)
		if p.n > 0 {
			p.anchor = p.anchor.Add(-p.MaxLag)
		}
	}
	p.n++
	due := p.anchor.Add(time.Duration(float64(elapsed)*(1-p.MaxFast)) - p.Burst)
	if wait := due.Sub(now()); wait > 0 {
		return sleep(ctx, wait)
	}
	return ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
