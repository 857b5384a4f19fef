package uplink

import (
	"github.com/onair-dev/onair/internal/sdpfrag"
	"strings"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

const (
	// gatherTimeout bounds the wait for ICE gathering before an offer or an
	// ICE restart fragment is sent; later candidates are trickled.
	gatherTimeout = 2 * time.Second
	// disconnectedGrace is how long ICE may stay disconnected before ICE is
	// restarted.
	disconnectedGrace = 3 * time.Second
	// newICEGrace is how long a session whose 201 brought new ICE servers
	// may take to connect before ICE is restarted to gather with them.
	newICEGrace = 3 * time.Second
)

// eventKind says what a pion callback or a media goroutine reported.
type eventKind int

const (
	evPCState   eventKind = iota + 1 // PeerConnection state changed
	evICEState                       // ICE connection state changed
	evCandidate                      // a local candidate was gathered
	evMedia                          // the role's media goroutines reported something
)

// event is what a pion callback or a media goroutine sends into the session
// loop. The loop re-reads the current state from the PeerConnection rather
// than trusting a possibly stale event.
type event struct {
	kind  eventKind
	cand  string // evCandidate: the candidate attribute value
	media any    // evMedia: the role's payload, for role.handle
}

// session is one WHIP or WHEP session: a PeerConnection and its resource on
// the server. Its fields are used by the Run goroutine only, except events
// and done, shared with pion's callbacks and the media goroutines, and wg.
type session struct {
	c       *client
	log     *slog.Logger
	pc      *webrtc.PeerConnection
	servers []ICEServer
	res     *resource       // nil until the POST succeeded
	local   sdpfrag.Frag    // our ICE parameters as last sent to the server
	sent    map[string]bool // candidates the server has (offer, restart, trickle)
	patchOK bool            // PATCH not refused yet (RFC 9725 §4.3.1)
	newICE  bool            // the 201 brought ICE servers the PeerConnection lacked

	events chan event
	done   chan struct{} // closed when the loop stops listening

	wg      sync.WaitGroup
	spawnMu sync.Mutex
	closing bool // guarded by spawnMu: spawn starts nothing more
}

// runOnce runs one session: OPTIONS for ICE servers, a PeerConnection, the
// POST of the offer, then the event loop until the session is lost or ctx is
// cancelled. The session is deleted and closed before it returns. It returns
// how long the session was connected and why it ended.
func (c *client) runOnce(ctx context.Context) (time.Duration, error) {
	d, err := c.runSession(ctx)
	if err != nil {
		err = fmt.Errorf("uplink: %w", err)
	}
	return d, err
}

func (c *client) runSession(ctx context.Context) (time.Duration, error) {
	select { // a restart asked for before this session is moot
	case <-c.restart:
	default:
	}
	links, err := c.http.options(ctx)
	switch {
	case errors.Is(err, ErrUnauthorized):
		// The pre-flight carries the token the POST would: a 401 or 403 to
		// it is the same refusal (MediaMTX answers the POST that follows
		// with 400, which would be retried for ever).
		return 0, err
	case err != nil:
		c.log.Debug("no ice servers from options", "err", err)
	case len(links) > 0:
		c.links = links
	}
	servers, _ := mergeICEServers(c.cfg.ICEServers, c.links)
	api, err := c.api(ctx)
	if err != nil {
		return 0, err
	}
	s, err := c.newSession(api, servers)
	if err != nil {
		return 0, err
	}
	defer s.close(ctx)
	if err := c.role.prepare(s); err != nil {
		return 0, err
	}
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	return s.loop(ctx)
}

// newSession creates the PeerConnection and wires pion's callbacks to the
// session's event channel; the role adds its transceivers next.
func (c *client) newSession(api *webrtc.API, servers []ICEServer) (*session, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: PionICEServers(servers)})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	s := &session{
		c:       c,
		log:     c.log,
		pc:      pc,
		servers: servers,
		sent:    map[string]bool{},
		events:  make(chan event, 64),
		done:    make(chan struct{}),
	}
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { s.send(event{kind: evPCState}) })
	pc.OnICEConnectionStateChange(func(webrtc.ICEConnectionState) { s.send(event{kind: evICEState}) })
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			s.send(event{kind: evCandidate, cand: candidateValue(c.ToJSON().Candidate)})
		}
	})
	return s, nil
}

// spawn runs f in a goroutine that close waits for, unless the session is
// closing (pion calls OnTrack handlers in goroutines of its own, which may
// run late). It reports whether f was started.
func (s *session) spawn(f func()) bool {
	s.spawnMu.Lock()
	defer s.spawnMu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// send hands an event to the loop; it gives up once the loop has stopped
// and then reports false. An event may still be queued after the loop
// stopped: close hands the media ones to the role.
func (s *session) send(ev event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.done:
		return false
	}
}

