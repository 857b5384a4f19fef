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

// ErrPlayerRunning is returned by Run while another Run is in progress.
var ErrPlayerRunning = errors.New("audio: player already running")

// StreamKey names one remote stream of a Player, such as a host's track in
// the channel. A new sender in the same slot (a restarted host) is
// recognised by its jump in sequence numbers or timestamps; a caller that
// knows the SSRC changed may also RemoveStream first.
type StreamKey string

// PlayerConfig configures a Player.
type PlayerConfig struct {
	// Output is the PortAudio output: "default", a device index or part
	// of a device name. Ignored when Sink is set.
	Output string
	// Format is the decode, mix and output format; FrameMs is the output
	// period, one frame of every stream mixed per period.
	Format   Format
	VolumeDB float64 // output volume; 0 leaves the mix unchanged
	// TargetDelay is the jitter buffer delay on a calm network (default
	// 40 ms); MinDelay and MaxDelay bound it (default 20 and 200 ms).
	TargetDelay time.Duration
	MinDelay    time.Duration
	MaxDelay    time.Duration
	Log         *slog.Logger
	// Sink, when set, replaces the PortAudio output (tests, benchmarks);
	// the player closes it.
	Sink Output
	// OnPlayed, when set, is called from Run for every packet whose first
	// sample has just been written to the output (latency measurement).
	OnPlayed func(Played)
	// OnFrame, when set, is called from Run after every frame written
	// (a liveness heartbeat).
	OnFrame func()
	// Now is the clock; default time.Now. Tests use a fake one.
	Now func() time.Time
}

// Played tells when a packet's first sample was written to the output.
type Played struct {
	Stream  StreamKey
	Seq     uint16
	Arrival time.Time // when Push received it
	Written time.Time // when the output write holding its first sample returned
}

// Latency returns Written − Arrival: the receive-to-output time, without
// the device's own latency (PlayerStats.OutputLatency).
func (p Played) Latency() time.Duration { return p.Written.Sub(p.Arrival) }

// PlayerStats describes a Player.
type PlayerStats struct {
	Streams   map[StreamKey]StreamStats
	Frames    uint64 // frames written to the output
	Underruns uint64 // times the output device ran dry
	Level     Level  // of the last frame written, after volume and limiter
	// OutputLatency is the device's own latency as PortAudio reports it;
	// 0 for a sink.
	OutputLatency time.Duration
}

// Player plays the audience side of a channel: every remote stream goes
// through its own jitter buffer and Opus decoder, and the streams are
// mixed, limited and written to one output, one frame per period.
type Player struct {
	cfg    PlayerConfig
	format Format
	jc     JitterConfig
	out    Output
	log    *slog.Logger
	now    func() time.Time
	mix    *Mixer

	volume  atomic.Uint64 // math.Float64bits of dB
	running atomic.Bool
	frames  atomic.Uint64
	level   atomic.Pointer[Level]

	mu      sync.Mutex
	streams map[StreamKey]*stream
	closed  bool

	closeOnce sync.Once
	closeErr  error
}

