// Package whiptest is a scripted WHIP server (RFC 9725) or WHEP server
// (draft-ietf-wish-whep-03) for tests: a real pion peer behind an
// httptest.Server on 127.0.0.1. It answers offers with 201 Created and
// records every request. As a WHIP server it receives the Opus track (every
// RTP packet and the decoded audio) and sends RTCP Receiver Reports back; as
// a WHEP server it sends Opus sine tones, one per audio section, and counts
// the Receiver Reports it gets. Either can be told to misbehave: Link ICE
// servers, Bearer token checks, 503 with Retry-After, redirects, PATCH
// refused, bad answers, a PeerConnection closed from the server side, a
// network outage.
package whiptest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/nettest"
	"github.com/onair-dev/onair/internal/rtcapi"
	"github.com/onair-dev/onair/internal/rtctest"
)

// SessionPrefix is the path under which a WHIP server creates session
// resources: SessionPrefix + "<n>", n counting from 1.
const SessionPrefix = "/whip/session/"

// WHEPSessionPrefix is SessionPrefix of a WHEP server.
const WHEPSessionPrefix = "/whep/session/"

// Mode says which way the media of a Server goes.
type Mode int

// Modes of a Server.
const (
	// WHIP: the server receives one Opus track (RFC 9725).
	WHIP Mode = iota
	// WHEP: the server sends Config.Tones (draft-ietf-wish-whep-03).
	WHEP
)

// Config configures a Server.
type Config struct {
	// Mode is WHIP (the zero value) or WHEP.
	Mode Mode
	// Channels is the channel count the Opus stream is decoded with (WHIP):
	// 1 (default) or 2. PCM() is mono either way.
	Channels int
	// Tones (WHEP) are the frequencies in Hz of the mono Opus sines the
	// server sends, 20 ms frames paced by a ticker: tone i on the i-th
	// audio section of every offer. One Opus stream per tone is shared by
	// every session, as a relay's track is.
	Tones []float64
	// Network is where the server's peer gathers candidates; nil means the
	// loopback interface "lo" only. Its Net, if set, disables SetFrozen.
	Network *rtcapi.NetworkConfig
}

// Request is one HTTP request the server received.
type Request struct {
	Time          time.Time
	Method        string
	Path          string
	Authorization string
	ContentType   string
	IfMatch       string
	Body          string
}

// Packet is one RTP packet received on a session's audio track.
type Packet struct {
	Session        int // session ID
	SequenceNumber uint16
	Timestamp      uint32
	Marker         bool
	SSRC           uint32
	PayloadType    uint8
	PayloadSize    int
	Arrival        time.Time
}

// Session is a snapshot of one session resource.
type Session struct {
	ID          int
	Location    string // the path answered in Location
	ETag        string // current entity-tag
	State       webrtc.PeerConnectionState
	Deleted     bool // a DELETE was received
	Closed      bool // closed from the server side by CloseSession
	BadAnswer   bool // answered with a bad SDP by script
	Packets     int  // RTP packets received
	Trickles    int  // trickle PATCHes applied
	ICERestarts int  // ICE restart PATCHes applied
	RemoteUfrag string
	// ReceiverReports counts the RTCP reception report blocks received
	// about the server's tones (WHEP, RFC 3550 §6.4.2).
	ReceiverReports int
}

type redirect struct {
	to   string
	code int
}

// Server is a scripted WHIP or WHEP server. Its methods are safe for
// concurrent use.
type Server struct {
	mode     Mode
	prefix   string // SessionPrefix or WHEPSessionPrefix
	channels int
	tones    []*tone // WHEP
	api      *webrtc.API
	hs       *httptest.Server
	wg       sync.WaitGroup // media goroutines
	stop     chan struct{}  // closed by Close: the tone pacer stops
	once     sync.Once
	frozen   atomic.Bool // the peers' UDP drops everything

	mu          sync.Mutex
	closed      bool
	links       []string
	token       string
	forbidden   string
	fail503     int
	retryAfter  string
	redirects   map[string]redirect
	refusePatch bool
	refuseOpts  bool
	badAnswers  int
	etags       int
	requests    []Request
	sessions    []*session
	packets     []Packet
	pcm         []float32
}

// New starts a Server on a random port of 127.0.0.1.
func New(cfg Config) (*Server, error) {
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("whiptest: channels %d: must be 1 or 2", cfg.Channels)
	}
	if cfg.Mode != WHIP && cfg.Mode != WHEP {
		return nil, fmt.Errorf("whiptest: mode %d: must be WHIP or WHEP", cfg.Mode)
	}
	if cfg.Mode == WHIP && len(cfg.Tones) > 0 {
		return nil, errors.New("whiptest: tones: a WHIP server sends no media")
	}
	network := rtcapi.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true}
	if cfg.Network != nil {
		network = *cfg.Network
	}
	s := &Server{mode: cfg.Mode, prefix: SessionPrefix, channels: cfg.Channels,
		redirects: map[string]redirect{}, stop: make(chan struct{})}
	if cfg.Mode == WHEP {
		s.prefix = WHEPSessionPrefix
		for _, hz := range cfg.Tones {
			tn, err := newTone(hz, len(s.tones))
			if err != nil {
				return nil, fmt.Errorf("whiptest: %w", err)
			}
			s.tones = append(s.tones, tn)
		}
	}
	if network.Net == nil {
		fn, err := nettest.NewFreezeNet(&s.frozen)
		if err != nil {
			return nil, fmt.Errorf("whiptest: %w", err)
		}
		network.Net = fn
	}
	api, err := rtctest.NewAPI(network)
	if err != nil {
		return nil, fmt.Errorf("whiptest: %w", err)
	}
	s.api = api
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	if len(s.tones) > 0 {
		s.wg.Add(1)
		go s.pace()
	}
	return s, nil
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.hs.URL }

