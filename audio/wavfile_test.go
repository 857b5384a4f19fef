package audio

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goaudio "github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"github.com/onair-dev/onair/internal/dsp"
)

// writeWAV writes interleaved integer samples (already scaled to bits) as a
// WAV file with the given format tag and returns its path.
func writeWAV(t *testing.T, name string, rate, bits, channels, tag int, data []int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := wav.NewEncoder(f, rate, bits, channels, tag)
	buf := &goaudio.IntBuffer{Data: data, SourceBitDepth: bits, Format: &goaudio.Format{NumChannels: channels, SampleRate: rate}}
	if err := enc.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// intSine returns round(amp·scale·sin(2π hz i/rate)) for n samples.
func intSine(hz, amp, scale float64, rate, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = int(math.Round(amp * scale * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
	}
	return out
}

func interleave(chans ...[]int) []int {
	out := make([]int, 0, len(chans)*len(chans[0]))
	for i := range chans[0] {
		for _, c := range chans {
			out = append(out, c[i])
		}
	}
	return out
}

func TestWAV16BitLoopsExactly(t *testing.T) {
	// 1 s at 48 kHz, read for 2.5 s: the file must come back sample for
	// sample, twice and a half, with no gap or repeat at the loop point.
	data := intSine(1000, 0.5, 32767, 48000, 48000)
	path := writeWAV(t, "mono16.wav", 48000, 16, 1, 1, data)
	src, err := OpenSource("file:"+path, Format{SampleRate: 48000, Channels: 1, FrameMs: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readSeconds(t, src, 2.5)
	for i, v := range got {
		if want := float32(data[i%len(data)]) / 32768; v != want {
			t.Fatalf("sample %d (%d into the file): got %g, want %g", i, i%len(data), v, want)
		}
	}
}

func TestWAVFormatsAndChannels(t *testing.T) {
	const n = 48000
	for _, tc := range []struct {
		name       string
		bits, tag  int
		scale      float64
		toInt      func(float64) int
		fileCh, to int
		wantAmp    float64 // peak of channel 0 of the output
	}{
		{"24-bit stereo to mono averages", 24, 1, 1 << 23, nil, 2, 1, 0.4},
		{"32-bit int mono to stereo duplicates", 32, 1, 1 << 31, nil, 1, 2, 0.5},
		{"32-bit float mono to stereo", 32, 3, 1, func(v float64) int { return int(int32(math.Float32bits(float32(v)))) }, 1, 2, 0.5},
		{"8-bit unsigned mono", 8, 1, 127, nil, 1, 1, 0.5},
		{"16-bit stereo stays stereo", 16, 1, 32767, nil, 2, 2, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chans := [][]int{}
			amps := []float64{0.5, 0.3}[:tc.fileCh]
			for _, a := range amps {
				c := make([]int, n)
				for i := range c {
					v := a * math.Sin(2*math.Pi*1000*float64(i)/48000)
					switch {
					case tc.toInt != nil:
						c[i] = tc.toInt(v)
					case tc.bits == 8:
						c[i] = int(math.Round(v*tc.scale)) + 128
					default:
						c[i] = int(math.Round(v * (tc.scale - 1)))
					}
				}
				chans = append(chans, c)
			}
			path := writeWAV(t, "x.wav", 48000, tc.bits, tc.fileCh, tc.tag, interleave(chans...))
			src, err := OpenSource("file:"+path, Format{SampleRate: 48000, Channels: tc.to, FrameMs: 20}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got := readSeconds(t, src, 1)
			first := channel(got, tc.to, 0)
			if tc.to == 2 && tc.fileCh == 1 {
				if second := channel(got, 2, 1); !equal(first, second) {
					t.Error("mono file: the two output channels differ")
				}
			}
			if tc.to == 2 && tc.fileCh == 2 {
				if p := MeasureLevel(channel(got, 2, 1)).PeakDBFS; math.Abs(p-20*math.Log10(0.3)) > 0.05 {
					t.Errorf("right channel peak %.2f dBFS, want %.2f", p, 20*math.Log10(0.3))
				}
			}
			if p := MeasureLevel(first).PeakDBFS; math.Abs(p-20*math.Log10(tc.wantAmp)) > 0.05 {
				t.Errorf("peak %.3f dBFS, want %.3f", p, 20*math.Log10(tc.wantAmp))
			}
			if f := dsp.DominantFrequency(first, 48000); math.Abs(f-1000) > 0.01 {
				t.Errorf("dominant %.3f Hz, want 1000", f)
			}
			limit := -80.0
			if tc.bits == 8 {
				limit = -40 // 8-bit quantisation noise
			}
			if d := dsp.THDN(first, 48000, 1000); d > limit {
				t.Errorf("THD+N %.1f dB, want < %g", d, limit)
			}
		})
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWAV44100ConvertedTo48000(t *testing.T) {
	// 1 s of exactly 1000 periods, so the loop is seamless; read 3 s across
	// two loop points.
	data := intSine(1000, 0.5, 32767, 44100, 44100)
	path := writeWAV(t, "cd.wav", 44100, 16, 1, 1, data)
	src, err := OpenSource("file:"+path, Format{SampleRate: 48000, Channels: 2, FrameMs: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readSeconds(t, src, 3)
	if len(got) != 3*48000*2 {
		t.Fatalf("got %d samples, want %d", len(got), 3*48000*2)
	}
	left := channel(got, 2, 0)[2400:] // past the resampler's onset
	if f := dsp.DominantFrequency(left, 48000); math.Abs(f-1000) > 0.01 {
		t.Errorf("dominant %.4f Hz, want 1000", f)
	}
	if d := dsp.THDN(left, 48000, 1000); d > -60 {
		t.Errorf("THD+N %.1f dB, want < -60", d)
	}
	if r := dsp.RMS(left); math.Abs(r-0.5/math.Sqrt2) > 0.001 {
		t.Errorf("RMS %.4f, want %.4f", r, 0.5/math.Sqrt2)
	}
}

func TestWAVErrors(t *testing.T) {
	f := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a wav file\n", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.wav")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	headerOnly := filepath.Join(dir, "header.wav")
	if err := os.WriteFile(headerOnly, []byte("RIFF\x04\x00\x00\x00WAVE"), 0o644); err != nil {
		t.Fatal(err)
	}
	adpcm := writeWAV(t, "adpcm.wav", 48000, 16, 1, 2, make([]int, 100))
	float16 := writeWAV(t, "f16.wav", 48000, 16, 1, 3, make([]int, 100))
	for _, tc := range []struct {
		path, why string
	}{
		{text, "not a RIFF WAVE file"},
		{empty, "not a RIFF WAVE file"},
		{headerOnly, "not a readable wav file"},
		{adpcm, "format tag 2 with 16-bit samples"},
		{float16, "format tag 3 with 16-bit samples"},
	} {
		spec := "file:" + tc.path
		_, err := OpenSource(spec, f, nil)
		if !errors.Is(err, ErrUnsupportedWAV) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), `"`+spec+`"`) {
			t.Errorf("%s: got %v, want ErrUnsupportedWAV naming the spec and saying %q", filepath.Base(tc.path), err, tc.why)
		}
	}
	if _, err := OpenSource("file:"+filepath.Join(dir, "missing.wav"), f, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestWAVReadContract(t *testing.T) {
	path := writeWAV(t, "a.wav", 48000, 16, 1, 1, intSine(1000, 0.5, 32767, 48000, 960))
	src, err := OpenSource("file:"+path, Format{SampleRate: 48000, Channels: 1, FrameMs: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkReadContract(t, src, 961)
}
