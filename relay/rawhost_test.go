package relay

import (
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/onair-dev/onair/internal/waitfor"
	"github.com/onair-dev/onair/uplink"
)

// rawHost is a bare pion WHIP host sending a tone, for tests that need a
// host to vanish without a DELETE or no audio pipeline.
type rawHost struct {
	pc       *webrtc.PeerConnection
	location string
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// encodeTone returns n 20 ms Opus frames of a -12 dBFS sine at hz.
func encodeTone(t testing.TB, hz float64, n int) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(48000, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, 960)
	buf := make([]byte, 1500)
	var phase float64
	var out [][]byte
	for range n {
		for i := range pcm {
			pcm[i] = float32(0.25 * math.Sin(phase))
			phase += 2 * math.Pi * hz / 48000
		}
		m, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:m]...))
	}
	return out
}

// dialRawHost publishes a 440 Hz tone to whipURL; close ends it without
// DELETE.
func dialRawHost(t *testing.T, whipURL, tok string) *rawHost {
	return dialRawHostHz(t, whipURL, tok, 440)
}

// dialRawHostHz is dialRawHost with a tone of hz.
func dialRawHostHz(t *testing.T, whipURL, tok string, hz float64) *rawHost {
	t.Helper()
	api, err := uplink.NewAPI(loopback)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	h := &rawHost{pc: pc, stop: make(chan struct{})}
	t.Cleanup(h.close)
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a", "raw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	h.location = signal(t, pc, http.DefaultClient, whipURL, tok)
	waitConnected(t, pc)
	frames := encodeTone(t, hz, 50)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
			_ = track.WriteSample(media.Sample{Data: frames[i%len(frames)], Duration: 20 * time.Millisecond})
		}
	}()
	return h
}

// close stops sending and closes the PeerConnection, without DELETE.
func (h *rawHost) close() {
	h.once.Do(func() {
		close(h.stop)
		h.wg.Wait()
		_ = h.pc.GracefulClose()
	})
}

// signal makes pc's offer, waits for its candidates, POSTs it with hc and
// token tok to u, applies the answer and returns the session's Location.
func signal(tb testing.TB, pc *webrtc.PeerConnection, hc *http.Client, u, tok string) string {
	tb.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", contentTypeSDP)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("POST %s: %d %s", u, resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		tb.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		tb.Fatal(err)
	}
	return loc.String()
}

// waitConnected waits until pc is connected.
func waitConnected(tb testing.TB, pc *webrtc.PeerConnection) {
	tb.Helper()
	waitfor.Cond(tb, connectTimeout, func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected },
		"the peer connection connected")
}
