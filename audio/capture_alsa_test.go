package audio

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/onair-dev/onair/internal/alsatest"
	"github.com/onair-dev/onair/internal/dsp"
)

// The ALSA file devices every test in this package sees. ALSA reads its
// configuration once per process, so TestMain writes it and sets
// ALSA_CONFIG_PATH before any test can initialise PortAudio.
var (
	alsaEnv  alsatest.Env
	capSig   = alsatest.Signal{Hz: 1000, Amplitude: 0.5, Seconds: 30, Rate: 48000}
	cap44Sig = alsatest.Signal{Hz: 440, Amplitude: 0.5, Seconds: 30, Rate: 44100}
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "onair-audio-alsa-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	alsaEnv, err = alsatest.Write(dir, alsatest.Options{
		Signal: capSig,
		// cap44 behaves like a 44.1 kHz-only USB microphone: PortAudio
		// disables ALSA's rate conversion, so it opens at 44100 Hz only.
		Extra: map[string]alsatest.Signal{"cap44": cap44Sig},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("ALSA_CONFIG_PATH", alsaEnv.ConfigPath)
	os.Setenv("JACK_NO_START_SERVER", "1") // PortAudio probes JACK too
	return m.Run()
}

// logBuffer is a concurrency-safe log sink for asserting on log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLog() (*slog.Logger, *logBuffer) {
	var lb logBuffer
	return slog.New(slog.NewTextHandler(&lb, nil)), &lb
}

func mono48() Format { return Format{SampleRate: 48000, Channels: 1, FrameMs: 20} }

// deviceIndex returns the PortAudio index of the device named name.
func deviceIndex(t *testing.T, name string) int {
	t.Helper()
	devs, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == name {
			return d.Index
		}
	}
	t.Fatalf("no device %q in %v", name, devs)
	return -1
}

// TestCaptureIsTheInjectedFile opens the file-backed capture device three
// ways and checks that 2.5 s of frames are the input file sample for
// sample: nothing dropped, repeated or altered, at any frame boundary.
func TestCaptureIsTheInjectedFile(t *testing.T) {
	file, err := alsatest.ReadS16LE(alsaEnv.InPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"default", "cap", strconv.Itoa(deviceIndex(t, "cap"))} {
		t.Run(spec, func(t *testing.T) {
			log, logs := newTestLog()
			src, err := OpenSource(spec, mono48(), log)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if src.Format() != mono48() {
				t.Errorf("format %+v, want %+v", src.Format(), mono48())
			}
			got := readSeconds(t, src, 2.5)
			for i, v := range got {
				if v != file[i] {
					t.Fatalf("sample %d (frame %d): got %g, file has %g", i, i/960, v, file[i])
				}
			}
			if f := dsp.DominantFrequency(got, 48000); math.Abs(f-capSig.Hz) > 1 {
				t.Errorf("dominant %.3f Hz, want %g ± 1", f, capSig.Hz)
			}
			if r := dsp.RMS(got); math.Abs(r-capSig.RMS()) > 0.001*capSig.RMS() {
				t.Errorf("RMS %.5f, want %.5f (as written)", r, capSig.RMS())
			}
			if lvl := MeasureLevel(got); math.Abs(lvl.RMSDBFS-(-9.03)) > 0.01 || math.Abs(lvl.PeakDBFS-(-6.02)) > 0.01 {
				t.Errorf("level %+v, want RMS -9.03 and peak -6.02 dBFS", lvl)
			}
			if oc, ok := src.(interface{ Overflows() uint64 }); !ok || oc.Overflows() != 0 {
				t.Errorf("overflow counter: present %v, want 0 overflows on a clockless file device", ok)
			}
			if l := logs.String(); !strings.Contains(l, "conversion=none") || !strings.Contains(l, "device_rate=48000") {
				t.Errorf("log does not say the device runs at 48000 Hz unconverted:\n%s", l)
			}
		})
	}
}

