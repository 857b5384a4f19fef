package audio

import (
	"math"
	"testing"

	"github.com/onair-dev/onair/internal/dsp"
)

func sine(hz, amp float64, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/48000))
	}
	return out
}

// maxStep returns the largest difference between neighbouring samples.
func maxStep(x []float32) float64 {
	m := 0.0
	for i := 1; i < len(x); i++ {
		m = max(m, math.Abs(float64(x[i]-x[i-1])))
	}
	return m
}

// Removing or repeating one period of a tone leaves a tone: no step at
// the seams, no distortion, and the length changes by the period.
func TestStretchKeepsATone(t *testing.T) {
	const hz = 440
	minL, maxL := 120, 720
	for _, op := range []string{"drop", "repeat"} {
		x := sine(hz, 0.5, 4800)
		smooth := maxStep(x)
		l := bestPeriod(x, 1, minL, maxL)
		if p := 48000.0 / hz; math.Abs(float64(l)-math.Round(float64(l)/p)*p) > 3 {
			t.Errorf("%s: period %d samples, not a multiple of %.2f", op, l, p)
		}
		var y []float32
		if op == "drop" {
			y = dropPeriod(x, 1, l)
			if len(y) != 4800-l {
				t.Errorf("drop: %d samples, want %d", len(y), 4800-l)
			}
		} else {
			y = repeatPeriod(x, 1, l)
			if len(y) != 4800+l {
				t.Errorf("repeat: %d samples, want %d", len(y), 4800+l)
			}
		}
		if s := maxStep(y); s > 1.05*smooth {
			t.Errorf("%s: largest step %.4f, the tone's own is %.4f", op, s, smooth)
		}
		if d := dsp.THDN(y, 48000, hz); d > -40 {
			t.Errorf("%s: THD+N %.1f dB, want < -40", op, d)
		}
	}
}

func TestStretchStereoAndSilence(t *testing.T) {
	mono := sine(300, 0.5, 2000)
	st := make([]float32, 0, 4000)
	for _, v := range mono {
		st = append(st, v, -v)
	}
	// The channels cancel in the average: the period comes out minimal,
	// and both channels are spliced alike.
	if l := bestPeriod(st, 2, 100, 500); l != 100 {
		t.Errorf("cancelling stereo: period %d, want the minimum 100", l)
	}
	y := dropPeriod(st, 2, 160)
	for i := 0; i < len(y); i += 2 {
		if y[i] != -y[i+1] {
			t.Fatalf("frame %d: channels %g and %g no longer mirror", i/2, y[i], y[i+1])
		}
	}
	if l := bestPeriod(make([]float32, 1000), 1, 120, 480); l != 120 {
		t.Errorf("silence: period %d, want 120", l)
	}
}
