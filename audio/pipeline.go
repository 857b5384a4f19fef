package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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

// ErrCapture is wrapped by the error Run returns when the source failed
// (a microphone unplugged), as opposed to an error from emit.
var ErrCapture = errors.New("audio: capture")

// Pipeline captures frames from a Source, applies gain, measures the level,
// encodes Opus and hands the frames out on the frame clock.
type Pipeline struct {
	cfg    PipelineConfig
	enc    *Encoder
	format Format
	log    *slog.Logger

	gain   atomic.Uint64 // math.Float64bits of the gain in dB
	muted  atomic.Bool
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

// SetMuted mutes or unmutes the input from the next frame on: a muted
// pipeline encodes silence, so the stream stays up; the level still
// measures the input, so a dashboard sees the microphone is alive.
func (p *Pipeline) SetMuted(m bool) { p.muted.Store(m) }

// Level returns the level of the most recent frame.
func (p *Pipeline) Level() Level { return *p.level.Load() }

// Frames returns how many frames have been encoded.
func (p *Pipeline) Frames() uint64 { return p.frames.Load() }

// Run captures and encodes until ctx ends or the source fails, calling emit
// with every frame in order; an error from emit stops the pipeline. The
// Frame's Payload is only valid during the call.
//
// One goroutine reads, paces, encodes and emits: a real device buffers
// what it captures meanwhile (PortAudio's stream buffer), a clockless
// source simply waits, so nothing is dropped and no frame changes threads.
func (p *Pipeline) Run(ctx context.Context, emit func(Frame) error) error {
	pacer := NewPacer(p.format.FrameDuration())
	pcm := make([]float32, p.format.FrameLen())
	out := make([]byte, MaxPacket)
	samples := p.format.RTPSamples()
	for ctx.Err() == nil {
		if err := p.cfg.Source.Read(pcm); err != nil {
			return fmt.Errorf("%w: %w", ErrCapture, err)
		}
		if !p.cfg.Unpaced {
			if err := pacer.Wait(ctx, time.Now()); err != nil {
				return err
			}
		}
		if gain := math.Float64frombits(p.gain.Load()); gain != 0 {
			ApplyGain(pcm, gain)
		}
		lvl := MeasureLevel(pcm)
		p.level.Store(&lvl)
		if p.muted.Load() {
			clear(pcm)
		}
		n, err := p.enc.Encode(pcm, out)
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
