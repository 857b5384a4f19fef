package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/internal/backoff"
)

// probeInterval is how often a host on its fallback input, or without
// any, tries its configured input again.
const probeInterval = 3 * time.Second

// idleBeat is how often a host without any input beats the heartbeat
// while it waits to probe again.
const idleBeat = 250 * time.Millisecond

// Event names a session reports through Config.OnEvent.
const (
	EventMicLost       = "mic-lost"
	EventMicRestored   = "mic-restored"
	EventStreamAdded   = "stream-added"
	EventStreamRemoved = "stream-removed"
)

// Event is something a session noticed that the fleet should hear of.
type Event struct {
	Name string // one of the Event… names
	UID  string // the host's uid, for stream events
	Err  error  // why, for mic-lost
}

// capture supervises a host's input: it runs the pipeline on the
// configured input and, when that input is missing or fails (a USB
// microphone unplugged), on the fallback input if one is configured, while
// probing the configured input again; it reports mic-lost and
// mic-restored. It has one pipeline for the session's life, which holds
// the gain and mute: they survive every change of input and of role.
type capture struct {
	cfg     Audio
	log     *slog.Logger
	onEvent func(Event)
	alive   func() // beats the heartbeat while no input runs

	src  swapSource
	pipe *audio.Pipeline
	live atomic.Bool // the pipeline runs on an input: its level is current
	lost bool        // run goroutine only
}

func newCapture(cfg Audio, opus audio.OpusOptions, log *slog.Logger, onEvent func(Event), alive func()) (*capture, error) {
	c := &capture{cfg: cfg, log: log.With("component", "audio"), onEvent: onEvent, alive: alive}
	c.src.format = c.format()
	pipe, err := audio.NewPipeline(audio.PipelineConfig{Source: &c.src, GainDB: cfg.GainDB, Opus: opus, Log: c.log})
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	c.pipe = pipe
	return c, nil
}

// SetGain sets the input gain in dB.
func (c *capture) SetGain(db float64) { c.pipe.SetGain(db) }

// SetMuted mutes or unmutes the input (silence is sent, the stream stays).
func (c *capture) SetMuted(m bool) { c.pipe.SetMuted(m) }

// Level is the input's latest level; silence when no input runs.
func (c *capture) Level() audio.Level {
	if c.live.Load() {
		return c.pipe.Level()
	}
	return audio.Level{RMSDBFS: audio.SilenceDBFS, PeakDBFS: audio.SilenceDBFS}
}

func (c *capture) format() audio.Format {
	return audio.Format{SampleRate: c.cfg.SampleRate, Channels: c.cfg.Channels, FrameMs: c.cfg.FrameMs}
}

// open opens the configured input, else the fallback; fallback says which.
func (c *capture) open() (src audio.Source, fallback bool, err error) {
	src, err = audio.OpenSource(c.cfg.Input, c.format(), c.log)
	if err == nil || c.cfg.FallbackInput == "" {
		return src, false, err
	}
	fb, fbErr := audio.OpenSource(c.cfg.FallbackInput, c.format(), c.log)
	if fbErr != nil {
		return nil, false, errors.Join(err, fbErr)
	}
	c.log.Warn("input unavailable, using the fallback input", "input", c.cfg.Input,
		"fallback", c.cfg.FallbackInput, "error", err)
	return fb, true, nil
}

func (c *capture) setLost(lost bool, err error) {
	if lost == c.lost {
		return
	}
	c.lost = lost
	if lost {
		c.log.Warn("microphone lost", "input", c.cfg.Input, "error", err)
		c.onEvent(Event{Name: EventMicLost, Err: err})
	} else {
		c.log.Info("microphone restored", "input", c.cfg.Input)
		c.onEvent(Event{Name: EventMicRestored})
	}
}

// run captures until ctx ends or emit fails, calling emit with every
// encoded frame; input failures are survived, not returned. Only one run
// may be active at a time. While no input runs (none can be opened, or
// one failed) it keeps probing and calls alive every idleBeat: a board
// without its microphone is alive. A read that stalls calls nothing.
func (c *capture) run(ctx context.Context, emit func(audio.Frame) error) error {
	for ctx.Err() == nil {
		src, fallback, err := c.open()
		if err != nil {
			c.setLost(true, err)
			if !c.idle(ctx, probeInterval) {
				break
			}
			continue
		}
		c.setLost(fallback, fmt.Errorf("input %q unavailable", c.cfg.Input))
		err = c.runSource(ctx, src, fallback, emit)
		_ = src.Close()
		if err != nil && !errors.Is(err, audio.ErrCapture) {
			return err
		}
		if err != nil {
			c.setLost(true, err)
			if !c.idle(ctx, time.Second) {
				break
			}
		}
	}
	return nil
}

// idle waits d, calling alive every idleBeat; false when ctx ended first.
func (c *capture) idle(ctx context.Context, d time.Duration) bool {
	beat := time.NewTicker(idleBeat)
	defer beat.Stop()
	end := time.NewTimer(d)
	defer end.Stop()
	for {
		c.alive()
		select {
		case <-ctx.Done():
			return false
		case <-end.C:
			return true
		case <-beat.C:
		}
	}
}

// runSource runs the pipeline on src until ctx ends, the source fails or,
// on the fallback, the configured input can be opened again.
func (c *capture) runSource(ctx context.Context, src audio.Source, fallback bool, emit func(audio.Frame) error) error {
	c.src.cur = src
	c.live.Store(true)
	defer func() {
		c.live.Store(false)
		c.src.cur = nil
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if fallback {
		go c.probe(ctx, cancel)
	}
	err := c.pipe.Run(ctx, emit)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// probe tries the configured input every probeInterval and calls back
// once it opens.
func (c *capture) probe(ctx context.Context, found func()) {
	for backoff.Sleep(ctx, probeInterval) {
		src, err := audio.OpenSource(c.cfg.Input, c.format(), slog.New(slog.DiscardHandler))
		if err == nil {
			_ = src.Close()
			found()
			return
		}
	}
}

// swapSource is the source of the capture's pipeline: the input the
// capture opened last. cur is set by the run goroutine between runs of
// the pipeline, which reads it from the same goroutine.
type swapSource struct {
	format audio.Format
	cur    audio.Source
}

func (s *swapSource) Format() audio.Format { return s.format }

func (s *swapSource) Read(buf []float32) error {
	if s.cur == nil {
		return audio.ErrClosed
	}
	return s.cur.Read(buf)
}

// Close does nothing: the capture closes each input it opened.
func (s *swapSource) Close() error { return nil }
