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

	"github.com/onair-dev/onair/internal/backoff"
	"github.com/onair-dev/onair/internal/defaults"
	"github.com/onair-dev/onair/internal/rtcapi"
)

// Defaults of PublisherConfig and SubscriberConfig.
const (
	DefaultRequestTimeout = defaults.UplinkRequestTimeout
	DefaultRetryMin       = defaults.UplinkRetryMin
	DefaultRetryMax       = defaults.UplinkRetryMax
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

// iceTimeouts is ICE consent freshness (RFC 7675) of the clients' sessions
// unless NetworkConfig.Timeouts says otherwise: a far end that stopped
// answering (a relay killed, a link cut) is disconnected after 2 s rather
// than pion's 5 s, and a session whose candidate pairs never answer fails
// after 10 s of checking rather than 30 s.
var iceTimeouts = rtcapi.ICETimeouts{Disconnected: 2 * time.Second, Failed: 8 * time.Second, Keepalive: 500 * time.Millisecond}

// endpointConfig is what PublisherConfig and SubscriberConfig share: the
// endpoint, its token, ICE and the retry policy. Its fields mean what the
// same fields of PublisherConfig mean.
type endpointConfig struct {
	URL, Token                         string
	ICEServers                         []ICEServer
	Network                            NetworkConfig
	RequestTimeout, RetryMin, RetryMax time.Duration
	HTTPClient                         *http.Client
	Log                                *slog.Logger
	OnState                            func(State, error)
}

// check validates c and applies its defaults.
func (c *endpointConfig) check() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("uplink: url %q: must be an absolute http or https URL", c.URL)
	}
	for _, s := range c.ICEServers {
		for _, raw := range s.URLs {
			if _, err := stun.ParseURI(raw); err != nil {
				return fmt.Errorf("uplink: ice server %q: %w", raw, err)
			}
		}
	}
	c.RequestTimeout = cmp0(c.RequestTimeout, DefaultRequestTimeout)
	c.RetryMin = cmp0(c.RetryMin, DefaultRetryMin)
	c.RetryMax = cmp0(c.RetryMax, DefaultRetryMax)
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("uplink: retry max %s: must not be less than retry min %s", c.RetryMax, c.RetryMin)
	}
	return nil
}

func cmp0(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// role is what a Publisher or a Subscriber adds to the session machinery
// they share: the media sections of the offer and what is done with media.
type role interface {
	// prepare adds the transceivers of the offer to s.pc, before the offer
	// is made, and wires their media; goroutines are started by s.spawn.
	prepare(s *session) error
	// setConnected says whether the session is connected; it is called from
	// the Run goroutine.
	setConnected(connected bool)
	// handle handles the payload of an evMedia event in the session loop.
	handle(s *session, payload any)
	// ended is called from the Run goroutine once the session's
	// PeerConnection is closed and its goroutines have returned.
	ended(s *session)
}

// status is what the client reports of its sessions in Stats and
// SubscriberStats.
type status struct {
	State       State
	LastError   string // why the last session attempt failed; cleared when connected
	Reconnects  int    // session attempts (POSTs) after the first one of Run
	ICERestarts int    // ICE restarts attempted by PATCH (RFC 9725 §4.3.2)
}

// client runs sessions with one WHIP or WHEP endpoint for a role: the
// OPTIONS/POST/PATCH/DELETE exchange (RFC 9725 §4; draft-ietf-wish-whep §4
// uses the same one), the PeerConnection, ICE restarts, and the retry loop
// with its state machine. Publisher and Subscriber are thin roles on it.
type client struct {
	cfg     endpointConfig
	role    role
	log     *slog.Logger
	host    string               // the endpoint's host, for the loopback choice
	apis    map[bool]*webrtc.API // by NetworkConfig.Loopback as ForPeer chose it; Run goroutine only
	http    *whipClient
	ownHTTP bool // http.hc was created here: close its idle connections when Run returns

	running atomic.Bool
	restart chan struct{} // RestartICE requests, buffered 1

	mu     sync.Mutex
	status status // State is written by the Run goroutine only

	links []ICEServer // ICE servers last learned from Link headers; Run goroutine only
}

// newClient validates cfg, applies its defaults and returns a client for
// it; name says which role it serves in the log.
func newClient(cfg endpointConfig, name string, r role) (*client, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL) // check parsed it
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Network.Timeouts == (rtcapi.ICETimeouts{}) {
		cfg.Network.Timeouts = iceTimeouts
	}
	api, err := NewAPI(cfg.Network)
	if err != nil {
		return nil, err
	}
	hc, owned := newHTTPClient(cfg.HTTPClient, cfg.Token)
	return &client{
		cfg:     cfg,
		role:    r,
		log:     log.With("component", "uplink", "role", name, "endpoint", u.Redacted()),
		host:    u.Hostname(),
		apis:    map[bool]*webrtc.API{cfg.Network.Loopback: api},
		http:    &whipClient{endpoint: cfg.URL, token: cfg.Token, timeout: cfg.RequestTimeout, hc: hc},
		ownHTTP: owned,
		restart: make(chan struct{}, 1),
	}, nil
}

