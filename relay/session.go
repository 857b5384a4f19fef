package relay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// kind says what a session does in its channel.
type kind int

const (
	kindUnknown  kind = iota
	kindHost          // WHIP: publishes one audio track
	kindAudience      // WHEP: receives every host
)

// String returns "host", "audience" or "unknown(N)".
func (k kind) String() string {
	switch k {
	case kindHost:
		return "host"
	case kindAudience:
		return "audience"
	default:
		return fmt.Sprintf("unknown(%d)", int(k))
	}
}

// prefix returns the URL path prefix of the session kind's endpoint.
func (k kind) prefix() string {
	if k == kindHost {
		return "/whip/"
	}
	return "/whep/"
}

// phase is a session's connectivity as the relay judges it.
type phase int

const (
	phaseUnknown      phase = iota
	phaseConnecting         // ICE new or checking: ConnectTimeout runs
	phaseConnected          // ICE connected or completed
	phaseDisconnected       // ICE disconnected or failed: DisconnectTimeout runs
	phaseGone               // PeerConnection closed, or DTLS failed: tear down now
)

// String returns the phase's lower-case name.
func (p phase) String() string {
	switch p {
	case phaseConnecting:
		return "connecting"
	case phaseConnected:
		return "connected"
	case phaseDisconnected:
		return "disconnected"
	case phaseGone:
		return "gone"
	default:
		return fmt.Sprintf("unknown(%d)", int(p))
	}
}

// nextPhase works out a session's phase from its PeerConnection's states
// alone. A failed PeerConnection whose ICE failed may still be rescued by
// an ICE restart, so it counts as disconnected; one that failed otherwise
// (DTLS) is gone.
func nextPhase(ice webrtc.ICEConnectionState, pc webrtc.PeerConnectionState) phase {
	switch pc {
	case webrtc.PeerConnectionStateClosed:
		return phaseGone
	case webrtc.PeerConnectionStateFailed:
		if ice != webrtc.ICEConnectionStateFailed && ice != webrtc.ICEConnectionStateDisconnected {
			return phaseGone
		}
	}
	switch ice {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		return phaseConnected
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed:
		return phaseDisconnected
	case webrtc.ICEConnectionStateClosed:
		return phaseGone
	default:
		return phaseConnecting
	}
}

// eventKind says what a pion callback reported.
type eventKind int

const (
	evState eventKind = iota + 1 // ICE or PeerConnection state changed
	evTrack                      // a remote track arrived (hosts)
)

// event is what pion's callbacks send into the session loop; the loop
// re-reads the current states from the PeerConnection.
type event struct {
	kind  eventKind
	track *webrtc.TrackRemote
	recv  *webrtc.RTPReceiver
}

// session is one WHIP or WHEP session: a PeerConnection and its resource.
// id, kind, channel, uid, pc, log and the host/audience parts are set before
// the session is admitted and never change.
type session struct {
	id      string
	kind    kind
	channel string
	uid     string
	since   time.Time
	pc      *webrtc.PeerConnection
	log     *slog.Logger

	host *hostPart     // kindHost
	aud  *audiencePart // kindAudience

	events chan event    // from pion callbacks to the loop
	quit   chan struct{} // closed when the session is torn down

	op      sync.Mutex     // serialises offer/answer work: the POST's, PATCHes
	mu      sync.Mutex     // guards closing, wg.Add and the signalling fields below
	closing bool           // teardown began: no new goroutines, no PATCH
	wg      sync.WaitGroup // the session's goroutines other than its loop
	etag    string         // entity-tag of the resource (RFC 9725 §4.3.1)
	offer   string         // the remote offer, with ICE attributes as last patched
	ufrag   string         // the remote ICE ufrag in effect

	teardownOnce sync.Once

	anon    bool        // admitted without a token
	keys    pendingKeys // what its pendency is counted under
	pending bool        // counted as pending (limits.go); Relay.mu guards it

	// candidates counts the remote ICE candidates of the current ICE
	// generation, offered and trickled, up to maxCandidates; op guards it.
	candidates int
}

