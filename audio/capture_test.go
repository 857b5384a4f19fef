package audio

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gordonklaus/portaudio"
)

// fakeStream stands in for a PortAudio blocking stream: each Read fills the
// source's raw buffer with the next values of a ramp (one step per frame,
// the same on every channel), so lost or repeated samples are visible.
type fakeStream struct {
	raw      *[]float32
	channels int
	avail    func() int    // frames ready before each read
	errs     map[int]error // error returned by the nth read (from 0)
	next     float32
	reads    []int // frames asked for by each read
	closed   int
}

func (f *fakeStream) AvailableToRead() (int, error) { return f.avail(), nil }

func (f *fakeStream) Read() error {
	buf := *f.raw
	f.reads = append(f.reads, len(buf)/f.channels)
	for i := 0; i < len(buf); i += f.channels {
		for c := 0; c < f.channels; c++ {
			buf[i+c] = f.next
		}
		f.next++
	}
	return f.errs[len(f.reads)-1]
}

func (f *fakeStream) Close() error { f.closed++; return nil }

func newFakeCapture(t *testing.T, want Format, devCh, rate int, fs *fakeStream, log *slog.Logger) *captureSource {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := newCaptureSource(want, "fake", devCh, rate, log)
	if err != nil {
		t.Fatal(err)
	}
	fs.raw, fs.channels = &c.raw, devCh
	c.stream = fs
	return c
}

// TestCaptureFramesFromAnyDeviceBufferSize feeds reads of random sizes and
// checks that frames are exactly one frame long and carry every device
// sample once, in order.
func TestCaptureFramesFromAnyDeviceBufferSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fs := &fakeStream{avail: func() int { return []int{0, 1, 7, 441, 960, 1915, 5000}[rng.IntN(7)] }}
	want := Format{SampleRate: 48000, Channels: 2, FrameMs: 20}
	c := newFakeCapture(t, want, 1, 48000, fs, nil) // mono device, stereo wanted
	buf := make([]float32, want.FrameLen())
	var expect float32
	for frame := 0; frame < 200; frame++ {
		if err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(buf); i += 2 {
			if buf[i] != expect || buf[i+1] != expect {
				t.Fatalf("frame %d sample %d: got %g/%g, want %g", frame, i/2, buf[i], buf[i+1], expect)
			}
			expect++
		}
	}
	for i, n := range fs.reads {
		if n < 1 || n > 48000 {
			t.Fatalf("read %d asked for %d frames", i, n)
		}
	}
}

// TestCaptureWaitsOnlyForWhatItNeeds checks the read sizes when the device
// has nothing ready: the first read waits for one frame, and no read takes
// more than a frame's worth, so no extra latency builds up.
func TestCaptureWaitsOnlyForWhatItNeeds(t *testing.T) {
	fs := &fakeStream{avail: func() int { return 0 }}
	want := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	c := newFakeCapture(t, want, 1, 48000, fs, nil)
	buf := make([]float32, 960)
	for i := 0; i < 5; i++ {
		if err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range fs.reads {
		if n != 960 {
			t.Errorf("read %d took %d frames, want 960", i, n)
		}
	}
}

func TestCaptureOverflowIsCountedNotFatal(t *testing.T) {
	var logs logBuffer
	fs := &fakeStream{
		avail: func() int { return 0 },
		errs:  map[int]error{1: portaudio.InputOverflowed, 3: portaudio.InputOverflowed},
	}
	want := Format{SampleRate: 48000, Channels: 1, FrameMs: 10}
	c := newFakeCapture(t, want, 1, 48000, fs, slog.New(slog.NewTextHandler(&logs, nil)))
	buf := make([]float32, want.FrameLen())
	for i := 0; i < 5; i++ {
		if err := c.Read(buf); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		// The samples of an overflowed read are delivered, not skipped.
		if buf[0] != float32(i*480) {
			t.Fatalf("read %d starts at %g, want %d", i, buf[0], i*480)
		}
	}
	if n := c.Overflows(); n != 2 {
		t.Errorf("Overflows() = %d, want 2", n)
	}
	if !strings.Contains(logs.String(), "overflowed") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

func TestCaptureDeviceErrorIsReturned(t *testing.T) {
	fs := &fakeStream{avail: func() int { return 0 }, errs: map[int]error{0: portaudio.DeviceUnavailable}}
	c := newFakeCapture(t, Format{SampleRate: 48000, Channels: 1, FrameMs: 20}, 1, 48000, fs, nil)
	err := c.Read(make([]float32, 960))
	if !errors.Is(err, portaudio.DeviceUnavailable) || !strings.Contains(err.Error(), `audio: read "fake"`) {
		t.Errorf("got %v, want the wrapped device error", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if fs.closed != 1 {
		t.Errorf("stream closed %d times, want 1", fs.closed)
	}
}

// TestCaptureResampledFramesAreWhole uses a 44.1 kHz stereo device for
// 48 kHz mono frames: frames must still be exactly one frame long.
func TestCaptureResampledFramesAreWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fs := &fakeStream{avail: func() int { return rng.IntN(2000) }}
	want := Format{SampleRate: 48000, Channels: 1, FrameMs: 20}
	c := newFakeCapture(t, want, 2, 44100, fs, nil)
	buf := make([]float32, want.FrameLen())
	for i := 0; i < 100; i++ {
		if err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, n := range fs.reads {
		total += n
	}
	// 100 frames of 20 ms at 48 kHz need 2 s of input, plus the
	// resampler's look-ahead, and at most one read's worth more.
	if total < 88200 || total > 88200+2000+100 {
		t.Errorf("read %d device frames for 2 s of output, want about 88200", total)
	}
}
