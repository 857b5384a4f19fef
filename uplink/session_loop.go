package uplink

import (
	"github.com/onair-dev/onair/internal/sdpfrag"

	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// loop handles the session's events until it is lost or ctx is cancelled.
// ICE is restarted when it failed, stayed disconnected for
// disconnectedGrace, on RestartICE, or when the 201 brought new ICE servers
// and the session did not connect within newICEGrace. It returns how long
// the session was connected.
func (s *session) loop(ctx context.Context) (time.Duration, error) {
	var (
		startedAt   = time.Now()
		connectedAt time.Time
		graceC      <-chan time.Time // ICE disconnected for disconnectedGrace
		newICEC     <-chan time.Time // not connected newICEGrace after new ICE servers
		restarted   bool             // ICE was restarted and has not reconnected since
	)
	if s.newICE {
		newICEC = time.After(newICEGrace)
	}
	connectedFor := func() time.Duration {
		if connectedAt.IsZero() {
			return 0
		}
		return time.Since(connectedAt)
	}
	for {
		why := ""
		select {
		case <-ctx.Done():
			return connectedFor(), ctx.Err()
		case <-graceC:
			graceC, why = nil, "ice disconnected"
		case <-newICEC:
			newICEC, why = nil, "not connected, new ice servers from link header"
		case <-s.c.restart:
			why = "requested"
		case ev := <-s.events:
			switch ev.kind {
			case evCandidate:
				s.trickle(ctx, ev.cand)
			case evMedia:
				s.c.role.handle(s, ev.media)
			case evICEState:
				switch st := s.pc.ICEConnectionState(); st {
				case webrtc.ICEConnectionStateDisconnected:
					if graceC == nil {
						graceC = time.After(disconnectedGrace)
					}
				case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
					graceC, restarted = nil, false
				case webrtc.ICEConnectionStateFailed:
					if connectedAt.IsZero() {
						return 0, fmt.Errorf("%w: no candidate pair answered within %s",
							ErrICEFailed, roundSeconds(time.Since(startedAt)))
					}
					why = "ice failed"
				}
			case evPCState:
				switch st := s.pc.ConnectionState(); st {
				case webrtc.PeerConnectionStateConnected:
					if connectedAt.IsZero() {
						connectedAt, newICEC = time.Now(), nil
						s.c.step(inConnected, nil)
					}
				case webrtc.PeerConnectionStateClosed:
					return connectedFor(), fmt.Errorf("%w: peer connection closed", ErrSessionLost)
				case webrtc.PeerConnectionStateFailed:
					if s.iceTrouble() {
						break // the ICE state events restart ICE
					}
					return connectedFor(), fmt.Errorf("%w: peer connection failed", ErrSessionLost)
				}
			}
		}
		if why == "" {
			continue
		}
		if restarted && why != "requested" {
			return connectedFor(), fmt.Errorf("%w: %s after an ice restart", ErrSessionLost, why)
		}
		if err := s.restartICE(ctx); err != nil {
			return connectedFor(), fmt.Errorf("ice restart (%s): %w", why, err)
		}
		graceC, restarted = nil, true
	}
}

// iceTrouble reports whether ICE, not DTLS, is what is wrong right now.
func (s *session) iceTrouble() bool {
	switch s.pc.ICEConnectionState() {
	case webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateDisconnected,
		webrtc.ICEConnectionStateChecking:
		return true
	}
	return false
}

// restartICE restarts ICE without renegotiating media (RFC 9725 §4.3.2): a
// new local ufrag/pwd and candidates go to the session by PATCH with
// If-Match "*"; the 200's sdpfrag carries the server's new ufrag/pwd and
// candidates, applied as the previous answer with those ICE attributes
// replaced. A server that refuses PATCH makes it fail with
// errPatchNotAllowed, and the caller re-offers instead.
func (s *session) restartICE(ctx context.Context) error {
	if s.res == nil || !s.patchOK {
		return errPatchNotAllowed
	}
	s.c.update(func(st *status) { st.ICERestarts++ })
	s.log.Info("restarting ice")
	offer, err := s.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	s.waitGathering(ctx)
	local, err := sdpfrag.FromSDP(s.pc.LocalDescription().SDP)
	if err != nil {
		return fmt.Errorf("local offer: %w", err)
	}
	body, etag, err := s.c.http.patch(ctx, s.res.location, "*", local.String())
	if err != nil {
		if isPatchRefused(err) {
			s.patchOK = false
		}
		return err
	}
	remote := sdpfrag.Parse(body)
	answer, err := sdpfrag.Restart(s.res.answer, remote)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("set answer: %w: %w", ErrBadAnswer, err)
	}
	s.res.answer = answer
	if etag != "" {
		s.res.etag = etag
	}
	s.setLocal(local)
	s.log.Info("ice restarted", "ufrag", local.Ufrag, "remote_candidates", len(remote.Candidates))
	return nil
}

// trickle sends a candidate gathered after the offer to the session by
// PATCH with If-Match set to the session's entity-tag (RFC 9725 §4.3.1,
// RFC 8840). It is best effort: a server refusing PATCH is remembered, other
// failures are logged.
func (s *session) trickle(ctx context.Context, cand string) {
	if s.sent[cand] || s.res == nil || !s.patchOK {
		return
	}
	s.sent[cand] = true
	frag := sdpfrag.Frag{Ufrag: s.local.Ufrag, Pwd: s.local.Pwd, Media: s.local.Media, Mid: s.local.Mid,
		Candidates: []string{cand}}.String()
	_, etag, err := s.c.http.patch(ctx, s.res.location, s.res.etag, frag)
	switch {
	case isPatchRefused(err):
		s.patchOK = false
		s.log.Info("server does not allow trickle ice", "err", err)
	case err != nil:
		s.log.Warn("cannot trickle candidate", "err", err)
	default:
		if etag != "" {
			s.res.etag = etag
		}
		s.log.Debug("candidate trickled", "candidate", cand)
	}
}

// roundSeconds returns d rounded to the second, as "10 s"; at least 1 s.
func roundSeconds(d time.Duration) string {
	return fmt.Sprintf("%d s", max(1, int(d.Round(time.Second)/time.Second)))
}
