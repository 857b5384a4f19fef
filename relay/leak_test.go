package relay

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/onair-dev/onair/internal/leaktest"
	"github.com/onair-dev/onair/token"
	"github.com/onair-dev/onair/uplink"
)

// peer is a pion client of the leak test: a PeerConnection with its offer.
type peer struct {
	pc       *webrtc.PeerConnection
	location string
}

// dialPeer makes a WHIP (one send-only section) or WHEP (8 receive-only)
// peer, POSTs its offer with hc and applies the answer.
func dialPeer(t *testing.T, api *webrtc.API, hc *http.Client, u, tok string, k kind) *peer {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	n, dir := 8, webrtc.RTPTransceiverDirectionRecvonly
	if k == kindHost {
		n, dir = 1, webrtc.RTPTransceiverDirectionSendonly
	}
	for range n {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	return &peer{pc: pc, location: signal(t, pc, hc, u, tok)}
}

// TestNoLeakAfterCycles: 200 cycles of a host publishing, an audience
// subscribing and both DELETEing (every 20th cycle waits until both are
// connected, so DTLS, SRTP and the forwarding run too) leave the relay with
// no session and no channel, and the goroutines back at their baseline;
// Close then leaves nothing running.
func TestNoLeakAfterCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("200 cycles")
	}
	base := leaktest.Take()
	tr := newRelay(t, Config{})
	api, err := uplink.NewAPI(loopback)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	const ch = "cycles"
	hostTok := mint(t, ch, "h", token.RoleHost)
	audTok := mint(t, ch, "a", token.RoleAudience)
	up := leaktest.Take()
	del := func(p *peer) {
		req, _ := http.NewRequest(http.MethodDelete, p.location, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
		_ = p.pc.GracefulClose()
	}
	start := time.Now()
	for i := range 200 {
		h := dialPeer(t, api, hc, tr.endpoint(kindHost, ch), hostTok, kindHost)
		a := dialPeer(t, api, hc, tr.endpoint(kindAudience, ch), audTok, kindAudience)
		if i%20 == 0 {
			waitConnected(t, h.pc)
			waitConnected(t, a.pc)
		}
		del(h)
		del(a)
		if n := tr.Sessions(); n != 0 {
			t.Fatalf("cycle %d: %d sessions after DELETE", i, n)
		}
	}
	t.Logf("200 cycles in %s", time.Since(start).Round(time.Millisecond))
	if chs := tr.Channels(); len(chs) != 0 {
		t.Errorf("channels left: %+v", chs)
	}
	hc.CloseIdleConnections()
	// The relay and its httptest server are still up: the goroutines they
	// started before the cycles may remain, no other.
	up.Wait(t, leaktest.Timeout)
	t.Logf("goroutines: %d after the cycles", runtime.NumGoroutine())
	tr.srv.Close()
	tr.Close()
	base.Wait(t, leaktest.Timeout)
	t.Logf("goroutines: %d after Close", runtime.NumGoroutine())
}
