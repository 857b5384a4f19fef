// Package session is a board's membership of one channel: the role it
// plays (host or audience), switched live inside the process, with the
// audio devices and the WHIP or WHEP session of each role.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-dev/onair/audio"
	"github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/uplink"
)

// mediaWait bounds how long SetRole waits for the new role's first media
// (a packet sent, a sample played) after it connected: an audience in a
// channel without hosts plays nothing.
const mediaWait = 3 * time.Second

// Config configures a Session.
type Config struct {
	Channel string       // channel name (channel.ValidateName)
	UID     string       // substituted for {uid} in the endpoint URLs
	Token   string       // Bearer token of the WHIP/WHEP requests
	Role    channel.Role // the role Run starts in
	Audio   Audio
	Opus    audio.OpusOptions // the host's encoder
	Uplink  Uplink
	Log     *slog.Logger
	// OnState, if set, is called with every state change of the running
	// role's WHIP or WHEP session.
	OnState func(channel.Role, uplink.State, error)
	// OnEvent, if set, is called with mic-lost, mic-restored and stream
	// events; from the session's goroutines.
	OnEvent func(Event)
	// Heartbeat, if set, is beaten at every frame of the audio loop.
	Heartbeat *Heartbeat
}

// Audio is a session's audio devices and format.
type Audio struct {
	// Input is the host's input (audio.OpenSource); FallbackInput is
	// played while Input cannot be opened, empty for none.
	Input, FallbackInput string
	Output               string        // the audience's output (audio.NewPlayer)
	SampleRate           int           // of the input, Hz
	Channels             int           // 1 or 2
	FrameMs              int           // 10, 20, 40 or 60
	GainDB               float64       // the host input gain Run starts with
	VolumeDB             float64       // the audience's output volume
	JitterDelay          time.Duration // the audience's jitter buffer target
}

// Uplink is where and how a session's roles connect.
type Uplink struct {
	// WHIPURL and WHEPURL are the endpoint templates of the host and the
	// audience role; {channel} and {uid} are substituted.
	WHIPURL, WHEPURL string
	RequestTimeout   time.Duration // per HTTP request; the uplink's default if 0
	RetryMin         time.Duration // first retry pause; the uplink's default if 0
	RetryMax         time.Duration // longest retry pause; the uplink's default if 0
	ICEServers       []uplink.ICEServer
	Network          uplink.NetworkConfig
}

// Switch reports one role switch, timed from the request.
type Switch struct {
	From, To channel.Role
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
var ErrNotRunning = errors.New("session: not running")

// Session is a board's membership of one channel in one role at a time:
// as host it publishes its input over WHIP, as audience it plays the hosts
// over WHEP. SetRole switches between them inside the running process.
type Session struct {
	cfg      Config
	log      *slog.Logger
	switches chan switchRequest
	running  atomic.Bool
	capture  *capture // the host's input, kept across roles: it holds gain and mute

	mu    sync.Mutex
	role  channel.Role
	media *media // what the running role holds; nil between roles
}

type switchRequest struct {
	to    channel.Role
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

// New validates cfg and returns a Session; nothing starts before Run.
func New(cfg Config) (*Session, error) {
	if err := channel.ValidateName(cfg.Channel); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if !validRole(cfg.Role) {
		return nil, fmt.Errorf("session: role %s: must be host or audience", cfg.Role)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Session{cfg: cfg, log: log, switches: make(chan switchRequest), role: cfg.Role}
	capt, err := newCapture(cfg.Audio, cfg.Opus, log, s.event, cfg.Heartbeat.beat)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s.capture = capt
	return s, nil
}

func validRole(r channel.Role) bool { return r == channel.RoleHost || r == channel.RoleAudience }

// Role returns the role the session is in or switching to.
func (s *Session) Role() channel.Role {
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
		return errors.New("session: already running")
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
func (s *Session) SetRole(ctx context.Context, r channel.Role) (Switch, error) {
	if !validRole(r) {
		return Switch{}, fmt.Errorf("session: set role %s: must be host or audience", r)
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
		return sw, fmt.Errorf("session: %s role ended while switching", r)
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