func TestCaptureStereoFromMonoDevice(t *testing.T) {
	src, err := OpenSource("cap", Format{SampleRate: 48000, Channels: 2, FrameMs: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readSeconds(t, src, 2)
	left, right := channel(got, 2, 0), channel(got, 2, 1)
	if !equal(left, right) {
		t.Error("left and right differ for a mono source")
	}
	if f := dsp.DominantFrequency(left, 48000); math.Abs(f-capSig.Hz) > 1 {
		t.Errorf("dominant %.3f Hz, want %g ± 1", f, capSig.Hz)
	}
	if r := dsp.RMS(left); math.Abs(r-capSig.RMS()) > 0.001*capSig.RMS() {
		t.Errorf("RMS %.5f, want %.5f", r, capSig.RMS())
	}
}

// TestCapture44100DeviceResampledTo48000 is the 44.1 kHz-only USB mic case.
func TestCapture44100DeviceResampledTo48000(t *testing.T) {
	log, logs := newTestLog()
	src, err := OpenSource("cap44", mono48(), log)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readSeconds(t, src, 3)
	if len(got) != 3*48000 {
		t.Fatalf("got %d samples for 3 s, want %d", len(got), 3*48000)
	}
	body := got[4800:] // past the resampler's onset
	if f := dsp.DominantFrequency(body, 48000); math.Abs(f-cap44Sig.Hz) > 1 {
		t.Errorf("dominant %.3f Hz, want %g ± 1", f, cap44Sig.Hz)
	}
	if d := dsp.THDN(body, 48000, cap44Sig.Hz); d > -60 {
		t.Errorf("THD+N %.1f dB, want < -60", d)
	}
	if r := dsp.RMS(body); math.Abs(r-cap44Sig.RMS()) > 0.002*cap44Sig.RMS() {
		t.Errorf("RMS %.5f, want %.5f", r, cap44Sig.RMS())
	}
	if l := logs.String(); !strings.Contains(l, `conversion="resample 44100 -> 48000 Hz"`) || !strings.Contains(l, "device=cap44") {
		t.Errorf("log does not report the conversion:\n%s", l)
	}
}

// TestCaptureDownsampled opens the 48 kHz device for 16 kHz frames, a rate
// the device refuses, so it is captured at 48 kHz and converted.
func TestCaptureDownsampled(t *testing.T) {
	log, logs := newTestLog()
	src, err := OpenSource("default", Format{SampleRate: 16000, Channels: 1, FrameMs: 60}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readSeconds(t, src, 3)
	if f := dsp.DominantFrequency(got[1600:], 16000); math.Abs(f-capSig.Hz) > 1 {
		t.Errorf("dominant %.3f Hz, want %g ± 1", f, capSig.Hz)
	}
	if d := dsp.THDN(got[1600:], 16000, capSig.Hz); d > -60 {
		t.Errorf("THD+N %.1f dB, want < -60", d)
	}
	if !strings.Contains(logs.String(), `conversion="resample 48000 -> 16000 Hz"`) {
		t.Errorf("log does not report the conversion:\n%s", logs.String())
	}
}

// TestCaptureSourcesShareTheLibrary keeps two capture sources open at once,
// read from two goroutines, and closes one while the other goes on:
// PortAudio's initialisation is counted per source.
func TestCaptureSourcesShareTheLibrary(t *testing.T) {
	a, err := OpenSource("cap", mono48(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenSource("cap44", mono48(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var freqA, freqB float64
	var errA, errB error
	read := func(src Source, f *float64, e *error) {
		defer wg.Done()
		buf := make([]float32, 960)
		var all []float32
		for i := 0; i < 100; i++ {
			if err := src.Read(buf); err != nil {
				*e = err
				return
			}
			all = append(all, buf...)
		}
		*f = dsp.DominantFrequency(all[4800:], 48000)
	}
	wg.Add(2)
	go read(a, &freqA, &errA)
	go read(b, &freqB, &errB)
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("concurrent reads: %v, %v", errA, errB)
	}
	if math.Abs(freqA-capSig.Hz) > 1 || math.Abs(freqB-cap44Sig.Hz) > 1 {
		t.Errorf("concurrent reads: %.2f and %.2f Hz, want %g and %g", freqA, freqB, capSig.Hz, cap44Sig.Hz)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ListDevices(); err != nil { // init and terminate in between
		t.Fatal(err)
	}
	got := readSeconds(t, a, 0.5)
	if f := dsp.DominantFrequency(got, 48000); math.Abs(f-capSig.Hz) > 1 {
		t.Errorf("after closing the other source: %.2f Hz, want %g", f, capSig.Hz)
	}
}

func TestCaptureReopenManyTimes(t *testing.T) {
	buf := make([]float32, 960)
	for i := 0; i < 20; i++ {
		src, err := OpenSource("cap", mono48(), nil)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if err := src.Read(buf); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if err := src.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
	}
}

func TestCaptureReadContract(t *testing.T) {
	src, err := OpenSource("cap", mono48(), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkReadContract(t, src, 480)
}

func TestOpenUnknownDevice(t *testing.T) {
	_, err := OpenSource("nosuchmic", mono48(), nil)
	if !errors.Is(err, ErrNoDevice) {
		t.Fatalf("got %v, want ErrNoDevice", err)
	}
	for _, want := range []string{`audio: open input "nosuchmic"`, `"cap"`, `"cap44"`, `"default"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
	if _, err := OpenSource("999", mono48(), nil); !errors.Is(err, ErrNoDevice) || !strings.Contains(err.Error(), "index 999") {
		t.Errorf("index 999: got %v, want ErrNoDevice naming the index", err)
	}
}

func TestListDevices(t *testing.T) {
	devs, err := ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Device{}
	for i, d := range devs {
		if d.Index != i {
			t.Errorf("device %d has index %d", i, d.Index)
		}
		byName[d.Name] = d
	}
	for _, name := range []string{"cap", "cap44", "default", "play"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no device %q in %v", name, devs)
		}
	}
	def := byName["default"]
	if !def.DefaultInput || !def.DefaultOutput || def.MaxInputChannels == 0 || def.HostAPI != "ALSA" {
		t.Errorf("default device %+v: want the ALSA default input and output", def)
	}
	if byName["cap"].DefaultInput {
		t.Error(`"cap" is marked default input too`)
	}
	if r := byName["cap44"].DefaultSampleRate; r != 44100 {
		t.Errorf("cap44 default rate %g, want 44100", r)
	}
	line := def.String()
	want := fmt.Sprintf("%3d  default: in %d ch, out %d ch, 48000 Hz (ALSA) [default input, default output]",
		def.Index, def.MaxInputChannels, def.MaxOutputChannels)
	if line != want {
		t.Errorf("String() = %q, want %q", line, want)
	}
}
