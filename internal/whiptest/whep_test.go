package whiptest_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

func TestWHEPConfig(t *testing.T) {
	for _, cfg := range []whiptest.Config{
		{Tones: []float64{440}},                        // WHIP sends nothing
		{Mode: whiptest.WHEP, Tones: []float64{0}},     // no such tone
		{Mode: whiptest.WHEP, Tones: []float64{24000}}, // above Nyquist
		{Mode: 7},
	} {
		if srv, err := whiptest.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "whiptest: ") {
			if srv != nil {
				srv.Close()
			}
			t.Errorf("New(%+v) = %v, want a whiptest error", cfg, err)
		}
	}
}

// TestWHEPPionClient subscribes with a bare pion peer offering three
// receive-only sections: tones 0 and 1 arrive on the first two with their
// own SSRCs, the third stays silent; the peer's Receiver Reports are
// counted; StopTone silences a tone and ByeTone sends an RTCP BYE.
func TestWHEPPionClient(t *testing.T) {
	checkGoroutines(t)
	srv, err := whiptest.New(whiptest.Config{Mode: whiptest.WHEP, Tones: []float64{440, 660}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if !strings.HasSuffix(srv.Endpoint(), "/whep") || srv.SessionPath(3) != whiptest.WHEPSessionPrefix+"3" {
		t.Errorf("endpoint %s, session path %s", srv.Endpoint(), srv.SessionPath(3))
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after the peer's close
	pc := newPeer(t)
	var receivers []*webrtc.RTPReceiver
	for range 3 {
		tr, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			t.Fatal(err)
		}
		receivers = append(receivers, tr.Receiver())
	}
	var mu sync.Mutex
	packets := map[int]int{}  // slot: packets
	ssrcs := map[int]uint32{} // slot: SSRC
	byes := map[uint32]bool{}
	pc.OnTrack(func(track *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		slot := -1
		for i, x := range receivers {
			if x == r {
				slot = i
			}
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				pkt, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				mu.Lock()
				packets[slot]++
				ssrcs[slot] = pkt.SSRC
				mu.Unlock()
			}
		}()
		go func() {
			defer wg.Done()
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if bye, ok := p.(*rtcp.Goodbye); ok {
						mu.Lock()
						for _, s := range bye.Sources {
							byes[s] = true
						}
						mu.Unlock()
					}
				}
			}
		}()
	})
	count := func(slot int) int {
		mu.Lock()
		defer mu.Unlock()
		return packets[slot]
	}
	resp, answer := postOffer(t, pc, srv.Endpoint())
	if resp.StatusCode != 201 || resp.Header.Get("Location") != whiptest.WHEPSessionPrefix+"1" {
		t.Fatalf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	if n := strings.Count(answer, "a=msid:whiptest tone"); n != 2 {
		t.Errorf("answer has %d tone tracks, want 2:\n%s", n, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(5*time.Second, func() bool { return count(0) >= 25 && count(1) >= 25 }); err != nil {
		t.Fatalf("packets per slot %v, want 25 on slots 0 and 1", packets)
	}
	if err := srv.WaitFor(10*time.Second, func() bool { return srv.Sessions()[0].ReceiverReports >= 2 }); err != nil {
		t.Errorf("%d receiver reports, want >= 2", srv.Sessions()[0].ReceiverReports)
	}

	srv.StopTone(1)
	// Slot 0 is the clock: 5 of its packets let those of slot 1 in
	// flight arrive, 10 more are the window in which slot 1 stays still.
	n0 := count(0)
	if err := srv.WaitFor(10*time.Second, func() bool { return count(0) >= n0+5 }); err != nil {
		t.Fatalf("slot 0 stopped too: %v", err)
	}
	n0, n1 := count(0), count(1)
	if err := srv.WaitFor(10*time.Second, func() bool { return count(0) >= n0+10 }); err != nil {
		t.Fatalf("slot 0 stopped too: %v", err)
	}
	if count(0) < n0+10 || count(1) != n1 {
		t.Errorf("after StopTone(1): slot 0 %d -> %d, slot 1 %d -> %d", n0, count(0), n1, count(1))
	}
	if err := srv.ByeTone(0); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	want := ssrcs[0]
	mu.Unlock()
	if err := srv.WaitFor(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return byes[want] }); err != nil {
		t.Errorf("no RTCP BYE for slot 0's ssrc %08x", want)
	}
	if count(2) != 0 {
		t.Errorf("slot 2 got %d packets, want none", count(2))
	}
}
