package audio

import (
	"math"
	"testing"
)

func TestApplyGain(t *testing.T) {
	buf := []float32{0.1, -0.2, 0.4, -0.45}
	ApplyGain(buf, 20*math.Log10(2)) // ×2
	for i, want := range []float32{0.2, -0.4, 0.8, -0.9} {
		if math.Abs(float64(buf[i]-want)) > 1e-6 {
			t.Errorf("+6.02 dB: sample %d is %g, want %g", i, buf[i], want)
		}
	}
	ApplyGain(buf, -20) // ÷10
	if math.Abs(float64(buf[2])-0.08) > 1e-6 {
		t.Errorf("-20 dB: got %g, want 0.08", buf[2])
	}
}

func TestApplyGainClips(t *testing.T) {
	buf := []float32{0.5, -0.5, 0.01, 1.5, -3}
	ApplyGain(buf, 12)
	want := []float32{1, -1, 0.01 * float32(math.Pow(10, 12.0/20)), 1, -1}
	for i := range want {
		if math.Abs(float64(buf[i]-want[i])) > 1e-6 {
			t.Errorf("sample %d: got %g, want %g", i, buf[i], want[i])
		}
	}
	over := []float32{1.2, -1.7}
	ApplyGain(over, 0)
	if over[0] != 1 || over[1] != -1 {
		t.Errorf("0 dB on out-of-range samples: got %v, want [1 -1]", over)
	}
}

func TestMeasureLevel(t *testing.T) {
	fullSine := sineAt(1000, 1, 0, 48000, 48000) // peak sample sin(π/2) = 1
	for _, tc := range []struct {
		name      string
		buf       []float32
		rms, peak float64
		tolerance float64
	}{
		{"full-scale sine", fullSine, -3.0103, 0, 0.001},
		{"-12 dBFS sine", sineAt(1000, 0.25, 0, 48000, 48000), -3.0103 - 12.0412, -12.0412, 0.001},
		{"half-scale square", []float32{0.5, -0.5, 0.5, -0.5}, -6.0206, -6.0206, 0.001},
		{"silence", make([]float32, 960), SilenceDBFS, SilenceDBFS, 0},
		{"empty", nil, SilenceDBFS, SilenceDBFS, 0},
		{"below the floor", []float32{1e-8, -1e-8}, SilenceDBFS, SilenceDBFS, 0},
	} {
		got := MeasureLevel(tc.buf)
		if math.Abs(got.RMSDBFS-tc.rms) > tc.tolerance || math.Abs(got.PeakDBFS-tc.peak) > tc.tolerance {
			t.Errorf("%s: got RMS %.4f peak %.4f dBFS, want %.4f and %.4f", tc.name, got.RMSDBFS, got.PeakDBFS, tc.rms, tc.peak)
		}
	}
}
