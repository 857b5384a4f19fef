// Package relay is onair's embedded channel server: hosts publish Opus into
// a named channel over WHIP (RFC 9725), listeners subscribe over WHEP
// (draft-ietf-wish-whep), and every host of a channel is forwarded to every
// listener without transcoding.
//
// HTTP surface (JSON error bodies {"error":{"code","message"}} on every 4xx
// and 5xx):
//
//	POST   /whip/{channel}        SDP offer, host token → 201 answer, Location, ETag, Link
//	POST   /whep/{channel}        SDP offer, host or audience token → 201 likewise
//	PATCH  /whip|whep/{channel}/{id}  trickle ICE (If-Match: ETag) or ICE restart (If-Match: *)
//	DELETE /whip|whep/{channel}/{id}  leave
//	OPTIONS on both               Link rel="ice-server" (RFC 9725 §4.6), Allow
//	GET    /api/channels, /api/channels/{name}, /healthz
//	/, /listen/…, /assets/…       Config.Web
//
// The session URL, with its 128-bit random ID, is the capability to PATCH
// and DELETE the session: those requests need no token, so that a client
// whose token expired can still leave. The API needs no token either.
//
// Forwarding model: each host of a channel holds a slot, the lowest free
// one in 0..AudienceSlots-1, and local RTP tracks into which the relay
// copies the host's packets. A WHEP offer carries K receive-only audio
// sections; the relay answers them with send-only transceivers, and
// transceiver i carries the host in slot i (RTPSender.ReplaceTrack when
// hosts come and go), so a host's local track fans out to every listener.
// A host has one local track per fan-out shard (one per core, at most 4),
// each written by its own goroutine and bound to a share of the listeners,
// so that the per-listener cost (an SRTP packet and a send) is spread over
// the cores. A listener does not receive the host with its own uid (a
// host subscribed to its own channel does not hear itself): that slot
// stays idle on its transceiver. A slot keeps one RTP numbering across the hosts that hold it,
// and a host leaving its slot is announced to the slot's listeners with an
// RTCP BYE. The relay also decodes each host's Opus to meter its level for
// the API.
//
// Listeners learn each host's uid, never its slot: a host's tracks have
// the media stream id channel.HostStreamID(uid), "onair-host-" and the uid
// percent-encoded to SDP token-chars (e.g. "onair-host-alice"), which the
// answer carries for each occupied slot's section as
// "a=msid:onair-host-alice host-<session>". A host that takes a slot after
// the answer (the sender keeps its SSRC and its negotiated msid) is
// announced to the slot's listeners with an RTCP SDES (RFC 3550 §6.5) for
// the slot's SSRC whose CNAME is that stream id, at once and again to a
// listener when it connects. A slot's host leaving is an RTCP BYE.
//
// Access is by HS256 tokens (package token) naming the channel, the uid and
// the role; anonymous access exists only when configured.
package relay

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/netutil"

	"github.com/onair-dev/onair/internal/defaults"
	"github.com/onair-dev/onair/internal/rtcapi"
	"github.com/onair-dev/onair/token"
)

// Defaults of Config.
const (
	DefaultMaxSessions       = defaults.RelayMaxSessions
	DefaultAudienceSlots     = defaults.RelayHostSlots
	DefaultDisconnectTimeout = defaults.RelayDisconnectTimeout
	DefaultConnectTimeout    = defaults.RelayConnectTimeout
)

// maxShards bounds the fan-out shards of a host: one per core, at most
// this many.
const maxShards = 4

// shutdownTimeout bounds the graceful HTTP shutdown when Run's context ends.
const shutdownTimeout = 2 * time.Second

