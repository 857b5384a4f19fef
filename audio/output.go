package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gordonklaus/portaudio"
)

// ErrOutputClosed is returned by Write after Close.
var ErrOutputClosed = errors.New("audio: output closed")

// Output plays consecutive frames of interleaved float32 PCM.
type Output interface {
	// Format is the format of the frames Write takes.
	Format() Format
	// Write plays one frame, len Format().FrameLen(); it blocks while the
	// device's buffer is full, or, for a device without a clock, until the
	// frame is due on the frame clock.
	Write(frame []float32) error
	// Close releases the output; it is safe to call twice.
	Close() error
}

// FuncOutput is an Output that hands each frame to a function: a sink for
// tests, benchmarks and pipes. It is not paced.
type FuncOutput struct {
	format Format
	fn     func(frame []float32) error

	mu     sync.Mutex
	closed bool
}

// NewFuncOutput returns an output of format f calling fn with every frame;
// the frame is only valid during the call, and an error from fn is
// returned by Write.
func NewFuncOutput(f Format, fn func(frame []float32) error) *FuncOutput {
	return &FuncOutput{format: f, fn: fn}
}

// Format implements Output.
func (o *FuncOutput) Format() Format { return o.format }

// Write implements Output.
func (o *FuncOutput) Write(frame []float32) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrOutputClosed
	}
	if len(frame) != o.format.FrameLen() {
		return fmt.Errorf("audio: write: %w: %d samples, want %d", ErrFrameSize, len(frame), o.format.FrameLen())
	}
	return o.fn(frame)
}

// Close implements Output.
func (o *FuncOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	return nil
}