// NewPlayer opens the output (or takes cfg.Sink) and returns a player.
func NewPlayer(cfg PlayerConfig) (*Player, error) {
	f := cfg.Format
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("audio: player: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "player")
	p := &Player{
		cfg:     cfg,
		format:  f,
		jc:      JitterConfig{Target: cfg.TargetDelay, Min: cfg.MinDelay, Max: cfg.MaxDelay, Frame: f.FrameDuration()},
		log:     log,
		now:     cfg.Now,
		mix:     NewMixer(f, cfg.VolumeDB),
		streams: map[StreamKey]*stream{},
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.SetVolume(cfg.VolumeDB)
	p.level.Store(&Level{RMSDBFS: SilenceDBFS, PeakDBFS: SilenceDBFS})
	if cfg.Sink != nil {
		if cfg.Sink.Format() != f {
			return nil, fmt.Errorf("audio: player: sink format %+v, want %+v", cfg.Sink.Format(), f)
		}
		p.out = cfg.Sink
		return p, nil
	}
	out, err := OpenOutput(cfg.Output, f, log)
	if err != nil {
		return nil, fmt.Errorf("audio: player: %w", err)
	}
	p.out = out
	return p, nil
}

// SetVolume sets the output volume in dB from the next frame on; it is
// safe from any goroutine.
func (p *Player) SetVolume(db float64) { p.volume.Store(math.Float64bits(db)) }

// Push hands the player one received RTP packet of stream key; the
// payload is copied. It is safe from any goroutine (the WebRTC read
// loops); a stream is created at its first packet. After Close it does
// nothing.
func (p *Player) Push(key StreamKey, seq uint16, ts uint32, payload []byte, arrival time.Time) {
	s := p.stream(key)
	if s == nil {
		return
	}
	s.push(seq, ts, payload, arrival)
}

// stream returns the stream for key, creating it; nil after Close.
func (p *Player) stream(key StreamKey) *stream {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if s := p.streams[key]; s != nil {
		return s
	}
	dec, err := NewDecoder(p.format)
	if err != nil { // the format was validated; only allocation can fail
		p.log.Error("audio stream dropped: no decoder", "stream", key, "err", err)
		return nil
	}
	s := newStream(key, p.format, p.jc, dec)
	p.streams[key] = s
	p.log.Info("audio stream added", "stream", key)
	return s
}

// RemoveStream forgets stream key and whatever it still had to play.
func (p *Player) RemoveStream(key StreamKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.streams[key]; ok {
		delete(p.streams, key)
		p.log.Info("audio stream removed", "stream", key)
	}
}

// Run plays until ctx ends or the output fails: every frame period it
// pulls a frame from every stream (silence from those with nothing to
// play), mixes them and writes the mix, silence when nobody plays. The
// output's blocking write sets the pace. It returns ctx's error, or the
// output's error wrapped (ErrOutputClosed after Close).
func (p *Player) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrPlayerRunning
	}
	defer p.running.Store(false)
	mixed := make([]float32, p.format.FrameLen())
	var (
		active []*stream
		bufs   [][]float32
		marks  []mark
		owners []*stream // stream of each mark
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := p.now()
		active = p.snapshot(active[:0])
		for len(bufs) < len(active) {
			bufs = append(bufs, make([]float32, p.format.FrameLen()))
		}
		marks, owners = marks[:0], owners[:0]
		for i, s := range active {
			before := len(marks)
			marks = s.pull(now, bufs[i], marks)
			for range marks[before:] {
				owners = append(owners, s)
			}
		}
		p.mix.SetVolume(math.Float64frombits(p.volume.Load()))
		p.mix.Mix(mixed, bufs[:len(active)])
		if err := p.out.Write(mixed); err != nil {
			return fmt.Errorf("audio: play: %w", err)
		}
		written := p.now()
		p.frames.Add(1)
		if p.cfg.OnFrame != nil {
			p.cfg.OnFrame()
		}
		lvl := MeasureLevel(mixed)
		p.level.Store(&lvl)
		for i, m := range marks {
			owners[i].lastLatency.Store(int64(written.Sub(m.arrival)))
			if p.cfg.OnPlayed != nil {
				p.cfg.OnPlayed(Played{Stream: owners[i].key, Seq: m.seq, Arrival: m.arrival, Written: written})
			}
		}
	}
}

// snapshot appends the current streams to dst.
func (p *Player) snapshot(dst []*stream) []*stream {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.streams {
		dst = append(dst, s)
	}
	return dst
}

// Stats returns the player's statistics.
func (p *Player) Stats() PlayerStats {
	st := PlayerStats{Streams: map[StreamKey]StreamStats{}, Frames: p.frames.Load(), Level: *p.level.Load()}
	for _, s := range p.snapshot(nil) {
		st.Streams[s.key] = s.stats()
	}
	if u, ok := p.out.(interface{ Underflows() uint64 }); ok {
		st.Underruns = u.Underflows()
	}
	if l, ok := p.out.(interface{ Latency() time.Duration }); ok {
		st.OutputLatency = l.Latency()
	}
	return st
}

// Close closes the output (the PortAudio stream) and drops every stream; a
// Run in progress returns ErrOutputClosed. It is safe to call twice.
func (p *Player) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		clear(p.streams)
		p.mu.Unlock()
		if err := p.out.Close(); err != nil {
			p.closeErr = fmt.Errorf("audio: player: %w", err)
		}
	})
	return p.closeErr
}
