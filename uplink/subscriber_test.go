package uplink_test

import (
	"cmp"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onair-dev/onair/internal/dsp"
	"github.com/onair-dev/onair/internal/waitfor"
	"github.com/onair-dev/onair/internal/whiptest"
	"github.com/onair-dev/onair/uplink"
)

// newToneServer starts a WHEP whiptest server sending tones.
func newToneServer(t *testing.T, tones ...float64) *whiptest.Server {
	t.Helper()
	return newServerWith(t, whiptest.Config{Mode: whiptest.WHEP, Tones: tones})
}

// subscribeTones starts a WHEP server sending tones and a subscriber with
// slots slots, and waits until it added a stream per tone it can receive.
func subscribeTones(t *testing.T, slots int, tones ...float64) (*whiptest.Server, *subscriber, []streamEvent) {
	t.Helper()
	srv := newToneServer(t, tones...)
	sub := startSubscriber(t, uplink.SubscriberConfig{URL: srv.Endpoint(), Slots: slots})
	added := sub.events.wait(t, uplink.StreamAdded, min(len(tones), cmp.Or(slots, uplink.DefaultSlots)), connectTimeout)
	return srv, sub, added
}

// TestSubscribeTones subscribes to two tones on the default 8 slots: two
// streams are added, on slots 0 and 1, each with 50 packets a second in
// sequence, decoding to its tone; the stats add up, the subscriber's
// Receiver Reports reach the server.
func TestSubscribeTones(t *testing.T) {
	checkGoroutines(t)
	srv, sub, added := subscribeTones(t, 0, 440, 660)
	waitfor.Cond(t, 30*time.Second, func() bool {
		for _, ev := range added {
			if len(sub.sink.get(ev.Stream).seqs) < 100 {
				return false
			}
		}
		return true
	}, "100 packets on each stream")

	if offer := srv.RequestsOf("POST")[0].Body; countLines(offer, "a=recvonly") != uplink.DefaultSlots {
		t.Errorf("offer has %d recvonly sections, want %d", countLines(offer, "a=recvonly"), uplink.DefaultSlots)
	}
	bySlot := map[int]uplink.StreamID{}
	for _, ev := range added {
		bySlot[ev.Stream.Slot] = ev.Stream
	}
	var total uint64
	for i, want := range []float64{440, 660} {
		id, ok := bySlot[i]
		if !ok || id.N < 1 || id.N > 2 || id.SSRC == 0 {
			t.Errorf("slot %d: stream %v, want one numbered 1 or 2", i, id)
		}
		got := sub.sink.get(id)
		total += uint64(len(got.seqs))
		if len(got.seqs) < 90 {
			t.Errorf("%v: %d packets, want at least 100", id, len(got.seqs))
		}
		for j := 1; j < len(got.seqs); j++ {
			if got.seqs[j] != got.seqs[j-1]+1 {
				t.Fatalf("%v: sequence %d after %d", id, got.seqs[j], got.seqs[j-1])
			}
		}
		pcm := decode(t, got.payloads[5:])
		if f := dsp.DominantFrequency(pcm, 48000); math.Abs(f-want) > 2 {
			t.Errorf("%v: dominant frequency %.2f Hz, want %g ± 2", id, f, want)
		} else {
			t.Logf("%v: %d packets, %.2f Hz", id, len(got.seqs), f)
		}
	}
	if ids := sub.sink.ids(); len(ids) != 2 {
		t.Errorf("sink got streams %v, want 2", ids)
	}
	if err := srv.WaitFor(10*time.Second, func() bool { return srv.Sessions()[0].ReceiverReports >= 2 }); err != nil {
		t.Errorf("server got %d receiver reports, want >= 2", srv.Sessions()[0].ReceiverReports)
	}
	st := sub.Stats()
	t.Logf("stats %+v", st)
	if st.PacketsReceived < total || st.BytesReceived == 0 || st.Streams != 2 ||
		st.State != uplink.StateConnected || st.LastError != "" {
		t.Errorf("stats %+v: want >= %d packets, 2 streams, connected", st, total)
	}
	// Jitter's size depends on the machine's load; its unit is checked on
	// known arrivals (TestRxStreamJitter).
	if st.PacketsLost != 0 || st.Jitter <= 0 {
		t.Errorf("lost %d, jitter %s: want no loss and some jitter", st.PacketsLost, st.Jitter)
	}
}

func countLines(s, line string) int {
	n := 0
	for _, l := range splitLines(s) {
		if l == line {
			n++
		}
	}
	return n
}

func splitLines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' })
}

