package whiptest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/leaktest"
	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/onair-dev/onair/uplink"
	"github.com/pion/webrtc/v4"
)

func checkGoroutines(t *testing.T) { leaktest.Check(t) }

func newServer(t *testing.T) *whiptest.Server {
	srv, err := whiptest.New(whiptest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// do sends one request with its own client (no redirects followed) and
// returns the response and body.
func do(t *testing.T, method, url, ctype, auth, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestScriptedResponses(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	ep := srv.Endpoint()
	srv.SetLinks(`<stun:127.0.0.1:3478>; rel="ice-server"`)

	if resp, _ := do(t, http.MethodOptions, ep, "", "", ""); resp.StatusCode != 204 || resp.Header.Get("Link") == "" {
		t.Errorf("OPTIONS: %d, Link %q", resp.StatusCode, resp.Header.Get("Link"))
	}
	srv.SetOptionsAllowed(false)
	if resp, _ := do(t, http.MethodOptions, ep, "", "", ""); resp.StatusCode != 405 {
		t.Errorf("refused OPTIONS: %d", resp.StatusCode)
	}

	srv.SetToken("good")
	srv.SetForbiddenToken("banned")
	if resp, _ := do(t, http.MethodPost, ep, "application/sdp", "", "v=0"); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodPost, ep, "application/sdp", "banned", "v=0"); resp.StatusCode != 403 {
		t.Errorf("forbidden token: %d", resp.StatusCode)
	}
	srv.FailPOSTs(1, "2")
	if resp, _ := do(t, http.MethodPost, ep, "application/sdp", "good", "v=0"); resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("503: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := do(t, http.MethodPost, ep, "text/plain", "good", "v=0"); resp.StatusCode != 415 {
		t.Errorf("wrong content type: %d", resp.StatusCode)
	}
	srv.Redirect("/old", "/whip", 308)
	if resp, _ := do(t, http.MethodPost, srv.URL()+"/old", "application/sdp", "", "v=0"); resp.StatusCode != 308 || resp.Header.Get("Location") != "/whip" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do(t, http.MethodDelete, srv.URL()+whiptest.SessionPrefix+"9", "", "good", ""); resp.StatusCode != 404 {
		t.Errorf("DELETE of an unknown session: %d", resp.StatusCode)
	}

	srv.BadAnswers(1)
	resp, body := do(t, http.MethodPost, ep, "application/sdp", "good", "v=0")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 201 || loc != whiptest.SessionPrefix+"1" || strings.HasPrefix(body, "v=0") {
		t.Errorf("bad answer: %d %q %q", resp.StatusCode, loc, body)
	}
	if resp, _ := do(t, http.MethodDelete, srv.URL()+loc, "", "good", ""); resp.StatusCode != 200 {
		t.Errorf("DELETE: %d", resp.StatusCode)
	}
	if s := srv.Sessions(); len(s) != 1 || !s[0].Deleted || !s[0].BadAnswer || srv.Deletes() != 2 {
		t.Errorf("sessions %+v, deletes %d", s, srv.Deletes())
	}
	if n := len(srv.Requests()); n != 10 {
		t.Errorf("%d requests recorded, want 10", n)
	}
	srv.Close()
	srv.Close() // idempotent
}

// newPeer returns a pion peer on loopback, closed at the end of the test.
func newPeer(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	api, err := uplink.NewAPI(uplink.NetworkConfig{Interfaces: []string{"lo"}, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.GracefulClose() })
	return pc
}

// postOffer makes pc's offer, waits for its candidates and POSTs it to url.
func postOffer(t *testing.T, pc *webrtc.PeerConnection, url string) (*http.Response, string) {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return do(t, http.MethodPost, url, "application/sdp", "", pc.LocalDescription().SDP)
}

// TestPionClient drives the server with a bare pion peer: 201 with Location,
// ETag and Accept-Patch, a connected session, 412 for a trickle PATCH with
// a stale entity-tag, 405 once PATCH is refused.
func TestPionClient(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	pc := newPeer(t)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	resp, answer := postOffer(t, pc, srv.Endpoint())
	if resp.StatusCode != 201 || resp.Header.Get("ETag") == "" ||
		resp.Header.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(5*time.Second, func() bool {
		return srv.Sessions()[0].State == webrtc.PeerConnectionStateConnected
	}); err != nil {
		t.Fatalf("session %+v not connected", srv.Sessions()[0])
	}
	loc := srv.URL() + resp.Header.Get("Location")
	frag := "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n"
	if r, _ := do(t, http.MethodPatch, loc, "application/trickle-ice-sdpfrag", "", frag, "If-Match", `"stale"`); r.StatusCode != 412 {
		t.Errorf("stale If-Match: %d", r.StatusCode)
	}
	srv.SetPatchAllowed(false)
	if r, _ := do(t, http.MethodPatch, loc, "application/trickle-ice-sdpfrag", "", frag, "If-Match", "*"); r.StatusCode != 405 {
		t.Errorf("refused PATCH: %d", r.StatusCode)
	}
}
