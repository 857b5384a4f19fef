package audio

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onair-dev/onair/internal/dsp"
)

// sineAt returns n samples of amp·sin(2π hz t + phase) at rate, one channel.
func sineAt(hz, amp, phase float64, rate, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)+phase))
	}
	return out
}

// processChunks feeds in to r in random-sized pieces of whole frames.
func processChunks(r *Resampler, in []float32, ch int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []float32
	for len(in) > 0 {
		n := min(len(in), (1+rng.IntN(1000))*ch)
		out = r.Process(out, in[:n])
		in = in[n:]
	}
	return out
}

func TestResampleToneAccuracy(t *testing.T) {
	const hz, amp, seconds = 1000.0, 0.5, 3
	for _, tc := range []struct{ in, out int }{
		{44100, 48000}, {48000, 44100}, {16000, 48000}, {48000, 16000},
		{22050, 48000}, {11025, 48000}, {8000, 48000}, {48000, 8000}, {32000, 24000},
	} {
		r, err := NewResampler(tc.in, tc.out, 1)
		if err != nil {
			t.Fatalf("%d -> %d: %v", tc.in, tc.out, err)
		}
		in := sineAt(hz, amp, 0, tc.in, seconds*tc.in)
		out := processChunks(r, in, 1, 1)

		// Nearly every input sample comes out; only the look-ahead is held.
		want := seconds * tc.out
		if len(out) > want || len(out) < want-r.half*tc.out/tc.in-2 {
			t.Errorf("%d -> %d: %d output samples, want %d less the filter look-ahead (%d input samples)", tc.in, tc.out, len(out), want, r.half)
		}
		body := out[tc.out/20:] // skip the 50 ms onset ringing
		if f := dsp.DominantFrequency(body, tc.out); math.Abs(f-hz) > 0.01 {
			t.Errorf("%d -> %d: dominant %.4f Hz, want %g", tc.in, tc.out, f, hz)
		}
		if d := dsp.THDN(body, tc.out, hz); d > -60 {
			t.Errorf("%d -> %d: THD+N %.1f dB, want < -60", tc.in, tc.out, d)
		} else {
			t.Logf("%d -> %d: THD+N %.1f dB", tc.in, tc.out, d)
		}
		// Output n is the input signal at time n/out: compare with the ideal
		// sine at the output rate, so there is no delay and no gain error.
		ideal := sineAt(hz, amp, 0, tc.out, len(out))
		var worst float64
		for i := tc.out / 20; i < len(out); i++ {
			worst = math.Max(worst, math.Abs(float64(out[i]-ideal[i])))
		}
		if worst > 1e-3 {
			t.Errorf("%d -> %d: max deviation from the ideal sine %.2g, want < 1e-3 (-60 dB)", tc.in, tc.out, worst)
		}
	}
}

func TestResampleBlockSizeDoesNotMatter(t *testing.T) {
	in := sineAt(997, 0.7, 0.1, 44100, 44100)
	whole, _ := NewResampler(44100, 48000, 1)
	want := whole.Process(nil, in)
	for seed := uint64(1); seed <= 3; seed++ {
		r, _ := NewResampler(44100, 48000, 1)
		got := processChunks(r, in, 1, seed)
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d samples in chunks, %d whole", seed, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("seed %d: sample %d is %g in chunks, %g whole", seed, i, got[i], want[i])
			}
		}
	}
}

func TestResampleAntiAlias(t *testing.T) {
	// 10 kHz is above the 8 kHz Nyquist frequency of 16 kHz: it must not fold
	// back to 6 kHz.
	r, _ := NewResampler(48000, 16000, 1)
	out := r.Process(nil, sineAt(10000, 0.5, 0, 48000, 48000))
	l := MeasureLevel(out[1600:]).RMSDBFS
	t.Logf("10 kHz after 48 -> 16 kHz: %.1f dBFS", l)
	if l > -9-60 {
		t.Errorf("10 kHz after 48 -> 16 kHz: %.1f dBFS, want 60 dB under the -9 dBFS input", l)
	}
}

func TestResampleStereoKeepsChannelsApart(t *testing.T) {
	const n = 2 * 44100
	left, right := sineAt(440, 0.5, 0, 44100, n), sineAt(1000, 0.25, 0, 44100, n)
	in := make([]float32, 2*n)
	for i := range left {
		in[2*i], in[2*i+1] = left[i], right[i]
	}
	r, _ := NewResampler(44100, 48000, 2)
	out := processChunks(r, in, 2, 5)
	if len(out)%2 != 0 {
		t.Fatalf("odd output length %d", len(out))
	}
	l, rr := make([]float32, len(out)/2), make([]float32, len(out)/2)
	for i := range l {
		l[i], rr[i] = out[2*i], out[2*i+1]
	}
	if f := dsp.DominantFrequency(l[4800:], 48000); math.Abs(f-440) > 0.01 {
		t.Errorf("left: %.3f Hz, want 440", f)
	}
	if f := dsp.DominantFrequency(rr[4800:], 48000); math.Abs(f-1000) > 0.01 {
		t.Errorf("right: %.3f Hz, want 1000", f)
	}
	if d := dsp.THDN(l[4800:], 48000, 440); d > -60 {
		t.Errorf("left THD+N %.1f dB: the right channel leaked in?", d)
	}
}

func TestResampleSameRatePassesThrough(t *testing.T) {
	r, err := NewResampler(48000, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{0.1, -0.2, 0.3, -0.4}
	out := r.Process(nil, in)
	if len(out) != len(in) {
		t.Fatalf("got %v, want %v", out, in)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("got %v, want %v", out, in)
		}
	}
}

func TestNewResamplerErrors(t *testing.T) {
	if _, err := NewResampler(0, 48000, 1); err == nil {
		t.Error("rate 0: no error")
	}
	if _, err := NewResampler(48000, 48000, 0); err == nil {
		t.Error("0 channels: no error")
	}
	if _, err := NewResampler(47999, 48000, 1); !errors.Is(err, ErrRateRatio) {
		t.Errorf("47999 -> 48000: got %v, want ErrRateRatio", err)
	}
}
