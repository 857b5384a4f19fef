package audio

import (
	"math"
	"testing"
)

// goertzelDB returns the level of the hz component of x in dB relative to
// a full-scale sine.
func goertzelDB(x []float32, rate int, hz float64) float64 {
	w := 2 * math.Pi * hz / float64(rate)
	var re, im float64
	for i, v := range x {
		re += float64(v) * math.Cos(w*float64(i))
		im -= float64(v) * math.Sin(w*float64(i))
	}
	amp := 2 * math.Hypot(re, im) / float64(len(x))
	return 20 * math.Log10(max(amp, 1e-12))
}

// sinesResidualDB fits a sum of sines at freqs (and DC) to x by least
// squares and returns the power left over relative to the fit's, in dB:
// distortion plus noise for a mix of those tones.
func sinesResidualDB(x []float32, rate int, freqs ...float64) float64 {
	k := 2*len(freqs) + 1
	basis := func(i int) []float64 {
		b := make([]float64, k)
		for j, f := range freqs {
			w := 2 * math.Pi * f * float64(i) / float64(rate)
			b[2*j], b[2*j+1] = math.Sin(w), math.Cos(w)
		}
		b[k-1] = 1
		return b
	}
	m := make([][]float64, k)
	for r := range m {
		m[r] = make([]float64, k+1)
	}
	for i, v := range x {
		b := basis(i)
		for r := 0; r < k; r++ {
			for c := 0; c < k; c++ {
				m[r][c] += b[r] * b[c]
			}
			m[r][k] += b[r] * float64(v)
		}
	}
	for col := 0; col < k; col++ { // Gauss-Jordan with partial pivoting
		p := col
		for r := col + 1; r < k; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		m[col], m[p] = m[p], m[col]
		for r := 0; r < k; r++ {
			if r != col {
				f := m[r][col] / m[col][col]
				for c := col; c <= k; c++ {
					m[r][c] -= f * m[col][c]
				}
			}
		}
	}
	var fit, resid float64
	for i, v := range x {
		b := basis(i)
		var y float64
		for j := 0; j < k-1; j++ {
			y += b[j] * m[j][k] / m[j][j]
		}
		fit += y * y
		d := float64(v) - y - m[k-1][k]/m[k-1][k-1]
		resid += d * d
	}
	return 10 * math.Log10(resid/fit)
}

// mixFrames runs the mixer over whole signals, frame by frame.
func mixFrames(m *Mixer, f Format, ins ...[]float32) []float32 {
	var out []float32
	frame := make([]float32, f.FrameLen())
	for off := 0; off+f.FrameLen() <= len(ins[0]); off += f.FrameLen() {
		var cur [][]float32
		for _, in := range ins {
			cur = append(cur, in[off:off+f.FrameLen()])
		}
		m.Mix(frame, cur)
		out = append(out, frame...)
	}
	return out
}

func peakAbs(x []float32) float64 {
	p := 0.0
	for _, v := range x {
		p = max(p, math.Abs(float64(v)))
	}
	return p
}

// Below the ceiling the mixer is a plain sum: 440 and 660 Hz both there,
// sample for sample.
func TestMixerSumsStreams(t *testing.T) {
	f := mono48()
	a, b := sine(440, 0.3, 48000), sine(660, 0.3, 48000)
	out := mixFrames(NewMixer(f, 0), f, a, b)
	for i := range out {
		if d := math.Abs(float64(out[i] - (a[i] + b[i]))); d > 1e-6 {
			t.Fatalf("sample %d: %g, want %g", i, out[i], a[i]+b[i])
		}
	}
	for _, hz := range []float64{440, 660} {
		if l := goertzelDB(out, 48000, hz); math.Abs(l-20*math.Log10(0.3)) > 0.1 {
			t.Errorf("%g Hz at %.2f dB, want %.2f", hz, l, 20*math.Log10(0.3))
		}
	}
	if l := goertzelDB(out, 48000, 550); l > -80 {
		t.Errorf("550 Hz at %.1f dB: something besides the two tones", l)
	}
}

