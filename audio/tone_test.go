package audio

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/onair-dev/onair/internal/dsp"
)

// readSeconds reads whole frames from src for about seconds and returns them
// concatenated.
func readSeconds(t *testing.T, src Source, seconds float64) []float32 {
	t.Helper()
	f := src.Format()
	frames := int(math.Ceil(seconds * 1000 / float64(f.FrameMs)))
	out := make([]float32, 0, frames*f.FrameLen())
	buf := make([]float32, f.FrameLen())
	for i := 0; i < frames; i++ {
		if err := src.Read(buf); err != nil {
			t.Fatalf("read frame %d: %v", i, err)
		}
		out = append(out, buf...)
	}
	return out
}

// channel returns channel c of interleaved samples.
func channel(samples []float32, channels, c int) []float32 {
	out := make([]float32, 0, len(samples)/channels)
	for i := c; i < len(samples); i += channels {
		out = append(out, samples[i])
	}
	return out
}

func TestToneSource(t *testing.T) {
	want := Format{SampleRate: 48000, Channels: 2, FrameMs: 20}
	src, err := OpenSource("tone:1000", want, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Format() != want {
		t.Fatalf("format %+v, want %+v", src.Format(), want)
	}
	got := readSeconds(t, src, 5)
	left, right := channel(got, 2, 0), channel(got, 2, 1)
	for i := range left {
		if left[i] != right[i] {
			t.Fatalf("frame %d: left %g, right %g: channels differ", i, left[i], right[i])
		}
	}
	if f := dsp.DominantFrequency(left, 48000); math.Abs(f-1000) > 0.01 {
		t.Errorf("dominant %.4f Hz, want 1000", f)
	}
	lvl := MeasureLevel(left)
	if math.Abs(lvl.PeakDBFS-(-12.04)) > 0.01 || math.Abs(lvl.RMSDBFS-(-15.05)) > 0.01 {
		t.Errorf("level %+v, want peak -12.04 and RMS -15.05 dBFS", lvl)
	}
	// One continuous sine over 250 frames: any phase jump at a frame
	// boundary would show up as distortion.
	if d := dsp.THDN(left, 48000, 1000); d > -100 {
		t.Errorf("THD+N %.1f dB over 5 s, want < -100 (a phase jump between frames?)", d)
	}
}

func TestToneOddFrequencyStaysContinuous(t *testing.T) {
	src, err := OpenSource("tone:440.5", Format{SampleRate: 16000, Channels: 1, FrameMs: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readSeconds(t, src, 3)
	if f := dsp.DominantFrequency(got, 16000); math.Abs(f-440.5) > 0.01 {
		t.Errorf("dominant %.4f Hz, want 440.5", f)
	}
	if d := dsp.THDN(got, 16000, 440.5); d > -100 {
		t.Errorf("THD+N %.1f dB, want < -100", d)
	}
}

func TestToneSpecErrors(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	for _, spec := range []string{"tone:", "tone:abc", "tone:0", "tone:-5", "tone:24000.5", "tone:NaN", "tone:Inf"} {
		_, err := OpenSource(spec, f, nil)
		if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), `"`+spec+`"`) {
			t.Errorf("%s: got %v, want ErrBadSpec naming the spec", spec, err)
		}
	}
	src, err := OpenSource("tone:24000", f, nil) // Nyquist itself is allowed
	if err != nil {
		t.Errorf("tone:24000: %v", err)
	} else {
		src.Close()
	}
}

func TestOpenSourceValidatesFormat(t *testing.T) {
	_, err := OpenSource("tone:1000", Format{SampleRate: 44100, Channels: 1, FrameMs: 20}, nil)
	if err == nil || !strings.Contains(err.Error(), `"tone:1000"`) || !strings.Contains(err.Error(), "sample rate 44100") {
		t.Errorf("44100 Hz: got %v, want an error naming the spec and the rate", err)
	}
	if _, err := OpenSource("tone:1000", Format{SampleRate: 48000, Channels: 3, FrameMs: 20}, nil); err == nil {
		t.Error("3 channels: no error")
	}
	if _, err := OpenSource("", Format{SampleRate: 48000, Channels: 1, FrameMs: 20}, nil); !errors.Is(err, ErrBadSpec) {
		t.Errorf("empty spec: got %v, want ErrBadSpec", err)
	}
}

func TestToneReadContract(t *testing.T) {
	src, err := OpenSource("tone:1000", Format{SampleRate: 48000, Channels: 1, FrameMs: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkReadContract(t, src, 100)
}

// checkReadContract checks what every Source promises: a buffer of the
// wrong length is ErrFrameSize, Close may be called twice, and Read after
// Close is ErrClosed. wrongLen is a length other than one frame.
func checkReadContract(t *testing.T, src Source, wrongLen int) {
	t.Helper()
	if err := src.Read(make([]float32, wrongLen)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("buffer of %d samples: got %v, want ErrFrameSize", wrongLen, err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if err := src.Read(make([]float32, src.Format().FrameLen())); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close: got %v, want ErrClosed", err)
	}
}