// Config configures a Relay.
type Config struct {
	// Listen is the TCP address Run serves HTTP on, e.g. ":8080".
	Listen string
	// TokenSecret is the HS256 secret tokens are verified with (at least
	// token.MinSecretLen bytes). Empty is refused unless AllowAnonymous.
	TokenSecret string
	// AllowAnonymous admits requests without a token: POST /whip as a host
	// and POST /whep as an audience of the channel in the URL, with the uid
	// of the "uid" query parameter or a generated one. A token that is
	// present is still verified when TokenSecret is set; without a secret,
	// tokens are ignored.
	AllowAnonymous bool
	// MaxSessions bounds the sessions of every channel together, hosts and
	// audiences; DefaultMaxSessions if 0.
	MaxSessions int
	// MaxHostsPerChannel bounds the hosts of one channel; AudienceSlots if
	// 0. It cannot exceed AudienceSlots: every host needs a slot.
	MaxHostsPerChannel int
	// AudienceSlots is how many hosts an audience receives at most, one per
	// transceiver of its offer; DefaultAudienceSlots if 0.
	AudienceSlots int
	// ICEServers are announced to clients in Link rel="ice-server" header
	// fields (RFC 9725 §4.6) and used by the relay's own PeerConnections
	// (uplink.ICEServer is the same type).
	ICEServers []rtcapi.ICEServer
	// Network selects where the relay gathers ICE candidates
	// (uplink.NetworkConfig is the same type).
	Network rtcapi.NetworkConfig
	// DisconnectTimeout is how long a session may stay with ICE
	// disconnected or failed before it is torn down (reaped);
	// DefaultDisconnectTimeout if 0. pion itself notices a silent peer
	// after about 5 s, so a vanished client is reaped that long plus
	// DisconnectTimeout after its last packet.
	DisconnectTimeout time.Duration
	// ConnectTimeout is how long a session may take to connect, after its
	// creation or an ICE restart, before it is torn down;
	// DefaultConnectTimeout if 0.
	ConnectTimeout time.Duration
	// MaxPendingPerUID bounds the sessions of one uid of a channel that
	// are not connected yet, MaxPendingPerAddr those of one remote address
	// (an IPv6 /64); beyond, 429 with Retry-After. Hosts with a verified
	// token are not counted. DefaultMaxPendingPerUID and
	// DefaultMaxPendingPerAddr if 0.
	MaxPendingPerUID  int
	MaxPendingPerAddr int
	// HostReserve is how many of MaxSessions audiences may not take: an
	// audience is refused (503) while the relay holds MaxSessions -
	// HostReserve sessions. If 0, DefaultHostReserve or a quarter of
	// MaxSessions, whichever is less; less than MaxSessions.
	HostReserve int
	// ReadTimeout bounds the reading of a request, headers and body,
	// WriteTimeout the handling and answer of one, IdleTimeout how long a
	// keep-alive connection may wait for its next request; MaxConns bounds
	// the connections served at once (more wait to be accepted).
	// DefaultReadTimeout, DefaultWriteTimeout, DefaultIdleTimeout and
	// DefaultMaxConns if 0.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	MaxConns     int
	// CertFile and KeyFile, both set, make Run and Serve speak HTTPS with
	// this PEM certificate (chain) and key; neither set, plain HTTP.
	// Browsers give a page the microphone only on a secure origin.
	CertFile, KeyFile string
	// Web, if set, serves every request that is not WHIP, WHEP or the API:
	// "/", "/listen/…" and "/assets/…". Without it those paths are 404.
	Web http.Handler
}