// Endpoint is the endpoint URL, URL()+"/whip" (or "/whep" for a WHEP
// server). POSTs to any other path that is not a session resource are
// accepted too.
func (s *Server) Endpoint() string {
	if s.mode == WHEP {
		return s.hs.URL + "/whep"
	}
	return s.hs.URL + "/whip"
}

// SessionPath is the path of session id: SessionPrefix or
// WHEPSessionPrefix, then id.
func (s *Server) SessionPath(id int) string { return s.prefix + strconv.Itoa(id) }

// Close stops the HTTP server, closes every PeerConnection and waits for the
// server's goroutines. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		s.hs.Close()
		s.mu.Lock()
		sessions := slices.Clone(s.sessions)
		s.mu.Unlock()
		for _, sess := range sessions {
			if sess.pc != nil {
				_ = sess.pc.GracefulClose()
			}
		}
		s.wg.Wait()
	})
}

// SetLinks sets the Link header field values sent on OPTIONS and on 201,
// e.g. `<stun:127.0.0.1:3478>; rel="ice-server"` (RFC 9725 §4.6).
func (s *Server) SetLinks(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.links = slices.Clone(values)
}

// SetToken makes POST, PATCH and DELETE require "Authorization: Bearer
// token": 401 otherwise. An empty token accepts anything.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetForbiddenToken makes requests bearing token answered with 403.
func (s *Server) SetForbiddenToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden = token
}

// FailPOSTs answers the next n POSTs with 503 and, unless retryAfter is
// empty, a Retry-After header with that value.
func (s *Server) FailPOSTs(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail503, s.retryAfter = n, retryAfter
}

// Redirect answers POSTs to path from with code (307 or 308) and Location to.
func (s *Server) Redirect(from, to string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirects[from] = redirect{to: to, code: code}
}

// SetPatchAllowed allows (the default) or refuses PATCH with 405
// (RFC 9725 §4.3.1).
func (s *Server) SetPatchAllowed(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusePatch = !allowed
}

// SetOptionsAllowed allows (the default) or refuses OPTIONS with 405; Link
// headers then come with the 201 only.
func (s *Server) SetOptionsAllowed(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseOpts = !allowed
}

// BadAnswers answers the next n POSTs with 201 and a body that is not SDP.
func (s *Server) BadAnswers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badAnswers = n
}

// SetFrozen starts (true) or ends a network outage of the server's peers:
// their UDP sockets drop every packet both ways, HTTP keeps working.
func (s *Server) SetFrozen(frozen bool) { s.frozen.Store(frozen) }

// CloseSession closes the PeerConnection of the newest live session from
// the server side (DTLS close_notify reaches the client); the resource stays.
func (s *Server) CloseSession() error {
	s.mu.Lock()
	var sess *session
	for i := len(s.sessions) - 1; i >= 0; i-- {
		if c := s.sessions[i]; c.pc != nil && !c.deleted && !c.closed {
			sess = c
			break
		}
	}
	if sess != nil {
		sess.closed = true
	}
	s.mu.Unlock()
	if sess == nil {
		return errors.New("whiptest: no live session")
	}
	return sess.pc.GracefulClose()
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// RequestsOf returns the requests with the given method, oldest first.
func (s *Server) RequestsOf(method string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// Deletes returns how many DELETE requests were received.
func (s *Server) Deletes() int { return len(s.RequestsOf(http.MethodDelete)) }

// Packets returns every RTP packet received, in arrival order.
func (s *Server) Packets() []Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.packets)
}

// SessionPackets returns the RTP packets received on session id.
func (s *Server) SessionPackets(id int) []Packet {
	var out []Packet
	for _, p := range s.Packets() {
		if p.Session == id {
			out = append(out, p)
		}
	}
	return out
}

// PCM returns the decoded audio of every session, mono float32 at 48 kHz,
// in arrival order, with packet-loss concealment for short gaps.
func (s *Server) PCM() []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pcm)
}

// Sessions returns a snapshot of every session created, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		out = append(out, sess.snapshot())
	}
	return out
}

// WaitFor polls cond until it is true or timeout passes.
func (s *Server) WaitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("whiptest: condition not met after %s", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// WaitPackets waits until at least n RTP packets were received in total.
func (s *Server) WaitPackets(n int, timeout time.Duration) error {
	if err := s.WaitFor(timeout, func() bool { return len(s.Packets()) >= n }); err != nil {
		return fmt.Errorf("whiptest: %d of %d packets after %s", len(s.Packets()), n, timeout)
	}
	return nil
}

// WaitSessions waits until at least n sessions were created.
func (s *Server) WaitSessions(n int, timeout time.Duration) error {
	if err := s.WaitFor(timeout, func() bool { return len(s.Sessions()) >= n }); err != nil {
		return fmt.Errorf("whiptest: %d of %d sessions after %s", len(s.Sessions()), n, timeout)
	}
	return nil
}
