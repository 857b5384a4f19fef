package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/internal/backoff"
)

// probeInterval is how often a host on its fallback input, or without
// any, tries its configured input again.
const probeInterval = 3 * time.Second

// Event names a session reports through SessionConfig.OnEvent.
const (
	EventMicLost       = "mic-lost"
	EventMicRestored   = "mic-restored"
	EventStreamAdded   = "stream-added"
	EventStreamRemoved = "stream-removed"
)

// Event is something a session noticed that the fleet should hear of.
type Event struct {
	Name string // one of the Event… names
	UID  string // the stream's slot, for stream events
	Err  error  // why, for mic-lost
}

// capture supervises a host's input: it runs the pipeline on the
// configured input and, when that input is missing or fails (a USB
// microphone unplugged), on the fallback input if one is configured, while
// probing the configured input again; it reports mic-lost and
// mic-restored. Gain and mute survive every change of input.
type capture struct {
	cfg     *config.Config
	log     *slog.Logger
	onEvent func(Event)

	gain  atomic.Uint64 // math.Float64bits, dB
	muted atomic.Bool
	pipe  atomic.Pointer[audio.Pipeline]
	lost  bool // run goroutine only
}

func newCapture(cfg *config.Config, log *slog.Logger, onEvent func(Event)) *capture {
	c := &capture{cfg: cfg, log: log.With("component", "audio"), onEvent: onEvent}
	c.SetGain(cfg.Audio.GainDB)
	return c
}

// SetGain sets the input gain in dB.
func (c *capture) SetGain(db float64) {
	c.gain.Store(math.Float64bits(db))
	if p := c.pipe.Load(); p != nil {
		p.SetGain(db)
	}
}

// SetMuted mutes or unmutes the input (silence is sent, the stream stays).
func (c *capture) SetMuted(m bool) {
	c.muted.Store(m)
	if p := c.pipe.Load(); p != nil {
		p.SetMuted(m)
	}
}

// Level is the input's latest level; silence when no input runs.
func (c *capture) Level() audio.Level {
	if p := c.pipe.Load(); p != nil {
		return p.Level()
	}
	return audio.Level{RMSDBFS: audio.SilenceDBFS, PeakDBFS: audio.SilenceDBFS}
}

func (c *capture) format() audio.Format {
	a := c.cfg.Audio
	return audio.Format{SampleRate: a.SampleRate, Channels: a.Channels, FrameMs: a.FrameMs}
}

// open opens the configured input, else the fallback; fallback says which.
func (c *capture) open() (src audio.Source, fallback bool, err error) {
	src, err = audio.OpenSource(c.cfg.Audio.Input, c.format(), c.log)
	if err == nil || c.cfg.Audio.FallbackInput == "" {
		return src, false, err
	}
	fb, fbErr := audio.OpenSource(c.cfg.Audio.FallbackInput, c.format(), c.log)
	if fbErr != nil {
		return nil, false, errors.Join(err, fbErr)
	}
	c.log.Warn("input unavailable, using the fallback input", "input", c.cfg.Audio.Input,
		"fallback", c.cfg.Audio.FallbackInput, "error", err)
	return fb, true, nil
}

func (c *capture) setLost(lost bool, err error) {
	if lost == c.lost {
		return
	}
	c.lost = lost
	if lost {
		c.log.Warn("microphone lost", "input", c.cfg.Audio.Input, "error", err)
		c.onEvent(Event{Name: EventMicLost, Err: err})
	} else {
		c.log.Info("microphone restored", "input", c.cfg.Audio.Input)
		c.onEvent(Event{Name: EventMicRestored})
	}
}

// run captures until ctx ends or emit fails, calling emit with every
// encoded frame; input failures are survived, not returned.
func (c *capture) run(ctx context.Context, emit func(audio.Frame) error) error {
	for ctx.Err() == nil {
		src, fallback, err := c.open()
		if err != nil {
			c.setLost(true, err)
			if !backoff.Sleep(ctx, probeInterval) {
				break
			}
			continue
		}
		c.setLost(fallback, fmt.Errorf("input %q unavailable", c.cfg.Audio.Input))
		err = c.runSource(ctx, src, fallback, emit)
		_ = src.Close()
		if err != nil && !errors.Is(err, audio.ErrCapture) {
			return err
		}
		if err != nil {
			c.setLost(true, err)
			if !backoff.Sleep(ctx, time.Second) {
				break
			}
		}
	}
	return nil
}

// runSource runs a pipeline on src until ctx ends, the source fails or,
// on the fallback, the configured input can be opened again.
func (c *capture) runSource(ctx context.Context, src audio.Source, fallback bool, emit func(audio.Frame) error) error {
	pipe, err := audio.NewPipeline(audio.PipelineConfig{
		Source: src, GainDB: math.Float64frombits(c.gain.Load()), Opus: opusOptions(c.cfg), Log: c.log,
	})
	if err != nil {
		return err
	}
	pipe.SetMuted(c.muted.Load())
	c.pipe.Store(pipe)
	defer c.pipe.Store(nil)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if fallback {
		go c.probe(ctx, cancel)
	}
	err = pipe.Run(ctx, emit)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// probe tries the configured input every probeInterval and calls back
// once it opens.
func (c *capture) probe(ctx context.Context, found func()) {
	for backoff.Sleep(ctx, probeInterval) {
		src, err := audio.OpenSource(c.cfg.Audio.Input, c.format(), slog.New(slog.DiscardHandler))
		if err == nil {
			_ = src.Close()
			found()
			return
		}
	}
}