// OpenOutput opens the PortAudio output named by spec for frames of want,
// matched like an input (see OpenSource): "default", a device index, or
// the output with that name, else the first whose name contains it. A
// device that cannot play want's rate is opened at its own and fed
// through a Resampler; a mono format is duplicated to a stereo-only device.
func OpenOutput(spec string, want Format, log *slog.Logger) (Output, error) {
	if err := want.Validate(); err != nil {
		return nil, fmt.Errorf("audio: open output %q: %w", spec, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("output", spec)
	return openDevice(spec, directionOutput, func(dev *portaudio.DeviceInfo) (Output, error) {
		return openPlayback(dev, want, log)
	})
}

// playbackStream is the part of a blocking *portaudio.Stream an output
// uses: Write plays the buffer given when the stream was opened, the
// output's raw slice, read through a pointer so its length can change.
type playbackStream interface {
	Write() error
	Stop() error
	Close() error
}

// playbackOutput writes to a PortAudio output through a blocking stream,
// converting to the device's rate and channel count.
type playbackOutput struct {
	want    Format
	name    string
	log     *slog.Logger
	devCh   int
	rate    int
	rs      *Resampler // nil when the device runs at want.SampleRate
	pacer   *Pacer     // holds a clockless device to real time
	latency time.Duration

	stream  playbackStream
	release func() error

	underflows atomic.Uint64

	mu     sync.Mutex // held for a whole Write; Close waits for it
	closed bool
	conv   []float32 // resampled frame
	raw    []float32 // the stream's buffer: the frame as the device takes it
}

// newPlaybackOutput returns an output, without a stream yet, that converts
// want to devCh channels at rate Hz.
func newPlaybackOutput(want Format, name string, devCh, rate int, log *slog.Logger) (*playbackOutput, error) {
	o := &playbackOutput{want: want, name: name, log: log, devCh: devCh, rate: rate, pacer: NewPacer(want.FrameDuration())}
	if rate != want.SampleRate {
		var err error
		if o.rs, err = NewResampler(want.SampleRate, rate, want.Channels); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// openPlayback opens dev for want; paMu must be held and PortAudio
// initialised once for the output (its Close terminates it).
func openPlayback(dev *portaudio.DeviceInfo, want Format, log *slog.Logger) (*playbackOutput, error) {
	// At least two frames of device buffer, so a frame's scheduling delay
	// does not underrun it; a device's low latency where that is more.
	latency := max(dev.DefaultLowOutputLatency, 2*want.FrameDuration())
	params := func(ch int, rate float64) portaudio.StreamParameters {
		p := portaudio.HighLatencyParameters(nil, dev)
		p.Output.Channels = ch
		p.Output.Latency = latency
		p.SampleRate = rate
		p.FramesPerBuffer = portaudio.FramesPerBufferUnspecified
		return p
	}
	probe := make([]float32, 2) // IsFormatSupported infers float32 from it
	ch, rate, err := chooseCapture(dev.MaxOutputChannels, dev.DefaultSampleRate, want, func(ch, rate int) bool {
		return portaudio.IsFormatSupported(params(ch, float64(rate)), probe) == nil
	})
	if err != nil {
		return nil, fmt.Errorf("device %d %q: %w", dev.Index, dev.Name, err)
	}
	o, err := newPlaybackOutput(want, dev.Name, ch, rate, log)
	if err != nil {
		return nil, fmt.Errorf("device %d %q: %w", dev.Index, dev.Name, err)
	}
	stream, err := portaudio.OpenStream(params(ch, float64(rate)), &o.raw)
	if err != nil {
		return nil, fmt.Errorf("device %d %q: open stream %d Hz %d ch: %w", dev.Index, dev.Name, rate, ch, err)
	}
	if err := stream.Start(); err != nil {
		_ = stream.Close()
		return nil, fmt.Errorf("device %d %q: start stream: %w", dev.Index, dev.Name, err)
	}
	if info := stream.Info(); info != nil {
		o.latency = info.OutputLatency
	}
	o.stream = stream
	o.release = func() error {
		paMu.Lock()
		defer paMu.Unlock()
		return portaudio.Terminate()
	}
	conversion := "none"
	if rate != want.SampleRate {
		conversion = fmt.Sprintf("resample %d -> %d Hz", want.SampleRate, rate)
	}
	if ch != want.Channels {
		conversion += fmt.Sprintf(", %d -> %d channels", want.Channels, ch)
	}
	host := ""
	if dev.HostApi != nil {
		host = dev.HostApi.Name
	}
	log.Info("audio output opened", "device", dev.Name, "index", dev.Index, "host_api", host,
		"device_rate", rate, "device_channels", ch, "rate", want.SampleRate, "channels", want.Channels,
		"conversion", conversion, "latency", o.latency)
	return o, nil
}

// Format implements Output.
func (o *playbackOutput) Format() Format { return o.want }

// Write implements Output. The frame clock holds writes to real time, so
// a device without a clock (ALSA's file plugin) plays in real time; a
// real device's blocking write is slower than the clock allows, never
// held. An output underflow (the device ran dry because Write was late)
// is counted and logged, not returned.
func (o *playbackOutput) Write(frame []float32) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrOutputClosed
	}
	if len(frame) != o.want.FrameLen() {
		return fmt.Errorf("audio: write %q: %w: %d samples, want %d", o.name, ErrFrameSize, len(frame), o.want.FrameLen())
	}
	in := frame
	if o.rs != nil {
		o.conv = o.rs.Process(o.conv[:0], frame)
		in = o.conv
	}
	o.raw = mapChannels(o.raw[:0], in, o.want.Channels, o.devCh)
	if len(o.raw) == 0 {
		return nil
	}
	if err := o.pacer.Wait(context.Background(), time.Now()); err != nil {
		return fmt.Errorf("audio: write %q: %w", o.name, err)
	}
	if err := o.stream.Write(); err != nil {
		if !errors.Is(err, portaudio.OutputUnderflowed) {
			return fmt.Errorf("audio: write %q: %w", o.name, err)
		}
		if n := o.underflows.Add(1); n == 1 || n%100 == 0 {
			o.log.Warn("audio output underflowed: the device played silence", "device", o.name, "underflows", n)
		}
	}
	return nil
}

// Underflows returns how many writes found that the device had run dry.
// Callers reach it through interface{ Underflows() uint64 }.
func (o *playbackOutput) Underflows() uint64 { return o.underflows.Load() }

// Latency returns the device's output latency as PortAudio reports it:
// roughly how long a written sample takes to reach the speaker. Callers
// reach it through interface{ Latency() time.Duration }.
func (o *playbackOutput) Latency() time.Duration { return o.latency }

// Close implements Output: it waits for a Write in progress, lets the
// device play what it holds, closes the stream and releases the output's
// PortAudio initialisation.
func (o *playbackOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	if err := o.stream.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop stream: %w", err))
	}
	if err := o.stream.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close stream: %w", err))
	}
	if o.release != nil {
		if err := o.release(); err != nil {
			errs = append(errs, fmt.Errorf("terminate portaudio: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("audio: close output %q: %w", o.name, err)
	}
	return nil
}
