package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Frame is one encoded frame, ready to packetize.
type Frame struct {
	// Payload is the Opus packet; empty when DTX suppressed a silent frame.
	Payload []byte
	// Samples is how far this frame advances the 48 kHz RTP clock.
	Samples uint32
	// Level is the frame's level after gain.
	Level Level
}

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	Source Source // the pipeline reads it; the caller closes it after Run
	GainDB float64
	Opus   OpusOptions
	// Unpaced sends frames as fast as the source gives them (benchmarks);
	// normally the Pacer holds a clockless source to real time.
	Unpaced bool
	Log     *slog.Logger
}

// queueFrames is how many captured frames may wait for the pacer before
// capture blocks (back-pressure, never a drop): a second of 20 ms frames.
const queueFrames = 50

// Pipeline captures frames from a Source, applies gain, measures the level,
// encodes Opus and hands the frames out on the frame clock.
type Pipeline struct {
	cfg    PipelineConfig
	enc    *Encoder
	format Format
	log    *slog.Logger

	gain   atomic.Uint64 // math.Float64bits of the linear gain factor
	level  atomic.Pointer[Level]
	frames atomic.Uint64
}

// NewPipeline returns a pipeline for cfg.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.Source == nil {
		return nil, errors.New("audio: pipeline: no source")
	}
	enc, err := NewEncoder(cfg.Source.Format(), cfg.Opus)
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{cfg: cfg, enc: enc, format: cfg.Source.Format(), log: log}
	p.SetGain(cfg.GainDB)
	p.level.Store(&Level{RMSDBFS: SilenceDBFS, PeakDBFS: SilenceDBFS})
	return p, nil
}

// SetGain changes the input gain, in dB, from the next frame on.
func (p *Pipeline) SetGain(db float64) { p.gain.Store(math.Float64bits(db)) }

// Level returns the level of the most recent frame.
func (p *Pipeline) Level() Level { return *p.level.Load() }

// Frames returns how many frames have been encoded.
func (p *Pipeline) Frames() uint64 { return p.frames.Load() }

type captured struct {
	pcm     []float32
	arrival time.Time
}

// Run captures and encodes until ctx ends or the source fails, calling emit
// with every frame in order; an error from emit stops the pipeline. The
// Frame's Payload is only valid during the call.
func (p *Pipeline) Run(ctx context.Context, emit func(Frame) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	free := make(chan []float32, queueFrames+2)
	for i := 0; i < cap(free); i++ {
		free <- make([]float32, p.format.FrameLen())
	}
	full := make(chan captured, queueFrames)
	var wg sync.WaitGroup
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		readErr = p.capture(ctx, free, full)
	}()

	err := p.encode(ctx, free, full, emit)
	cancel()
	wg.Wait()
	if err == nil {
		err = readErr
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// capture reads frames into buffers from free and queues them on full.
func (p *Pipeline) capture(ctx context.Context, free chan []float32, full chan<- captured) error {
	for {
		var buf []float32
		select {
		case <-ctx.Done():
			return ctx.Err()
		case buf = <-free:
		}
		if err := p.cfg.Source.Read(buf); err != nil {
			return fmt.Errorf("audio: capture: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case full <- captured{pcm: buf, arrival: time.Now()}:
		}
	}
}

// encode paces, measures, encodes and emits queued frames.
func (p *Pipeline) encode(ctx context.Context, free chan<- []float32, full <-chan captured, emit func(Frame) error) error {
	pacer := NewPacer(p.format.FrameDuration())
	out := make([]byte, MaxPacket)
	samples := p.format.RTPSamples()
	for c := range full {
		if !p.cfg.Unpaced {
			if err := pacer.Wait(ctx, c.arrival); err != nil {
				return err
			}
		}
		ApplyGain(c.pcm, math.Float64frombits(p.gain.Load()))
		lvl := MeasureLevel(c.pcm)
		p.level.Store(&lvl)
		n, err := p.enc.Encode(c.pcm, out)
		free <- c.pcm
		if err != nil {
			return err
		}
		p.frames.Add(1)
		if err := emit(Frame{Payload: out[:n], Samples: samples, Level: lvl}); err != nil {
			return err
		}
	}
	return ctx.Err()
}
