package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

func sine(hz, amp float64, rate, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)+0.3))
	}
	return out
}

func TestDominantFrequencyPureTones(t *testing.T) {
	for _, tc := range []struct {
		hz      float64
		rate    int
		seconds float64
		tol     float64
	}{
		{1000, 48000, 5, 0.01},
		{1000.37, 48000, 5, 0.01},
		{440, 48000, 5, 0.01},
		{17.5, 48000, 5, 0.01},
		{997.3, 44100, 2, 0.02},
		{1000, 16000, 0.02, 1}, // one 20 ms frame
	} {
		got := DominantFrequency(sine(tc.hz, 0.5, tc.rate, int(tc.seconds*float64(tc.rate))), tc.rate)
		if math.Abs(got-tc.hz) > tc.tol {
			t.Errorf("%g Hz at %d Hz for %gs: got %.4f Hz, want within %g", tc.hz, tc.rate, tc.seconds, got, tc.tol)
		}
	}
}

func TestDominantFrequencyNoiseAndSecondTone(t *testing.T) {
	const rate = 48000
	x := sine(1234.5, 0.3, rate, 5*rate)
	y := sine(3000, 0.1, rate, 5*rate)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] += y[i] + float32(0.05*r.NormFloat64())
	}
	if got := DominantFrequency(x, rate); math.Abs(got-1234.5) > 0.05 {
		t.Errorf("got %.4f Hz, want 1234.5 ± 0.05", got)
	}
}

func TestDominantFrequencyDegenerate(t *testing.T) {
	if got := DominantFrequency(make([]float32, 4800), 48000); got != 0 {
		t.Errorf("silence: got %g, want 0", got)
	}
	if got := DominantFrequency(nil, 48000); got != 0 {
		t.Errorf("empty: got %g, want 0", got)
	}
}

func TestRMS(t *testing.T) {
	if got := RMS(sine(1000, 0.5, 48000, 48000)); math.Abs(got-0.5/math.Sqrt2) > 1e-4 {
		t.Errorf("sine 0.5: got %g, want %g", got, 0.5/math.Sqrt2)
	}
	if got := RMS([]float32{1, -1, 1, -1}); got != 1 {
		t.Errorf("square: got %g, want 1", got)
	}
	if got := RMS(nil); got != 0 {
		t.Errorf("empty: got %g, want 0", got)
	}
}

func TestTHDN(t *testing.T) {
	const rate = 48000
	clean := sine(1000, 0.5, rate, rate)
	if got := THDN(clean, rate, 1000); got > -120 {
		t.Errorf("clean sine: got %.1f dB, want < -120 (float32 rounding only)", got)
	}
	// A third harmonic at 1/100 of the amplitude is -40 dB.
	h3 := sine(3000, 0.005, rate, rate)
	dist := make([]float32, len(clean))
	for i := range clean {
		dist[i] = clean[i] + h3[i] + 0.1 // DC offset is not distortion
	}
	if got := THDN(dist, rate, 1000); math.Abs(got+40) > 0.1 {
		t.Errorf("1%% third harmonic: got %.2f dB, want -40", got)
	}
	if got := THDN(make([]float32, 100), rate, 1000); got != 0 {
		t.Errorf("silence: got %g, want 0", got)
	}
}

func TestTonePower(t *testing.T) {
	const rate = 48000
	x := make([]float32, rate*2)
	for n := range x {
		x[n] = float32(0.5*math.Sin(2*math.Pi*440*float64(n)/rate) + 0.25*math.Sin(2*math.Pi*660*float64(n)/rate))
	}
	if p := TonePower(x, rate, 440); math.Abs(p-0.125) > 0.001 {
		t.Errorf("power at 440 Hz = %.4f, want 0.125", p)
	}
	if p := TonePower(x, rate, 660); math.Abs(p-0.03125) > 0.001 {
		t.Errorf("power at 660 Hz = %.4f, want 0.03125", p)
	}
	if p := TonePower(x, rate, 1000); p > 1e-4 {
		t.Errorf("power at 1000 Hz = %.6f, want about 0", p)
	}
}