// Two full-scale hosts: the sum never leaves ±1 (the limiter holds it at
// the ceiling) and stays clean: no clipping distortion.
func TestMixerLimitsLoudSum(t *testing.T) {
	f := mono48()
	for _, tc := range []struct {
		name  string
		b     []float32
		freqs []float64
	}{
		{"same tone", sine(440, 1, 96000), []float64{440}},
		{"440 + 660", sine(660, 1, 96000), []float64{440, 660}},
	} {
		out := mixFrames(NewMixer(f, 0), f, sine(440, 1, 96000), tc.b)
		if p := peakAbs(out); p > LimiterCeiling+1e-6 {
			t.Errorf("%s: peak %.4f, want ≤ %.3f", tc.name, p, LimiterCeiling)
		}
		body := out[4800:] // past the first peak's attack
		if p := peakAbs(body); p < 0.85*LimiterCeiling {
			t.Errorf("%s: peak %.4f: limited far below the ceiling", tc.name, p)
		}
		d := sinesResidualDB(body, 48000, tc.freqs...)
		t.Logf("%s: peak %.4f, distortion+noise %.1f dB", tc.name, peakAbs(out), d)
		if d > -50 {
			t.Errorf("%s: distortion+noise %.1f dB, want < -50", tc.name, d)
		}
		for _, hz := range tc.freqs {
			if l := goertzelDB(body, 48000, hz); l < -10 {
				t.Errorf("%s: %g Hz at %.1f dB", tc.name, hz, l)
			}
		}
	}
}

// After a loud burst the gain recovers: a quiet tone that follows is back
// at full level within half a second.
func TestMixerRecovers(t *testing.T) {
	f := mono48()
	loud, quiet := sine(440, 1, 9600), sine(440, 0.1, 48000)
	m := NewMixer(f, 0)
	mixFrames(m, f, loud, loud)
	out := mixFrames(m, f, quiet)
	if l := MeasureLevel(out[24000:]); math.Abs(l.PeakDBFS-(-20)) > 0.1 {
		t.Errorf("quiet tone half a second after a burst: peak %.2f dBFS, want -20", l.PeakDBFS)
	}
}

func TestMixerVolume(t *testing.T) {
	f := mono48()
	in := sine(440, 0.5, 48000)
	m := NewMixer(f, -6)
	out := mixFrames(m, f, in)
	if r := MeasureLevel(out).RMSDBFS - MeasureLevel(in).RMSDBFS; math.Abs(r+6) > 0.01 {
		t.Errorf("-6 dB volume: level changed by %.3f dB", r)
	}
	// A change is ramped over a frame: no step larger than the tone's own.
	m.SetVolume(0)
	out = mixFrames(m, f, in[:4800])
	if s, own := maxStep(out), maxStep(in); s > own*1.01 {
		t.Errorf("volume change: step %.4f, the tone's own is %.4f", s, own)
	}
	if r := MeasureLevel(out[960:]).RMSDBFS - MeasureLevel(in[960:4800]).RMSDBFS; math.Abs(r) > 0.01 {
		t.Errorf("after the ramp: %.3f dB, want 0", r)
	}
	silent := make([]float32, f.FrameLen())
	silent[0] = 1
	m.Mix(silent, nil)
	if peakAbs(silent) != 0 {
		t.Error("no streams: not silence")
	}
}

func TestMixerStereo(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 2, FrameMs: 10}
	l, r := sine(440, 1, 9600), sine(660, 0.2, 9600)
	st := make([]float32, 0, 2*len(l))
	for i := range l {
		st = append(st, l[i], r[i])
	}
	out := mixFrames(NewMixer(f, 0), f, st, st)
	if p := peakAbs(out); p > LimiterCeiling+1e-6 {
		t.Errorf("peak %.4f", p)
	}
	// One gain for both channels: the quiet right channel is limited as
	// much as the loud left, keeping the image.
	left, right := channel(out, 2, 0), channel(out, 2, 1)
	ratio := MeasureLevel(left[4800:]).PeakDBFS - MeasureLevel(right[4800:]).PeakDBFS
	if math.Abs(ratio-20*math.Log10(1/0.2)) > 0.2 {
		t.Errorf("left over right %.2f dB, want %.2f", ratio, 20*math.Log10(5))
	}
}
