// Package uplink publishes and subscribes live Opus audio over WebRTC with
// pion: a WHIP publisher (RFC 9725) with its reconnect policy and stats, and
// the pion API shared with the WHEP subscriber and the relay.
package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// Defaults of PublisherConfig.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultRetryMin       = 1 * time.Second
	DefaultRetryMax       = 30 * time.Second
)

const (
	// stableAfter is how long a session must stay connected for the backoff
	// to start again from RetryMin.
	stableAfter = 10 * time.Second
	// maxRetryAfter bounds a 503's Retry-After (RFC 9725 §4.5).
	maxRetryAfter = 5 * time.Minute
	// deleteTimeout bounds the DELETE sent when a session ends, also when
	// Run's context is already cancelled.
	deleteTimeout = 2 * time.Second
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	URL            string        // the WHIP endpoint URL, already expanded (http or https)
	Token          string        // Bearer token (RFC 9725 §4.7.1); empty for none
	ICEServers     []ICEServer   // configured STUN/TURN, merged with the endpoint's Link ones (RFC 9725 §4.6)
	Network        NetworkConfig // where ICE candidates are gathered
	Channels       int           // 1 (default) or 2: fmtp stereo=1;sprop-stereo=1 (RFC 7587 §6.1)
	RequestTimeout time.Duration // per HTTP request; DefaultRequestTimeout if 0
	RetryMin       time.Duration // first retry wait; DefaultRetryMin if 0
	RetryMax       time.Duration // longest retry wait; DefaultRetryMax if 0
	HTTPClient     *http.Client  // optional; copied, with a WHIP redirect policy if it has no CheckRedirect
	Log            *slog.Logger  // optional; a child logger with component=uplink is used
	// OnState, if set, is called from the Run goroutine on each state change
	// with the error that caused it (nil for connecting, connected, closed).
	OnState func(State, error)
}

// Publisher publishes one Opus track to a WHIP endpoint (RFC 9725) and keeps
// it published: it retries lost sessions with exponential backoff, restarts
// ICE by PATCH where the server allows it, and deletes the session when Run's
// context is cancelled.
type Publisher struct {
	cfg     PublisherConfig
	log     *slog.Logger
	api     *webrtc.API
	track   *webrtc.TrackLocalStaticRTP
	pk      *packetizer
	http    *whipClient
	ownHTTP bool // http.hc was created here: close its idle connections when Run returns

	running   atomic.Bool
	connected atomic.Bool   // state is StateConnected: WriteOpus sends
	restart   chan struct{} // RestartICE requests, buffered 1
	stats     statsRecorder

	stateMu sync.Mutex
	state   State // also in stats; written by the Run goroutine only

	links []ICEServer // ICE servers last learned from Link headers; Run goroutine only
}