// start makes the offer, waits (bounded) for ICE gathering, POSTs it and
// applies the answer.
func (s *session) start(ctx context.Context) error {
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	s.waitGathering(ctx)
	local := s.pc.LocalDescription()
	params, err := sdpfrag.FromSDP(local.SDP)
	if err != nil {
		return fmt.Errorf("local offer: %w", err)
	}
	if len(params.Candidates) == 0 && ctx.Err() == nil {
		return s.noCandidates()
	}
	// When ctx ends, the POST gets a short grace instead of being cut at
	// once: a server may already have created the resource, which must
	// then be DELETEd, not left behind.
	postCtx, cancelPost := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPost()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(deleteTimeout, cancelPost) })
	defer stopGrace()
	res, err := s.c.http.postOffer(postCtx, local.SDP)
	if err != nil {
		return err
	}
	// Without a Location (go2rtc answers so) there is no resource to PATCH
	// or DELETE: leaving closes the PeerConnection only.
	s.res, s.patchOK = res, res.location != ""
	if err := ctx.Err(); err != nil {
		return err
	}
	s.setLocal(params)
	if res.location == "" {
		s.log.Warn("session created, but the server gave no resource URL (no Location): no trickle ice, ice restart or delete")
	} else {
		s.log.Info("session created", "location", res.location)
	}
	if len(res.links) > 0 {
		s.c.links = res.links
		s.newICE = s.applyLinks(res.links)
	}
	answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.answer}
	if err := s.pc.SetRemoteDescription(answer); err != nil {
		return fmt.Errorf("set answer: %w: %w", ErrBadAnswer, err)
	}
	return nil
}

// noCandidates is the error of an offer without candidates, with what the
// configuration allowed, for the log.
func (s *session) noCandidates() error {
	n := s.c.cfg.Network
	switch {
	case len(n.Interfaces) > 0:
		return fmt.Errorf("%w (interfaces %s)", ErrNoCandidates, strings.Join(n.Interfaces, ", "))
	case n.NoLoopback:
		return fmt.Errorf("%w (loopback left out by webrtc.loopback: false)", ErrNoCandidates)
	}
	return ErrNoCandidates
}

// applyLinks adds the ICE servers of the 201's Link header (RFC 9725 §4.6)
// that the PeerConnection does not have yet; pion uses them from the next
// ICE restart on (and the next session starts with them). It reports whether
// servers were added.
func (s *session) applyLinks(links []ICEServer) bool {
	merged, added := mergeICEServers(s.servers, links)
	if !added {
		return false
	}
	cfg := s.pc.GetConfiguration()
	cfg.ICEServers = PionICEServers(merged)
	if err := s.pc.SetConfiguration(cfg); err != nil {
		s.log.Warn("cannot apply ice servers from link header", "err", err)
		return false
	}
	s.servers = merged
	s.log.Info("ice servers from link header applied for the next gathering", "servers", len(merged))
	return true
}

// setLocal records what the server now knows of our ICE parameters.
func (s *session) setLocal(params sdpfrag.Frag) {
	s.local = params
	for _, c := range params.Candidates {
		s.sent[c] = true
	}
}

// waitGathering waits for ICE gathering to complete, at most gatherTimeout.
func (s *session) waitGathering(ctx context.Context) {
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-webrtc.GatheringCompletePromise(s.pc):
	case <-t.C:
		s.log.Debug("ice gathering not complete, trickling the rest")
	case <-ctx.Done():
	}
}

// close ends the session: it stops the loop's event intake, DELETEs the
// resource (RFC 9725 §4.2) with its own timeout even when ctx is cancelled,
// closes the PeerConnection, waits for the session's goroutines, hands the
// media events still queued to the role and tells it the session ended.
func (s *session) close(ctx context.Context) {
	s.c.role.setConnected(false)
	close(s.done)
	if s.res != nil && s.res.location != "" {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		if err := s.c.http.delete(dctx, s.res.location); err != nil {
			s.log.Warn("cannot delete session", "location", s.res.location, "err", err)
		} else {
			s.log.Info("session deleted", "location", s.res.location)
		}
		cancel()
	}
	s.spawnMu.Lock()
	s.closing = true
	s.spawnMu.Unlock()
	if err := s.pc.GracefulClose(); err != nil {
		s.log.Warn("close peer connection", "err", err)
	}
	s.wg.Wait()
	for drained := false; !drained; {
		select {
		case ev := <-s.events:
			if ev.kind == evMedia {
				s.c.role.handle(s, ev.media)
			}
		default:
			drained = true
		}
	}
	s.c.role.ended(s)
}

// candidateValue returns a candidate string without its "candidate:" prefix,
// the form used in SDP attribute values.
func candidateValue(c string) string {
	return strings.TrimPrefix(strings.TrimPrefix(c, "a="), "candidate:")
}