// withDefaults returns c with zero values replaced by the defaults, or an
// error naming the bad field.
func (c Config) withDefaults() (Config, error) {
	if c.TokenSecret == "" && !c.AllowAnonymous {
		return c, fmt.Errorf("%w: set the token secret or allow anonymous access", ErrNoSecret)
	}
	if c.TokenSecret != "" && len(c.TokenSecret) < token.MinSecretLen {
		return c, fmt.Errorf("relay: token secret: %d bytes, at least %d", len(c.TokenSecret), token.MinSecretLen)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max sessions", int64(c.MaxSessions)},
		{"max hosts per channel", int64(c.MaxHostsPerChannel)},
		{"audience slots", int64(c.AudienceSlots)},
		{"disconnect timeout", int64(c.DisconnectTimeout)},
		{"connect timeout", int64(c.ConnectTimeout)},
		{"max pending per uid", int64(c.MaxPendingPerUID)},
		{"max pending per address", int64(c.MaxPendingPerAddr)},
		{"host reserve", int64(c.HostReserve)},
		{"read timeout", int64(c.ReadTimeout)},
		{"write timeout", int64(c.WriteTimeout)},
		{"idle timeout", int64(c.IdleTimeout)},
		{"max connections", int64(c.MaxConns)},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("relay: %s: must not be negative", f.name)
		}
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.AudienceSlots == 0 {
		c.AudienceSlots = DefaultAudienceSlots
	}
	if c.MaxHostsPerChannel == 0 {
		c.MaxHostsPerChannel = c.AudienceSlots
	}
	if c.MaxHostsPerChannel > c.AudienceSlots {
		return c, fmt.Errorf("relay: max hosts per channel %d: must not exceed audience slots %d", c.MaxHostsPerChannel, c.AudienceSlots)
	}
	if c.DisconnectTimeout == 0 {
		c.DisconnectTimeout = DefaultDisconnectTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxPendingPerUID == 0 {
		c.MaxPendingPerUID = DefaultMaxPendingPerUID
	}
	if c.MaxPendingPerAddr == 0 {
		c.MaxPendingPerAddr = DefaultMaxPendingPerAddr
	}
	if c.HostReserve == 0 {
		c.HostReserve = min(DefaultHostReserve, c.MaxSessions/4)
	}
	c.ReadTimeout = cmp.Or(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	if c.HostReserve >= c.MaxSessions {
		return c, fmt.Errorf("relay: host reserve %d: must be less than max sessions %d", c.HostReserve, c.MaxSessions)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return c, errors.New("relay: tls: set both the certificate and the key file, or neither")
	}
	for _, s := range c.ICEServers {
		for _, u := range s.URLs {
			if _, err := stun.ParseURI(u); err != nil {
				return c, fmt.Errorf("relay: ice server %q: %w", u, err)
			}
		}
	}
	return c, nil
}

// Relay is the channel server. Its Handler may be served by any HTTP
// server; Run serves it on Config.Listen.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	api    *webrtc.API
	secret []byte
	links  []string    // Link header field values of the ICE servers
	tls    *tls.Config // nil: plain HTTP
	mux    http.Handler

	shards int // fan-out shards per host (slotWriter)

	mu        sync.Mutex
	closed    bool
	sessions  map[string]*session
	channels  map[string]*channel
	nextShard int // the shard of the next audience, modulo shards

	pendingUID  map[string]int // pending sessions by pendingKeys.uid
	pendingAddr map[string]int // pending sessions by pendingKeys.addr

	wg        sync.WaitGroup // session loops
	closeOnce sync.Once
	done      chan struct{} // closed by Close
}

// New returns a relay for cfg. It refuses an empty TokenSecret unless
// AllowAnonymous is set. log may be nil.
func New(cfg Config, log *slog.Logger) (*Relay, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, err := rtcapi.NewAPI(cfg.Network)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{
		cfg:      cfg,
		log:      log.With("component", "relay"),
		api:      api,
		secret:   []byte(cfg.TokenSecret),
		shards:   min(runtime.GOMAXPROCS(0), maxShards),
		links:    iceLinks(cfg.ICEServers),
		sessions: map[string]*session{},
		channels: map[string]*channel{},
		done:     make(chan struct{}),

		pendingUID:  map[string]int{},
		pendingAddr: map[string]int{},
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("relay: tls certificate: %w", err)
		}
		r.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	r.mux = r.routes()
	if cfg.TokenSecret == "" {
		r.log.Warn("anonymous access: no token secret, tokens are not checked")
	} else if cfg.AllowAnonymous {
		r.log.Warn("anonymous access allowed for requests without a token")
	}
	return r, nil
}

// Handler returns the relay's HTTP handler: WHIP, WHEP, the API and Web.
func (r *Relay) Handler() http.Handler { return r.mux }

// Run serves the relay on Config.Listen until ctx ends, then shuts the HTTP
// server down, closes every session and returns nil. It returns an error if
// it cannot listen or the server fails.
func (r *Relay) Run(ctx context.Context) error {
	if r.cfg.Listen == "" {
		return errors.New("relay: listen address: empty")
	}
	ln, err := net.Listen("tcp", r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("relay: listen: %w", err)
	}
	return r.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened; it closes ln. It speaks
// HTTPS on it when Config has a certificate. It also returns, with nil,
// when Close is called.
func (r *Relay) Serve(ctx context.Context, ln net.Listener) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		_ = ln.Close()
		return ErrClosed
	}
	srv := r.httpServer()
	ln = netutil.LimitListener(ln, r.cfg.MaxConns)
	scheme := "http"
	if r.tls != nil {
		scheme = "https"
		ln = tls.NewListener(ln, r.tls)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	r.log.Info("relay listening", "addr", ln.Addr().String(), "scheme", scheme)
	select {
	case err := <-errc:
		r.Close()
		return fmt.Errorf("relay: serve: %w", err)
	case <-ctx.Done():
	case <-r.done:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		r.log.Warn("http server", "err", err)
	}
	r.Close()
	r.log.Info("relay stopped")
	return nil
}

// Close tears every session down and refuses new ones (503). It returns
// once every goroutine of every session has ended. It is safe to call more
// than once and concurrently.
func (r *Relay) Close() {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.done)
		all := make([]*session, 0, len(r.sessions))
		for _, s := range r.sessions {
			all = append(all, s)
		}
		r.mu.Unlock()
		// Tear down in parallel: closing a PeerConnection waits for its
		// goroutines, a few milliseconds each.
		work := make(chan *session)
		var wg sync.WaitGroup
		for range min(len(all), 16) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := range work {
					r.teardown(s, "relay closed")
				}
			}()
		}
		for _, s := range all {
			work <- s
		}
		close(work)
		wg.Wait()
	})
	r.wg.Wait()
}

// Sessions returns how many sessions (hosts and audiences, every channel)
// the relay holds, each with one PeerConnection.
func (r *Relay) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