// newSessionID returns a random resource ID: 128 bits, so the session URL
// cannot be guessed (it is the capability to PATCH and DELETE the session).
func newSessionID() string { return randomHex(16) }

// newETag returns a fresh strong entity-tag (RFC 9110 §8.8.3).
func newETag() string { return `"` + randomHex(8) + `"` }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

// location is the path of the session's resource.
func (s *session) location() string {
	return s.kind.prefix() + escapeSegment(s.channel) + "/" + s.id
}

// wire connects pion's callbacks to the session's event channel. The
// callbacks only send events; the loop acts on them.
func (s *session) wire() {
	s.pc.OnICEConnectionStateChange(func(webrtc.ICEConnectionState) { s.send(event{kind: evState}) })
	s.pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { s.send(event{kind: evState}) })
	if s.kind == kindHost {
		s.pc.OnTrack(func(t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
			s.send(event{kind: evTrack, track: t, recv: rcv})
		})
	}
}

// send hands an event to the loop; it gives up once the session is torn
// down.
func (s *session) send(ev event) {
	select {
	case s.events <- ev:
	case <-s.quit:
	}
}

// spawn runs f in a goroutine of the session unless teardown began; it
// reports whether f was started.
func (s *session) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
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

// loop handles the session's events until it is torn down: it starts the
// host's forwarding when its track arrives and reaps the session when it
// does not connect within ConnectTimeout or stays disconnected for
// DisconnectTimeout.
func (r *Relay) loop(s *session) {
	defer r.wg.Done()
	cur := phaseUnknown
	var timer *time.Timer
	var timeout <-chan time.Time
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer, timeout = nil, nil
		}
	}
	defer stopTimer()
	// enter performs the effects of moving to phase p.
	enter := func(p phase) {
		if p == cur {
			return
		}
		msg := fmt.Sprintf("session state %s -> %s", cur, p)
		if p == phaseDisconnected {
			s.log.Info(msg, "reaped_in", r.cfg.DisconnectTimeout)
		} else {
			s.log.Debug(msg)
		}
		cur = p
		stopTimer()
		if p == phaseConnected {
			r.connected(s)
		}
		switch p {
		case phaseConnecting:
			timer = time.NewTimer(r.cfg.ConnectTimeout)
		case phaseDisconnected:
			timer = time.NewTimer(r.cfg.DisconnectTimeout)
		}
		if timer != nil {
			timeout = timer.C
		}
	}
	enter(nextPhase(s.pc.ICEConnectionState(), s.pc.ConnectionState()))
	announced := false // an audience's hosts, once it connected
	for {
		select {
		case <-s.quit:
			return
		case <-timeout:
			why := "not connected within the connect timeout"
			if cur == phaseDisconnected {
				why = "ice disconnected for the disconnect timeout"
			}
			r.teardown(s, why)
			return
		case ev := <-s.events:
			switch ev.kind {
			case evTrack:
				r.startForwarding(s, ev.track, ev.recv)
			case evState:
				p := nextPhase(s.pc.ICEConnectionState(), s.pc.ConnectionState())
				enter(p)
				if p == phaseGone {
					r.teardown(s, "peer connection "+s.pc.ConnectionState().String())
					return
				}
				if s.kind == kindAudience && !announced && s.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
					announced = true
					r.announceHosts(s)
				}
			}
		}
	}
}

// teardown ends the session at once: it leaves its channel (its listeners
// lose its track, its slot is freed), leaves the relay's table, closes the
// PeerConnection and waits for the session's goroutines (not its loop,
// which may be the caller and ends on quit). It is safe to call more than
// once and from any goroutine but the session's forwarders.
func (r *Relay) teardown(s *session, why string) {
	s.teardownOnce.Do(func() {
		r.remove(s)
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		close(s.quit)
		if err := s.pc.GracefulClose(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
		s.wg.Wait()
		s.log.Info("session closed", "why", why)
	})
}
