package uplink_test

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/waitfor"
	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/onair-dev/onair/uplink"
)

const connectTimeout = 10 * time.Second

// TestPublishOpusStream publishes ~2 s of a 440 Hz tone with two DTX frames
// in the middle and checks what the server received and decoded.
func TestPublishOpusStream(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

	const frames = 100
	dtx := func(i int) bool { return i == 50 || i == 51 }
	stop, finished := pump(t, p, frames, dtx)
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("100 frames not written after 30 s")
	}
	stop()
	const sent = frames - 2
	if err := srv.WaitPackets(sent*95/100, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The last packets in flight: every one, or a stream quiet for 200 ms.
	waitfor.Poll(10*time.Second, func() bool {
		pkts := srv.Packets()
		return len(pkts) >= sent || time.Since(pkts[len(pkts)-1].Arrival) > 200*time.Millisecond
	})

	pkts := srv.Packets()
	if len(pkts) < sent*95/100 || len(pkts) > sent {
		t.Fatalf("received %d packets, want %d..%d", len(pkts), sent*95/100, sent)
	}
	if !pkts[0].Marker {
		t.Error("first packet has no marker bit")
	}
	gaps := 0
	for i := 1; i < len(pkts); i++ {
		a, b := pkts[i-1], pkts[i]
		if b.SequenceNumber != a.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, b.SequenceNumber, a.SequenceNumber)
		}
		switch d := b.Timestamp - a.Timestamp; d {
		case frameSamples:
			if b.Marker {
				t.Errorf("packet %d: marker bit without a gap", i)
			}
		case 3 * frameSamples: // after the two DTX frames
			gaps++
			if !b.Marker {
				t.Errorf("packet %d: no marker bit after a DTX gap", i)
			}
		default:
			t.Fatalf("packet %d: timestamp advanced by %d", i, d)
		}
	}
	if gaps != 1 {
		t.Errorf("saw %d DTX gaps, want 1", gaps)
	}

	pcm := srv.PCM()
	if len(pcm) < len(pkts)*frameSamples {
		t.Fatalf("decoded %d samples for %d packets", len(pcm), len(pkts))
	}
	var sum float64
	crossings := 0
	for i, v := range pcm {
		sum += float64(v) * float64(v)
		if i > 0 && (pcm[i-1] < 0) != (v < 0) {
			crossings++
		}
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	freq := float64(crossings) / 2 / (float64(len(pcm)) / 48000)
	t.Logf("packets %d, rms %.3f, ~%.0f Hz", len(pkts), rms, freq)
	if rms < 0.05 {
		t.Errorf("rms %.4f: no audio", rms)
	}
	if freq < 400 || freq > 480 {
		t.Errorf("dominant frequency ~%.0f Hz, want ~440", freq)
	}
	st := p.Stats()
	if st.PacketsSent != sent || st.PacketsDropped != 0 || st.BytesSent == 0 {
		t.Errorf("stats %+v: want %d sent, 0 dropped", st, sent)
	}
}

// TestStereo: Channels 2 offers Opus with stereo=1;sprop-stereo=1
// (RFC 7587 §6.1) and the stream is received.
func TestStereo(t *testing.T) {
	checkGoroutines(t)
	srv := newServerWith(t, whiptest.Config{Channels: 2})
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint(), Channels: 2})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	offer := srv.RequestsOf(http.MethodPost)[0].Body
	if !strings.Contains(offer, "a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1") {
		t.Errorf("offer lacks the stereo fmtp:\n%s", offer)
	}
	pump(t, p, 0, nil)
	if err := srv.WaitPackets(10, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
