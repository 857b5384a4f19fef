package audio

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"

	"github.com/gordonklaus/portaudio"
)

// paMu serialises PortAudio initialisation, termination, device enumeration
// and stream opening. Pa_Initialize and Pa_Terminate are not thread-safe,
// and the Go binding keeps an unsynchronised reference count and device
// cache in package variables. The lock guards that library state; this
// package keeps no state of its own here.
var paMu sync.Mutex

// ErrNoFormat means the device accepts none of the channel counts and rates
// onair can convert from.
var ErrNoFormat = errors.New("no supported capture format")

// captureSource reads a PortAudio input through a blocking stream. It
// captures at the device's rate and channel count, in reads of whatever the
// device has ready, and converts to the wanted format, keeping converted
// samples beyond a frame for the next Read, so every frame is exactly
// want.FrameLen() samples and none is dropped or repeated.
type captureSource struct {
	want  Format
	name  string
	log   *slog.Logger
	devCh int        // channels captured from the device
	rate  int        // the device's sample rate
	rs    *Resampler // nil when the device runs at want.SampleRate

	stream  captureStream // reads into raw
	release func() error  // undoes the source's PortAudio initialisation

	overflows atomic.Uint64

	mu      sync.Mutex // held for a whole Read; Close waits for it
	closed  bool
	chunk   int       // device frames to wait for when none are ready
	store   []float32 // backing array for raw: up to 1 s of device frames
	raw     []float32 // the stream's buffer, resliced from store before each read
	mapped  []float32 // raw mapped to want.Channels
	pending []float32 // converted samples not yet delivered
}

// captureStream is the part of a blocking *portaudio.Stream a capture source
// uses. Read fills the buffer given when the stream was opened, the
// source's raw slice, read through a pointer so its length can change.
type captureStream interface {
	AvailableToRead() (int, error)
	Read() error
	Close() error
}

