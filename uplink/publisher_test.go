package uplink_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

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
	stop := pump(t, p, frames, dtx)
	time.Sleep(frames*20*time.Millisecond + 300*time.Millisecond)
	stop()
	const sent = frames - 2
	if err := srv.WaitPackets(sent*95/100, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

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

// TestRedirect follows 307 and 308 on the POST: the offer reaches the new
// path with its token and the DELETE goes to the Location resolved against
// the final URL.
func TestRedirect(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			checkGoroutines(t)
			srv := newServer(t)
			srv.SetToken("secret")
			srv.Redirect("/old", "/whip", code)
			p := startPublisher(t, uplink.PublisherConfig{URL: srv.URL() + "/old", Token: "secret"})
			p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

			posts := srv.RequestsOf(http.MethodPost)
			if len(posts) != 2 || posts[0].Path != "/old" || posts[1].Path != "/whip" {
				t.Fatalf("posts %+v, want /old then /whip", posts)
			}
			if posts[1].Authorization != "Bearer secret" || posts[1].ContentType != "application/sdp" ||
				!strings.HasPrefix(posts[1].Body, "v=0") {
				t.Errorf("redirected post lost auth, type or body: %+v", posts[1])
			}
			if err := p.stop(t); err != nil {
				t.Fatal(err)
			}
			dels := srv.RequestsOf(http.MethodDelete)
			if len(dels) != 1 || dels[0].Path != whiptest.SessionPrefix+"1" {
				t.Fatalf("deletes %+v, want one of %s1", dels, whiptest.SessionPrefix)
			}
		})
	}
}

// TestUnauthorized: 401 and 403 end Run with ErrUnauthorized after exactly
// one POST, reported as StateUnauthorized.
func TestUnauthorized(t *testing.T) {
	for _, tc := range []struct{ name, token string }{{"401", "wrong"}, {"403", "banned"}} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			srv := newServer(t)
			srv.SetToken("good")
			srv.SetForbiddenToken("banned")
			p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint(), Token: tc.token})
			err := p.wait(t, 5*time.Second)
			if !errors.Is(err, uplink.ErrUnauthorized) {
				t.Fatalf("Run: %v, want ErrUnauthorized", err)
			}
			if p.states.count(uplink.StateUnauthorized) != 1 || p.State() != uplink.StateUnauthorized {
				t.Errorf("states %v, want unauthorized reported", p.states.states)
			}
			time.Sleep(2 * time.Second)
			if n := len(srv.RequestsOf(http.MethodPost)); n != 1 {
				t.Errorf("%d POSTs, want exactly 1", n)
			}
		})
	}
}

// TestRetryAfter503: a 503 with Retry-After: 1 delays the next POST by a
// second; then the publisher connects.
func TestRetryAfter503(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	srv.FailPOSTs(1, "1")
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)

	posts := srv.RequestsOf(http.MethodPost)
	if len(posts) != 2 {
		t.Fatalf("%d POSTs, want 2", len(posts))
	}
	if gap := posts[1].Time.Sub(posts[0].Time); gap < 900*time.Millisecond {
		t.Errorf("second POST %s after the 503, want >= ~1 s", gap)
	}
	errs := p.states.errorsOf(uplink.StateRetrying)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "503") {
		t.Errorf("retrying errors %v, want one 503", errs)
	}
	if p.Stats().Reconnects != 1 {
		t.Errorf("reconnects %d, want 1", p.Stats().Reconnects)
	}
}

// TestDeleteOnStop: cancelling Run deletes the session exactly once and
// returns nil.
func TestDeleteOnStop(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	if err := p.stop(t); err != nil {
		t.Fatalf("Run: %v, want nil", err)
	}
	sessions := srv.Sessions()
	dels := srv.RequestsOf(http.MethodDelete)
	if len(sessions) != 1 || len(dels) != 1 || dels[0].Path != sessions[0].Location || !sessions[0].Deleted {
		t.Fatalf("sessions %+v, deletes %+v: want one DELETE of the session", sessions, dels)
	}
	if p.State() != uplink.StateClosed || p.states.count(uplink.StateClosed) != 1 {
		t.Errorf("state %s, want closed", p.State())
	}
}

// TestRepublishAfterServerClose: the server closes the PeerConnection; the
// publisher retries, creates a second session and audio flows on it.
func TestRepublishAfterServerClose(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	pump(t, p, 0, nil)
	if err := srv.WaitPackets(10, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := srv.CloseSession(); err != nil {
		t.Fatal(err)
	}
	p.states.wait(t, uplink.StateRetrying, 1, connectTimeout)
	p.states.wait(t, uplink.StateConnected, 2, connectTimeout)
	if err := srv.WaitSessions(2, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(5*time.Second, func() bool { return len(srv.SessionPackets(2)) >= 10 }); err != nil {
		t.Fatalf("no packets on the second session: %v", err)
	}
	if errs := p.states.errorsOf(uplink.StateRetrying); !errors.Is(errs[0], uplink.ErrSessionLost) {
		t.Errorf("retrying with %v, want ErrSessionLost", errs[0])
	}
	if d := srv.RequestsOf(http.MethodDelete); len(d) != 1 || d[0].Path != whiptest.SessionPrefix+"1" {
		t.Errorf("deletes %+v, want the old session deleted", d)
	}
}

// TestBadAnswer: an answer that is not SDP is a clear error, retried.
func TestBadAnswer(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	srv.BadAnswers(1)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	errs := p.states.errorsOf(uplink.StateRetrying)
	if len(errs) != 1 || !errors.Is(errs[0], uplink.ErrBadAnswer) {
		t.Fatalf("retrying errors %v, want one ErrBadAnswer", errs)
	}
	t.Logf("bad answer reported as: %v", errs[0])
	if d := srv.RequestsOf(http.MethodDelete); len(d) != 1 || d[0].Path != whiptest.SessionPrefix+"1" {
		t.Errorf("deletes %+v, want the bad session deleted", d)
	}
}

// TestServerGone: the server disappears; the publisher keeps retrying with
// the last error reported, and stops cleanly.
func TestServerGone(t *testing.T) {
	checkGoroutines(t)
	srv := newServer(t)
	p := startPublisher(t, uplink.PublisherConfig{URL: srv.Endpoint()})
	p.states.wait(t, uplink.StateConnected, 1, connectTimeout)
	srv.Close()
	p.states.wait(t, uplink.StateRetrying, 3, 5*time.Second)
	if st := p.Stats(); st.State != uplink.StateRetrying && st.State != uplink.StateConnecting ||
		!strings.Contains(st.LastError, "connection refused") {
		t.Errorf("state %s, last error %q: want retrying after connection refused", st.State, st.LastError)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
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