// api returns the pion API for the next session: with loopback candidates
// when the configuration says so or lets it be chosen and the endpoint is
// on this machine or no other interface is up (NetworkConfig.ForPeer,
// decided anew for each session: interfaces come and go).
func (c *client) api(ctx context.Context) (*webrtc.API, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	n := c.cfg.Network.ForPeer(ctx, c.host)
	if api := c.apis[n.Loopback]; api != nil {
		return api, nil
	}
	api, err := NewAPI(n)
	if err != nil {
		return nil, err
	}
	c.apis[n.Loopback] = api
	if n.Loopback {
		c.log.Info("gathering loopback candidates too", "host", c.host)
	}
	return api, nil
}

// run keeps a session up until ctx is cancelled: the Run of Publisher and
// Subscriber, documented there.
func (c *client) run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer c.running.Store(false)
	if c.ownHTTP {
		defer c.http.hc.CloseIdleConnections()
	}
	bo := backoff.New(c.cfg.RetryMin, c.cfg.RetryMax)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.update(func(s *status) { s.Reconnects++ })
		}
		c.step(inAttempt, nil)
		connectedFor, err := c.runOnce(ctx)
		in := classify(err, ctx.Err() != nil)
		if in == inStopped {
			c.step(in, nil)
			return nil
		}
		c.step(in, err)
		if in == inUnauthorized {
			return err
		}
		if connectedFor >= stableAfter {
			bo.Reset()
		}
		wait := bo.Next()
		if ra := retryAfter(err); ra > 0 {
			wait = min(ra, maxRetryAfter)
		}
		c.log.Warn("session failed, retrying", "err", err, "in", wait.Round(time.Millisecond), "attempt", attempt+1)
		if !backoff.Sleep(ctx, wait) {
			c.step(inStopped, nil)
			return nil
		}
	}
}

// step feeds one input to the state machine and enters the resulting state.
func (c *client) step(in input, err error) {
	c.enter(next(c.state(), in), err)
}

// enter makes s the current state: it updates the status, tells the role,
// logs the transition and calls OnState. Only the Run goroutine calls it.
func (c *client) enter(s State, err error) {
	c.mu.Lock()
	prev := c.status.State
	c.status.State = s
	switch {
	case err != nil:
		c.status.LastError = err.Error()
	case s == StateConnected:
		c.status.LastError = ""
	}
	c.mu.Unlock()
	c.role.setConnected(s == StateConnected)
	if prev == s {
		return
	}
	if err != nil {
		c.log.Info(fmt.Sprintf("state %s -> %s", prev, s), "err", err)
	} else {
		c.log.Info(fmt.Sprintf("state %s -> %s", prev, s))
	}
	if c.cfg.OnState != nil {
		c.cfg.OnState(s, err)
	}
}

func (c *client) state() State { return c.snapshot().State }

func (c *client) snapshot() status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *client) update(f func(s *status)) {
	c.mu.Lock()
	f(&c.status)
	c.mu.Unlock()
}

// restartICE queues a request for the session loop; see
// Publisher.RestartICE.
func (c *client) restartICE() {
	select {
	case c.restart <- struct{}{}:
	default:
	}
}
