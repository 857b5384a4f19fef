package audio

import (
	"math"
	"sync"
)

// ToneAmplitude is the peak amplitude of the "tone:<Hz>" test source,
// -12 dBFS.
const ToneAmplitude = 0.25

// toneSource generates a sine, the same on every channel, with its phase
// carried from one frame to the next. It is not paced: Read returns at once.
type toneSource struct {
	format Format
	hz     float64
	step   float64 // phase increment per sample, radians

	mu     sync.Mutex
	phase  float64 // radians, in [0, 2π)
	closed bool
}

func newTone(hz float64, f Format) *toneSource {
	return &toneSource{format: f, hz: hz, step: 2 * math.Pi * hz / float64(f.SampleRate)}
}

// Format implements Source.
func (t *toneSource) Format() Format { return t.format }

// Read implements Source.
func (t *toneSource) Read(buf []float32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if err := checkFrame(buf, t.format); err != nil {
		return err
	}
	ch := t.format.Channels
	for i := 0; i < len(buf); i += ch {
		v := float32(ToneAmplitude * math.Sin(t.phase))
		for c := 0; c < ch; c++ {
			buf[i+c] = v
		}
		t.phase += t.step
		if t.phase >= 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	return nil
}

// Close implements Source.
func (t *toneSource) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return nil
}
