package audio

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gordonklaus/portaudio"
	"github.com/onair-dev/onair/internal/dsp"
)

func TestFindOutput(t *testing.T) {
	devs := fakeDevices()
	for _, tc := range []struct {
		spec   string
		defIdx int
		want   int
	}{
		{"default", 5, 5},
		{"default", 4, 4},
		{"0", 5, 0},
		{"usb", 5, 3},     // first output containing it
		{"speaker", 5, 4}, // output-only devices count
		{"HDMI", 5, 0},
	} {
		d, err := findDevice(tc.spec, devs, tc.defIdx, directionOutput)
		if err != nil || d.Index != tc.want {
			t.Errorf("%q: %v, %v; want device %d", tc.spec, d, err, tc.want)
		}
	}
	for _, tc := range []struct {
		spec   string
		defIdx int
		why    string
	}{
		{"nosuch", 5, `no output device matches; outputs: 0 "HDMI Output", 3 "USB PnP Sound Device: Audio (hw:1,0)", 4 "usb speaker", 5 "default"`},
		{"capfile", 5, "no output device matches"},
		{"2", 5, `device 2 "cap" has no output channels`},
		{"default", 1, "no default output"},
		{"default", -1, "no default output"},
	} {
		_, err := findDevice(tc.spec, devs, tc.defIdx, directionOutput)
		if !errors.Is(err, ErrNoOutput) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%q: %v, want ErrNoOutput saying %q", tc.spec, err, tc.why)
		}
	}
}

// fakePlayStream records what a playback output writes.
type fakePlayStream struct {
	raw      *[]float32
	written  []float32
	writes   int
	errs     map[int]error
	stops    int
	closes   int
	channels int
}

func (f *fakePlayStream) Write() error {
	f.written = append(f.written, *f.raw...)
	f.writes++
	return f.errs[f.writes-1]
}
func (f *fakePlayStream) Stop() error  { f.stops++; return nil }
func (f *fakePlayStream) Close() error { f.closes++; return nil }

func newFakePlayback(t *testing.T, want Format, devCh, rate int) (*playbackOutput, *fakePlayStream, *fakeClock) {
	t.Helper()
	log, _ := newTestLog()
	o, err := newPlaybackOutput(want, "fake", devCh, rate, log)
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakePlayStream{raw: &o.raw, channels: devCh}
	o.stream = fs
	clock := &fakeClock{t: time.Unix(1000, 0)}
	o.pacer.Now, o.pacer.Sleep = clock.now, clock.sleep
	return o, fs, clock
}

// A 44.1 kHz stereo-only device gets the 48 kHz mono frames resampled
// and duplicated, paced to the frame clock.
func TestPlaybackConvertsForTheDevice(t *testing.T) {
	o, fs, clock := newFakePlayback(t, mono48(), 2, 44100)
	start := clock.t
	tone := sine(440, 0.5, 48000*2)
	for off := 0; off < len(tone); off += 960 {
		if err := o.Write(tone[off : off+960]); err != nil {
			t.Fatal(err)
		}
	}
	left, right := channel(fs.written, 2, 0), channel(fs.written, 2, 1)
	if !equal(left, right) {
		t.Error("mono not duplicated to both channels")
	}
	if n := len(left); n < 2*44100-100 || n > 2*44100 {
		t.Errorf("%d device frames for 2 s, want about %d", n, 2*44100)
	}
	body := left[4410:]
	if f := dsp.DominantFrequency(body, 44100); math.Abs(f-440) > 0.5 {
		t.Errorf("%.2f Hz at the device, want 440", f)
	}
	if d := dsp.THDN(body, 44100, 440); d > -60 {
		t.Errorf("THD+N %.1f dB, want < -60", d)
	}
	if el := clock.t.Sub(start); el < 1900*time.Millisecond {
		t.Errorf("2 s of frames written in %v of frame clock: not paced", el)
	}
}

func TestPlaybackUnderflowIsCountedNotFatal(t *testing.T) {
	o, fs, _ := newFakePlayback(t, mono48(), 1, 48000)
	fs.errs = map[int]error{1: portaudio.OutputUnderflowed, 3: portaudio.InternalError}
	frame := make([]float32, 960)
	for i := 0; i < 3; i++ {
		if err := o.Write(frame); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := o.Write(frame); !errors.Is(err, portaudio.InternalError) {
		t.Errorf("device error: %v", err)
	}
	if o.Underflows() != 1 {
		t.Errorf("underflows %d, want 1", o.Underflows())
	}
	if err := o.Write(make([]float32, 10)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short frame: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if fs.stops != 1 || fs.closes != 1 {
		t.Errorf("stream stopped %d and closed %d times, want once", fs.stops, fs.closes)
	}
	if err := o.Write(frame); !errors.Is(err, ErrOutputClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestFuncOutput(t *testing.T) {
	var got int
	o := NewFuncOutput(mono48(), func(frame []float32) error { got += len(frame); return nil })
	if err := o.Write(make([]float32, 960)); err != nil || got != 960 {
		t.Errorf("write: %v, %d samples", err, got)
	}
	if err := o.Write(make([]float32, 961)); !errors.Is(err, ErrFrameSize) {
		t.Errorf("bad frame: %v", err)
	}
	o.Close()
	if err := o.Close(); err != nil {
		t.Error(err)
	}
	if err := o.Write(make([]float32, 960)); !errors.Is(err, ErrOutputClosed) {
		t.Errorf("after close: %v", err)
	}
}
