package relay

import (
	"github.com/onair-dev/onair/internal/sdpfrag"

	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// only returns the relay's single session.
func only(t *testing.T, tr *testRelay) *session {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(tr.sessions))
	}
	for _, s := range tr.sessions {
		return s
	}
	return nil
}

// localUfrag returns the ICE ufrag of the relay's current answer.
func localUfrag(s *session) string {
	return sdpfrag.Parse(s.pc.LocalDescription().SDP).Ufrag
}

// TestICERestartFromPublisher: onair's publisher restarts ICE by PATCH
// with If-Match "*" (RFC 9725 §4.3.2); the relay restarts its side with new
// credentials and the session (its ID, slot, listeners) stays, its audio
// flows again, the publisher neither reconnects nor retries.
func TestICERestartFromPublisher(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "restart"
	aud := dialAudience(t, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience))
	h := startHost(t, tr.endpoint(kindHost, ch), mint(t, ch, "h", token.RoleHost), "tone:440")
	h.waitState(t, uplink.StateConnected, connectTimeout)
	waitTone(t, aud, 0, 440)

	host := hostsByUID(t, tr, ch)["h"]
	var s *session
	tr.mu.Lock()
	for _, x := range tr.sessions {
		if x.kind == kindHost {
			s = x
		}
	}
	tr.mu.Unlock()
	s.mu.Lock()
	remoteBefore, etagBefore := s.ufrag, s.etag
	s.mu.Unlock()
	localBefore := localUfrag(s)

	h.pub.RestartICE()
	waitFor(t, 5*time.Second, "the relay's ice restart", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.ufrag != remoteBefore
	})
	if localUfrag(s) == localBefore {
		t.Error("the relay kept its ice ufrag")
	}
	s.mu.Lock()
	if s.etag == etagBefore {
		t.Error("the etag did not change with the ice restart")
	}
	s.mu.Unlock()
	n := aud.Packets(0)
	waitFor(t, 10*time.Second, "40 packets to the audience after the restart", func() bool { return aud.Packets(0) >= n+40 })
	waitTone(t, aud, 0, 440)
	st := h.pub.Stats()
	if st.ICERestarts != 1 || st.Reconnects != 0 || st.State != uplink.StateConnected {
		t.Errorf("publisher stats %+v", st)
	}
	after := hostsByUID(t, tr, ch)["h"]
	if len(hostsByUID(t, tr, ch)) != 1 || after.Since != host.Since || after.Slot != host.Slot || tr.Sessions() != 2 {
		t.Errorf("host before %+v after %+v, %d sessions", host, after, tr.Sessions())
	}
	if s.pc.ICEConnectionState().String() != "connected" {
		t.Errorf("ice %s", s.pc.ICEConnectionState())
	}
}

// TestPatchRules: trickle with the ETag is 204; without If-Match 428; a
// stale ETag 412; a trickle with another ufrag 422; a restart without
// credentials 400; another media type 415.
func TestPatchRules(t *testing.T) {
	checkGoroutines(t)
	tr := newRelay(t, Config{})
	const ch = "patch"
	resp := do(t, http.MethodPost, tr.endpoint(kindAudience, ch), mint(t, ch, "a", token.RoleAudience), contentTypeSDP, makeOffer(t, kindAudience, 1))
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.body)
	}
	loc, etag := tr.url+resp.Header.Get("Location"), resp.Header.Get("ETag")
	s := only(t, tr)
	s.mu.Lock()
	ufrag := s.ufrag
	s.mu.Unlock()
	cand := "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"
	frag := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:irrelevant\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" + cand

	if r := do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, frag, "If-Match: "+etag); r.StatusCode != 204 {
		t.Errorf("trickle: %d %s", r.StatusCode, r.body)
	}
	if r := do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, cand, "If-Match: "+etag); r.StatusCode != 204 {
		t.Errorf("trickle of a bare candidate: %d %s", r.StatusCode, r.body)
	}
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, frag), 428, codePrecondition)
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, frag, `If-Match: "stale"`), 412, codePrecondition)
	other := strings.Replace(frag, ufrag, "otherufrag", 1)
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, other, "If-Match: "+etag), 422, codeUnprocessable)
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, cand, "If-Match: *"), 400, codeInvalidSDP)
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDP, frag, "If-Match: "+etag), 415, codeUnsupportedType)
	wantError(t, do(t, http.MethodPatch, loc, "", contentTypeSDPFrag, "a=candidate:garbage\r\n", "If-Match: "+etag), 400, codeInvalidSDP)
	do(t, http.MethodDelete, loc, "", "", "")
}
