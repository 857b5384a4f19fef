package relay

import (
	"github.com/onair-dev/onair/internal/sdpfrag"

	"io"
	"net/http"

	"github.com/pion/webrtc/v4"
)

// patch applies a PATCH of a session (RFC 9725 §4.3, RFC 8840): with
// If-Match "*" an ICE restart (§4.3.2), answered 200 with the relay's new
// ICE credentials and candidates and a new ETag; with the session's ETag a
// trickle of the client's candidates (§4.3.1), answered 204.
func (r *Relay) patch(w http.ResponseWriter, req *http.Request, s *session) {
	body, herr := readBody(w, req, contentTypeSDPFrag, maxFragBody)
	if herr != nil {
		writeError(w, herr)
		return
	}
	ifMatch := req.Header.Get("If-Match")
	if ifMatch == "" {
		writeError(w, errorf(http.StatusPreconditionRequired, codePrecondition,
			"a patch needs If-Match: the session's entity-tag, or * for an ice restart"))
		return
	}
	frag := sdpfrag.Parse(body)

	s.op.Lock()
	defer s.op.Unlock()
	s.mu.Lock()
	closing, etag, offer, ufrag := s.closing, s.etag, s.offer, s.ufrag
	s.mu.Unlock()
	if closing || offer == "" {
		writeError(w, errorf(http.StatusNotFound, codeNotFound, "no such session"))
		return
	}
	if ifMatch == "*" {
		r.restartICE(w, req, s, offer, frag)
		return
	}
	if ifMatch != etag {
		writeError(w, errorf(http.StatusPreconditionFailed, codePrecondition, "If-Match %s does not match the session's entity-tag", ifMatch))
		return
	}
	if frag.Ufrag != "" && frag.Ufrag != ufrag {
		writeError(w, errorf(http.StatusUnprocessableEntity, codeUnprocessable,
			"the fragment's ice-ufrag is not the session's; an ice restart needs If-Match: *"))
		return
	}
	if n := s.candidates + len(frag.Candidates); n > maxCandidates {
		writeError(w, tooManyCandidates(n))
		return
	}
	s.candidates += len(frag.Candidates)
	for _, c := range frag.Candidates {
		init := webrtc.ICECandidateInit{Candidate: "candidate:" + c}
		if frag.Mid != "" {
			mid := frag.Mid
			init.SDPMid = &mid
		} else {
			var first uint16
			init.SDPMLineIndex = &first
		}
		if err := s.pc.AddICECandidate(init); err != nil {
			writeError(w, errorf(http.StatusBadRequest, codeInvalidSDP, "candidate %q: %s", c, err))
			return
		}
	}
	s.log.Debug("candidates trickled", "n", len(frag.Candidates))
	w.WriteHeader(http.StatusNoContent)
}

// restartICE restarts ICE with the client's new credentials and
// candidates: the session's offer with them applied is set as a new remote
// offer, which makes pion restart its ICE agent, and the new answer's ICE
// attributes are returned as an SDP fragment. The rest of the
// negotiation is unchanged. s.op is held.
func (r *Relay) restartICE(w http.ResponseWriter, req *http.Request, s *session, offer string, frag sdpfrag.Frag) {
	if len(frag.Candidates) > maxCandidates {
		writeError(w, tooManyCandidates(len(frag.Candidates)))
		return
	}
	next, err := sdpfrag.Restart(offer, frag)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, codeInvalidSDP, "%s", err))
		return
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: next}); err != nil {
		writeError(w, errorf(http.StatusUnprocessableEntity, codeUnprocessable, "the ice restart was refused: %s", err))
		return
	}
	answer, err := answerAndGather(req.Context(), s.pc)
	if err != nil {
		writeError(w, errorf(http.StatusUnprocessableEntity, codeUnprocessable, "cannot answer the ice restart: %s", err))
		return
	}
	// The relay's own gathering is complete: the fragment says so.
	local := sdpfrag.Parse(answer)
	local.End = true
	etag := newETag()
	s.candidates = len(frag.Candidates)
	s.mu.Lock()
	s.offer, s.ufrag, s.etag = next, frag.Ufrag, etag
	s.mu.Unlock()
	s.log.Info("ice restarted", "remote_ufrag", frag.Ufrag, "local_ufrag", local.Ufrag)
	r.writeLinks(w)
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", contentTypeSDPFrag)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, local.String())
}

// tooManyCandidates is the 400 for a PATCH that would give a session more
// than maxCandidates remote candidates in one ICE generation.
func tooManyCandidates(n int) *httpError {
	return errorf(http.StatusBadRequest, codeInvalidSDP,
		"the session would have %d ice candidates; the relay takes at most %d per ice generation (an ice restart starts anew)",
		n, maxCandidates)
}