// TestStreamIdle: the server stops sending one tone; its stream is removed
// as idle, not before StreamIdleTimeout after its last packet, while the
// other keeps flowing. When the tone resumes, a new stream (a new N, the same
// slot and SSRC) is added.
func TestStreamIdle(t *testing.T) {
	checkGoroutines(t)
	srv, sub, added := subscribeTones(t, 0, 440, 660)

	srv.StopTone(1)
	stopped := time.Now()
	removed := sub.events.wait(t, uplink.StreamRemoved, 1, 10*time.Second)[0]
	gone := sub.sink.get(removed.Stream)
	if removed.Stream.Slot != 1 || removed.Reason != uplink.ReasonIdle {
		t.Fatalf("removed %+v, want slot 1 idle", removed)
	}
	if d := removed.at.Sub(gone.last); d < uplink.StreamIdleTimeout {
		t.Errorf("removed %s after its last packet, want at least %s", d, uplink.StreamIdleTimeout)
	}
	t.Logf("removed %s after its last packet, %s after StopTone",
		removed.at.Sub(gone.last).Round(time.Millisecond), removed.at.Sub(stopped).Round(time.Millisecond))
	var other uplink.StreamID
	for _, ev := range added {
		if ev.Stream.Slot == 0 {
			other = ev.Stream
		}
	}
	if n := sub.Stats().Streams; n != 1 {
		t.Errorf("%d streams after the removal, want slot 0's alone", n)
	}
	n0 := len(sub.sink.get(other).seqs)
	waitfor.Cond(t, 10*time.Second, func() bool {
		n := len(sub.sink.get(other).seqs)
		return n >= 50 && n >= n0+25
	}, "slot 0's stream flowing on")

	srv.StartTone(1)
	back := sub.events.wait(t, uplink.StreamAdded, 3, 10*time.Second)[2].Stream
	if back.Slot != 1 || back.SSRC != removed.Stream.SSRC || back.N != 3 {
		t.Errorf("resumed stream %v, want slot 1, ssrc %08x, N 3", back, removed.Stream.SSRC)
	}
	if st := sub.Stats(); st.Streams != 2 || st.PacketsLost != 0 {
		t.Errorf("stats %+v: want 2 streams, nothing lost (the pause is not loss)", st)
	}
}

// TestStreamBye: an RTCP BYE from the server removes the stream at once
// (as a bye, not later as idle) and it is not removed again.
func TestStreamBye(t *testing.T) {
	checkGoroutines(t)
	srv, sub, _ := subscribeTones(t, 0, 440, 660)

	start := time.Now()
	if err := srv.ByeTone(0); err != nil {
		t.Fatal(err)
	}
	removed := sub.events.wait(t, uplink.StreamRemoved, 1, 10*time.Second)[0]
	if removed.Stream.Slot != 0 || removed.Reason != uplink.ReasonBye {
		t.Fatalf("removed %+v, want slot 0 by bye", removed)
	}
	t.Logf("removed %s after the BYE", removed.at.Sub(start).Round(time.Millisecond))
	time.Sleep(uplink.StreamIdleTimeout + 200*time.Millisecond)
	if evs := sub.events.of(uplink.StreamRemoved); len(evs) != 1 {
		t.Errorf("removed events %+v, want the BYE's only", evs)
	}
}

// TestStreamsEndWithSession: when the server closes the session every
// stream is removed before the subscriber reports retrying, the next
// session brings new streams, and stopping Run removes them before it
// reports closed.
func TestStreamsEndWithSession(t *testing.T) {
	checkGoroutines(t)
	srv, sub, _ := subscribeTones(t, 0, 440, 660)

	if err := srv.CloseSession(); err != nil {
		t.Fatal(err)
	}
	removed := sub.events.wait(t, uplink.StreamRemoved, 2, 5*time.Second)
	added := sub.events.wait(t, uplink.StreamAdded, 4, connectTimeout)
	for _, ev := range removed {
		if ev.Reason != uplink.ReasonSessionEnded || ev.state != uplink.StateConnected {
			t.Errorf("removed %+v in state %s, want session ended while still connected", ev.StreamEvent, ev.state)
		}
	}
	for _, ev := range added[2:] {
		if ev.Stream.N < 3 {
			t.Errorf("stream %v of the second session reuses an N", ev.Stream)
		}
	}

	if err := sub.stop(t); err != nil {
		t.Fatal(err)
	}
	removed = sub.events.of(uplink.StreamRemoved)
	if len(removed) != 4 || sub.Stats().Streams != 0 {
		t.Fatalf("removed %+v, want all 4 streams", removed)
	}
	for _, ev := range removed[2:] {
		if ev.Reason != uplink.ReasonSessionEnded || ev.state != uplink.StateConnected || ev.Stream.N < 3 {
			t.Errorf("removed %+v in state %s, want the second session's streams before closed", ev.StreamEvent, ev.state)
		}
	}
	if sub.State() != uplink.StateClosed {
		t.Errorf("state %s, want closed", sub.State())
	}
}

// TestOneSlot: Slots 1 offers one audio section; the server's second tone
// has nowhere to go and only the first one is received.
func TestOneSlot(t *testing.T) {
	checkGoroutines(t)
	srv, sub, added := subscribeTones(t, 1, 440, 660)
	waitfor.Cond(t, 10*time.Second, func() bool { return len(sub.sink.get(added[0].Stream).seqs) >= 25 }, "25 packets on slot 0")
	if offer := srv.RequestsOf("POST")[0].Body; countLines(offer, "a=recvonly") != 1 {
		t.Errorf("offer has %d recvonly sections, want 1", countLines(offer, "a=recvonly"))
	}
	ids := sub.sink.ids()
	if len(ids) != 1 || ids[0].Slot != 0 {
		t.Fatalf("streams %v, want one on slot 0", ids)
	}
	pcm := decode(t, sub.sink.get(ids[0]).payloads[5:])
	if f := dsp.DominantFrequency(pcm, 48000); math.Abs(f-440) > 2 {
		t.Errorf("dominant frequency %.2f Hz, want 440", f)
	}
}
