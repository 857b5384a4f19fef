package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/config"
	"github.com/onair-dev/onair/uplink"
)

// mediaWait bounds how long SetRole waits for the new role's first media
// (a packet sent, a sample played) after it connected: an audience in a
// channel without hosts plays nothing.
const mediaWait = 3 * time.Second

// SessionConfig configures a Session.
type SessionConfig struct {
	Config  *config.Config // the audio, opus, uplink and webrtc sections
	Channel string         // channel name (channel.ValidateName)
	UID     string         // substituted for {uid} in the endpoint URLs
	Token   string         // Bearer token of the WHIP/WHEP requests
	Role    Role           // the role Run starts in
	Log     *slog.Logger
	// OnState, if set, is called with every state change of the running
	// role's WHIP or WHEP session.
	OnState func(Role, uplink.State, error)
	// OnEvent, if set, is called with mic-lost, mic-restored and stream
	// events; from the session's goroutines.
	OnEvent func(Event)
	// Heartbeat, if set, is beaten at every frame of the audio loop.
	Heartbeat *Heartbeat
}

// Switch reports one role switch, timed from the request.
type Switch struct {
	From, To Role
	// Stopped is when the old role was torn down: its session DELETEd,
	// its audio device closed.
	Stopped time.Duration
	// Connected is when the new role's session was connected.
	Connected time.Duration
	// MediaGap is the time from the old role's last media (last packet
	// sent, last sample played) to the new role's first; 0 when either
	// had none (e.g. an audience in a channel without hosts).
	MediaGap time.Duration
}

// ErrNotRunning is returned by SetRole when Run is not running.
var ErrNotRunning = errors.New("device: session not running")

// Session is a board's membership of one channel in one role at a time:
// as host it publishes its input over WHIP, as audience it plays the hosts
// over WHEP. SetRole switches between them inside the running process.
type Session struct {
	cfg      SessionConfig
	log      *slog.Logger
	switches chan switchRequest
	running  atomic.Bool

	gain  atomic.Uint64 // math.Float64bits of the host input gain, dB
	muted atomic.Bool

	mu    sync.Mutex
	role  Role
	media *media // what the running role holds; nil between roles
}

type switchRequest struct {
	to    Role
	reply chan switchStarted
}

// switchStarted is what Run answers a switch request with once the old
// role has stopped and the new one has started.
type switchStarted struct {
	sw       Switch
	at       time.Time
	lastOld  time.Time // old role's last media, zero if none
	next     *running
	startErr error
}

// NewSession validates cfg and returns a Session; nothing starts before Run.
func NewSession(cfg SessionConfig) (*Session, error) {
	if cfg.Config == nil {
		return nil, errors.New("device: session: no configuration")
	}
	if err := channel.ValidateName(cfg.Channel); err != nil {
		return nil, fmt.Errorf("device: session: %w", err)
	}
	if cfg.Role != RoleHost && cfg.Role != RoleAudience {
		return nil, fmt.Errorf("device: session: role %s: must be host or audience", cfg.Role)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Session{cfg: cfg, log: log, switches: make(chan switchRequest), role: cfg.Role}
	s.gain.Store(math.Float64bits(cfg.Config.Audio.GainDB))
	return s, nil
}

// Role returns the role the session is in or switching to.
func (s *Session) Role() Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

// Run plays the session's role until ctx ends, then tears it down (DELETE,
// devices closed) and returns nil. It returns early with the role's error
// when the role cannot go on: a 401/403 (uplink.ErrUnauthorized) or an
// audio device that failed.
func (s *Session) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("device: session already running")
	}
	defer s.running.Store(false)

	cur, err := s.start(ctx, s.Role())
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return cur.stop()
		case <-cur.done:
			return cur.stop()
		case req := <-s.switches:
			at := time.Now()
			from := s.Role()
			lastOld := cur.lastMedia()
			err := cur.stop()
			started := switchStarted{sw: Switch{From: from, To: req.to, Stopped: time.Since(at)}, at: at, lastOld: lastOld}
			if err != nil {
				s.log.Warn("role ended with an error while switching", "role", from, "error", err)
			}
			s.mu.Lock()
			s.role = req.to
			s.mu.Unlock()
			s.log.Info("switching role", "from", from, "to", req.to)
			cur, started.startErr = s.start(ctx, req.to)
			started.next = cur
			req.reply <- started
			if started.startErr != nil {
				return started.startErr
			}
		}
	}
}

// SetRole switches the running session to role r: the current role's
// session is DELETEd and its device closed, then the new role starts. It
// returns when the new role is connected and has media (or mediaWait
// passed), with the switch's timings. Switching to the current role is a
// no-op.
func (s *Session) SetRole(ctx context.Context, r Role) (Switch, error) {
	if r != RoleHost && r != RoleAudience {
		return Switch{}, fmt.Errorf("device: set role %s: must be host or audience", r)
	}
	if !s.running.Load() {
		return Switch{}, ErrNotRunning
	}
	if cur := s.Role(); cur == r {
		return Switch{From: cur, To: r}, nil
	}
	req := switchRequest{to: r, reply: make(chan switchStarted, 1)}
	select {
	case s.switches <- req:
	case <-ctx.Done():
		return Switch{}, ctx.Err()
	}
	var st switchStarted
	select {
	case st = <-req.reply:
	case <-ctx.Done():
		return Switch{}, ctx.Err()
	}
	if st.startErr != nil {
		return st.sw, st.startErr
	}
	sw := st.sw
	select {
	case <-st.next.connected:
		sw.Connected = st.next.connectedAt().Sub(st.at)
	case <-st.next.done:
		return sw, fmt.Errorf("device: %s role ended while switching", r)
	case <-ctx.Done():
		return sw, ctx.Err()
	}
	select {
	case <-st.next.media:
		if !st.lastOld.IsZero() {
			sw.MediaGap = st.next.firstMedia().Sub(st.lastOld)
		}
	case <-time.After(mediaWait):
	case <-ctx.Done():
		return sw, ctx.Err()
	}
	s.log.Info("role switched", "from", sw.From, "to", sw.To, "stopped", sw.Stopped,
		"connected", sw.Connected, "media_gap", sw.MediaGap)
	return sw, nil
}