// newCaptureSource returns a source, without a stream yet, that converts
// devCh channels at rate Hz to want.
func newCaptureSource(want Format, name string, devCh, rate int, log *slog.Logger) (*captureSource, error) {
	c := &captureSource{want: want, name: name, log: log, devCh: devCh, rate: rate}
	c.chunk = max(1, rate*want.FrameMs/1000)
	c.store = make([]float32, max(c.chunk, rate)*devCh)
	c.raw = c.store[:c.chunk*devCh]
	if rate != want.SampleRate {
		var err error
		if c.rs, err = NewResampler(rate, want.SampleRate, want.Channels); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// openCapture opens dev for want; paMu must be held and PortAudio
// initialised once for the source (its Close terminates it).
func openCapture(dev *portaudio.DeviceInfo, want Format, log *slog.Logger) (*captureSource, error) {
	params := func(ch int, rate float64) portaudio.StreamParameters {
		p := portaudio.HighLatencyParameters(dev, nil)
		p.Input.Channels = ch
		p.SampleRate = rate
		p.FramesPerBuffer = portaudio.FramesPerBufferUnspecified
		return p
	}
	probe := make([]float32, 2) // IsFormatSupported infers float32 from it
	ch, rate, err := chooseCapture(dev.MaxInputChannels, dev.DefaultSampleRate, want, func(ch, rate int) bool {
		return portaudio.IsFormatSupported(params(ch, float64(rate)), probe) == nil
	})
	if err != nil {
		return nil, fmt.Errorf("device %d %q: %w", dev.Index, dev.Name, err)
	}
	c, err := newCaptureSource(want, dev.Name, ch, rate, log)
	if err != nil {
		return nil, fmt.Errorf("device %d %q: %w", dev.Index, dev.Name, err)
	}
	conversion := "none"
	if rate != want.SampleRate {
		conversion = fmt.Sprintf("resample %d -> %d Hz", rate, want.SampleRate)
	}
	if ch != want.Channels {
		conversion += fmt.Sprintf(", %d -> %d channels", ch, want.Channels)
	}
	// The binding reads the buffer's length through this pointer at each
	// Read, so reslicing c.raw sets how many frames a read takes.
	stream, err := portaudio.OpenStream(params(ch, float64(rate)), &c.raw)
	if err != nil {
		return nil, fmt.Errorf("device %d %q: open stream %d Hz %d ch: %w", dev.Index, dev.Name, rate, ch, err)
	}
	if err := stream.Start(); err != nil {
		_ = stream.Close()
		return nil, fmt.Errorf("device %d %q: start stream: %w", dev.Index, dev.Name, err)
	}
	c.stream = stream
	c.release = func() error {
		paMu.Lock()
		defer paMu.Unlock()
		return portaudio.Terminate()
	}
	host := ""
	if dev.HostApi != nil {
		host = dev.HostApi.Name
	}
	log.Info("audio input opened", "device", dev.Name, "index", dev.Index, "host_api", host,
		"device_rate", rate, "device_channels", ch,
		"rate", want.SampleRate, "channels", want.Channels, "conversion", conversion)
	return c, nil
}

// chooseCapture picks the channel count and rate to open a device at:
// want's rate if the device takes it, else its default rate, else 48000 or
// 44100 Hz; want's channel count if the device has that many, else mono (or
// stereo, for a device that will not do mono). supported reports whether
// the device accepts a combination.
func chooseCapture(maxCh int, defRate float64, want Format, supported func(ch, rate int) bool) (ch, rate int, err error) {
	var rates []int
	for _, r := range []int{want.SampleRate, int(math.Round(defRate)), 48000, 44100} {
		if r > 0 && !contains(rates, r) {
			rates = append(rates, r)
		}
	}
	var chans []int
	for _, c := range []int{want.Channels, 1, 2} {
		if c <= maxCh && !contains(chans, c) {
			chans = append(chans, c)
		}
	}
	for _, r := range rates {
		for _, c := range chans {
			if supported(c, r) {
				return c, r, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("%w: tried %v channels at %v Hz", ErrNoFormat, chans, rates)
}

// Format implements Source.
func (c *captureSource) Format() Format { return c.want }

// Read implements Source: it blocks until the device has delivered enough
// for one frame. An input overflow (samples the device lost because Read was
// late) is counted and logged, not returned.
func (c *captureSource) Read(buf []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if err := checkFrame(buf, c.want); err != nil {
		return err
	}
	for len(c.pending) < len(buf) {
		if err := c.readDevice(len(buf) - len(c.pending)); err != nil {
			return err
		}
	}
	n := copy(buf, c.pending)
	c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	return nil
}

// readDevice makes one blocking stream read and appends the converted
// samples to pending; short is how many converted samples Read still lacks.
//
// It takes everything the device has ready, or, when nothing is, waits for
// about as many frames as Read lacks. Reading a different amount from what
// is ready loses input on ALSA's file plugin, which fills the whole region a
// client maps but keeps only what the client commits.
func (c *captureSource) readDevice(short int) error {
	frames := short / c.want.Channels
	n := min(c.chunk, max(1, (frames*c.rate+c.want.SampleRate-1)/c.want.SampleRate))
	if avail, err := c.stream.AvailableToRead(); err == nil && avail > 0 {
		n = min(avail, len(c.store)/c.devCh)
	}
	c.raw = c.store[:n*c.devCh]
	if err := c.stream.Read(); err != nil {
		if !errors.Is(err, portaudio.InputOverflowed) {
			return fmt.Errorf("audio: read %q: %w", c.name, err)
		}
		// PortAudio still filled the buffer; the loss was before this read.
		if count := c.overflows.Add(1); count == 1 || count%100 == 0 {
			c.log.Warn("audio input overflowed: samples lost", "device", c.name, "overflows", count)
		}
	}
	c.mapped = mapChannels(c.mapped[:0], c.raw, c.devCh, c.want.Channels)
	if c.rs != nil {
		c.pending = c.rs.Process(c.pending, c.mapped)
	} else {
		c.pending = append(c.pending, c.mapped...)
	}
	return nil
}

// Overflows returns how many reads found that the device had overflowed
// (lost input) since the source was opened. Callers reach it through
// interface{ Overflows() uint64 }.
func (c *captureSource) Overflows() uint64 { return c.overflows.Load() }

// Close implements Source: it waits for a Read in progress, closes the
// stream and releases the source's PortAudio initialisation.
func (c *captureSource) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if err := c.stream.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close stream: %w", err))
	}
	if c.release != nil {
		if err := c.release(); err != nil {
			errs = append(errs, fmt.Errorf("terminate portaudio: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("audio: close %q: %w", c.name, err)
	}
	return nil
}
