package relay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pion/webrtc/v4"

	chnames "github.com/onair-dev/onair/channel"
	"github.com/onair-dev/onair/internal/rtcapi"
)

// gatherTimeout bounds the wait for the relay's ICE candidates before an
// answer (or an ICE restart fragment) is sent without the rest.
const gatherTimeout = 2 * time.Second

// eventBuffer is the depth of a session's event channel.
const eventBuffer = 16

// invalidChannel is the 400 for a channel name that breaks the rule.
func invalidChannel(name string, err error) *httpError {
	return errorf(http.StatusBadRequest, codeInvalidChannel,
		"channel name %q: %s; a channel name is 1 to %d bytes of ASCII letters, digits, space and !#$%%&()+-:;<=.>?@[]^_{|}~,",
		name, err, chnames.MaxNameLen)
}

// post creates a WHIP or WHEP session from the SDP offer of a POST
// (RFC 9725 §4.2): 201 with the answer, the session's Location and ETag,
// and the ICE servers in Link fields (§4.6).
func (r *Relay) post(w http.ResponseWriter, req *http.Request, k kind, name string) {
	if err := chnames.ValidateName(name); err != nil {
		writeError(w, invalidChannel(name, err))
		return
	}
	id, herr := r.authorize(req, name, k)
	if herr != nil {
		writeError(w, herr)
		return
	}
	offer, herr := readBody(w, req, contentTypeSDP, maxBody)
	if herr != nil {
		writeError(w, herr)
		return
	}
	info, herr := checkOffer(offer, k, r.cfg.AudienceSlots)
	if herr != nil {
		writeError(w, herr)
		return
	}
	if k == kindHost {
		// A host joining again with its uid replaces its old session (as
		// Agora does), e.g. one that vanished and is not reaped yet.
		if old := r.hostWithUID(name, id.uid); old != nil {
			r.teardown(old, "replaced by a new session of the same uid")
		}
	}
	keys := pendingKeysOf(name, id.uid, req.RemoteAddr)
	if herr := r.precheck(k, name, id.anon, keys); herr != nil {
		writeError(w, herr)
		return
	}
	s, err := r.newSession(k, name, id, info)
	if err != nil {
		r.log.Error("cannot create session", "err", err)
		writeError(w, err)
		return
	}
	s.anon, s.keys = id.anon, keys
	if herr := r.admit(s); herr != nil {
		r.teardown(s, "not admitted: "+herr.message)
		writeError(w, herr)
		return
	}
	answer, herr := r.negotiate(req.Context(), s, offer, info)
	if herr != nil {
		select {
		case <-s.quit: // torn down meanwhile: Close, or a newer session of the uid
			herr = unavailable("the session ended while it was negotiated")
		default:
		}
		r.teardown(s, "negotiation failed: "+herr.message)
		writeError(w, herr)
		return
	}
	s.mu.Lock()
	etag := s.etag
	s.mu.Unlock()
	h := w.Header()
	h.Set("Location", s.location())
	h.Set("ETag", etag)
	h.Set("Accept-Patch", contentTypeSDPFrag)
	h.Set("Content-Type", contentTypeSDP)
	r.writeLinks(w)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// precheck refuses a session early, before a PeerConnection is made, when
// a limit is already reached; admit decides for good.
func (r *Relay) precheck(k kind, name string, anon bool, keys pendingKeys) *httpError {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return unavailable("the relay is shutting down")
	case len(r.sessions) >= r.cfg.MaxSessions:
		return unavailable("the relay holds %d sessions, the most it allows", r.cfg.MaxSessions)
	}
	if ch := r.channels[name]; k == kindHost && ch != nil && ch.hosts() >= r.cfg.MaxHostsPerChannel {
		return unavailable("channel %q has %d hosts, the most it allows", name, ch.hosts())
	}
	return r.checkAdmission(k, anon, keys)
}

// newSession creates the session's PeerConnection with what its kind
// needs, and wires pion's callbacks to its events.
func (r *Relay) newSession(k kind, name string, id identity, info offerInfo) (*session, error) {
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{ICEServers: rtcapi.PionICEServers(r.cfg.ICEServers)})
	if err != nil {
		return nil, fmt.Errorf("relay: new peer connection: %w", err)
	}
	s := &session{
		id:      newSessionID(),
		kind:    k,
		channel: name,
		uid:     id.uid,
		since:   time.Now(),
		pc:      pc,
		events:  make(chan event, eventBuffer),
		quit:    make(chan struct{}),
	}
	s.log = r.log.With("session", s.id[:8], "kind", k.String(), "channel", name, "uid", id.uid)
	switch k {
	case kindHost:
		err = r.prepareHost(s)
	case kindAudience:
		err = r.prepareAudience(s, info.audio)
	}
	if err != nil {
		r.teardown(s, "setup failed")
		return nil, err
	}
	s.wire()
	return s, nil
}

// negotiate applies the offer, creates and applies the answer, and waits
// (at most gatherTimeout) for the relay's candidates, which the answer
// carries. A refused offer is a 400.
func (r *Relay) negotiate(ctx context.Context, s *session, offer string, info offerInfo) (string, *httpError) {
	s.op.Lock()
	defer s.op.Unlock()
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", errorf(http.StatusBadRequest, codeInvalidSDP, "the sdp offer was refused: %s", err)
	}
	answer, err := answerAndGather(ctx, s.pc)
	if err != nil {
		return "", errorf(http.StatusBadRequest, codeInvalidSDP, "cannot answer the sdp offer: %s", err)
	}
	s.candidates = info.candidates
	s.mu.Lock()
	s.offer, s.ufrag, s.etag = offer, info.ufrag, newETag()
	s.mu.Unlock()
	return answer, nil
}

// answerAndGather creates and applies the answer to the remote offer and
// returns it once ICE gathering completed, gatherTimeout passed or ctx
// ended.
func answerAndGather(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("set answer: %w", err)
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
	return pc.LocalDescription().SDP, nil
}