// NewPublisher validates cfg, applies its defaults and returns a Publisher.
// Nothing is sent before Run.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("uplink: url %q: must be an absolute http or https URL", cfg.URL)
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("uplink: channels %d: must be 1 or 2", cfg.Channels)
	}
	for _, s := range cfg.ICEServers {
		for _, raw := range s.URLs {
			if _, err := stun.ParseURI(raw); err != nil {
				return nil, fmt.Errorf("uplink: ice server %q: %w", raw, err)
			}
		}
	}
	cfg.RequestTimeout = cmp0(cfg.RequestTimeout, DefaultRequestTimeout)
	cfg.RetryMin = cmp0(cfg.RetryMin, DefaultRetryMin)
	cfg.RetryMax = cmp0(cfg.RetryMax, DefaultRetryMax)
	if cfg.RetryMax < cfg.RetryMin {
		return nil, fmt.Errorf("uplink: retry max %s: must not be less than retry min %s", cfg.RetryMax, cfg.RetryMin)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, err := NewAPI(cfg.Network)
	if err != nil {
		return nil, err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(opusCodec(cfg.Channels).RTPCodecCapability, "audio", "onair")
	if err != nil {
		return nil, fmt.Errorf("uplink: new track: %w", err)
	}
	hc, owned := newHTTPClient(cfg.HTTPClient, cfg.Token)
	return &Publisher{
		cfg:     cfg,
		log:     log.With("component", "uplink", "endpoint", u.Redacted()),
		api:     api,
		track:   track,
		pk:      newPacketizer(track),
		http:    &whipClient{endpoint: cfg.URL, token: cfg.Token, timeout: cfg.RequestTimeout, hc: hc},
		ownHTTP: owned,
		restart: make(chan struct{}, 1),
	}, nil
}

func cmp0(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Run publishes until ctx is cancelled, then deletes the session (with its
// own short timeout) and returns nil. Lost sessions are retried with
// exponential backoff and jitter between RetryMin and RetryMax, or after a
// 503's Retry-After (RFC 9725 §4.5); a 401 or 403 (RFC 9725 §4.7) is not
// retried: Run returns an error wrapping ErrUnauthorized. Every goroutine Run
// starts has ended when it returns. Run may be called again after it
// returned; a concurrent second Run returns ErrAlreadyRunning.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer p.running.Store(false)
	if p.ownHTTP {
		defer p.http.hc.CloseIdleConnections()
	}
	bo := newBackoff(p.cfg.RetryMin, p.cfg.RetryMax)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			p.stats.update(func(s *Stats) { s.Reconnects++ })
		}
		p.step(inAttempt, nil)
		connectedFor, err := p.runOnce(ctx)
		in := classify(err, ctx.Err() != nil)
		if in == inStopped {
			p.step(in, nil)
			return nil
		}
		p.step(in, err)
		if in == inUnauthorized {
			return err
		}
		if connectedFor >= stableAfter {
			bo.reset()
		}
		wait := bo.next()
		if ra := retryAfter(err); ra > 0 {
			wait = min(ra, maxRetryAfter)
		}
		p.log.Warn("session failed, retrying", "err", err, "in", wait.Round(time.Millisecond), "attempt", attempt+1)
		if !sleep(ctx, wait) {
			p.step(inStopped, nil)
			return nil
		}
	}
}

// step feeds one input to the state machine and enters the resulting state.
func (p *Publisher) step(in input, err error) {
	p.enter(next(p.State(), in), err)
}

// enter makes s the current state: it updates the stats, logs the transition
// and calls OnState. Only the Run goroutine calls it.
func (p *Publisher) enter(s State, err error) {
	p.stateMu.Lock()
	prev := p.state
	p.state = s
	p.stateMu.Unlock()
	p.connected.Store(s == StateConnected)
	p.stats.update(func(st *Stats) {
		st.State = s
		switch {
		case err != nil:
			st.LastError = err.Error()
		case s == StateConnected:
			st.LastError = ""
		}
	})
	if prev == s {
		return
	}
	if err != nil {
		p.log.Info(fmt.Sprintf("state %s -> %s", prev, s), "err", err)
	} else {
		p.log.Info(fmt.Sprintf("state %s -> %s", prev, s))
	}
	if p.cfg.OnState != nil {
		p.cfg.OnState(s, err)
	}
}

// State returns the current state.
func (p *Publisher) State() State {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.state
}

// Stats returns a snapshot of the counters and of the last receiver report.
func (p *Publisher) Stats() Stats { return p.stats.snapshot() }

// RestartICE asks the current session to restart ICE (RFC 9725 §4.3.2), e.g.
// after the board changed networks: by PATCH where the server allows it,
// else by a new offer (a new session). It does not wait. A request made
// between sessions is dropped: the next session starts with fresh ICE.
func (p *Publisher) RestartICE() {
	select {
	case p.restart <- struct{}{}:
	default:
	}
}

// WriteOpus sends one Opus packet covering samples on the 48 kHz RTP clock
// (RFC 7587 §4.2). The RTP timestamp advances by samples on every call; an
// empty payload (DTX or a skipped frame) sends nothing and the next packet
// carries the marker bit (RFC 3551 §4.1). While no session is connected the
// packet is dropped and counted in Stats.PacketsDropped. It returns an
// error only when writing to a connected session fails. It is safe for
// concurrent use with Run; the track persists across reconnects.
func (p *Publisher) WriteOpus(payload []byte, samples uint32) error {
	sent, err := p.pk.write(payload, samples, p.connected.Load())
	if err != nil && !p.connected.Load() {
		sent, err = false, nil // the session ended meanwhile: a drop
	}
	switch {
	case sent:
		p.stats.sent.Add(1)
		p.stats.bytes.Add(uint64(len(payload)))
	case len(payload) > 0:
		p.stats.dropped.Add(1)
	}
	return err
}
