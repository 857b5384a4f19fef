package audio

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
)

// leadingSilence returns the index of the first sample above thr.
func leadingSilence(x []float32, thr float32) int {
	for i, v := range x {
		if v > thr || v < -thr {
			return i
		}
	}
	return len(x)
}

// writeSeconds writes seconds of frames from gen to o and returns them.
func writeSeconds(t *testing.T, o Output, seconds float64, gen func(i int) float32) []float32 {
	t.Helper()
	f := o.Format()
	frame := make([]float32, f.FrameLen())
	var all []float32
	n := 0
	for k := 0; k < int(seconds*1000)/f.FrameMs; k++ {
		for i := 0; i < len(frame); i += f.Channels {
			v := gen(n)
			n++
			for c := 0; c < f.Channels; c++ {
				frame[i+c] = v
			}
		}
		if err := o.Write(frame); err != nil {
			t.Fatalf("write %d: %v", k, err)
		}
		all = append(all, frame...)
	}
	return all
}

// The ALSA file device plays what is written, in real time although it
// has no clock of its own.
func TestOutputPlaysIntoTheFile(t *testing.T) {
	for _, tc := range []struct {
		spec     string
		channels int
	}{{"default", 1}, {"play", 2}} {
		t.Run(tc.spec, func(t *testing.T) {
			log, logs := newTestLog()
			f := Format{SampleRate: 48000, Channels: tc.channels, FrameMs: 20}
			o, err := OpenOutput(tc.spec, f, log)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			gen := func(i int) float32 {
				return float32(math.Round(0.5*32767*math.Sin(2*math.Pi*1000*float64(i)/48000))) / 32768
			}
			wrote := writeSeconds(t, o, 1.5, gen)
			elapsed := time.Since(start)
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := alsatest.ReadS16LE(alsaEnv.OutPath)
			if err != nil {
				t.Fatal(err)
			}
			lead := leadingSilence(got, 1e-4)
			body := got[lead:]
			mono := channel(wrote, tc.channels, 0)[1:] // sample 0 is 0
			if len(body) < len(mono) {
				t.Fatalf("file holds %d samples of tone, wrote %d", len(body), len(mono))
			}
			worst := 0.0
			for i, v := range mono {
				worst = max(worst, math.Abs(float64(body[i]-v)))
			}
			t.Logf("%s, %d ch: %v for 1.5 s of frames; file %d samples, %d leading silence; worst sample error %.1f LSB",
				tc.spec, tc.channels, elapsed.Round(time.Millisecond), len(got), lead, worst*32768)
			if worst > 2.0/32768 {
				t.Errorf("file differs from what was written by up to %.1f LSB", worst*32768)
			}
			if f := dsp.DominantFrequency(body[:len(mono)], 48000); math.Abs(f-1000) > 0.5 {
				t.Errorf("dominant %.2f Hz, want 1000", f)
			}
			if elapsed < 1350*time.Millisecond { // 1.5 s less the pacer's 60 ms burst and last frame
				t.Errorf("1.5 s played in %v: not paced to real time", elapsed)
			}
			if l := logs.String(); !strings.Contains(l, "audio output opened") || !strings.Contains(l, "device_rate=48000") {
				t.Errorf("log:\n%s", l)
			}
		})
	}
}

func TestOpenUnknownOutput(t *testing.T) {
	_, err := OpenOutput("nosuchspeaker", mono48(), nil)
	if !errors.Is(err, ErrNoOutput) {
		t.Fatalf("got %v, want ErrNoOutput", err)
	}
	for _, want := range []string{`audio: open output "nosuchspeaker"`, `"play"`, `"default"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
	if _, err := OpenOutput("default", Format{SampleRate: 44100, Channels: 1, FrameMs: 20}, nil); err == nil {
		t.Error("a 44100 Hz format was accepted")
	}
}
